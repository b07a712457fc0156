/**
 * Path generation from the statecharts, driven through the real runtime.
 *
 * xstate's own graph utilities (`getShortestPaths`, `getSimplePaths`, `createTestModel`) step a
 * machine with a synchronous `transition`. Ours are hosted: an event is decoded, enriched through
 * ports (the right code comes from the messenger's key, a friend's facts from the directory),
 * saved, and its effects run and fed back (`delivery.refused`, `recovery.applied`,
 * `budget.allowed`); half the transitions are taken by those fed-back events, which no client
 * can send and no synchronous traversal produces. So the search below is a breadth-first search
 * over *moves* a person, a friend, an agent, the clock or a failing port can make, replayed from
 * a fresh world each time (a world cannot be cloned), with the runtime's `observe` hook saying
 * which (source state, event, guard branch) each step took. Nodes are abstract states (the state
 * value plus what the spec says matters of the context), so resend loops do not explode; the
 * search stops at `limit` nodes.
 *
 * The result per machine: the shortest move sequence reaching each state and each transition,
 * and a small set of walks (greedy set cover over those sequences) that together take every
 * transition reached.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MemoryWorld } from '../../src/adapters/memory/index.ts';
import type { PolicyOverrides } from '../../src/domain/policy.ts';
import { type MachineGraph, machineGraph, transitionKey } from '../../src/graph/machineGraph.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowRuntime, StepObservation } from '../../src/runtime/runtime.ts';
import { type FaultyHost, faultyHost } from './faultyHost.ts';

export interface PathContext<F = Record<string, unknown>> {
  readonly host: FaultyHost;
  readonly world: MemoryWorld;
  readonly runtime: FlowRuntime;
  readonly flowId: string;
  /** Whatever the spec's setup made: accounts, sessions, an authenticator. */
  readonly fixtures: F;
  /** The stored context of the flow right now. */
  context(): Record<string, unknown>;
}

export interface Move<F> {
  readonly name: string;
  run(ctx: PathContext<F>): Promise<unknown>;
}

export interface PathSpec<F = Record<string, unknown>> {
  readonly flow: string;
  readonly definition: (world: MemoryWorld) => FlowDefinition;
  readonly policy?: PolicyOverrides;
  setup(host: FaultyHost): Promise<{ readonly flowId: string; readonly fixtures: F }>;
  readonly moves: readonly Move<F>[];
  /** What of the context and the world tells two nodes of one state apart, as far as guards care. */
  abstract(context: Record<string, unknown>, now: number, ctx: PathContext<F>): unknown;
  /** Most nodes the search expands. */
  readonly limit: number;
  /** Longest move sequence tried. */
  readonly depth: number;
  /**
   * Waypoints: move sequences (by name) the search starts from as well as from the start, for
   * machines whose later states sit deeper than a blind breadth-first search gets within its limit.
   * Every prefix of a seed is a node; the search then spreads out from each.
   */
  readonly seeds?: readonly (readonly string[])[];
  /** Transitions no path through the runtime can take, each with why; the test keeps this list honest. */
  readonly unreachable?: Readonly<Record<string, string>>;
}

export interface PathRun {
  readonly moves: readonly string[];
  readonly transitions: readonly string[];
  readonly states: readonly string[];
  readonly finalState: string;
  readonly key: string;
}

export interface Exploration {
  readonly graph: MachineGraph;
  readonly reachedStates: ReadonlyMap<string, readonly string[]>;
  readonly reachedTransitions: ReadonlyMap<string, readonly string[]>;
  readonly walks: readonly PathRun[];
  readonly expanded: number;
  readonly replays: number;
}

const storedEnvelope = (world: MemoryWorld, flowId: string) => JSON.parse(world.store.raw(flowId) ?? '{}') as { snapshot: { value: unknown; context: Record<string, unknown>; status: string }; outbox: unknown[] };

