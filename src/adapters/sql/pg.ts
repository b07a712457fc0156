/**
 * A real PostgreSQL server through node-postgres, for hosts that run several instances over one
 * database. Each transaction holds its own pooled connection, so instances (and concurrent
 * requests in one instance) really do race, and the row locks and unique indexes decide.
 */
import pg from 'pg';
import type { SqlClient, SqlQueryable } from './client.ts';

/**
 * @param connection a connection string (the client then owns its pool and `close` ends it) or
 *   a pool the host already configured (left open on `close`).
 * @example
 * const client = openPostgres(process.env.DATABASE_URL ?? '');
 */
export const openPostgres = (connection: string | pg.Pool): SqlClient => {
  const owned = typeof connection === 'string';
  const pool = typeof connection === 'string' ? ownPool(connection) : connection;
  const rowsOf = async <T>(on: pg.Pool | pg.PoolClient, text: string, params: readonly unknown[]): Promise<readonly T[]> =>
    (await on.query(text, [...params])).rows as T[];
  return {
    query: (text, params = []) => rowsOf(pool, text, params),
    transaction: async (work) => {
      const connection = await pool.connect();
      let broken: Error | undefined;
      // node-postgres drops the pool's 'error' listener while a connection is checked out, so a
      // connection that dies mid-transaction (failover, server restart) would end the process.
      // The failing query rejects on its own; this only keeps the event from being unhandled.
      const onError = (error: Error) => {
        broken = error;
      };
      connection.on('error', onError);
      try {
        await connection.query('BEGIN');
        const scoped: SqlQueryable = { query: (text, params = []) => rowsOf(connection, text, params) };
        const result = await work(scoped);
        await connection.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await connection.query('ROLLBACK');
        } catch (rollbackFailed) {
          // A connection that cannot even roll back is not handed to the next caller.
          broken = rollbackFailed instanceof Error ? rollbackFailed : new Error(String(rollbackFailed));
        }
        throw error;
      } finally {
        connection.off('error', onError);
        connection.release(broken);
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
};

const ownPool = (connectionString: string): pg.Pool => {
  const pool = new pg.Pool({ connectionString });
  // An idle connection that dies (server restart, network) is dropped by the pool and the next
  // query reports the failure; without a listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  return pool;
};
