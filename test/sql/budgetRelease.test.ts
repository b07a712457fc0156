/**
 * `Budgets.release` on every adapter (memory, PGlite, PostgreSQL): it gives back exactly the unit
 * spent under one idempotency key, once, and only on the budget that key spent. On PostgreSQL two
 * instances releasing the same key at once give back one unit, not two.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBudgets } from '../../src/adapters/memory/budgets.ts';
import { SqlBudgets } from '../../src/adapters/sql/budgets.ts';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import type { RateRule } from '../../src/domain/policy.ts';
import { HOUR } from '../../src/domain/time.ts';
import type { Budgets } from '../../src/ports/budgets.ts';
import { describePostgres, emptyTables, SETUP_TIMEOUT_MS, sqlPorts } from './support.ts';

type BudgetsUnderTest = Budgets & { spent(key: string): Promise<readonly number[]> | readonly number[] };

const T0 = Date.UTC(2026, 0, 1);
const TWO_AN_HOUR: RateRule = { windows: [{ limit: 2, windowMs: HOUR }], cooldownMs: 0 };
const ONE_A_MINUTE_APART: RateRule = { windows: [{ limit: 5, windowMs: HOUR }], cooldownMs: 60_000 };

const describeRelease = (name: string, fresh: () => Promise<BudgetsUnderTest>): void => {
  describe(`${name}: releasing a spent unit`, () => {
    it('should give back only the unit spent under that key, once; twice, unknown, refused or another budget change nothing', async () => {
      const budgets = await fresh();
      expect((await budgets.consume('phone', TWO_AN_HOUR, T0, 'first')).allowed).toBe(true);
      expect((await budgets.consume('phone', TWO_AN_HOUR, T0 + 1, 'second')).allowed).toBe(true);
      expect((await budgets.consume('phone', TWO_AN_HOUR, T0 + 2, 'refused')).allowed).toBe(false);

      await budgets.release('phone', 'first');
      expect(await budgets.spent('phone')).toEqual([T0 + 1]);
      await budgets.release('phone', 'first');
      await budgets.release('phone', 'never-used');
      await budgets.release('phone', 'refused');
      await budgets.release('email', 'second');
      expect(await budgets.spent('phone')).toEqual([T0 + 1]);
      expect(await budgets.peek('phone', TWO_AN_HOUR, T0 + 3)).toEqual({ allowed: true, next: { events: [T0 + 1, T0 + 3] } });
    });

    it('should lift the cooldown the released unit started, leaving the one before it in force', async () => {
      const budgets = await fresh();
      await budgets.consume('phone', ONE_A_MINUTE_APART, T0, 'sent');
      await budgets.consume('phone', ONE_A_MINUTE_APART, T0 + 60_000, 'failed');
      expect(await budgets.peek('phone', ONE_A_MINUTE_APART, T0 + 60_000)).toMatchObject({ allowed: false, retryAfterMs: 60_000 });
      await budgets.release('phone', 'failed');
      expect((await budgets.peek('phone', ONE_A_MINUTE_APART, T0 + 60_000)).allowed).toBe(true);
      expect(await budgets.spent('phone')).toEqual([T0]);
    });

    it('should forget the released decision, so the same key run again spends afresh', async () => {
      const budgets = await fresh();
      await budgets.consume('phone', TWO_AN_HOUR, T0, 'send');
      await budgets.release('phone', 'send');
      expect(await budgets.consume('phone', TWO_AN_HOUR, T0 + 5, 'send')).toEqual({ allowed: true, next: { events: [T0 + 5] } });
      // Not released, the key still answers with its first decision and spends nothing.
      expect(await budgets.consume('phone', TWO_AN_HOUR, T0 + 9, 'send')).toEqual({ allowed: true, next: { events: [T0 + 5] } });
      expect(await budgets.spent('phone')).toEqual([T0 + 5]);
    });

    it('should take out the released instant, not the newest one, when later units were spent after it', async () => {
      const budgets = await fresh();
      await budgets.consume('phone', ONE_A_MINUTE_APART, T0, 'a');
      await budgets.consume('phone', ONE_A_MINUTE_APART, T0 + 60_000, 'b');
      await budgets.release('phone', 'a');
      expect(await budgets.spent('phone')).toEqual([T0 + 60_000]);
    });
  });
};

describeRelease('memory', async () => new MemoryBudgets());

const overSql = (name: string, open: () => Promise<SqlClient>): void => {
  let client: SqlClient | undefined;
  beforeAll(async () => {
    client = await open();
    await sqlPorts(client);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await client?.close();
  }, SETUP_TIMEOUT_MS);
  beforeEach(async () => {
    if (client !== undefined) await emptyTables(client);
  });
  const db = (): SqlClient => client ?? expect.fail('the SQL client is not open');

  describeRelease(name, async () => new SqlBudgets(db()));

  describe(`${name}: what is stored`, () => {
    it('should answer a repeated key with the first decision as it was, the stored budget name not in it', async () => {
      const budgets = new SqlBudgets(db());
      const first = await budgets.consume('phone', TWO_AN_HOUR, T0, 'k');
      expect(await budgets.consume('phone', TWO_AN_HOUR, T0 + 1, 'k')).toEqual(first);
      expect(first).toEqual({ allowed: true, next: { events: [T0] } });
    });

    it('should release a unit whose claim was stored before claims named their budget, on the caller’s word', async () => {
      const budgets = new SqlBudgets(db());
      await db().query(`INSERT INTO af_budgets (key, events) VALUES ('phone', $1)`, [JSON.stringify({ events: [T0, T0 + 1] })]);
      await db().query(`INSERT INTO af_idempotency (scope, key, result) VALUES ('budgets', 'old', $1)`, [JSON.stringify({ allowed: true, next: { events: [T0] } })]);
      await budgets.release('phone', 'old');
      expect(await budgets.spent('phone')).toEqual([T0 + 1]);
      expect(await db().query(`SELECT key FROM af_idempotency WHERE scope = 'budgets'`)).toEqual([]);
    });
  });
};

describe('PGlite', () => overSql('PGlite', () => openPglite()));

describePostgres('PostgreSQL', (url) => {
  overSql('PostgreSQL', async () => openPostgres(url()));

  describe('two instances', () => {
    const clients: SqlClient[] = [];
    beforeAll(() => {
      clients.push(openPostgres(url()), openPostgres(url()));
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
    }, SETUP_TIMEOUT_MS);

    it('should give back one unit when both release the same key at once, and never deadlock with spends on the budget', async () => {
      const [a, b] = clients.map((c) => new SqlBudgets(c)) as [SqlBudgets, SqlBudgets];
      const rule: RateRule = { windows: [{ limit: 100, windowMs: HOUR }], cooldownMs: 0 };
      for (let round = 0; round < 20; round++) {
        const key = `phone:release:${round}`;
        // Spent at the same instant, so a unit given back twice would show.
        await a.consume(key, rule, T0, `${key}:kept`);
        await a.consume(key, rule, T0, `${key}:failed`);
        await Promise.all([
          a.release(key, `${key}:failed`),
          b.release(key, `${key}:failed`),
          a.consume(key, rule, T0 + 2, `${key}:a`),
          b.consume(key, rule, T0 + 3, `${key}:b`),
        ]);
        expect([...(await b.spent(key))].sort((x, y) => x - y)).toEqual([T0, T0 + 2, T0 + 3]);
      }
    });
  });
});
