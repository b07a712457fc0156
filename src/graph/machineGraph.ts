/**
 * A machine's states and transitions, read from the definition itself (xstate has no
 * exporter). Coverage reports, path generation and diagrams all count from this one walk, so
 * "every transition" means the same thing everywhere: (source state, event, guard branch).
 */
import type { AnyStateMachine } from 'xstate';

export interface GraphTransition {
  readonly key: string;
  readonly source: string;
  readonly event: string;
  readonly branch: number;
  readonly guard: string | null;
  readonly targets: readonly string[];
  /** Whether the transition is a deadline (`clock.tick`) edge. */
  readonly deadline: boolean;
}

export interface GraphState {
  readonly id: string;
  readonly parent: string | null;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly initial: string | null;
}

export interface MachineGraph {
  readonly machine: string;
  /** The machine's own node: a parallel machine has regions and no initial state. */
  readonly root: { readonly id: string; readonly type: 'compound' | 'parallel'; readonly initial: string | null };
  readonly states: readonly GraphState[];
  readonly transitions: readonly GraphTransition[];
  /**
   * Eventless (`always`) transitions, keyed `source||branch`. Kept apart from `transitions`:
   * coverage counts (source, event, branch) from xstate's microsteps, which give an eventless
   * transition no branch, so counting these among the totals would leave them missing forever.
   */
  readonly eventless: readonly GraphTransition[];
  /**
   * Handlers that take nothing (no target, no actions): they only stop an ancestor's handler for
   * the same event, as a state waiting on a committed effect stops the lifetime tick. The runtime
   * never accepts such a step, so no flow can "take" one; coverage leaves them out, diagrams
   * show them.
   */
  readonly blocked?: readonly GraphTransition[];
}

interface NodeLike {
  readonly id: string;
  readonly type: GraphState['type'];
  readonly parent?: NodeLike;
  readonly states: Record<string, NodeLike>;
  readonly initial?: { readonly target?: readonly NodeLike[] };
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
}

interface TransitionLike {
  readonly guard?: unknown;
  readonly target?: readonly NodeLike[];
  readonly actions: readonly unknown[];
}

export const transitionKey = (source: string, event: string, branch: number): string => `${source}|${event}|${branch}`;

/** A readable name for a guard, combined ones included (`and(a, not(b))`). */
export const guardLabel = (guard: unknown): string | null => {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const check = (guard as { check?: unknown; guards?: unknown[]; name?: string }).guards;
    const kind = (guard as { name?: string }).name;
    if (Array.isArray(check)) return `${kind ?? 'guard'}(${check.map((g) => guardLabel(g) ?? '?').join(', ')})`;
    return kind !== undefined && kind !== '' ? kind : 'inline';
  }
  if (typeof guard === 'object') {
    const typed = guard as { type?: unknown };
    return typeof typed.type === 'string' ? typed.type : 'inline';
  }
  return String(guard);
};

/**
 * @example
 * const graph = machineGraph(createRegistrationMachine(deps));
 * graph.transitions.length; // every (source, event, branch)
 */
export const machineGraph = (machine: AnyStateMachine): MachineGraph => {
  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const eventless: GraphTransition[] = [];
  const blocked: GraphTransition[] = [];
  const visit = (node: NodeLike, isRoot: boolean): void => {
    if (!isRoot) {
      states.push({ id: node.id, parent: node.parent?.id ?? null, type: node.type, initial: node.initial?.target?.[0]?.id ?? null });
    }
    for (const [event, branches] of node.transitions) {
      branches.forEach((t, branch) => {
        const takesNothing = t.target === undefined && t.actions.length === 0;
        (takesNothing ? blocked : transitions).push({
          key: transitionKey(node.id, event, branch),
          source: node.id,
          event,
          branch,
          guard: guardLabel(t.guard),
          targets: (t.target ?? []).map((target) => target.id),
          deadline: event === 'clock.tick',
        });
      });
    }
    (node.always ?? []).forEach((t, branch) => {
      eventless.push({ key: transitionKey(node.id, '', branch), source: node.id, event: '', branch, guard: guardLabel(t.guard), targets: (t.target ?? []).map((target) => target.id), deadline: false });
    });
    for (const child of Object.values(node.states)) visit(child, false);
  };
  const root = machine.root as unknown as NodeLike;
  visit(root, true);
  return {
    machine: machine.id,
    root: { id: root.id, type: root.type === 'parallel' ? 'parallel' : 'compound', initial: root.initial?.target?.[0]?.id ?? null },
    states,
    transitions,
    eventless,
    blocked,
  };
};

/** How an event reads on a diagram: xstate's internal names for onDone, `always` and `after` are spelled out. */
export const eventLabel = (event: string): string => {
  if (event === '') return 'always';
  if (event.startsWith('xstate.done.state.')) return 'done';
  const after = /^xstate\.after\.(.+?)\.(.+)$/.exec(event);
  if (after !== null) return `after ${after[1]} ms`;
  if (event.startsWith('xstate.done.actor.')) return `done(${event.slice('xstate.done.actor.'.length)})`;
  if (event.startsWith('xstate.error.actor.')) return `error(${event.slice('xstate.error.actor.'.length)})`;
  return event;
};

/**
 * An edge's label: `event [guard]`. A guardless branch after guarded ones of the same event is
 * the fallback xstate takes when none of them held, so it reads `[else]`.
 *
 * @example
 * edgeLabel({ event: 'clock.tick', guard: 'codeExpired', branch: 0, ... }); // 'clock.tick [codeExpired]'
 */
export const edgeLabel = (t: Pick<GraphTransition, 'event' | 'guard' | 'branch'>): string => {
  const event = eventLabel(t.event);
  if (t.guard !== null) return `${event} [${t.guard}]`;
  return t.branch > 0 ? `${event} [else]` : event;
};

/** The state's own name, the last segment of its id. */
export const localName = (graph: MachineGraph, stateId: string): string => {
  const state = graph.states.find((s) => s.id === stateId);
  const parent = state?.parent ?? graph.root.id;
  return stateId.startsWith(`${parent}.`) ? stateId.slice(parent.length + 1) : stateId;
};
