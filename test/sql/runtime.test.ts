/**
 * The runtime over SQL ports: a registration driven end to end lands its account in the SQL
 * directory, and an envelope whose machine version was changed in the database is refused
 * with `envelope_mismatch`, leaving its row exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryWorld, type MemoryWorld } from '../../src/adapters/memory/index.ts';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import type { SqlPorts } from '../../src/adapters/sql/index.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import { createRuntime, type FlowRuntime } from '../../src/runtime/runtime.ts';
import { fail, ok } from '../support/world.ts';
import { describePostgres, emptyTables, sqlPorts, suiteClient } from './support.ts';

const PHONE = '+8613800138000';

interface Host {
  readonly world: MemoryWorld;
  readonly sql: SqlPorts;
  readonly runtime: FlowRuntime;
}

const host = async (client: SqlClient): Promise<Host> => {
  const sql = await sqlPorts(client);
  await emptyTables(client);
  const world = createMemoryWorld({ seed: 1 });
  const ports = { ...world, ...sql };
  return { world, sql, runtime: createRuntime(ports, [registrationFlow(ports)]) };
};

const lastCode = (h: Host): string => h.world.messenger.lastCodeTo(PHONE) ?? expect.fail(`no code was sent to ${PHONE}`);

const row = async (client: SqlClient, flowId: string) => (await client.query('SELECT * FROM af_flows WHERE flow_id = $1', [flowId]))[0];

const runtimeOverSql = (open: () => SqlClient | undefined): void => {
  const client = (): SqlClient => open() ?? expect.fail('the SQL client is not open');

  it('should register a number end to end into the SQL directory, the flow finished in the index', async () => {
    const h = await host(client());
    const started = ok(await h.runtime.start('registration', {}));
    expect(ok(await h.runtime.send(started.flowId, { type: 'phone.submit', phone: '+86 138 0013 8000' })).view.state).toBe('awaitingCode');
    expect(await h.sql.store.due(h.world.clock.now() + 24 * 3_600_000, 10)).toEqual([{ flowId: started.flowId, at: expect.any(Number) }]);
    h.world.clock.advanceBy(30_000);
    expect(ok(await h.runtime.send(started.flowId, { type: 'code.submit', code: lastCode(h) })).view.state).toBe('choosingHandle');
    expect(ok(await h.runtime.send(started.flowId, { type: 'handle.submit', handle: 'Wang_Xiaoming' })).view.state).toBe('choosingPassword');
    const done = ok(await h.runtime.send(started.flowId, { type: 'password.submit', password: 'tea on the west lake at dawn' }));
    expect(done.view).toMatchObject({ state: 'registered', done: true });

    const account = await h.sql.directory.findByPhone(PHONE as Phone);
    expect(account).toMatchObject({ handle: 'Wang_Xiaoming', securityEpoch: 0, status: 'active' });
    expect(await h.world.hasher.verify('tea on the west lake at dawn', account?.passwordHash ?? '')).toBe(true);
    expect(await h.sql.directory.isHandleTaken('wang_xiaoming' as never)).toBe(true);
    // Keyed answers name the account; no copy of its password hash is kept beside it.
    const answers = await client().query<{ result: string }>("SELECT result FROM af_idempotency WHERE scope = 'directory'");
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) expect(answer.result).not.toContain(account?.passwordHash ?? '?');
    expect(await row(client(), started.flowId)).toMatchObject({ finished: true, pending_effects: 0, next_deadline: null });
    // The SMS budget was spent in SQL, once.
    const budgets = await client().query<{ events: string }>('SELECT events FROM af_budgets');
    expect(budgets.map((b) => (JSON.parse(b.events) as { events: number[] }).events.length)).toContain(1);
  });

  it('should refuse an envelope whose machine version was changed in SQL, and leave its row unchanged', async () => {
    const h = await host(client());
    const started = ok(await h.runtime.start('registration', {}));
    ok(await h.runtime.send(started.flowId, { type: 'phone.submit', phone: PHONE }));
    await client().query("UPDATE af_flows SET envelope = jsonb_set(envelope::jsonb, '{machineVersion}', '0')::text WHERE flow_id = $1", [started.flowId]);
    const before = await row(client(), started.flowId);
    const sent = h.world.messenger.sent.length;

    for (const attempt of [
      () => h.runtime.read(started.flowId),
      () => h.runtime.send(started.flowId, { type: 'code.submit', code: lastCode(h) }),
      () => h.runtime.tick(started.flowId),
      () => h.runtime.drain(started.flowId),
    ]) {
      const refused = fail(await attempt());
      expect(refused).toMatchObject({ code: 'envelope_mismatch', field: 'machineVersion', visibility: 'internal' });
      expect(refused.message).toContain('written by registration v0; this host runs v1');
    }
    expect(await row(client(), started.flowId)).toEqual(before);
    expect(h.world.messenger.sent).toHaveLength(sent);
    expect(await h.sql.directory.findByPhone(PHONE as Phone)).toBeUndefined();
  });
};

describe('the runtime over PGlite', () => {
  runtimeOverSql(suiteClient(openPglite));
});

describePostgres('the runtime over PostgreSQL', (url) => {
  runtimeOverSql(suiteClient(() => openPostgres(url())));
});