const stateName = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}.${stateName(v)}`).join('|');

const definitions = new WeakMap<object, FlowDefinition>();

/**
 * One definition per spec, built once: machines are meant to be created once per host, and every
 * world here has the same seed, hence the same code key, so one definition serves all replays.
 */
const definitionOf = <F>(spec: PathSpec<F>): FlowDefinition => {
  const known = definitions.get(spec);
  if (known !== undefined) return known;
  const made = spec.definition(faultyHost(spec.policy === undefined ? {} : { policy: spec.policy }).world);
  definitions.set(spec, made);
  return made;
};

/** Replays `moves` from a fresh world and reports what the flow took. */
export const runPath = async <F>(spec: PathSpec<F>, moves: readonly Move<F>[]): Promise<PathRun> => {
  const transitions: string[] = [];
  const states = new Set<string>();
  let flowId = '';
  const observe = (step: StepObservation) => {
    if (flowId !== '' && step.flowId !== flowId) return;
    for (const t of step.transitions) {
      transitions.push(transitionKey(t.source, t.event, t.branch));
      // Final states a parent's onDone leaves at once are entered all the same.
      for (const target of t.targets) states.add(target);
    }
    for (const node of step.to._nodes) states.add(node.id);
  };
  const host = faultyHost({ ...(spec.policy === undefined ? {} : { policy: spec.policy }), definitions: () => [definitionOf(spec)], runtime: { observe } });
  const started = await spec.setup(host);
  flowId = started.flowId;
  // The start itself was observed before the id was known: read its states from storage.
  const ctx: PathContext<F> = {
    host,
    world: host.world,
    get runtime() {
      return host.runtime;
    },
    flowId,
    fixtures: started.fixtures,
    context: () => storedEnvelope(host.world, flowId).snapshot.context,
  };
  const first = storedEnvelope(host.world, flowId);
  const machine = definitionOf(spec).machine;
  for (const node of machine.resolveState({ value: first.snapshot.value as never, context: first.snapshot.context as never })._nodes) states.add(node.id);
  for (const move of moves) {
    await move.run(ctx);
    // Faults are armed for one move only: a later move must not trip over an unused one.
    host.faults.dropNextCode = false;
    host.faults.crashAfterNextSave = false;
  }
  const envelope = storedEnvelope(host.world, flowId);
  const finalState = stateName(envelope.snapshot.value);
  const key = JSON.stringify([finalState, envelope.snapshot.status, envelope.outbox.length, spec.abstract(envelope.snapshot.context, host.world.clock.now(), ctx)]);
  return { moves: moves.map((m) => m.name), transitions, states: [...states], finalState, key };
};

/** Breadth-first over abstract states; every move from every node, up to the limits. */
export const explore = async <F>(spec: PathSpec<F>): Promise<Exploration> => {
  const graph = machineGraph(definitionOf(spec).machine);
  const graphStates = new Set(graph.states.map((s) => s.id));
  const graphTransitions = new Set(graph.transitions.map((t) => t.key));
  const reachedStates = new Map<string, readonly string[]>();
  const reachedTransitions = new Map<string, readonly string[]>();
  const runs: PathRun[] = [];
  const seen = new Set<string>();
  let replays = 0;
  const record = (run: PathRun) => {
    runs.push(run);
    for (const s of run.states) if (graphStates.has(s) && !reachedStates.has(s)) reachedStates.set(s, run.moves);
    for (const t of run.transitions) if (graphTransitions.has(t) && !reachedTransitions.has(t)) reachedTransitions.set(t, run.moves);
  };
  const root = await runPath(spec, []);
  replays += 1;
  record(root);
  seen.add(root.key);
  const byName = new Map(spec.moves.map((m) => [m.name, m]));
  const seedPrefixes = new Map<string, Move<F>[]>();
  for (const seed of spec.seeds ?? []) {
    for (let n = 1; n <= seed.length; n++) {
      const moves = seed.slice(0, n).map((name) => {
        const found = byName.get(name);
        if (found === undefined) throw new Error(`${spec.flow}: seed names an unknown move "${name}"`);
        return found;
      });
      seedPrefixes.set(seed.slice(0, n).join('\u0000'), moves);
    }
  }
  for (const moves of seedPrefixes.values()) {
    const run = await runPath(spec, moves);
    replays += 1;
    record(run);
    seen.add(run.key);
  }
  let frontier: Move<F>[][] = [[], ...seedPrefixes.values()];
  let expanded = 0;
  const wanted = graph.transitions.filter((t) => !(t.key in (spec.unreachable ?? {}))).length + graphStates.size;
  const done = () => reachedTransitions.size + reachedStates.size >= wanted;
  for (let depth = 0; depth < spec.depth && frontier.length > 0 && expanded < spec.limit && !done(); depth++) {
    const next = new Map<string, Move<F>[][]>();
    for (const prefix of frontier) {
      if (expanded >= spec.limit || done()) break;
      expanded += 1;
      for (const move of spec.moves) {
        const moves = [...prefix, move];
        const run = await runPath(spec, moves);
        replays += 1;
        const before = reachedTransitions.size + reachedStates.size;
        record(run);
        const novel = reachedTransitions.size + reachedStates.size > before;
        // A node counts as new by its abstract state; a move that reached nothing new from a known
        // node is not worth extending.
        if (!seen.has(run.key) || novel) {
          seen.add(run.key);
          next.set(run.finalState, [...(next.get(run.finalState) ?? []), moves]);
        }
      }
    }
    // Round robin over state values: when the limit cuts a level short, every state got its turn,
    // not only the one with the most variants (resend loops make many).
    const groups = [...next.values()];
    frontier = [];
    for (let i = 0; groups.some((g) => i < g.length); i++) for (const g of groups) if (i < g.length) frontier.push(g[i] as Move<F>[]);
  }
  return { graph, reachedStates, reachedTransitions, walks: cover(runs, reachedTransitions, reachedStates), expanded, replays };
};

/** The fewest runs (greedily) that together take every reached transition and enter every reached state. */
const cover = (runs: readonly PathRun[], transitions: ReadonlyMap<string, unknown>, states: ReadonlyMap<string, unknown>): PathRun[] => {
  const wanted = new Set([...transitions.keys(), ...[...states.keys()].map((s) => `state:${s}`)]);
  const items = (run: PathRun) => new Set([...run.transitions, ...run.states.map((s) => `state:${s}`)].filter((x) => wanted.has(x)));
  const chosen: PathRun[] = [];
  const left = new Set(wanted);
  while (left.size > 0) {
    let best: PathRun | undefined;
    let bestGain = 0;
    for (const run of runs) {
      let gain = 0;
      for (const item of items(run)) if (left.has(item)) gain++;
      // Prefer more new items, then the shorter walk.
      if (gain > bestGain || (gain === bestGain && gain > 0 && best !== undefined && run.moves.length < best.moves.length)) {
        best = run;
        bestGain = gain;
      }
    }
    if (best === undefined) break;
    chosen.push(best);
    for (const item of items(best)) left.delete(item);
  }
  return chosen;
};

/** Sends an event and ignores refusals: a move that does nothing is simply a node already seen. */
export const sendIgnoring = async <F>(ctx: PathContext<F>, event: unknown, session?: Parameters<FlowRuntime['send']>[2]): Promise<void> => {
  try {
    await ctx.runtime.send(ctx.flowId, event, session);
  } catch {
    // The crash fault throws out of the store on purpose; the host "died" mid-request.
  }
};

/** The flow's state value as a dotted name, from storage. */
export const storedState = <F>(ctx: PathContext<F>): string => stateName(storedEnvelope(ctx.world, ctx.flowId).snapshot.value);

/**
 * Repeats `attempt` while the flow stays in one of `states`, at most `max` times: a guesser who
 * keeps going. Keeps searches shallow where a rule needs many tries to trip.
 */
export const persist = async <F>(ctx: PathContext<F>, states: readonly string[], attempt: (ctx: PathContext<F>) => Promise<unknown>, max = 24): Promise<void> => {
  for (let i = 0; i < max && states.includes(storedState(ctx)); i++) await attempt(ctx);
};

/** Moves the clock to the flow's next deadline and wakes it there. */
export const wakeAtDeadline = async <F>(ctx: PathContext<F>): Promise<void> => {
  const read = await ctx.runtime.read(ctx.flowId);
  if (E.isLeft(read) || read.right.nextDeadline === null) return;
  ctx.world.clock.advanceTo(read.right.nextDeadline);
  try {
    await ctx.runtime.tick(ctx.flowId);
  } catch {
    // as above
  }
};
