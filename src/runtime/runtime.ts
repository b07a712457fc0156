/**
 * The one way every host moves a flow: decode, attach trusted facts, transition purely, save
 * with compare-and-set, then run the outbox and feed results back. Nothing here reads ambient
 * time or randomness: the clock and the random source are ports.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { decodeWith } from '../domain/decode.ts';
import { EFFECT_TYPES, effectCondition, statePathValue } from '../domain/effects.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { FlowEnvelope, type OutboxEntry, REPLY_MEMORY, SCHEMA_VERSION } from './envelope.ts';
import { runEffect } from './executor.ts';
import { type FlowDefinition, type FlowView, type MachineEvent, TICK, type TrustedFacts } from './flowDefinition.ts';
import type { FlowPorts } from './ports.ts';
import type { FlowIndex } from '../ports/flowStore.ts';
import { pureTransition, type Step, step, type TakenTransition } from './transition.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { bytesToId } from './ids.ts';

export interface HostSession {
  /** The signed-in account, as the host's own session layer established it. */
  readonly actor: string | null;
  readonly sessionId: string | null;
  /** What the host's session layer says the actor is; a support agent acts as 'agent'. Default 'user'. */
  readonly role?: 'user' | 'agent';
}

export interface StepReply {
  readonly flowId: string;
  readonly version: number;
  readonly view: FlowView;
  readonly nextDeadline: number | null;
  /** True when this answer is the stored one for a request id seen before. */
  readonly replayed: boolean;
  /** Effects saved but not yet run (a port failed); `drain` runs them later under the same keys. */
  readonly pendingEffects: number;
}

export type StepResult = E.Either<FlowError, StepReply>;

interface Loaded {
  readonly envelope: FlowEnvelope;
  readonly definition: FlowDefinition;
  readonly snapshot: AnyMachineSnapshot;
}

const ANONYMOUS: HostSession = { actor: null, sessionId: null };
/** A bound on effects run per call, so a machine that loops on its own feedback cannot hang a host. */
const MAX_EFFECTS_PER_DRAIN = 64;

/** What one applied step did: for coverage, traces and invariant checks in simulations. */
export interface StepObservation {
  readonly flowId: string;
  readonly machine: string;
  readonly event: string;
  readonly at: number;
  readonly from: AnyMachineSnapshot;
  readonly to: AnyMachineSnapshot;
  readonly transitions: readonly TakenTransition[];
  readonly effects: readonly OutboxEntry[];
}

/** The phases of hosting a step that `RuntimeOptions.profile` reports. */
export type RuntimePhase =
  | 'store.load'
  | 'envelope.decode'
  | 'context.decode'
  | 'resolveState'
  | 'event.decode'
  | 'enrich'
  | 'transition'
  | 'observe'
  | 'view'
  | 'store.save'
  | 'outbox';

export interface RuntimeOptions {
  /** Called after every applied step, before it is saved; must not throw or modify anything. */
  readonly observe?: (step: StepObservation) => void;
  /**
   * Told the time each phase took (benchmarks). Absent, no clock is read; the phases of
   * concurrent calls are not told apart, so profile one call at a time.
   */
  readonly profile?: RuntimeProfiler;
}

export interface RuntimeProfiler {
  /** The clock phases are timed by, in ms: `performance.now()`, or CPU time on a busy machine. */
  now(): number;
  record(phase: RuntimePhase, ms: number): void;
}

export interface FlowRuntime {
  start(name: string, rawInput: unknown, session?: HostSession, requestId?: string): Promise<StepResult>;
  send(flowId: string, rawEvent: unknown, session?: HostSession, requestId?: string): Promise<StepResult>;
  /**
   * Steps a flow with an event the host itself vouches for (a provider's webhook, say), decoded
   * with `codec` instead of the flow's client codec. Such events are kept out of the client
   * codec, so no client can forge them through `send`; the host authenticates the source first.
   */
  deliver(flowId: string, rawEvent: unknown, codec: t.Decoder<unknown, MachineEvent>, requestId?: string): Promise<StepResult>;
  /** Wakes a flow at a deadline; harmless when nothing is due. */
  tick(flowId: string): Promise<StepResult>;
  /** Runs pending outbox entries, e.g. after a crash between saving and running them. */
  drain(flowId: string): Promise<StepResult>;
  read(flowId: string): Promise<StepResult>;
  readonly ports: FlowPorts;
}

