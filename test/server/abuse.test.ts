import { describe, expect, it } from 'vitest';
import type { RateRule } from '../../src/domain/policy.ts';
import { clientKey, phonePrefix } from '../../src/server/abuse.ts';
import { createMemoryWorld } from '../../src/adapters/memory/index.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { flowOf, headerList, MIN_ENTRY_MS, problemOf, TEST_CLIENT, testService } from './support.ts';

const HOUR = 3_600_000;
const rule = (limit: number): RateRule => ({ windows: [{ limit, windowMs: HOUR }], cooldownMs: 0 });
const BOUND = '+8613800138000';
const UNBOUND = '+8613900138000';

/** Everything a client can observe of an answer. */
const observed = async (res: Response) => ({ status: res.status, headers: headerList(res), body: await res.text() });

describe('enumeration safety at the recovery entry', () => {
  it('should answer a bound and an unbound number with the same status, headers and body, and text only the bound one', async () => {
    const s = testService();
    await seedAccount(s.world, { phone: BOUND });
    const answers = [];
    for (const phone of [BOUND, UNBOUND]) {
      const started = await s.post('/flows/smsRecovery');
      const { flowId } = (await started.clone().json()) as { flowId: string };
      const submitted = await s.post(`/flows/${flowId}/events`, { type: 'channel.submit', channel: phone });
      const submittedBody = await submitted.clone().json();
      answers.push({ flowId, started: await observed(started), submitted: await observed(submitted), masked: (submittedBody as { view: { channel: string } }).view.channel });
    }
    const [bound, unbound] = answers as [(typeof answers)[0], (typeof answers)[0]];
    const same = (a: { body: string; headers: string[][] }, flowId: string, masked?: string) => {
      let body = a.body.replaceAll(flowId, '<flow>');
      if (masked !== undefined) body = body.replaceAll(masked, '<masked>');
      return { ...a, body, headers: a.headers.map(([k, v]) => [k, (v ?? '').replaceAll(flowId, '<flow>')]) };
    };
    expect(bound.started.status).toBe(201);
    expect(same(bound.started, bound.flowId)).toEqual(same(unbound.started, unbound.flowId));
    expect(bound.submitted.status).toBe(200);
    // The masked number is what the person typed, so it differs; its length does not.
    expect(bound.masked.length).toBe(unbound.masked.length);
    expect(bound.submitted.body.length).toBe(unbound.submitted.body.length);
    expect(same(bound.submitted, bound.flowId, bound.masked)).toEqual(same(unbound.submitted, unbound.flowId, unbound.masked));

    expect(s.world.messenger.sent.map((m) => m.message.to)).toEqual([BOUND]);
    // Every one of the four anonymous writes asked for the same pad (the recorded clock stood still).
    expect(s.timing.sleeps).toEqual([MIN_ENTRY_MS, MIN_ENTRY_MS, MIN_ENTRY_MS, MIN_ENTRY_MS]);
  });

  it('should hold an entry answer back until the pad has run, and pad only by what the work left over', async () => {
    let hold = false;
    let release: () => void = () => {};
    const requested: number[] = [];
    let now = 1_000;
    const timing = {
      now: () => now,
      sleep: (ms: number) => {
        requested.push(ms);
        return hold
          ? new Promise<void>((resolve) => {
              release = resolve;
            })
          : Promise.resolve();
      },
    };
    const s = testService({ timing, minEntryMs: 300 });
    const { flowId } = await flowOf(await s.post('/flows/smsRecovery'));
    expect(requested).toEqual([300]);
    // The work itself takes 120 ms on this clock: the pad asked for is the 180 ms left.
    const sendNow = s.runtime.send;
    s.runtime.send = async (...args) => {
      now += 120;
      return sendNow(...args);
    };
    hold = true;
    let settled = false;
    const answer = s.post(`/flows/${flowId}/events`, { type: 'channel.submit', channel: BOUND }).then((r) => {
      settled = true;
      return r;
    });
    await expect.poll(() => requested).toEqual([300, 180]);
    expect(settled).toBe(false);
    release();
    expect((await answer).status).toBe(200);
    expect(settled).toBe(true);
  }, 10_000);

  it('should not pad what a signed-in account does, nor reads', async () => {
    const s = testService();
    await seedAccount(s.world);
    const signIn = await s.post('/sessions', { phone: BOUND, password: OLD_PASSWORD });
    const { token } = (await signIn.json()) as { token: string };
    s.timing.sleeps.length = 0;
    const started = await flowOf(await s.post('/flows/binding', undefined, { authorization: `Bearer ${token}` }));
    await s.post(`/flows/${started.flowId}/events`, { type: 'channel.submit', kind: 'email', value: 'new@example.com' }, { authorization: `Bearer ${token}` });
    await s.get(`/flows/${started.flowId}`);
    expect(s.timing.sleeps).toEqual([]);
  });
});

