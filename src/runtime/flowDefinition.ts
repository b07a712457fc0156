/**
 * What the runtime needs to know about one kind of flow. A definition is built once per host
 * (machines are provided once, not per flow) and then serves every flow of its kind.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { AnyStateMachine, SnapshotFrom } from 'xstate';
import type { FlowError } from '../domain/errors.ts';
import type { Instant } from '../domain/time.ts';
import type { FlowPorts } from './ports.ts';

/** Facts the host vouches for; never taken from the request body. */
export interface TrustedFacts {
  readonly at: Instant;
  /** The signed-in account acting, from the host's session; null when nobody is signed in. */
  readonly actor: string | null;
  readonly sessionId: string | null;
  /** The actor's role as the host vouches for it ('agent': customer support); absent means 'user'. */
  readonly role?: 'user' | 'agent';
}

export interface FlowDefinition<TMachine extends AnyStateMachine = AnyStateMachine, TClientEvent = unknown, TInput = unknown> {
  readonly name: string;
  /** Bumped whenever a stored snapshot of the previous version would no longer restore. */
  readonly version: number;
  readonly machine: TMachine;
  /** Events a client may send, decoded at the boundary. Internal events are not in it. */
  readonly clientEvents: t.Decoder<unknown, TClientEvent>;
  /** The context codec: a restored context that does not decode is refused. */
  readonly context: t.Decoder<unknown, unknown>;
  /** Decodes the input a flow starts with (raw, from the host). */
  readonly input: t.Decoder<unknown, TInput>;
  /**
   * Builds the machine's input from the decoded start input: random nonces and deadlines are
   * fixed here, through the ports, so the machine itself stays pure.
   */
  prepareInput(input: TInput, facts: TrustedFacts, ports: FlowPorts, flowId: string): Promise<E.Either<FlowError, unknown>>;
  /**
   * Turns a decoded client event into the machine event: validates values against the policy,
   * looks up facts through ports, hashes passwords. A Left changes nothing.
   */
  enrich(event: TClientEvent, snapshot: SnapshotFrom<TMachine>, facts: TrustedFacts, ports: FlowPorts): Promise<E.Either<FlowError, MachineEvent>>;
  /** What the caller may see of a snapshot. Holds no secret and reveals no account's existence. */
  view(snapshot: SnapshotFrom<TMachine>): FlowView;
  /** The next instant at which the flow must be woken with `clock.tick`, if any. */
  nextDeadline(snapshot: SnapshotFrom<TMachine>): Instant | null;
  /**
   * View fields that show the user a secret (a TOTP secret, backup codes). The runtime leaves
   * them out of the replies it stores for retried requests, so the secret never rests in the
   * flow store; a retry gets the answer without them and can `read` the flow again.
   */
  readonly secretViewFields?: readonly string[];
  /**
   * Fields for the caller of one `send` alone, chosen by the host session that sent it (a friend
   * sees why their own confirmation did not count; the requester never does). The runtime adds
   * them to that reply only: never to a stored reply, a replay or a `read`.
   */
  callerView?(snapshot: SnapshotFrom<TMachine>, facts: TrustedFacts): Readonly<Record<string, unknown>>;
}

/** An event as the machine receives it: decoded, enriched and stamped with `at`. */
export type MachineEvent = { readonly type: string; readonly [key: string]: unknown };

export interface FlowView {
  readonly state: string;
  readonly done: boolean;
  readonly [key: string]: unknown;
}

/** Events only the runtime may send (results of effects, the clock); a client never can. */
export const TICK = 'clock.tick';