/**
 * @example
 * const runtime = createRuntime(ports, [registrationFlow(ports)]);
 * const started = await runtime.start('registration', {});
 * await runtime.send(flowId, { type: 'phone.submit', phone: '+8613800138000' });
 */
export const createRuntime = (ports: FlowPorts, definitions: readonly FlowDefinition[], runtimeOptions: RuntimeOptions = {}): FlowRuntime => {
  const { observe, profile } = runtimeOptions;
  const byName = new Map(definitions.map((d) => [d.name, d]));
  // Without a profiler both are no-ops, so timing costs nothing when nobody asks for it.
  const mark = profile === undefined ? () => 0 : () => profile.now();
  const lap = profile === undefined ? (_phase: RuntimePhase, _since: number) => {} : (phase: RuntimePhase, since: number) => profile.record(phase, profile.now() - since);

  const facts = (session: HostSession): TrustedFacts => ({ at: ports.clock.now(), actor: session.actor, sessionId: session.sessionId, role: session.role ?? 'user' });

  const load = async (flowId: string): Promise<E.Either<FlowError, Loaded>> => {
    if (typeof flowId !== 'string' || flowId.length === 0 || flowId.length > 128) {
      return E.left(flowError('flow_not_found', 'No such flow.', { field: 'flowId' }));
    }
    let raw: unknown;
    let t0 = mark();
    try {
      raw = await ports.store.load(flowId);
    } catch {
      return E.left(flowError('port_failure', 'The flow store could not be read.'));
    } finally {
      lap('store.load', t0);
    }
    if (raw === undefined) return E.left(flowError('flow_not_found', 'No such flow.', { field: 'flowId' }));
    t0 = mark();
    const envelope = decodeWith(FlowEnvelope, raw, 'snapshot_corrupt');
    lap('envelope.decode', t0);
    if (E.isLeft(envelope)) return envelope;
    const env = envelope.right;
    const definition = byName.get(env.machine);
    if (definition === undefined || env.flowId !== flowId) {
      return E.left(flowError('envelope_mismatch', `The stored flow belongs to machine "${env.machine.slice(0, 64)}", which this host does not run.`, { field: 'machine' }));
    }
    if (env.machineVersion !== definition.version) {
      return E.left(flowError('envelope_mismatch', `The stored flow was written by ${definition.name} v${env.machineVersion}; this host runs v${definition.version}.`, { field: 'machineVersion' }));
    }
    t0 = mark();
    const context = decodeWith(definition.context, env.snapshot.context, 'snapshot_corrupt');
    lap('context.decode', t0);
    if (E.isLeft(context)) return context;
    try {
      t0 = mark();
      const snapshot = (definition.machine as AnyStateMachine).resolveState({ value: env.snapshot.value as never, context: context.right as never });
      lap('resolveState', t0);
      if (snapshot.status !== env.snapshot.status && !(snapshot.status === 'done' && env.snapshot.status === 'done')) {
        return E.left(flowError('snapshot_corrupt', 'The stored status does not match the stored state.', { field: 'snapshot.status' }));
      }
      return E.right({ envelope: env, definition, snapshot });
    } catch {
      return E.left(flowError('snapshot_corrupt', 'The stored state does not exist in this machine.', { field: 'snapshot.value' }));
    }
  };

  const replyFor = (definition: FlowDefinition, envelope: FlowEnvelope, snapshot: AnyMachineSnapshot, replayed = false): StepReply => {
    const t0 = mark();
    const reply: StepReply = {
      flowId: envelope.flowId,
      version: envelope.version,
      view: definition.view(snapshot as never),
      nextDeadline: snapshot.status === 'active' ? definition.nextDeadline(snapshot as never) : null,
      replayed,
      pendingEffects: envelope.outbox.length,
    };
    lap('view', t0);
    return reply;
  };

  const indexOf = (definition: FlowDefinition, envelope: FlowEnvelope, snapshot: AnyMachineSnapshot): FlowIndex => ({
    nextDeadline: snapshot.status === 'active' ? definition.nextDeadline(snapshot as never) : null,
    pendingEffects: envelope.outbox.length,
    finished: snapshot.status !== 'active',
  });

  /** A reply as it may rest in the store: without the view fields that show a secret. */
  const storable = (definition: FlowDefinition, reply: StepReply): StepReply => {
    const hidden = definition.secretViewFields ?? [];
    if (hidden.length === 0) return reply;
    return { ...reply, view: Object.fromEntries(Object.entries(reply.view).filter(([key]) => !hidden.includes(key))) as FlowView };
  };

  const persist = (snapshot: AnyMachineSnapshot): FlowEnvelope['snapshot'] => {
    const { value, context, status } = snapshot;
    return { value: value as FlowEnvelope['snapshot']['value'], context, status };
  };

  const outboxFrom = (flowId: string, version: number, actions: readonly { type: string; params?: unknown }[]): OutboxEntry[] =>
    actions
      .filter((a) => EFFECT_TYPES.has(a.type))
      .map((a, index) => ({ key: `${flowId}:${version}:${index}`, effect: { type: a.type, params: a.params ?? {} } }));

  /**
   * Applies one machine event to a loaded flow and saves the result. `done` names an outbox
   * entry whose result this event is, so "effect ran" and "flow heard it" are one write. Gives
   * back the flow as saved: the compare-and-set just proved it is what the store now holds, so
   * the caller goes on from it without loading and decoding its own write again. `stepped` is
   * the step already taken from `loaded` with `event`, when the caller needed it first.
   */
  const commit = async (
    loaded: Loaded,
    event: MachineEvent | undefined,
    at: number,
    options: { readonly done?: string; readonly requestId?: string; readonly strict: boolean },
    stepped?: Step,
  ): Promise<E.Either<FlowError, Loaded>> => {
    const { envelope, definition, snapshot } = loaded;
    let next = snapshot;
    let newEntries: OutboxEntry[] = [];
    if (event !== undefined) {
      if (snapshot.status !== 'active') {
        if (options.strict) return E.left(flowError('flow_finished', 'This flow has already ended.'));
      } else {
        let taken = stepped;
        if (taken === undefined) {
          const t0 = mark();
          try {
            taken = step(definition.machine, snapshot, event, observe !== undefined);
          } catch {
            return E.left(flowError('invalid_input', `"${event.type}" could not be applied; nothing changed.`, { field: 'type' }));
          } finally {
            lap('transition', t0);
          }
        }
        // Not accepted: what `snapshot.can(event)` said before the step, so the step is dropped.
        if (!taken.accepted) {
          if (options.strict) return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
        } else {
          next = taken.next;
          newEntries = outboxFrom(envelope.flowId, envelope.version + 1, taken.actions);
          if (observe !== undefined) {
            const t1 = mark();
            observe({ flowId: envelope.flowId, machine: definition.name, event: event.type, at, from: snapshot, to: next, transitions: taken.taken, effects: newEntries });
            lap('observe', t1);
          }
        }
      }
    }
    const nextEnvelope: FlowEnvelope = {
      ...envelope,
      version: envelope.version + 1,
      updatedAt: at,
      snapshot: persist(next),
      outbox: [...envelope.outbox.filter((e) => e.key !== options.done), ...newEntries],
      replies: envelope.replies,
    };
    // Only a request id needs the reply now (to remember it); every caller answers after draining.
    const withReply: FlowEnvelope =
      options.requestId === undefined
        ? nextEnvelope
        : { ...nextEnvelope, replies: [...envelope.replies, { requestId: options.requestId, reply: storable(definition, replyFor(definition, nextEnvelope, next)) }].slice(-REPLY_MEMORY) };
    let saved: boolean;
    const t0 = mark();
    try {
      saved = await ports.store.replace(withReply, envelope.version, indexOf(definition, withReply, next));
    } catch {
      return E.left(flowError('port_failure', 'The flow store could not be written.'));
    } finally {
      lap('store.save', t0);
    }
    if (!saved) return E.left(flowError('stale_write', 'The flow changed meanwhile; load it again and retry.'));
    return E.right({ envelope: withReply, definition, snapshot: next });
  };

  /**
   * Runs the outbox until it is empty, feeding each effect's result back into the flow. Goes on
   * from each of its own writes; a concurrent writer makes the next write stale, and then the
   * flow is read anew (it owns the rest of the outbox). Effects run under their idempotency keys,
   * so an entry that writer ran as well has no second effect.
   */
  const drainFrom = async (from: Loaded): Promise<StepResult> => {
    const flowId = from.envelope.flowId;
    let current = from;
    for (let i = 0; i < MAX_EFFECTS_PER_DRAIN; i++) {
      const entry = current.envelope.outbox[0];
      if (entry === undefined) return E.right(replyFor(current.definition, current.envelope, current.snapshot));
      const at = ports.clock.now();
      let feedback;
      const t0 = mark();
      const onlyWhile = effectCondition(entry.effect.params);
      try {
        // An effect the flow no longer wants (it left the state that asked for it) is dropped.
        feedback = onlyWhile !== undefined && !current.snapshot.matches(statePathValue(onlyWhile) as never) ? undefined : await runEffect(entry, flowId, ports, at);
      } catch {
        // The step itself is saved; the entry stays pending and the next drain runs it again
        // under the same idempotency key. The caller sees the saved state and the pending count.
        return E.right(replyFor(current.definition, current.envelope, current.snapshot));
      } finally {
        lap('outbox', t0);
      }
      const committed = await commit(current, feedback === undefined ? undefined : { ...feedback, at }, at, { done: entry.key, strict: false });
      // Another writer moved the flow on; it owns the rest of the outbox now.
      if (E.isLeft(committed)) return committed.left.code === 'stale_write' ? read(flowId) : committed;
      current = committed.right;
    }
    return read(flowId);
  };

  const drain = async (flowId: string): Promise<StepResult> => {
    const loaded = await load(flowId);
    return E.isLeft(loaded) ? loaded : drainFrom(loaded.right);
  };

  const read = async (flowId: string): Promise<StepResult> => {
    const loaded = await load(flowId);
    return E.isLeft(loaded) ? loaded : E.right(replyFor(loaded.right.definition, loaded.right.envelope, loaded.right.snapshot));
  };

  const rememberedReply = (envelope: FlowEnvelope, requestId: string | undefined): StepReply | undefined => {
    const found = requestId === undefined ? undefined : envelope.replies.find((r) => r.requestId === requestId);
    return found === undefined ? undefined : { ...(found.reply as StepReply), replayed: true };
  };

  const send = async (flowId: string, rawEvent: unknown, session: HostSession = ANONYMOUS, requestId?: string): Promise<StepResult> => {
    const loaded = await load(flowId);
    if (E.isLeft(loaded)) return loaded;
    const remembered = rememberedReply(loaded.right.envelope, requestId);
    if (remembered !== undefined) return E.right(remembered);
    const { definition, snapshot } = loaded.right;
    let t0 = mark();
    const decoded = decodeWith(definition.clientEvents, rawEvent);
    lap('event.decode', t0);
    if (E.isLeft(decoded)) return decoded;
    if (snapshot.status !== 'active') return E.left(flowError('flow_finished', 'This flow has already ended.'));
    const trusted = facts(session);
    let enriched;
    t0 = mark();
    try {
      enriched = await definition.enrich(decoded.right, snapshot as never, trusted, ports);
    } catch {
      return E.left(flowError('port_failure', 'A lookup needed for this step failed; nothing changed.'));
    } finally {
      lap('enrich', t0);
    }
    if (E.isLeft(enriched)) return enriched;
    const committed = await commit(loaded.right, { ...enriched.right, at: trusted.at }, trusted.at, { strict: true, ...(requestId === undefined ? {} : { requestId }) });
    if (E.isLeft(committed)) return committed;
    return withCallerView(definition, await settle(committed.right, requestId), trusted);
  };

  /**
   * Adds the fields only this caller may see (`FlowDefinition.callerView`) to this one reply. They
   * are added after the reply was stored for its request id, so no replay and no `read` shows them.
   */
  const withCallerView = async (definition: FlowDefinition, result: StepResult, trusted: TrustedFacts): Promise<StepResult> => {
    if (definition.callerView === undefined || E.isLeft(result)) return result;
    const loaded = await load(result.right.flowId);
    if (E.isLeft(loaded)) return result;
    const own = definition.callerView(loaded.right.snapshot as never, trusted);
    return Object.keys(own).length === 0 ? result : E.right({ ...result.right, view: { ...result.right.view, ...own } });
  };

  const deliver = async (flowId: string, rawEvent: unknown, codec: t.Decoder<unknown, MachineEvent>, requestId?: string): Promise<StepResult> => {
    const loaded = await load(flowId);
    if (E.isLeft(loaded)) return loaded;
    // Providers retry webhooks; their delivery id as request id makes a retry harmless.
    const remembered = rememberedReply(loaded.right.envelope, requestId);
    if (remembered !== undefined) return E.right(remembered);
    const t0 = mark();
    const decoded = decodeWith(codec, rawEvent);
    lap('event.decode', t0);
    if (E.isLeft(decoded)) return decoded;
    const at = ports.clock.now();
    const committed = await commit(loaded.right, { ...decoded.right, at }, at, { strict: true, ...(requestId === undefined ? {} : { requestId }) });
    if (E.isLeft(committed)) return committed;
    return settle(committed.right, requestId);
  };

  /** Drains the outbox, then records the settled answer for the request id, if any. */
  const settle = async (saved: Loaded, requestId: string | undefined): Promise<StepResult> => {
    const drained = await drainFrom(saved);
    if (E.isLeft(drained) || requestId === undefined) return drained;
    const loaded = await load(saved.envelope.flowId);
    if (E.isLeft(loaded)) return drained;
    const { envelope } = loaded.right;
    const replies = envelope.replies.map((r) => (r.requestId === requestId ? { requestId, reply: storable(loaded.right.definition, drained.right) } : r));
    await ports.store.replace({ ...envelope, version: envelope.version + 1, replies }, envelope.version, indexOf(loaded.right.definition, envelope, loaded.right.snapshot));
    return E.right({ ...drained.right, version: envelope.version + 1 });
  };

  const start = async (name: string, rawInput: unknown, session: HostSession = ANONYMOUS, requestId?: string): Promise<StepResult> => {
    const definition = byName.get(name);
    // `String(name)` throws for a null-prototype object: the name is only quoted when it is a string.
    if (definition === undefined) return E.left(flowError('invalid_input', typeof name === 'string' ? `There is no flow named "${name.slice(0, 64)}".` : 'The flow name must be a string.', { field: 'flow' }));
    let t0 = mark();
    const decoded = decodeWith(definition.input, rawInput);
    lap('event.decode', t0);
    if (E.isLeft(decoded)) return decoded;
    const trusted = facts(session);
    // A start retried with its request id must land on the same flow, not open a second one.
    const flowId = requestId === undefined ? bytesToId(ports.random.bytes(16)) : bytesToId(sha256(utf8ToBytes(`${name}\u0000${requestId}`)).subarray(0, 16));
    if (requestId !== undefined) {
      const existing = await read(flowId);
      if (E.isRight(existing)) return E.right({ ...existing.right, replayed: true });
    }
    let input;
    t0 = mark();
    try {
      input = await definition.prepareInput(decoded.right, trusted, ports, flowId);
    } catch {
      return E.left(flowError('port_failure', 'A lookup needed to start this flow failed; nothing was created.'));
    } finally {
      lap('enrich', t0);
    }
    if (E.isLeft(input)) return input;
    t0 = mark();
    const [snapshot, actions] = pureTransition(definition.machine, undefined, undefined, input.right);
    lap('transition', t0);
    const envelope: FlowEnvelope = {
      flowId,
      machine: definition.name,
      machineVersion: definition.version,
      schemaVersion: SCHEMA_VERSION,
      version: 1,
      createdAt: trusted.at,
      updatedAt: trusted.at,
      snapshot: persist(snapshot),
      outbox: outboxFrom(flowId, 1, actions),
      replies: [],
    };
    if (observe !== undefined) {
      t0 = mark();
      observe({ flowId, machine: definition.name, event: 'xstate.init', at: trusted.at, from: snapshot, to: snapshot, transitions: [], effects: envelope.outbox });
      lap('observe', t0);
    }
    t0 = mark();
    const inserted = await ports.store.insert(envelope, indexOf(definition, envelope, snapshot));
    lap('store.save', t0);
    if (!inserted) return E.left(flowError('flow_exists', 'A flow with this id already exists.'));
    return settle({ envelope, definition, snapshot }, requestId);
  };

  const tick = async (flowId: string): Promise<StepResult> => {
    const loaded = await load(flowId);
    if (E.isLeft(loaded)) return loaded;
    const at = ports.clock.now();
    const { definition, snapshot } = loaded.right;
    const event = { type: TICK, at };
    let stepped: Step | undefined;
    if (snapshot.status === 'active') {
      const t0 = mark();
      try {
        stepped = step(definition.machine, snapshot, event, observe !== undefined);
      } catch {
        return E.left(flowError('invalid_input', `"${TICK}" could not be applied; nothing changed.`, { field: 'type' }));
      } finally {
        lap('transition', t0);
      }
    }
    if (stepped === undefined || !stepped.accepted) return E.right(replyFor(definition, loaded.right.envelope, snapshot));
    const committed = await commit(loaded.right, event, at, { strict: false }, stepped);
    return E.isLeft(committed) ? committed : drainFrom(committed.right);
  };

  return { start, send, deliver, tick, drain, read, ports };
};
