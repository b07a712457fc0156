import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { createMemoryWorld } from '../../src/adapters/memory/index.ts';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import type { BudgetDecision } from '../../src/domain/budget.ts';
import type { Budgets } from '../../src/ports/budgets.ts';
import { bytesToId } from '../../src/runtime/ids.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import { checkCaptcha, clientKey, numberNamedBy, phonePrefix, spend } from '../../src/server/abuse.ts';
import { createApp } from '../../src/server/app.ts';
import { idempotencyKey, isRepeatedEvent, isRepeatedStart } from '../../src/server/idempotency.ts';
import { bearerToken, deviceFrom, sessionTokens } from '../../src/server/sessions.ts';
import { padded, realTiming } from '../../src/server/timing.ts';
import { createServiceWorld } from '../../src/server/world.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { problemOf, RecordingTiming, testService } from './support.ts';

const policy = createMemoryWorld().policy;
const HOUR = 3_600_000;

describe('abuse rules at their edges', () => {
  it('should key clients by address, IPv6 by /64 however it is written', () => {
    expect(clientKey('2001:db8:0:0:1:2:3:4')).toBe('ip6:2001:0db8:0000:0000::/64');
    expect(clientKey('2001:DB8::')).toBe('ip6:2001:0db8:0000:0000::/64');
    expect(clientKey('::1')).toBe('ip6:0000:0000:0000:0000::/64');
    expect(clientKey('192.0.2.300')).toBe('ip:unknown');
  });

  it('should find the number an event names in every flow that takes one, and nothing else', () => {
    expect(numberNamedBy({ type: 'phone.submit', phone: '138 0013 8000', region: 'CN' })).toEqual({ raw: '138 0013 8000', region: 'CN' });
    expect(numberNamedBy({ type: 'channel.submit', channel: '+8613800138000' })).toEqual({ raw: '+8613800138000', region: undefined });
    expect(numberNamedBy({ type: 'channel.submit', kind: 'phone', value: '+8613800138000' })).toEqual({ raw: '+8613800138000', region: undefined });
    expect(numberNamedBy({ type: 'channel.submit', kind: 'email', value: 'a@example.com' })).toBeUndefined();
    expect(numberNamedBy({ type: 'code.submit', code: '123456' })).toBeUndefined();
    expect(numberNamedBy(null)).toBeUndefined();
    expect(numberNamedBy('phone.submit')).toBeUndefined();
    expect(phonePrefix('138 0013 8000', 'CN', policy, 4)).toBe('+861380');
    expect(phonePrefix('me@example.com', undefined, policy, 3)).toBeUndefined();
  });

  it('should refuse when a rule that peeked open is spent by someone else before this request consumes it', async () => {
    const refused: BudgetDecision = { allowed: false, retryAfterMs: 5_000, reason: 'window' };
    const racing: Budgets = { peek: async () => ({ allowed: true, next: { events: [] } }), consume: async () => refused, release: async () => undefined };
    const spent = await spend(racing, [{ key: 'k', rule: { windows: [{ limit: 1, windowMs: HOUR }], cooldownMs: 0 } }], 0);
    expect(E.isLeft(spent) && spent.left).toMatchObject({ code: 'rate_limited', retryAfterMs: 5_000 });
  });

  it('should check a CAPTCHA only when a verifier is configured, and never send a huge token to it', async () => {
    expect(await checkCaptcha(undefined, undefined, 'ip:unknown')).toBe('ok');
    let asked = false;
    const verifier = { verify: async () => (asked = true) };
    expect(await checkCaptcha(verifier, '   ', 'ip:unknown')).toBe('captcha_required');
    expect(await checkCaptcha(verifier, 'x'.repeat(5000), 'ip:unknown')).toBe('captcha_failed');
    expect(asked).toBe(false);
  });
});

