/**
 * "The first answer wins" across instances. A caller claims its key by inserting it inside the
 * transaction that does the work; a second caller with the same key waits on that insert (the
 * unique key makes it wait for the first transaction to end) and then reads the stored answer
 * instead of doing the work again. A rolled-back first attempt leaves no claim behind.
 */
import { DAY, type Instant } from '../../domain/time.ts';
import type { SqlQueryable } from './client.ts';

export type IdempotencyScope = 'directory' | 'sessions' | 'budgets';

/** How an answer is kept: by default as it is; an answer holding a secret keeps a reference. */
export interface StoredAs<T, S> {
  toStored(result: T): S;
  fromStored(stored: S, tx: SqlQueryable): Promise<T>;
}

const asItIs = <T>(): StoredAs<T, T> => ({ toStored: (result) => result, fromStored: async (stored) => stored });

/**
 * Runs `work` once per (scope, key) and stores its answer as JSON; later calls get that answer.
 * Must run inside a transaction, together with the writes `work` makes.
 */
export const once = async <T, S = T>(tx: SqlQueryable, scope: IdempotencyScope, key: string, work: () => Promise<T>, as: StoredAs<T, S> = asItIs<T>() as unknown as StoredAs<T, S>): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    const claimed = await tx.query('INSERT INTO af_idempotency (scope, key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING key', [scope, key]);
    if (claimed.length > 0) break;
    const [earlier] = await tx.query<{ result: string | null }>('SELECT result FROM af_idempotency WHERE scope = $1 AND key = $2', [scope, key]);
    // Swept between the two statements: the record was past retention, so this call is new.
    // A fresh claim is never swept at once (it has no `seen_at` yet), so one more try settles it.
    if (earlier === undefined && attempt === 1) continue;
    if (earlier?.result === null || earlier?.result === undefined) throw new Error(`idempotency key ${scope}/${key.slice(0, 64)} has no stored answer`);
    return as.fromStored(JSON.parse(earlier.result) as S, tx);
  }
  const result = await work();
  await tx.query('UPDATE af_idempotency SET result = $3 WHERE scope = $1 AND key = $2', [scope, key, JSON.stringify(as.toStored(result) ?? null)]);
  return result;
};

/**
 * How long an answer is kept: 7 days, as long as the sent log keeps the same keys.
 *
 * These keys are not HTTP `Idempotency-Key`s (a client's retry is answered from the replies in
 * the flow's envelope, which live as long as the flow). They are outbox keys `flow:version:index`,
 * and the only caller that repeats one is the outbox re-running an entry whose result never
 * reached the envelope: on the next scheduler pass in normal running (seconds), or when a host
 * comes back after an outage. The 24 h usual for HTTP keys (Stripe's) would cover the first;
 * a week also covers a host down over a long weekend, or a drain failing for days, after which
 * a forgotten answer would run the work again (a second password reset, a budget spent twice).
 * The rows are small (a few per message sent, one per account change or vouch), so a week costs little.
 */
export const IDEMPOTENCY_RETENTION_MS = 7 * DAY;

/**
 * Deletes the answers kept longer than `IDEMPOTENCY_RETENTION_MS`; returns how many. Run it
 * with the flow sweep (every `FLOW_RETENTION.sweepEveryMs`).
 *
 * `once` is handed no instant and the database's clock is never read, so a record's age is
 * counted from the first sweep that sees it: that sweep stamps `seen_at` with its `now`. A
 * record thus lives at least the retention and is gone by the first sweep after retention plus
 * one sweep interval; a retry within the retention always finds its answer.
 *
 * @example
 * setInterval(() => sweepIdempotency(client, Date.now()), FLOW_RETENTION.sweepEveryMs);
 */
export const sweepIdempotency = async (db: SqlQueryable, now: Instant): Promise<number> => {
  const [gone] = await db.query<{ n: number }>('WITH gone AS (DELETE FROM af_idempotency WHERE seen_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [now - IDEMPOTENCY_RETENTION_MS]);
  await db.query('UPDATE af_idempotency SET seen_at = $1 WHERE seen_at IS NULL', [now]);
  return gone?.n ?? 0;
};
