/**
 * PostgreSQL in WebAssembly: the embedded default. No server, in memory or on a data directory,
 * the same SQL as a real PostgreSQL.
 */
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable } from './client.ts';

export interface PgliteOptions {
  /** A directory to keep the database in; omitted, the database lives in memory. */
  readonly dataDir?: string;
}

/**
 * PGlite is one connection: two transactions interleaved on it would be one transaction. Every
 * statement and transaction therefore waits its turn in one queue (PGlite queues too; this
 * queue makes the guarantee ours rather than an implementation detail of the version pinned).
 */
export const openPglite = async (options: PgliteOptions = {}): Promise<SqlClient> => {
  const db = options.dataDir === undefined ? await PGlite.create() : await PGlite.create({ dataDir: options.dataDir });
  return pgliteClient(db, true);
};

/** Wraps a PGlite the host opened itself; `close` then leaves it open. */
export const pgliteClient = (db: PGlite, owned = false): SqlClient => {
  let tail: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
  const rowsOf = async <T>(on: Pick<PGlite, 'query'>, text: string, params: readonly unknown[]): Promise<readonly T[]> =>
    (await on.query<T>(text, [...params])).rows;
  return {
    query: (text, params = []) => inTurn(() => rowsOf(db, text, params)),
    transaction: (work) =>
      inTurn(() =>
        db.transaction((tx) => {
          const scoped: SqlQueryable = { query: (text, params = []) => rowsOf(tx, text, params) };
          return work(scoped);
        }),
      ),
    close: async () => {
      if (owned) await inTurn(() => db.close());
    },
  };
};
