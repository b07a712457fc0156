/**
 * Corners of the SQL adapters and the durable assembly that only a real PostgreSQL shows: a pool
 * the host owns, a connection that dies mid-transaction, storage altered behind the adapters'
 * back, and a schema newer than this code.
 */
import * as E from 'fp-ts/lib/Either.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, type SqlClient, type SqlQueryable, toNumber, unlessUniqueViolation } from '../../src/adapters/sql/client.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { makePolicy } from '../../src/domain/policy.ts';
import { openDurableParts } from '../../src/server/durable.ts';
import { createTempDatabase, describePostgres, emptyTables, SETUP_TIMEOUT_MS, sqlPorts, type TempDatabase } from '../sql/support.ts';

describe('SQL client helpers', () => {
  it('should refuse a database value that is no number, naming its type', () => {
    expect(toNumber('12')).toBe(12);
    expect(toNumber(12n)).toBe(12);
    expect(() => toNumber(true)).toThrow('expected a number from the database, got boolean');
  });

  it('should roll back to the savepoint and rethrow an error that is no unique violation', async () => {
    const issued: string[] = [];
    const tx: SqlQueryable = {
      query: async (text) => {
        issued.push(text);
        return [];
      },
    };
    const boom = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(isUniqueViolation(boom)).toBe(false);
    await expect(
      unlessUniqueViolation(tx, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(issued).toEqual(['SAVEPOINT af_unique', 'ROLLBACK TO SAVEPOINT af_unique']);
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(
      unlessUniqueViolation(tx, async () => {
        throw unique;
      }),
    ).resolves.toBe('unique_violation');
  });
});

describePostgres('SQL adapter edges on PostgreSQL', (url) => {
  let client: SqlClient;
  beforeAll(() => {
    client = openPostgres(url());
  });
  afterAll(async () => {
    await client.close();
  }, SETUP_TIMEOUT_MS);

  it('should leave a pool the host passed in open on close', async () => {
    const pool = new pg.Pool({ connectionString: url(), max: 2 });
    try {
      const hosted = openPostgres(pool);
      expect(await hosted.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
      await hosted.close();
      expect((await pool.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
      expect(pool.ended).toBe(false);
    } finally {
      await pool.end();
    }
  });

  it('should throw the work\'s own error when its connection dies, and not hand that connection out again', async () => {
    const pool = new pg.Pool({ connectionString: url(), max: 1 });
    // No listener of the test's own: an 'error' event the adapter left unhandled would fail the run
    // (and end a real process).
    const hosted = openPostgres(pool);
    try {
      const [first] = await hosted.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const killed = hosted.transaction(async (tx) => {
        await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
      });
      await expect(killed).rejects.toThrow(/terminat/i);
      // With one connection in the pool, a reused broken one would fail here.
      const [second] = await hosted.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(second?.pid).not.toBe(first?.pid);
      expect(await hosted.transaction((tx) => tx.query<{ n: number }>('SELECT 3 AS n'))).toEqual([{ n: 3 }]);
    } finally {
      await pool.end();
    }
  });

  describe('accounts and budgets', () => {
    let ports: Awaited<ReturnType<typeof sqlPorts>>;
    beforeAll(async () => {
      ports = await sqlPorts(client);
    }, SETUP_TIMEOUT_MS);

    it('should refuse, changing nothing, a seeded account whose e-mail another account holds', async () => {
      await emptyTables(client);
      const seeded = await ports.directory.createAccount({ phone: '+8613800138001' as Phone, handle: 'first_one' as Handle, passwordHash: 'h1', at: 1, email: 'shared@example.com' as Email });
      expect(seeded.ok).toBe(true);
      await expect(
        ports.directory.createAccount({ phone: '+8613800138002' as Phone, handle: 'second_one' as Handle, passwordHash: 'h2', at: 2, email: 'shared@example.com' as Email }),
      ).rejects.toThrow('the e-mail address is already bound to another account');
      expect((await ports.directory.all()).map((a) => a.handle)).toEqual(['first_one']);
    });

    it('should read an account whose phone column is empty as one without a phone', async () => {
      await emptyTables(client);
      const seeded = await ports.directory.createAccount({ phone: '+8613800138003' as Phone, handle: 'mail_only' as Handle, passwordHash: 'h', at: 5, email: 'mail@example.com' as Email });
      if (!seeded.ok) expect.fail('seeding failed');
      await client.query('UPDATE af_accounts SET phone = NULL, phone_verified_at = NULL WHERE id = $1', [seeded.account.id]);
      const account = await ports.directory.findByEmail('mail@example.com' as Email);
      expect(account?.phone).toBeNull();
      expect(account?.email).toEqual({ value: 'mail@example.com', verifiedAt: 5 });
    });

    it('should fail a replayed create loudly when the account its key names is gone', async () => {
      await emptyTables(client);
      const input = { phone: '+8613800138004' as Phone, handle: 'gone_soon' as Handle, passwordHash: 'h', at: 9, idempotencyKey: 'create-once' };
      const created = await ports.directory.create(input);
      if (!created.ok) expect.fail('create failed');
      // The replay answers with the account as it is now.
      expect(await ports.directory.create(input)).toMatchObject({ ok: true, account: { id: created.account.id } });
      await client.query('DELETE FROM af_accounts WHERE id = $1', [created.account.id]);
      await expect(ports.directory.create(input)).rejects.toThrow('an idempotent answer names an account that no longer exists');
    });

    it('should refuse to spend from a budget whose stored log cannot be read, rather than treat it as empty', async () => {
      await emptyTables(client);
      const rule = makePolicy({});
      if (E.isLeft(rule)) expect.fail(rule.left.message);
      const sends = rule.right.sends;
      expect((await ports.budgets.consume('phone:+8613800138005', sends, 1_000)).allowed).toBe(true);
      await client.query(`UPDATE af_budgets SET events = '{"events":"many"}' WHERE key = $1`, ['phone:+8613800138005']);
      await expect(ports.budgets.consume('phone:+8613800138005', sends, 2_000)).rejects.toThrow('budget phone:+8613800138005 holds an unreadable log');
      await expect(ports.budgets.peek('phone:+8613800138005', sends, 2_000)).rejects.toThrow('holds an unreadable log');
    });
  });
});

describePostgres('openDurableParts on PostgreSQL', (url) => {
  it('should say the data lives in PostgreSQL and show e-mails with their subject in the dev inbox', async () => {
    const parts = await openDurableParts({ DATABASE_URL: url() }, { devInbox: true });
    if (E.isLeft(parts)) expect.fail(parts.left);
    try {
      expect(parts.right.describe).toBe('PostgreSQL at DATABASE_URL; SMS → development outbox, e-mail → development outbox');
      const sent = await parts.right.world.messenger?.send({ channel: 'email', to: 'me@example.com' as Email, subject: 'Your code', text: 'code 123456', locale: 'en' }, 'k1');
      expect(sent).toMatchObject({ ok: true });
      expect(await parts.right.world.devInbox?.recent(5)).toEqual([{ channel: 'email', to: 'me@example.com', subject: 'Your code', text: 'code 123456' }]);
    } finally {
      await parts.right.close();
    }
  });

  describe('a database at a newer schema', () => {
    let newer: TempDatabase | undefined;
    beforeAll(async () => {
      newer = await createTempDatabase(url());
      const admin = openPostgres(newer.url);
      await admin.query('CREATE TABLE af_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      await admin.query("INSERT INTO af_schema_migrations (version, name) VALUES (9999, 'from the future')");
      await admin.close();
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await newer?.drop();
    }, SETUP_TIMEOUT_MS);

    it('should refuse to open it, saying which schema it found, and create nothing', async () => {
      const parts = await openDurableParts({ DATABASE_URL: newer?.url ?? '' }, { devInbox: false });
      expect(parts).toEqual(E.left(expect.stringMatching(/^The database is at schema v9999; this code knows up to v\d+\./)));
      const check = openPostgres(newer?.url ?? '');
      try {
        expect(await check.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'af\\_%' ORDER BY tablename")).toEqual([{ tablename: 'af_schema_migrations' }]);
      } finally {
        await check.close();
      }
    });
  });
});
