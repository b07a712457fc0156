/**
 * Two instances — two separate pools over one PostgreSQL database, as two app servers would
 * be — race for the same thing, round after round; exactly one may win every time. Each round
 * fires all contenders at once with Promise.all, so the database, not JavaScript's turn-taking,
 * decides.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AccountId } from '../../src/domain/account.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import type { RateRule } from '../../src/domain/policy.ts';
import { HOUR } from '../../src/domain/time.ts';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import type { SqlPorts } from '../../src/adapters/sql/index.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { type FlowEnvelope, SCHEMA_VERSION } from '../../src/runtime/envelope.ts';
import { describePostgres, SETUP_TIMEOUT_MS, sqlPorts } from './support.ts';

const ROUNDS = 50;
const T0 = Date.UTC(2026, 0, 1);
const NO_INDEX = { nextDeadline: null, pendingEffects: 0, finished: false };
const phone = (n: number): Phone => `+86138${String(n).padStart(8, '0')}` as Phone;

const envelope = (flowId: string, version: number, note: string): FlowEnvelope => ({
  flowId,
  machine: 'registration',
  machineVersion: 1,
  schemaVersion: SCHEMA_VERSION,
  version,
  createdAt: T0,
  updatedAt: T0 + version,
  snapshot: { value: 'idle', context: { note }, status: 'active' },
  outbox: [],
  replies: [],
});

describePostgres('two instances racing over one PostgreSQL', (url) => {
  const clients: SqlClient[] = [];
  let a: SqlPorts;
  let b: SqlPorts;

  beforeAll(async () => {
    clients.push(openPostgres(url()), openPostgres(url()));
    // The two instances also start (and migrate) at the same moment.
    [a, b] = (await Promise.all(clients.map(sqlPorts))) as [SqlPorts, SqlPorts];
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  }, SETUP_TIMEOUT_MS);

  it('should let exactly one writer win each compare-and-set of a flow', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const flowId = `race-${round}`;
      expect(await a.store.insert(envelope(flowId, 1, 'start'), NO_INDEX)).toBe(true);
      const writers = [
        ['a0', a],
        ['b0', b],
        ['a1', a],
        ['b1', b],
      ] as const;
      const results = await Promise.all(writers.map(([note, instance]) => instance.store.replace(envelope(flowId, 2, note), 1, NO_INDEX)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = writers[results.indexOf(true)]?.[0];
      expect(await b.store.load(flowId)).toEqual(envelope(flowId, 2, winner ?? 'none'));
    }
  });

  it('should let exactly one instance register a phone number', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const p = phone(1_000 + round);
      const results = await Promise.all(
        [a, b].map((instance, i) => instance.directory.create({ phone: p, handle: `phone${round}x${i}` as Handle, passwordHash: 'h', at: T0, idempotencyKey: `phone:${round}:${i}` })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, conflict: 'phone_taken' }]);
    }
    const rows = await clients[0]?.query<{ n: string }>("SELECT count(*) AS n FROM af_accounts WHERE handle LIKE 'phone%'");
    expect(Number(rows?.[0]?.n)).toBe(ROUNDS);
  });

  it('should let exactly one instance take a handle, whatever its case', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all([
        a.directory.create({ phone: phone(2_000 + round), handle: `Handle${round}x` as Handle, passwordHash: 'h', at: T0, idempotencyKey: `handle:${round}:a` }),
        b.directory.create({ phone: phone(3_000 + round), handle: `hANDLE${round}X` as Handle, passwordHash: 'h', at: T0, idempotencyKey: `handle:${round}:b` }),
      ]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, conflict: 'handle_taken' }]);
    }
  });

  it('should give both instances the one answer when they retry the same create key', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const input = { phone: phone(4_000 + round), handle: `retry${round}x` as Handle, passwordHash: 'h', at: T0, idempotencyKey: `retry:${round}` };
      const [first, second] = await Promise.all([a.directory.create(input), b.directory.create(input)]);
      expect(first?.ok).toBe(true);
      expect(second).toEqual(first);
    }
  });

  it('should let exactly one instance reset a password from the same epoch', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const created = await a.directory.create({ phone: phone(5_000 + round), handle: `reset${round}x` as Handle, passwordHash: 'old', at: T0, idempotencyKey: `reset-seed:${round}` });
      if (!created.ok) expect.fail(created.conflict);
      const id: AccountId = created.account.id;
      const results = await Promise.all(
        [a, b, a, b].map((instance, i) => instance.directory.resetPassword({ id, expectedEpoch: 0, passwordHash: `new-${i}`, holdSensitiveUntil: null, idempotencyKey: `reset:${round}:${i}` })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect((await b.directory.get(id))?.securityEpoch).toBe(1);
    }
  });

  it('should let exactly one instance spend the last unit of a budget', async () => {
    const rule: RateRule = { windows: [{ limit: 3, windowMs: HOUR }], cooldownMs: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const key = `phone:last-unit:${round}`;
      await a.budgets.consume(key, rule, T0);
      await b.budgets.consume(key, rule, T0);
      const decisions = await Promise.all([a, b, a, b, a, b].map((instance, i) => instance.budgets.consume(key, rule, T0 + 1, i < 2 ? undefined : `last:${round}:${i}`)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
      expect(await a.budgets.spent(key)).toHaveLength(3);
    }
  });

  it('should let exactly one instance spend the first unit of a budget nobody has used yet', async () => {
    const rule: RateRule = { windows: [{ limit: 1, windowMs: HOUR }], cooldownMs: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const key = `phone:first-unit:${round}`;
      const decisions = await Promise.all([a, b, a, b].map((instance) => instance.budgets.consume(key, rule, T0)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
      expect(await b.budgets.spent(key)).toEqual([T0]);
    }
  });
});
