/**
 * What the SQL tests share: reaching PostgreSQL (or saying loudly why not), a database of their
 * own per test file, and emptying the af_ tables between tests.
 */
import { randomBytes } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { createSqlPorts, type SqlPorts } from '../../src/adapters/sql/index.ts';

/**
 * Opening PGlite (WebAssembly start-up) or creating a database takes seconds, and more on a
 * machine shared with other work; hooks get the test timeout rather than vitest's 10 s.
 */
export const SETUP_TIMEOUT_MS = 60_000;

/**
 * One client for the enclosing suite: opened before its tests, closed after them. The accessor
 * throws when called outside them, so a test never runs against a client that is not there.
 */
export const suiteClient = (open: () => SqlClient | Promise<SqlClient>): (() => SqlClient) => {
  let client: SqlClient | undefined;
  beforeAll(async () => {
    client = await open();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await client?.close();
  }, SETUP_TIMEOUT_MS);
  return () => {
    if (client === undefined) throw new Error('the SQL client is not open');
    return client;
  };
};

const HOW_TO = 'start one with: eval "$(bash .ci/postgres)"';

export type PostgresTarget =
  | { readonly kind: 'ready'; readonly url: string }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'fail'; readonly reason: string };

/** In CI a missing DATABASE_URL is a failure, never a silent pass; locally it is a visible skip. */
export const postgresTarget = (env: NodeJS.ProcessEnv = process.env): PostgresTarget => {
  const url = env['DATABASE_URL'];
  if (url !== undefined && url !== '') return { kind: 'ready', url };
  if (env['CI'] !== undefined && env['CI'] !== '') return { kind: 'fail', reason: `DATABASE_URL is not set, and CI is: the PostgreSQL tests must run in CI (${HOW_TO}).` };
  return { kind: 'skip', reason: `DATABASE_URL is not set (${HOW_TO})` };
};

/**
 * A describe block over a database of its own (created before, dropped after), so test files
 * run in parallel without touching each other's rows. `url()` is valid inside hooks and tests.
 */
export const describePostgres = (name: string, body: (url: () => string) => void): void => {
  const target = postgresTarget();
  if (target.kind === 'fail') {
    describe(name, () => {
      it('should reach PostgreSQL through DATABASE_URL', () => {
        expect.fail(target.reason);
      });
    });
    return;
  }
  if (target.kind === 'skip') {
    console.warn(`[${name}] skipped: ${target.reason}`);
    describe.skip(`${name} (skipped: ${target.reason})`, () => body(() => ''));
    return;
  }
  const baseUrl = target.url;
  describe(name, () => {
    let database: TempDatabase | undefined;
    beforeAll(async () => {
      database = await createTempDatabase(baseUrl);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await database?.drop();
    }, SETUP_TIMEOUT_MS);
    body(() => {
      if (database === undefined) throw new Error('the test database is not ready');
      return database.url;
    });
  });
};

export interface TempDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export const createTempDatabase = async (baseUrl: string): Promise<TempDatabase> => {
  const name = `af_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(baseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => asAdmin(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
};

const asAdmin = async (baseUrl: string, statement: string): Promise<void> => {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
};

/** Empties every af_ table but the migration log, and restarts their id sequences. */
export const emptyTables = async (client: SqlClient): Promise<void> => {
  const tables = await client.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'af\\_%' AND tablename <> 'af_schema_migrations' ORDER BY tablename",
  );
  await client.query(`TRUNCATE ${tables.map((t) => t.tablename).join(', ')} RESTART IDENTITY`);
};

export const sqlPorts = async (client: SqlClient): Promise<SqlPorts> => {
  const ports = await createSqlPorts(client);
  if (E.isLeft(ports)) throw new Error(ports.left.message);
  return ports.right;
};
