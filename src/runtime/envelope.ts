/**
 * The versioned envelope a flow is stored in. Everything read back from storage is decoded
 * again: a tampered or truncated envelope is a typed error, never a crash.
 */
import * as t from 'io-ts';

export const SCHEMA_VERSION = 1;

export const OutboxEntry = t.readonly(
  t.type({
    /** `${flowId}:${version}:${index}` — stable across retries, so effects run once. */
    key: t.string,
    effect: t.readonly(t.type({ type: t.string, params: t.unknown })),
  }),
);
export type OutboxEntry = t.TypeOf<typeof OutboxEntry>;

export const StoredReply = t.readonly(t.type({ requestId: t.string, reply: t.unknown }));
export type StoredReply = t.TypeOf<typeof StoredReply>;

export const PersistedSnapshot = t.readonly(
  t.type({ value: t.union([t.string, t.UnknownRecord]), context: t.UnknownRecord, status: t.keyof({ active: null, done: null, error: null, stopped: null }) }),
);
export type PersistedSnapshot = t.TypeOf<typeof PersistedSnapshot>;

export const FlowEnvelope = t.readonly(
  t.type({
    flowId: t.string,
    machine: t.string,
    machineVersion: t.number,
    schemaVersion: t.literal(SCHEMA_VERSION),
    version: t.number,
    createdAt: t.number,
    updatedAt: t.number,
    snapshot: PersistedSnapshot,
    outbox: t.readonlyArray(OutboxEntry),
    /** The last answers given, by request id, so a retried request gets the same answer. */
    replies: t.readonlyArray(StoredReply),
  }),
);
export type FlowEnvelope = t.TypeOf<typeof FlowEnvelope>;

/** How many past answers an envelope keeps for idempotent retries. */
export const REPLY_MEMORY = 8;
