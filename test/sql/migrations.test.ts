import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { createSqlPorts } from '../../src/adapters/sql/index.ts';
import { LATEST_SCHEMA_VERSION, migrate, MIGRATIONS } from '../../src/adapters/sql/migrations.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import { createTempDatabase, describePostgres, SETUP_TIMEOUT_MS, type TempDatabase } from './support.ts';

const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

const tables = async (client: SqlClient): Promise<string[]> =>
  (await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE tablename LIKE 'af\\_%' ORDER BY tablename")).map((r) => r.tablename);

const recorded = async (client: SqlClient): Promise<number[]> =>
  (await client.query<{ version: number }>('SELECT version FROM af_schema_migrations ORDER BY version')).map((r) => r.version);

const right = <A>(either: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(either)) return expect.fail(either.left.message);
  return either.right;
};

describe('migrations as code', () => {
  it('should number migrations 1, 2, 3… with one statement each entry', () => {
    expect(ALL_VERSIONS).toEqual(ALL_VERSIONS.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    for (const migration of MIGRATIONS) {
      for (const statement of migration.statements) expect(statement.trim().replace(/;$/, '')).not.toContain(';');
    }
  });
});

describe('migrations on PGlite', () => {
  let client: SqlClient;
  beforeAll(async () => {
    client = await openPglite();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await client.close();
  }, SETUP_TIMEOUT_MS);

  it('should bring an empty database to the latest schema, then find nothing to do', async () => {
    expect(right(await migrate(client))).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION, applied: ALL_VERSIONS });
    expect(await tables(client)).toEqual(['af_accounts', 'af_budgets', 'af_flows', 'af_friendships', 'af_host_keys', 'af_idempotency', 'af_schema_migrations', 'af_sent_log', 'af_sessions']);
    expect(right(await migrate(client))).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION, applied: [] });
    expect(await recorded(client)).toEqual(ALL_VERSIONS);
  });

  it('should refuse a database at a newer schema, typed, and change nothing', async () => {
    await migrate(client);
    await client.query("INSERT INTO af_schema_migrations (version, name) VALUES ($1, 'from the future')", [LATEST_SCHEMA_VERSION + 1]);
    const refused = await migrate(client);
    expect(refused).toEqual(E.left(expect.objectContaining({ _tag: 'FlowError', code: 'envelope_mismatch', field: 'af_schema_migrations', visibility: 'internal' })));
    if (E.isLeft(refused)) expect(refused.left.message).toContain(`schema v${LATEST_SCHEMA_VERSION + 1}; this code knows up to v${LATEST_SCHEMA_VERSION}`);
    expect(E.isLeft(await createSqlPorts(client))).toBe(true);
    expect(await recorded(client)).toEqual([...ALL_VERSIONS, LATEST_SCHEMA_VERSION + 1]);
  });
});

describe('PGlite on a data directory', () => {
  it('should keep the schema and the rows across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'af-pglite-'));
    try {
      const first = await openPglite({ dataDir });
      expect(right(await migrate(first)).applied).toEqual(ALL_VERSIONS);
      await first.query("INSERT INTO af_budgets (key, events) VALUES ('phone:kept', '{\"events\":[1]}')");
      await first.close();
      const second = await openPglite({ dataDir });
      expect(right(await migrate(second)).applied).toEqual([]);
      expect(await second.query('SELECT key FROM af_budgets')).toEqual([{ key: 'phone:kept' }]);
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describePostgres('migrations on PostgreSQL', (url) => {
  // Every test here wants an empty database of its own, beside the file's own one.
  let fresh: TempDatabase;
  const clients: SqlClient[] = [];
  const open = (): SqlClient => {
    const client = openPostgres(fresh.url);
    clients.push(client);
    return client;
  };
  beforeEach(async () => {
    fresh = await createTempDatabase(url());
  }, SETUP_TIMEOUT_MS);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fresh.drop();
  }, SETUP_TIMEOUT_MS);

  it('should bring an empty database to the latest schema, then find nothing to do', async () => {
    const client = open();
    expect(right(await migrate(client))).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION, applied: ALL_VERSIONS });
    expect(right(await migrate(client))).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION, applied: [] });
    expect(await recorded(client)).toEqual(ALL_VERSIONS);
  });

  it('should migrate once when several instances start on an empty database at the same moment', async () => {
    const instances = [open(), open(), open(), open()];
    const reports = (await Promise.all(instances.map(migrate))).map(right);
    expect(reports.filter((r) => r.applied.length > 0)).toEqual([{ from: 0, to: LATEST_SCHEMA_VERSION, applied: ALL_VERSIONS }]);
    expect(reports.filter((r) => r.applied.length === 0)).toHaveLength(instances.length - 1);
    expect(await recorded(instances[0] as SqlClient)).toEqual(ALL_VERSIONS);
  });

  it('should refuse a database at a newer schema, typed, and change nothing', async () => {
    const client = open();
    await migrate(client);
    await client.query("INSERT INTO af_schema_migrations (version, name) VALUES ($1, 'from the future')", [LATEST_SCHEMA_VERSION + 1]);
    const before = await tables(client);
    expect(await migrate(client)).toEqual(E.left(expect.objectContaining({ code: 'envelope_mismatch', field: 'af_schema_migrations' })));
    expect(await tables(client)).toEqual(before);
    expect(await recorded(client)).toEqual([...ALL_VERSIONS, LATEST_SCHEMA_VERSION + 1]);
  });
});
