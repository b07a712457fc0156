/**
 * The durable ports over SQL — flow store, budgets, account directory, sessions — on one body
 * of SQL that runs on PGlite (embedded, the default) and on PostgreSQL (several instances over
 * one database). The other ports (messenger, clock, hasher…) come from elsewhere:
 *
 * @example
 * const client = await openPglite();                        // or openPostgres(DATABASE_URL)
 * const sql = await createSqlPorts(client);
 * if (E.isLeft(sql)) throw new Error(sql.left.message);     // a newer schema than this code
 * const ports = { ...createMemoryWorld({ seed: 1 }), ...sql.right };
 * const runtime = createRuntime(ports, [registrationFlow(ports)]);
 * setInterval(async () => {
 *   await sweepFlows(sql.right.store, ports.policy, Date.now());
 *   await sweepIdempotency(client, Date.now());
 * }, FLOW_RETENTION.sweepEveryMs);
 */
import * as E from 'fp-ts/lib/Either.js';
import type { FlowError } from '../../domain/errors.ts';
import type { Policy } from '../../domain/policy.ts';
import { DAY, HOUR, type Instant } from '../../domain/time.ts';
import type { FlowQueries } from '../../ports/flowStore.ts';
import { SqlBudgets } from './budgets.ts';
import type { SqlClient } from './client.ts';
import { SqlDirectory } from './directory.ts';
import { SqlFlowStore } from './flowStore.ts';
import { migrate } from './migrations.ts';
import { SqlSessions } from './sessions.ts';

export type { SqlClient, SqlQueryable } from './client.ts';
export { openPglite, pgliteClient, type PgliteOptions } from './pglite.ts';
export { openPostgres } from './pg.ts';
export { LATEST_SCHEMA_VERSION, migrate, MIGRATIONS, type Migration, type MigrationReport } from './migrations.ts';
export { SqlBudgets, SqlDirectory, SqlFlowStore, SqlSessions };
export type { NewAccount } from './directory.ts';

export interface SqlPorts {
  readonly store: SqlFlowStore;
  readonly budgets: SqlBudgets;
  readonly directory: SqlDirectory;
  readonly sessions: SqlSessions;
}

/**
 * There is deliberately no clock here: every instant the SQL ports store comes from the
 * runtime's injected clock, never from the database's `now()`, so virtual time, a simulation
 * and a real host all mean the same by "at".
 */
export interface SqlPortsOptions {
  readonly now?: never;
}

/**
 * Migrates the database (safe when several instances start together) and builds the ports.
 * Refuses, changing nothing, a database whose schema is newer than this code knows.
 */
export const createSqlPorts = async (client: SqlClient, _options: SqlPortsOptions = {}): Promise<E.Either<FlowError, SqlPorts>> => {
  const migrated = await migrate(client);
  if (E.isLeft(migrated)) return migrated;
  return E.right({
    store: new SqlFlowStore(client),
    budgets: new SqlBudgets(client),
    directory: new SqlDirectory(client),
    sessions: new SqlSessions(client),
  });
};

/**
 * How long flows stay in the store, and how often to sweep.
 *
 * - A finished flow is kept `finishedKeptMs` (7 days): long enough for a retried request to get
 *   its stored answer and for support to look at what happened, short enough that a phone number
 *   or a handle typed into a flow is not kept for ever.
 * - Any flow not written for the policy's `flowMaxLifetimeMs` plus `abandonedGraceMs` (1 day) is
 *   deleted whatever its state: every flow ends within its lifetime, so such a row was abandoned
 *   (its host died before the last tick); the day of grace covers a host that was down a while.
 * - Sweeping every `sweepEveryMs` (1 hour) keeps each sweep small.
 */
export const FLOW_RETENTION = {
  finishedKeptMs: 7 * DAY,
  abandonedGraceMs: DAY,
  sweepEveryMs: HOUR,
} as const;

/** Deletes the flows `FLOW_RETENTION` says are done with; returns how many. */
export const sweepFlows = (store: FlowQueries, policy: Policy, now: Instant): Promise<number> =>
  store.sweep(now - FLOW_RETENTION.finishedKeptMs, now - (policy.flowMaxLifetimeMs + FLOW_RETENTION.abandonedGraceMs));
export { hostKey } from './hostKeys.ts';
export { IDEMPOTENCY_RETENTION_MS, sweepIdempotency } from './idempotency.ts';
export { type SqlSentLog, sqlSentLog } from './sentLog.ts';