describe('idempotency keys at their edges', () => {
  it('should take 16 to 128 printable characters, quoted or not', () => {
    expect(idempotencyKey(undefined)).toEqual(E.right(undefined));
    expect(idempotencyKey('"abcdefghijklmnop"')).toEqual(E.right('abcdefghijklmnop'));
    for (const bad of ['', 'short', 'x'.repeat(129), 'sixteen chars ok', 'naïve-key-123456']) expect(idempotencyKey(bad)).toEqual(E.left('idempotency_key_invalid'));
  });

  it('should treat a store that cannot be read as no replay (the runtime then answers port_failure)', async () => {
    const broken = { load: () => Promise.reject(new Error('down')), insert: async () => false, replace: async () => false };
    expect(await isRepeatedStart(broken, 'registration', 'r')).toBe(false);
    expect(await isRepeatedEvent(broken, 'flow', 'r')).toBe(false);
  });
});

describe('session tokens at their edges', () => {
  const tokens = sessionTokens(new Uint8Array(32).fill(7));

  it('should round-trip any session id and refuse anything it did not sign', () => {
    for (const id of ['sess-1', '9f1c0e4e-7d1a-4c55-8a57-2f8f1c1ad0b3', 'sessão.1']) expect(tokens.open(tokens.issue(id))).toBe(id);
    const [encoded, mac] = tokens.issue('sess-1').split('.') as [string, string];
    expect(tokens.open(`${encoded}.${mac.slice(1)}`)).toBeUndefined();
    expect(tokens.open(`${bytesToId(new TextEncoder().encode('sess-2'))}.${mac}`)).toBeUndefined();
    expect(tokens.open('no-dot-at-all')).toBeUndefined();
    expect(tokens.open('.onlymac')).toBeUndefined();
    expect(tokens.open('bad*chars.mac')).toBeUndefined();
    expect(tokens.open(`${bytesToId(new Uint8Array([0xff, 0xfe]))}.${mac}`)).toBeUndefined();
    expect(tokens.open(`${'A'.repeat(600)}.${mac}`)).toBeUndefined();
    expect(sessionTokens(new Uint8Array(32).fill(8)).open(tokens.issue('sess-1'))).toBeUndefined();
    expect(() => sessionTokens(new Uint8Array(16))).toThrow(RangeError);
  });

  it('should read only the Bearer scheme, and describe a device in a short printable line', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   abc.def ')).toBe('abc.def');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(deviceFrom(undefined)).toBe('unknown device');
    expect(deviceFrom('\u0000\u202e')).toBe('unknown device');
    expect(deviceFrom('x'.repeat(200))).toHaveLength(80);
  });
});

