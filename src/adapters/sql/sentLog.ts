/**
 * The messaging adapters' sent log in the shared database: a message a provider accepted is
 * remembered across a crash and across instances, so the outbox entry run again after a restart
 * is answered from here instead of reaching the person twice. Rows older than the longest a
 * retry can come are swept with the flows.
 */
import type { Instant } from '../../domain/time.ts';
import type { Clock } from '../../ports/clock.ts';
import type { SqlClient } from './client.ts';

export interface SqlSentLog {
  get(idempotencyKey: string): Promise<string | undefined>;
  record(idempotencyKey: string, providerId: string): Promise<void>;
  /** Forgets keys recorded before `before`; returns how many. */
  sweep(before: Instant): Promise<number>;
}

export const sqlSentLog = (client: SqlClient, clock: Clock): SqlSentLog => ({
  get: async (key) => (await client.query<{ provider_id: string }>('SELECT provider_id FROM af_sent_log WHERE idempotency_key = $1', [key]))[0]?.provider_id,
  record: async (key, providerId) => {
    await client.query('INSERT INTO af_sent_log (idempotency_key, provider_id, recorded_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [key, providerId, clock.now()]);
  },
  sweep: async (before) => (await client.query<{ n: number }>('WITH gone AS (DELETE FROM af_sent_log WHERE recorded_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [before]))[0]?.n ?? 0,
});
