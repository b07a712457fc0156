import { describe, expect, it } from 'vitest';
import { requestIdFor, startedFlowId } from '../../src/server/idempotency.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { flowOf, testService } from './support.ts';

const PHONE = '+8613800138000';
const KEY = '8e03978e-40d5-43e8-bc93-6894a57f9324';
const HOUR = 3_600_000;

describe('Idempotency-Key', () => {
  it('should give a retried event the same answer, say it is a replay, and send one SMS', async () => {
    const s = testService();
    const { flowId } = await flowOf(await s.post('/flows/registration'));
    const submit = () => s.post(`/flows/${flowId}/events`, { type: 'phone.submit', phone: PHONE }, { 'idempotency-key': KEY });
    const first = await submit();
    const second = await submit();
    expect(first.status).toBe(200);
    expect(second.status).toBe(first.status);
    expect(await second.text()).toBe(await first.text());
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(s.world.messenger.sent.filter((m) => m.message.to === PHONE)).toHaveLength(1);
  });

  it('should give a retried start the same flow, without spending the client’s budget again', async () => {
    const s = testService({ limits: { smsStartsPerClient: { windows: [{ limit: 1, windowMs: HOUR }], cooldownMs: 0 } } });
    const first = await s.post('/flows/smsRecovery', undefined, { 'idempotency-key': KEY });
    const second = await s.post('/flows/smsRecovery', undefined, { 'idempotency-key': `"${KEY}"` });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(s.store.inserts).toBe(1);
    // A new key is a new start, and that one the budget refuses.
    expect((await s.post('/flows/smsRecovery', undefined, { 'idempotency-key': `${KEY}-2` })).status).toBe(429);
  });

  it('should not spend the prefix budget on a retried event', async () => {
    const s = testService({ limits: { smsNumbersPerPrefix: { windows: [{ limit: 1, windowMs: HOUR }], cooldownMs: 0 } } });
    const { flowId } = await flowOf(await s.post('/flows/smsRecovery'));
    const submit = () => s.post(`/flows/${flowId}/events`, { type: 'channel.submit', channel: PHONE }, { 'idempotency-key': KEY });
    expect((await submit()).status).toBe(200);
    expect((await submit()).status).toBe(200);
  });

  it('should open the flow the runtime derives for the request id, so the service can tell a retried start', async () => {
    const s = testService();
    const started = await flowOf(await s.post('/flows/registration', undefined, { 'idempotency-key': KEY }));
    expect(started.flowId).toBe(startedFlowId('registration', requestIdFor(KEY, null)));
  });

  it('should keep one caller’s key from landing on another caller’s flow', async () => {
    const s = testService();
    await seedAccount(s.world);
    const { token } = (await (await s.post('/sessions', { phone: PHONE, password: OLD_PASSWORD })).json()) as { token: string };
    const mine = await flowOf(await s.post('/flows/binding', undefined, { 'idempotency-key': KEY, authorization: `Bearer ${token}` }));
    const anonymous = await s.post('/flows/registration', undefined, { 'idempotency-key': KEY });
    const theirs = await flowOf(anonymous);
    expect(theirs.flowId).not.toBe(mine.flowId);
    expect(anonymous.headers.get('idempotent-replayed')).toBeNull();
    expect(requestIdFor(KEY, 'someone')).not.toBe(requestIdFor(KEY, null));
  });
});