describe('the app at its edges', () => {
  it('should need a session issuer when the Sessions port is not the in-memory one', () => {
    const world = createMemoryWorld();
    const ports = { ...world, sessions: { get: world.sessions.get.bind(world.sessions), list: async () => [], revokeAllExcept: async () => 0, revoke: async () => {}, recentLogins: async () => [] } };
    expect(() => createApp({ runtime: createRuntime(ports, []), ports })).toThrow(/sessionIssuer/);
  });

  it('should answer 404 for a flow the service knows but this host does not run', async () => {
    const world = createMemoryWorld();
    const app = createApp({ runtime: createRuntime(world, [registrationFlow(world)]), ports: world, minEntryMs: 0 });
    expect((await problemOf(await app.request('/flows/smsRecovery', { method: 'POST' }))).code).toBe('not_found');
    // No socket behind app.request(): every such caller is one client, and still budgeted.
    expect((await app.request('/flows/registration', { method: 'POST' })).status).toBe(201);
  });

  it('should refuse bad credentials, bad keys and bad bodies on every route that takes them', async () => {
    const s = testService();
    const bad = { authorization: 'Bearer not.a-session' };
    expect((await problemOf(await s.post('/flows/registration', undefined, bad))).code).toBe('session_invalid');
    expect((await problemOf(await s.post('/flows/registration', undefined, { 'idempotency-key': 'short' }))).code).toBe('idempotency_key_invalid');
    expect((await problemOf(await s.app.request('/flows/registration', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }))).code).toBe('malformed_json');
    expect((await problemOf(await s.post('/flows/registration', []))).code).toBe('invalid_input');
    expect((await problemOf(await s.get('/sessions/current', bad))).code).toBe('session_invalid');
    expect((await problemOf(await s.app.request('/sessions/current', { method: 'DELETE', headers: bad }))).code).toBe('session_invalid');
    expect((await problemOf(await s.get('/sessions/current'))).code).toBe('session_required');
    expect((await problemOf(await s.post('/sessions'))).code).toBe('malformed_json');
    const fields = await problemOf(await s.post('/sessions', { phone: '+8613800138000' }));
    expect(fields.errors?.map((e) => e.field)).toEqual(['password']);
    expect((await problemOf(await s.post('/sessions', { phone: '+8613800138000', password: 'x'.repeat(600) }))).code).toBe('credentials_invalid');
    const wrongMethod = await s.get('/sessions');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(s.store.inserts).toBe(0);
  });

  it('should treat a cookie of an ended session as nobody, and clear it', async () => {
    const s = testService();
    await seedAccount(s.world);
    const signIn = await s.post('/sessions', { phone: '+8613800138000', password: OLD_PASSWORD });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await s.app.request('/sessions/current', { method: 'DELETE', headers: { cookie } })).status).toBe(204);
    const after = await s.post('/flows/registration', undefined, { cookie });
    expect(after.status).toBe(201);
    expect(after.headers.get('set-cookie')).toMatch(/^af_session=;.*Max-Age=0/);
  });

  it('should list the development inbox, newest first, when one is configured', async () => {
    const world = createMemoryWorld();
    const { memoryDevInbox } = await import('../../src/server/devInbox.ts');
    const app = createApp({ runtime: createRuntime(world, [registrationFlow(world)]), ports: world, devInbox: memoryDevInbox(world.messenger), minEntryMs: 0 });
    await world.messenger.send({ channel: 'sms', to: '+8613800138000' as never, text: 'first', locale: 'en' }, 'k1');
    await world.messenger.send({ channel: 'email', to: 'a@example.com' as never, subject: 'Hello', text: 'second', locale: 'en' }, 'k2');
    const res = await app.request('/dev/inbox');
    expect(await res.json()).toEqual({
      messages: [
        { channel: 'email', to: 'a@example.com', subject: 'Hello', text: 'second' },
        { channel: 'sms', to: '+8613800138000', text: 'first' },
      ],
    });
    expect(await (await app.request('/')).text()).toContain('data-dev-inbox="true"');
  });
});

describe('the service world and timing', () => {
  it('should build the development inbox only over a messenger it can read', async () => {
    expect(createServiceWorld().devInbox).toBeUndefined();
    expect(createServiceWorld({ devInbox: true }).devInbox).toBeDefined();
    const own = { recent: async () => [] };
    expect(createServiceWorld({ devInbox: own }).devInbox).toBe(own);
    expect(() => createServiceWorld({ devInbox: true, messenger: { send: new MemoryMessenger().send } })).toThrow(/inbox/);
    expect(() => createServiceWorld({ policy: { 'code.digits': 0 } as never })).toThrow(RangeError);
  });

  it('should take sessions and their issuer together from the host', async () => {
    const issued: string[] = [];
    const base = createMemoryWorld();
    const world = createServiceWorld({ sessions: { sessions: base.sessions, issuer: { issue: async (i) => (issued.push(i.accountId), base.sessions.signIn(i.accountId, i.epoch, i.at)) } } });
    expect(world.ports.sessions).toBe(base.sessions);
    await world.sessionIssuer.issue({ accountId: 'a' as never, epoch: 0, at: 0, device: 'd', place: 'p' });
    expect(issued).toEqual(['a']);
  });

  it('should pad only a handler that asked for it, and also when it threw', async () => {
    const timing = new RecordingTiming();
    expect(await padded(timing, 50, async () => 'quick')).toBe('quick');
    expect(timing.sleeps).toEqual([]);
    await expect(
      padded(timing, 50, async (pad) => {
        pad();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(timing.sleeps).toEqual([50]);
    const before = realTiming.now();
    await realTiming.sleep(1);
    expect(realTiming.now()).toBeGreaterThan(before);
  });
});

describe('the boundary', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
    });

  it('should keep the core from importing the HTTP service', () => {
    const offenders = [...sources('src'), ...sources('machines')]
      .filter((file) => !file.startsWith(join('src', 'server')))
      .filter((file) => /from\s+['"][^'"]*\/server\//.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