describe('budgets against SMS pumping', () => {
  it('should refuse the (N+1)th start from one client with 429 and Retry-After, open no flow and text nobody', async () => {
    const s = testService({ limits: { smsStartsPerClient: rule(3) } });
    const from = (client: string) => ({ [TEST_CLIENT]: client });
    for (let i = 0; i < 3; i++) expect((await s.post('/flows/registration', undefined, from('198.51.100.7'))).status).toBe(201);
    const sentBefore = s.world.messenger.sent.length;
    const insertsBefore = s.store.inserts;

    const refused = await s.post('/flows/registration', undefined, from('198.51.100.7'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe(String(HOUR / 1000));
    expect((await problemOf(refused)).code).toBe('rate_limited');
    // SMS recovery draws on the same budget: both can text.
    expect((await s.post('/flows/smsRecovery', undefined, from('198.51.100.7'))).status).toBe(429);
    expect(s.store.inserts).toBe(insertsBefore);
    expect(s.world.messenger.sent.length).toBe(sentBefore);

    // Another client is not affected, and e-mail recovery texts nobody, so it is not counted.
    expect((await s.post('/flows/registration', undefined, from('198.51.100.8'))).status).toBe(201);
    expect((await s.post('/flows/emailRecovery', undefined, from('198.51.100.7'))).status).toBe(201);
  });

  it('should count an IPv6 client by its /64', async () => {
    const s = testService({ limits: { smsStartsPerClient: rule(1) } });
    expect((await s.post('/flows/registration', undefined, { [TEST_CLIENT]: '2001:db8:1:2::1' })).status).toBe(201);
    expect((await s.post('/flows/registration', undefined, { [TEST_CLIENT]: '2001:db8:1:2:ffff::9' })).status).toBe(429);
    expect((await s.post('/flows/registration', undefined, { [TEST_CLIENT]: '2001:db8:1:3::1' })).status).toBe(201);
    expect(clientKey('::ffff:192.0.2.1')).toBe('ip4:192.0.2.1');
    expect(clientKey('2001:db8::1')).toBe('ip6:2001:0db8:0000:0000::/64');
    expect(clientKey('not an address')).toBe('ip:unknown');
  });

  it('should refuse starts beyond the global budget, whoever asks', async () => {
    const s = testService({ limits: { smsStartsGlobal: rule(2) } });
    expect((await s.post('/flows/registration', undefined, { [TEST_CLIENT]: '192.0.2.1' })).status).toBe(201);
    expect((await s.post('/flows/smsRecovery', undefined, { [TEST_CLIENT]: '192.0.2.2' })).status).toBe(201);
    expect((await s.post('/flows/registration', undefined, { [TEST_CLIENT]: '192.0.2.3' })).status).toBe(429);
  });

  it('should refuse a number from an exhausted prefix before any code goes out, and leave the flow as it was', async () => {
    const s = testService({ limits: { smsNumbersPerPrefix: rule(2) } });
    for (const phone of ['+8613800138001', '+86 138 0013 8002']) {
      const { res } = await s.startAndSend('registration', { type: 'phone.submit', phone }, { [TEST_CLIENT]: `192.0.2.${phone.length}` });
      expect(res.status).toBe(200);
    }
    const { flowId, res } = await s.startAndSend('registration', { type: 'phone.submit', phone: '+8613800138003' }, { [TEST_CLIENT]: '192.0.2.99' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(s.world.messenger.lastTo('+8613800138003')).toBeUndefined();
    expect((await flowOf(await s.get(`/flows/${flowId}`))).view.state).toBe('enteringPhone');
    // Another prefix, and SMS recovery's entry counts the same way.
    expect((await s.startAndSend('smsRecovery', { type: 'channel.submit', channel: '+8613900139000' })).res.status).toBe(200);
    expect((await s.startAndSend('smsRecovery', { type: 'channel.submit', channel: '+8613800138004' })).res.status).toBe(429);
    expect(phonePrefix('+852 5123 4567', undefined, createMemoryWorld().policy, 3)).toBe('+852512');
  });

  it('should stop guessing passwords per client with 429 and per account with the same 401 as any failure', async () => {
    const s = testService({ limits: { signInFailuresPerAccount: rule(2), signInFailuresPerClient: rule(4) } });
    await seedAccount(s.world);
    const attempt = (password: string, client = '192.0.2.10') => s.post('/sessions', { phone: BOUND, password }, { [TEST_CLIENT]: client });
    expect((await attempt('wrong one', '192.0.2.11')).status).toBe(401);
    expect((await attempt('wrong two', '192.0.2.12')).status).toBe(401);
    // The account is out of tries: even the right password gets the ordinary refusal.
    const locked = await attempt(OLD_PASSWORD, '192.0.2.13');
    expect(locked.status).toBe(401);
    expect((await problemOf(locked)).code).toBe('credentials_invalid');

    for (let i = 0; i < 4; i++) await s.post('/sessions', { phone: UNBOUND, password: 'guess' }, { [TEST_CLIENT]: '192.0.2.20' });
    const limited = await s.post('/sessions', { phone: UNBOUND, password: 'guess' }, { [TEST_CLIENT]: '192.0.2.20' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe(String(HOUR / 1000));
  });
});

describe('CAPTCHA on entry routes', () => {
  it('should require an accepted CAPTCHA-Token to start an anonymous flow, and spend no budget without one', async () => {
    const seen: [string, string][] = [];
    const s = testService({
      captcha: { verify: async (token, client) => (seen.push([token, client]), token === 'good-token') },
      limits: { smsStartsPerClient: rule(1) },
    });
    const missing = await s.post('/flows/registration');
    expect(missing.status).toBe(403);
    expect((await problemOf(missing)).code).toBe('captcha_required');
    const wrong = await s.post('/flows/registration', undefined, { 'captcha-token': 'bad-token' });
    expect(wrong.status).toBe(403);
    expect((await problemOf(wrong)).code).toBe('captcha_failed');
    expect(s.store.inserts).toBe(0);

    expect((await s.post('/flows/registration', undefined, { 'captcha-token': 'good-token' })).status).toBe(201);
    expect(seen).toEqual([
      ['bad-token', 'ip4:203.0.113.1'],
      ['good-token', 'ip4:203.0.113.1'],
    ]);
    expect((await s.post('/flows/emailRecovery', undefined, { 'captcha-token': 'good-token' })).status).toBe(201);
  });

  it('should refuse when the provider cannot answer, rather than let everyone through', async () => {
    const s = testService({ captcha: { verify: async () => Promise.reject(new Error('provider down')) } });
    expect((await problemOf(await s.post('/flows/smsRecovery', undefined, { 'captcha-token': 'any' }))).code).toBe('captcha_failed');
  });

  it('should not ask a signed-in account for one', async () => {
    const s = testService({ captcha: { verify: async () => false } });
    await seedAccount(s.world);
    const { token } = (await (await s.post('/sessions', { phone: BOUND, password: OLD_PASSWORD })).json()) as { token: string };
    expect((await s.post('/flows/totpEnrollment', undefined, { authorization: `Bearer ${token}` })).status).toBe(201);
  });
});
