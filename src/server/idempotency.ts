/**
 * `Idempotency-Key` → the runtime's request id. The key is scoped to the caller and hashed, so
 * one client's key never lands on another's flow, and what rests in the flow store is no bearer
 * of anything. A retried request must not spend the abuse budgets twice either, so the service
 * asks the store first whether the runtime will answer it from memory.
 */
import * as E from 'fp-ts/lib/Either.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { FlowEnvelope } from '../runtime/envelope.ts';
import { bytesToId } from '../runtime/ids.ts';
import type { FlowStore } from '../ports/flowStore.ts';

/**
 * Printable ASCII, 16 to 128 characters (a UUID fits): a short key is too easy to collide with,
 * and the draft standard's quoted form (`"…"`) is accepted too.
 */
const KEY = /^"?([\x21\x23-\x7e]{16,128})"?$/;

/**
 * @example
 * idempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'); // Right('8e03978e-…')
 * idempotencyKey(undefined);                                 // Right(undefined)
 */
export const idempotencyKey = (header: string | undefined): E.Either<'idempotency_key_invalid', string | undefined> => {
  if (header === undefined) return E.right(undefined);
  const match = KEY.exec(header.trim());
  return match?.[1] === undefined ? E.left('idempotency_key_invalid') : E.right(match[1]);
};

/** The runtime's request id for a key sent by this caller (an account id, or nobody). */
export const requestIdFor = (key: string, actor: string | null): string => bytesToId(sha256(utf8ToBytes(`account-flows/http-idempotency/v1\u0000${actor ?? ''}\u0000${key}`)));

/** The flow a start with this request id opens: the same derivation as `createRuntime().start`. */
export const startedFlowId = (name: string, requestId: string): string => bytesToId(sha256(utf8ToBytes(`${name}\u0000${requestId}`)).subarray(0, 16));

/** Whether the runtime answers this start from a flow it already opened for the request id. */
export const isRepeatedStart = async (store: FlowStore, name: string, requestId: string): Promise<boolean> => {
  try {
    return (await store.load(startedFlowId(name, requestId))) !== undefined;
  } catch {
    // The runtime meets the same failing store next and answers port_failure itself.
    return false;
  }
};

/** Whether the runtime answers this event from the reply it stored for the request id. */
export const isRepeatedEvent = async (store: FlowStore, flowId: string, requestId: string): Promise<boolean> => {
  try {
    const envelope = FlowEnvelope.decode(await store.load(flowId));
    return E.isRight(envelope) && envelope.right.replies.some((r) => r.requestId === requestId);
  } catch {
    return false;
  }
};
