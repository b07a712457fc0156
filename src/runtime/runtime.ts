/**
 * The one way every host moves a flow: decode, attach trusted facts, transition purely, save
 * with compare-and-set, then run the outbox and feed results back. Nothing here reads ambient
 * time or randomness: the clock and the random source are ports.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { decodeWith } from '../domain/decode.ts';
import { EFFECT_TYPES } from '../domain/effects.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { FlowEnvelope, type OutboxEntry, REPLY_MEMORY, SCHEMA_VERSION } from './envelope.ts';
import { runEffect } from './executor.ts';
import { type FlowDefinition, type FlowView, type MachineEvent, TICK, type TrustedFacts } from './flowDefinition.ts';
import type { FlowPorts } from './ports.ts';
import { observedTransition, pureTransition, type TakenTransition } from './transition.ts';
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

export interface RuntimeOptions {
  /** Called after every applied step, before it is saved; must not throw or modify anything. */
  readonly observe?: (step: StepObservation) => void;
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
  const { observe } = runtimeOptions;
  const byName = new Map(definitions.map((d) => [d.name, d]));

  const facts = (session: HostSession): TrustedFacts => ({ at: ports.clock.now(), actor: session.actor, sessionId: session.sessionId, role: session.role ?? 'user' });

  const load = async (flowId: string): Promise<E.Either<FlowError, Loaded>> => {
    if (typeof flowId !== 'string' || flowId.length === 0 || flowId.length > 128) {
      return E.left(flowError('flow_not_found', 'No such flow.', { field: 'flowId' }));
    }
    let raw: unknown;
    try {
      raw = await ports.store.load(flowId);
    } catch {
      return E.left(flowError('port_failure', 'The flow store could not be read.'));
    }
    if (raw === undefined) return E.left(flowError('flow_not_found', 'No such flow.', { field: 'flowId' }));
    const envelope = decodeWith(FlowEnvelope, raw, 'snapshot_corrupt');
    if (E.isLeft(envelope)) return envelope;
    const env = envelope.right;
    const definition = byName.get(env.machine);
    if (definition === undefined || env.flowId !== flowId) {
      return E.left(flowError('envelope_mismatch', `The stored flow belongs to machine "${env.machine.slice(0, 64)}", which this host does not run.`, { field: 'machine' }));
    }
    if (env.machineVersion !== definition.version) {
      return E.left(flowError('envelope_mismatch', `The stored flow was written by ${definition.name} v${env.machineVersion}; this host runs v${definition.version}.`, { field: 'machineVersion' }));
    }
    const context = decodeWith(definition.context, env.snapshot.context, 'snapshot_corrupt');
    if (E.isLeft(context)) return context;
    try {
      const snapshot = (definition.machine as AnyStateMachine).resolveState({ value: env.snapshot.value as never, context: context.right as never });
      if (snapshot.status !== env.snapshot.status && !(snapshot.status === 'done' && env.snapshot.status === 'done')) {
        return E.left(flowError('snapshot_corrupt', 'The stored status does not match the stored state.', { field: 'snapshot.status' }));
      }
      return E.right({ envelope: env, definition, snapshot });
    } catch {
      return E.left(flowError('snapshot_corrupt', 'The stored state does not exist in this machine.', { field: 'snapshot.value' }));
    }
  };

  const replyFor = (definition: FlowDefinition, envelope: FlowEnvelope, snapshot: AnyMachineSnapshot, replayed = false): StepReply => ({
    flowId: envelope.flowId,
    version: envelope.version,
    view: definition.view(snapshot as never),
    nextDeadline: snapshot.status === 'active' ? definition.nextDeadline(snapshot as never) : null,
    replayed,
    pendingEffects: envelope.outbox.length,
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
   * entry whose result this event is, so "effect ran" and "flow heard it" are one write.
   */
  const commit = async (
    loaded: Loaded,
    event: MachineEvent | undefined,
    at: number,
    options: { readonly done?: string; readonly requestId?: string; readonly strict: boolean },
  ): Promise<StepResult> => {
    const { envelope, definition, snapshot } = loaded;
    let next = snapshot;
    let newEntries: OutboxEntry[] = [];
    if (event !== undefined) {
      if (snapshot.status !== 'active') {
        if (options.strict) return E.left(flowError('flow_finished', 'This flow has already ended.'));
      } else if (!snapshot.can(event as never)) {
        if (options.strict) return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
      } else {
        let stepped: [AnyMachineSnapshot, readonly { type: string; params?: unknown }[], readonly TakenTransition[]];
        try {
          stepped = observe === undefined ? [...pureTransition(definition.machine, snapshot, event), []] : observedTransition(definition.machine, snapshot, event);
        } catch {
          return E.left(flowError('invalid_input', `"${event.type}" could not be applied; nothing changed.`, { field: 'type' }));
        }
        const [after, actions, transitions] = stepped;
        next = after;
        newEntries = outboxFrom(envelope.flowId, envelope.version + 1, actions);
        observe?.({ flowId: envelope.flowId, machine: definition.name, event: event.type, at, from: snapshot, to: after, transitions, effects: newEntries });
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
    const reply = replyFor(definition, nextEnvelope, next);
    const withReply: FlowEnvelope =
      options.requestId === undefined
        ? nextEnvelope
        : { ...nextEnvelope, replies: [...envelope.replies, { requestId: options.requestId, reply: storable(definition, reply) }].slice(-REPLY_MEMORY) };
    let saved: boolean;
    try {
      saved = await ports.store.replace(withReply, envelope.version);
    } catch {
      return E.left(flowError('port_failure', 'The flow store could not be written.'));
    }
    if (!saved) return E.left(flowError('stale_write', 'The flow changed meanwhile; load it again and retry.'));
    return E.right(reply);
  };

  /** Runs the outbox until it is empty, feeding each effect's result back into the flow. */
  const drain = async (flowId: string): Promise<StepResult> => {
    for (let i = 0; i < MAX_EFFECTS_PER_DRAIN; i++) {
      const loaded = await load(flowId);
      if (E.isLeft(loaded)) return loaded;
      const entry = loaded.right.envelope.outbox[0];
      if (entry === undefined) return E.right(replyFor(loaded.right.definition, loaded.right.envelope, loaded.right.snapshot));
      const at = ports.clock.now();
      let feedback;
      try {
        feedback = await runEffect(entry, flowId, ports, at);
      } catch {
        // The step itself is saved; the entry stays pending and the next drain runs it again
        // under the same idempotency key. The caller sees the saved state and the pending count.
        return E.right(replyFor(loaded.right.definition, loaded.right.envelope, loaded.right.snapshot));
      }
      const committed = await commit(loaded.right, feedback === undefined ? undefined : { ...feedback, at }, at, { done: entry.key, strict: false });
      // Another writer moved the flow on; it owns the rest of the outbox now.
      if (E.isLeft(committed)) return committed.left.code === 'stale_write' ? read(flowId) : committed;
    }
    return read(flowId);
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
    const decoded = decodeWith(definition.clientEvents, rawEvent);
    if (E.isLeft(decoded)) return decoded;
    if (snapshot.status !== 'active') return E.left(flowError('flow_finished', 'This flow has already ended.'));
    const trusted = facts(session);
    let enriched;
    try {
      enriched = await definition.enrich(decoded.right, snapshot as never, trusted, ports);
    } catch {
      return E.left(flowError('port_failure', 'A lookup needed for this step failed; nothing changed.'));
    }
    if (E.isLeft(enriched)) return enriched;
    const committed = await commit(loaded.right, { ...enriched.right, at: trusted.at }, trusted.at, { strict: true, ...(requestId === undefined ? {} : { requestId }) });
    if (E.isLeft(committed)) return committed;
    return withCallerView(definition, await settle(flowId, requestId), trusted);
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
    const decoded = decodeWith(codec, rawEvent);
    if (E.isLeft(decoded)) return decoded;
    const at = ports.clock.now();
    const committed = await commit(loaded.right, { ...decoded.right, at }, at, { strict: true, ...(requestId === undefined ? {} : { requestId }) });
    if (E.isLeft(committed)) return committed;
    return settle(flowId, requestId);
  };

  /** Drains the outbox, then records the settled answer for the request id, if any. */
  const settle = async (flowId: string, requestId: string | undefined): Promise<StepResult> => {
    const drained = await drain(flowId);
    if (E.isLeft(drained) || requestId === undefined) return drained;
    const loaded = await load(flowId);
    if (E.isLeft(loaded)) return drained;
    const { envelope } = loaded.right;
    const replies = envelope.replies.map((r) => (r.requestId === requestId ? { requestId, reply: storable(loaded.right.definition, drained.right) } : r));
    await ports.store.replace({ ...envelope, version: envelope.version + 1, replies }, envelope.version);
    return E.right({ ...drained.right, version: envelope.version + 1 });
  };

  const start = async (name: string, rawInput: unknown, session: HostSession = ANONYMOUS, requestId?: string): Promise<StepResult> => {
    const definition = byName.get(name);
    if (definition === undefined) return E.left(flowError('invalid_input', `There is no flow named "${String(name).slice(0, 64)}".`, { field: 'flow' }));
    const decoded = decodeWith(definition.input, rawInput);
    if (E.isLeft(decoded)) return decoded;
    const trusted = facts(session);
    // A start retried with its request id must land on the same flow, not open a second one.
    const flowId = requestId === undefined ? bytesToId(ports.random.bytes(16)) : bytesToId(sha256(utf8ToBytes(`${name}\u0000${requestId}`)).subarray(0, 16));
    if (requestId !== undefined) {
      const existing = await read(flowId);
      if (E.isRight(existing)) return E.right({ ...existing.right, replayed: true });
    }
    let input;
    try {
      input = await definition.prepareInput(decoded.right, trusted, ports, flowId);
    } catch {
      return E.left(flowError('port_failure', 'A lookup needed to start this flow failed; nothing was created.'));
    }
    if (E.isLeft(input)) return input;
    const [snapshot, actions] = pureTransition(definition.machine, undefined, undefined, input.right);
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
    observe?.({ flowId, machine: definition.name, event: 'xstate.init', at: trusted.at, from: snapshot, to: snapshot, transitions: [], effects: envelope.outbox });
    const inserted = await ports.store.insert(envelope);
    if (!inserted) return E.left(flowError('flow_exists', 'A flow with this id already exists.'));
    return settle(flowId, requestId);
  };

  const tick = async (flowId: string): Promise<StepResult> => {
    const loaded = await load(flowId);
    if (E.isLeft(loaded)) return loaded;
    const at = ports.clock.now();
    const due = loaded.right.snapshot.status === 'active' && loaded.right.snapshot.can({ type: TICK, at } as never);
    if (!due) return E.right(replyFor(loaded.right.definition, loaded.right.envelope, loaded.right.snapshot));
    const committed = await commit(loaded.right, { type: TICK, at }, at, { strict: false });
    return E.isLeft(committed) ? committed : drain(flowId);
  };

  return { start, send, deliver, tick, drain, read, ports };
};
