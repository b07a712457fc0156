/**
 * SqlBudgets is MemoryBudgets over a database: for any rule and any sequence of consumes and
 * peeks (with and without idempotency keys, at any times), both make the same decisions and
 * remember the same spends. Both call the domain's `decide`; this proves the SQL around it
 * (locking, storing the log, storing keyed decisions) adds and loses nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBudgets } from '../../src/adapters/memory/budgets.ts';
import { SqlBudgets } from '../../src/adapters/sql/budgets.ts';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import type { RateRule } from '../../src/domain/policy.ts';
import { FC_RUNS } from '../setup/fastCheck.ts';
import { SETUP_TIMEOUT_MS, sqlPorts } from './support.ts';

const rule: fc.Arbitrary<RateRule> = fc.record({
  windows: fc.array(fc.record({ limit: fc.integer({ min: 1, max: 4 }), windowMs: fc.integer({ min: 1, max: 2_000 }) }), { minLength: 1, maxLength: 2 }),
  cooldownMs: fc.integer({ min: 0, max: 500 }),
});

const step = fc.record({
  op: fc.constantFrom('consume', 'peek'),
  key: fc.constantFrom('a', 'b'),
  // Mostly forward in small steps, sometimes standing still, sometimes back (a skewed clock).
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 700 }), fc.integer({ min: -300, max: -1 })),
  idempotencyKey: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
});

describe('SqlBudgets against MemoryBudgets', () => {
  let client: SqlClient;
  let run = 0;
  beforeAll(async () => {
    client = await openPglite();
    await sqlPorts(client);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await client.close();
  }, SETUP_TIMEOUT_MS);

  it('should make the same decisions as the memory budgets for any sequence of consumes and peeks', async () => {
    await fc.assert(
      fc.asyncProperty(rule, fc.array(step, { minLength: 1, maxLength: 25 }), async (r, steps) => {
        // One database for all runs: each run's budget and idempotency keys are its own.
        const prefix = `run${run++}:`;
        const memory = new MemoryBudgets();
        const sql = new SqlBudgets(client);
        let now = Date.UTC(2026, 0, 1);
        for (const s of steps) {
          now += s.dt;
          const key = prefix + s.key;
          const idem = s.idempotencyKey === undefined ? undefined : prefix + s.idempotencyKey;
          const [expected, actual] =
            s.op === 'peek'
              ? [await memory.peek(key, r, now), await sql.peek(key, r, now)]
              : [await memory.consume(key, r, now, idem), await sql.consume(key, r, now, idem)];
          expect(actual).toEqual(expected);
        }
        for (const key of ['a', 'b']) expect(await sql.spent(prefix + key)).toEqual(memory.spent(prefix + key));
      }),
      { numRuns: Math.ceil(FC_RUNS / 2) },
    );
  });
});
