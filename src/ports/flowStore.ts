import type { Instant } from '../domain/time.ts';
import type { FlowEnvelope } from '../runtime/envelope.ts';

/**
 * What a store may index beside the envelope, so that a host can find the flows it must wake
 * or finish after a restart without decoding every row. The envelope stays the truth; the
 * index is derived from it on every write.
 */
export interface FlowIndex {
  /** When the flow must next be woken, or null when nothing waits. */
  readonly nextDeadline: Instant | null;
  /** Outbox entries saved but not yet run. */
  readonly pendingEffects: number;
  /** The machine reached a final state; the flow only waits for clean-up. */
  readonly finished: boolean;
}

/**
 * Durable flows. `replace` is a compare-and-set on the envelope's version: of two writers
 * that loaded the same version, exactly one succeeds.
 */
export interface FlowStore {
  load(flowId: string): Promise<unknown>;
  insert(envelope: FlowEnvelope, index: FlowIndex): Promise<boolean>;
  replace(envelope: FlowEnvelope, expectedVersion: number, index: FlowIndex): Promise<boolean>;
}

/**
 * The questions a host asks its store after a restart or on a schedule, answered from the
 * index. Stores that several hosts share answer them for all of them.
 */
export interface FlowQueries {
  /** Flows whose deadline is at or before `now`, earliest first (ties by flow id). */
  due(now: Instant, limit: number): Promise<readonly { readonly flowId: string; readonly at: Instant }[]>;
  /** The earliest deadline after `now`, or null: what a host sleeps until. */
  nextDeadlineAfter(now: Instant): Promise<Instant | null>;
  /** Flows whose outbox still holds entries that have not run. */
  withPendingEffects(limit: number): Promise<readonly string[]>;
  /**
   * Deletes flows that finished before `finishedBefore` and flows not written since
   * `abandonedBefore` (whatever their state); returns how many it deleted.
   */
  sweep(finishedBefore: Instant, abandonedBefore: Instant): Promise<number>;
}
