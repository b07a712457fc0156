/**
 * What a messenger remembers about keys it already delivered, so an outbox entry run again
 * (the host died after the provider accepted the message, before the flow heard of it) is
 * answered from memory instead of reaching the recipient twice.
 */
export interface SentLog {
  /** The provider id recorded for a key, if a message under it was accepted. */
  get(idempotencyKey: string): Promise<string | undefined>;
  record(idempotencyKey: string, providerId: string): Promise<void>;
}

/**
 * A sent log in process memory: it outlives a failed step but not the process. The oldest keys
 * are forgotten past `limit`; an outbox entry is retried long before that many sends happen.
 *
 * @example
 * const mail = smtpMessenger({ url: 'smtp://localhost:25', from: 'no-reply@example.com', sentLog: memorySentLog() });
 */
export const memorySentLog = (limit = 100_000): SentLog => {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`A sent log must hold at least one key, got ${limit}.`);
  // A Map iterates in insertion order, so its first key is the oldest.
  const sent = new Map<string, string>();
  return {
    get: async (key) => sent.get(key),
    record: async (key, providerId) => {
      if (sent.has(key)) return;
      sent.set(key, providerId);
      if (sent.size > limit) sent.delete(sent.keys().next().value as string);
    },
  };
};
