/**
 * Flows in SQL, one row each: the envelope as text beside an index derived from it.
 *
 * The envelope is kept as text, not jsonb, on purpose: what comes back is exactly what was
 * written, and a row someone tampered with or truncated reaches the runtime's decoder as it is
 * (unparseable text is handed up as a string), which refuses it with `snapshot_corrupt`, just as
 * with the memory store.
 *
 * An envelope written by an older machine version is not this store's business: it hands the
 * row up unchanged and the runtime's `load` compares `machineVersion` with the definition it
 * runs and refuses with a typed `envelope_mismatch` before anything is stepped or written, so
 * the row stays as it was for a host that still runs that version (or for a migration of the
 * snapshot). test/sql/runtime.test.ts shows it over SQL.
 */
import type { Instant } from '../../domain/time.ts';
import type { FlowIndex, FlowQueries, FlowStore } from '../../ports/flowStore.ts';
import type { FlowEnvelope } from '../../runtime/envelope.ts';
import { type SqlQueryable, toNumber } from './client.ts';

const NO_INDEX: FlowIndex = { nextDeadline: null, pendingEffects: 0, finished: false };

export class SqlFlowStore implements FlowStore, FlowQueries {
  readonly #db: SqlQueryable;

  constructor(db: SqlQueryable) {
    this.#db = db;
  }

  async load(flowId: string): Promise<unknown> {
    const raw = await this.raw(flowId);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }

  async insert(envelope: FlowEnvelope, index: FlowIndex = NO_INDEX): Promise<boolean> {
    const rows = await this.#db.query(
      `INSERT INTO af_flows (flow_id, version, envelope, next_deadline, pending_effects, finished, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (flow_id) DO NOTHING RETURNING flow_id`,
      [envelope.flowId, envelope.version, JSON.stringify(envelope), index.nextDeadline, index.pendingEffects, index.finished, envelope.updatedAt],
    );
    return rows.length === 1;
  }

  /** Compare-and-set in one statement: of two writers from the same version, one matches. */
  async replace(envelope: FlowEnvelope, expectedVersion: number, index: FlowIndex = NO_INDEX): Promise<boolean> {
    const rows = await this.#db.query(
      `UPDATE af_flows SET version = $3, envelope = $4, next_deadline = $5, pending_effects = $6, finished = $7, updated_at = $8
       WHERE flow_id = $1 AND version = $2 RETURNING flow_id`,
      [envelope.flowId, expectedVersion, envelope.version, JSON.stringify(envelope), index.nextDeadline, index.pendingEffects, index.finished, envelope.updatedAt],
    );
    return rows.length === 1;
  }

  async due(now: Instant, limit: number): Promise<readonly { flowId: string; at: Instant }[]> {
    const rows = await this.#db.query<{ flow_id: string; next_deadline: unknown }>(
      'SELECT flow_id, next_deadline FROM af_flows WHERE next_deadline <= $1 ORDER BY next_deadline, flow_id LIMIT $2',
      [now, limit],
    );
    return rows.map((r) => ({ flowId: r.flow_id, at: toNumber(r.next_deadline) }));
  }

  async nextDeadlineAfter(now: Instant): Promise<Instant | null> {
    const [row] = await this.#db.query<{ at: unknown }>('SELECT min(next_deadline) AS at FROM af_flows WHERE next_deadline > $1', [now]);
    return row?.at === null || row?.at === undefined ? null : toNumber(row.at);
  }

  async withPendingEffects(limit: number): Promise<readonly string[]> {
    const rows = await this.#db.query<{ flow_id: string }>('SELECT flow_id FROM af_flows WHERE pending_effects > 0 ORDER BY flow_id LIMIT $1', [limit]);
    return rows.map((r) => r.flow_id);
  }

  async sweep(finishedBefore: Instant, abandonedBefore: Instant): Promise<number> {
    const rows = await this.#db.query('DELETE FROM af_flows WHERE (finished AND updated_at < $1) OR updated_at < $2 RETURNING flow_id', [finishedBefore, abandonedBefore]);
    return rows.length;
  }

  /** The stored text, for tests that tamper with storage or look for leaked secrets. */
  async raw(flowId: string): Promise<string | undefined> {
    const [row] = await this.#db.query<{ envelope: string }>('SELECT envelope FROM af_flows WHERE flow_id = $1', [flowId]);
    return row?.envelope;
  }

  /** Puts arbitrary text where the envelope was (tests of tampered storage); keeps the index. */
  async overwriteRaw(flowId: string, text: string): Promise<void> {
    await this.#db.query('UPDATE af_flows SET envelope = $2 WHERE flow_id = $1', [flowId, text]);
  }

  async ids(): Promise<readonly string[]> {
    return (await this.#db.query<{ flow_id: string }>('SELECT flow_id FROM af_flows ORDER BY flow_id')).map((r) => r.flow_id);
  }
}
