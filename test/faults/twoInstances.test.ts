/**
 * Two service processes over one real PostgreSQL server, as a deployment behind a load balancer
 * runs them. Each race sends the competing requests to different instances at the same moment;
 * exactly one may win: one code acceptance, one account per handle, one SMS for the last unit
 * of a number's send budget. Keys are created once in the database and shared, so a code one
 * instance sent is valid on the other.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres } from '../sql/support.ts';
import { codeIn, FakeProvider, json, kill, type Service, startServiceProcess } from './support.ts';

const ROUNDS = 4;

describePostgres('two service instances on one PostgreSQL', (databaseUrl) => {
  const provider = new FakeProvider();
  let a: Service;
  let b: Service;

  beforeAll(async () => {
    provider.server.listen(0, '127.0.0.1');
    await once(provider.server, 'listening');
    // One send per number per hour: the second registration of a number races for the last unit.
    const env = {
      DATABASE_URL: databaseUrl(),
      // Each simulated person comes from an address of their own, as through a load balancer.
      TRUST_PROXY: '1',
      SMS_WEBHOOK_URL: provider.url(),
      ACCOUNT_FLOWS_POLICY: JSON.stringify({ sends: { windows: [{ limit: 1, windowMs: 3_600_000 }], cooldownMs: 1_000 } }),
    };
    [a, b] = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].filter((s) => s !== undefined).map((s) => kill(s)));
    provider.close();
  });

  let clients = 0;
  const post = (service: Service, path: string, body?: unknown) =>
    json(`${service.url}${path}`, { method: 'POST', headers: { 'x-forwarded-for': `10.0.${Math.floor(++clients / 250)}.${clients % 250}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  const stateOf = (reply: { status: number; body: Record<string, unknown> }): unknown =>
    reply.status === 200 ? (reply.body['view'] as Record<string, unknown>)['state'] : reply.body['code'];

  /** A registration started on `on`, its phone submitted, and the code the provider got. */
  const registrationAtCode = async (on: Service, phone: string) => {
    const started = await post(on, 'flows/registration');
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const flowId = started.body['flowId'] as string;
    const sent = await post(on, `flows/${flowId}/events`, { type: 'phone.submit', phone });
    expect(stateOf(sent), JSON.stringify(sent.body)).toBe('awaitingCode');
    const text = provider.requests.filter((r) => r.to === phone).at(-1)?.text ?? '';
    return { flowId, code: codeIn(text) };
  };

  it('should accept one code once when both instances get it at the same moment', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { flowId, code } = await registrationAtCode(a, `+861380013${8100 + round}`);
      const replies = await Promise.all([a, b].map((s) => post(s, `flows/${flowId}/events`, { type: 'code.submit', code })));
      expect(replies.filter((r) => stateOf(r) === 'choosingHandle'), JSON.stringify(replies.map(stateOf))).toHaveLength(1);
      expect(replies.filter((r) => r.status !== 200).every((r) => typeof r.body['type'] === 'string')).toBe(true);
    }
  }, 120_000);

  it('should give a handle to one account when two registrations claim it on two instances at once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const handle = `racer_${round}_x`;
      const flows = await Promise.all(
        [a, b].map(async (s, i) => {
          const { flowId, code } = await registrationAtCode(s, `+861380013${8200 + round * 2 + i}`);
          expect(stateOf(await post(s, `flows/${flowId}/events`, { type: 'code.submit', code }))).toBe('choosingHandle');
          expect(stateOf(await post(s, `flows/${flowId}/events`, { type: 'handle.submit', handle }))).toBe('choosingPassword');
          return { service: s, flowId };
        }),
      );
      const replies = await Promise.all(flows.map(({ service, flowId }) => post(service, `flows/${flowId}/events`, { type: 'password.submit', password: 'correct horse battery staple' })));
      expect(replies.filter((r) => stateOf(r) === 'registered'), JSON.stringify(replies.map(stateOf))).toHaveLength(1);
    }
  }, 120_000);

  it('should send one SMS for the last unit of a number budget when both instances spend it at once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const phone = `+861380013${8300 + round}`;
      const flows = await Promise.all([a, b].map(async (s) => ({ service: s, flowId: (await post(s, 'flows/registration')).body['flowId'] as string })));
      const replies = await Promise.all(flows.map(({ service, flowId }) => post(service, `flows/${flowId}/events`, { type: 'phone.submit', phone })));
      // The loser is told it is rate-limited: as an error, or in a view that holds no code.
      const sentCode = replies.filter((r) => stateOf(r) === 'awaitingCode' && (r.body['view'] as Record<string, unknown>)['notice'] === null);
      expect(sentCode, JSON.stringify(replies)).toHaveLength(1);
      expect(provider.delivered(phone)).toHaveLength(1);
    }
  }, 120_000);
});
