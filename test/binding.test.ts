import { describe, expect, it } from 'vitest';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import type { AccountId } from '../src/domain/account.ts';
import type { Email } from '../src/domain/email.ts';
import type { Handle } from '../src/domain/handle.ts';
import type { Phone } from '../src/domain/phone.ts';
import { HOUR, MINUTE } from '../src/domain/time.ts';
import type { HostSession } from '../src/runtime/runtime.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';
const NEW_PHONE = '+8613900139000';
const OTHER_PHONE = '+8613700137000';
const EMAIL = 'alice@example.com';

interface User {
  readonly id: AccountId;
  readonly session: HostSession;
}

const seed = (host: TestHost, options: { phone?: string; handle?: string; email?: string } = {}): AccountId => {
  const created = host.world.directory.createNow({
    phone: (options.phone ?? PHONE) as Phone,
    handle: (options.handle ?? 'alice_01') as Handle,
    passwordHash: 'x',
    at: host.world.clock.now(),
    ...(options.email === undefined ? {} : { email: options.email as Email }),
  });
  if (!created.ok) throw new Error(`could not seed: ${created.conflict}`);
  return created.account.id;
};

const signIn = async (host: TestHost, id: AccountId): Promise<User> => {
  const account = await host.world.directory.get(id);
  const session = host.world.sessions.signIn(id, account?.securityEpoch ?? 0, host.world.clock.now());
  return { id, session: { actor: id, sessionId: session.id } };
};

const signUp = async (host: TestHost, options: { phone?: string; handle?: string; email?: string } = {}): Promise<User> => signIn(host, seed(host, options));

const begin = async (host: TestHost, user: User) => ok(await host.runtime.start('binding', {}, user.session));

const submitChannel = (host: TestHost, flowId: string, user: User, kind: 'phone' | 'email', value: string, region?: string) =>
  host.runtime.send(flowId, { type: 'channel.submit', kind, value, ...(region === undefined ? {} : { region }) }, user.session);

const submitCode = (host: TestHost, flowId: string, user: User, code: string) => host.runtime.send(flowId, { type: 'code.submit', code }, user.session);

const lastCode = (host: TestHost, to: string): string => {
  const code = host.world.messenger.lastCodeTo(to);
  if (code === undefined) throw new Error(`no code was sent to ${to}`);
  return code;
};

const wrongFor = (right: string): string => (right === '000000' ? '111111' : '000000');

/** Starts a flow and sends a code to `value`. */
const challenge = async (host: TestHost, user: User, kind: 'phone' | 'email', value: string) => {
  const { flowId } = await begin(host, user);
  const reply = ok(await submitChannel(host, flowId, user, kind, value));
  return { flowId, reply };
};

const messagesTo = (host: TestHost, to: string) => host.world.messenger.sent.filter((s) => s.message.to === to).map((s) => s.message);

describe('binding a phone or e-mail', () => {
  it('should bind an e-mail to an account without one, after its code is redeemed', async () => {
    const host = testHost();
    const user = await signUp(host);
    const started = await begin(host, user);
    expect(started.view).toMatchObject({ state: 'enteringChannel', done: false, kind: null, channel: null, triesLeft: null, notice: null, result: null });

    const sent = ok(await submitChannel(host, started.flowId, user, 'email', '  Alice@Example.COM '));
    expect(sent.view).toMatchObject({ state: 'awaitingCode', kind: 'email', channel: 'a***@example.com', triesLeft: 5, notice: null });
    expect(sent.nextDeadline).toBe(sent.view['codeExpiresAt']);
    expect(sent.view['codeExpiresAt']).toBe(host.world.clock.now() + 10 * MINUTE);
    expect(sent.view['resendAllowedAt']).toBe(host.world.clock.now() + MINUTE);
    const codeMail = host.world.messenger.lastTo(EMAIL);
    expect(codeMail).toMatchObject({ channel: 'email', subject: 'Confirm this contact' });
    expect(codeMail?.text).toContain('Nobody from the service will ever ask you for this code');

    host.world.clock.advanceBy(30_000);
    const bound = ok(await submitCode(host, started.flowId, user, lastCode(host, EMAIL)));
    const now = host.world.clock.now();
    expect(bound.view).toMatchObject({ state: 'bound', done: true, result: 'bound', verifiedAt: now, codeExpiresAt: null });
    expect(bound.nextDeadline).toBeNull();
    expect(bound.pendingEffects).toBe(0);
    const account = await host.world.directory.get(user.id);
    expect(account?.email).toEqual({ value: EMAIL, verifiedAt: now });
    expect(account?.phone?.value).toBe(PHONE);
    expect((await host.world.directory.findByEmail(EMAIL as Email))?.id).toBe(user.id);
    // Nothing was replaced, but the account's phone hears that its contacts changed.
    expect(messagesTo(host, PHONE).map((m) => m.text)).toEqual([expect.stringContaining('was changed')]);
    expect(host.world.audit.entries).toContainEqual({ at: now, flowId: started.flowId, kind: 'binding.applied', accountId: user.id, detail: { channel: 'email', replaced: false } });
  });

  it('should change the phone: the code goes to the new number, the old one is told, and lookups follow', async () => {
    const host = testHost();
    const user = await signUp(host, { email: EMAIL });
    host.world.clock.advanceBy(HOUR);
    const { flowId, reply } = await challenge(host, user, 'phone', '+86 139 0013 9000');
    expect(reply.view).toMatchObject({ state: 'awaitingCode', kind: 'phone', channel: '+86 139****9000' });
    expect(messagesTo(host, NEW_PHONE)).toHaveLength(1);
    expect(messagesTo(host, PHONE)).toHaveLength(0);

    const done = ok(await submitCode(host, flowId, user, lastCode(host, NEW_PHONE)));
    const now = host.world.clock.now();
    expect(done.view).toMatchObject({ state: 'bound', verifiedAt: now });
    const account = await host.world.directory.get(user.id);
    expect(account?.phone).toEqual({ value: NEW_PHONE, verifiedAt: now });
    expect((await host.world.directory.findByPhone(NEW_PHONE as Phone))?.id).toBe(user.id);
    expect(await host.world.directory.findByPhone(PHONE as Phone)).toBeUndefined();

    const toOld = messagesTo(host, PHONE);
    expect(toOld).toHaveLength(1);
    expect(toOld[0]).toMatchObject({ channel: 'sms', text: expect.stringContaining('was changed') });
    expect(toOld[0]?.text).not.toMatch(/\d{6}/);
    expect(messagesTo(host, EMAIL).map((m) => m.text)).toEqual([expect.stringContaining('was changed')]);
    expect(host.world.audit.entries.find((e) => e.kind === 'binding.applied')?.detail).toEqual({ channel: 'phone', replaced: true });
  });

  it('should tell the old channel in Simplified Chinese when the host speaks it', async () => {
    const host = testHost({ locale: 'zh-CN' });
    const user = await signUp(host, { email: EMAIL });
    const { flowId } = await challenge(host, user, 'email', 'alice.new@example.com');
    expect(host.world.messenger.lastTo('alice.new@example.com')?.text).toContain('官方绝不会');
    ok(await submitCode(host, flowId, user, lastCode(host, 'alice.new@example.com')));
    expect(messagesTo(host, EMAIL)).toEqual([expect.objectContaining({ channel: 'email', subject: '联系方式已变更', text: expect.stringContaining('已变更') })]);
  });

  it('should refuse changing to the current value at the boundary, however it is typed', async () => {
    const host = testHost();
    const user = await signUp(host, { email: EMAIL });
    const { flowId, version } = await begin(host, user);
    for (const [kind, value, region] of [
      ['email', 'ALICE@example.com ', undefined],
      ['phone', PHONE, undefined],
      ['phone', '138 0013 8000', 'CN'],
    ] as const) {
      const error = fail(await submitChannel(host, flowId, user, kind, value, region));
      expect(error).toMatchObject({ code: 'channel_unchanged', field: 'value', visibility: 'public' });
    }
    expect(ok(await host.runtime.read(flowId)).version).toBe(version);
    expect(host.world.messenger.sent).toHaveLength(0);
  });

  it('should refuse malformed, blocked and unsupported channels with errors naming the field', async () => {
    const host = testHost({ blocked: [OTHER_PHONE] });
    const user = await signUp(host);
    const { flowId, version } = await begin(host, user);
    expect(fail(await submitChannel(host, flowId, user, 'email', 'a@x.com,b@y.com'))).toMatchObject({ code: 'email_invalid', field: 'value' });
    expect(fail(await submitChannel(host, flowId, user, 'email', 'a@x.com\nBcc: b@y.com'))).toMatchObject({ code: 'email_invalid', field: 'value' });
    expect(fail(await submitChannel(host, flowId, user, 'phone', '+8613900139000,+8613700137000'))).toMatchObject({ code: 'phone_invalid', field: 'value' });
    expect(fail(await submitChannel(host, flowId, user, 'phone', '+12025550123'))).toMatchObject({ code: 'phone_region_not_allowed', field: 'value' });
    expect(fail(await submitChannel(host, flowId, user, 'phone', OTHER_PHONE))).toMatchObject({ code: 'phone_blocked', field: 'value' });
    expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'fax', value: PHONE }, user.session))).toMatchObject({ code: 'invalid_input', field: 'kind' });
    expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 42 }, user.session))).toMatchObject({ code: 'invalid_input', field: 'value' });
    expect(fail(await submitCode(host, flowId, user, '123456'))).toMatchObject({ code: 'event_not_accepted' });
    expect(ok(await host.runtime.read(flowId)).version).toBe(version);
    expect(host.world.messenger.sent).toHaveLength(0);
  });

  it('should refuse a wrong code, count it against the account, and still accept the right one', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'email', EMAIL);
    const right = lastCode(host, EMAIL);
    const wrong = ok(await submitCode(host, flowId, user, wrongFor(right)));
    expect(wrong.view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_invalid' }, triesLeft: 4 });
    expect((await host.world.budgets.peek(`failures:account:${user.id}`, { windows: [{ limit: 1, windowMs: HOUR }], cooldownMs: 0 }, host.world.clock.now())).allowed).toBe(false);
    expect((await host.world.directory.get(user.id))?.email).toBeNull();
    expect(ok(await submitCode(host, flowId, user, right)).view.state).toBe('bound');
  });

  it('should refuse the 6th try of a code even when it is right, and lock after 10 wrong tries across resends', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'email', EMAIL);
    const right = lastCode(host, EMAIL);
    for (let i = 0; i < 5; i++) ok(await submitCode(host, flowId, user, wrongFor(right)));
    expect(ok(await submitCode(host, flowId, user, right)).view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_attempts_exhausted' }, triesLeft: 0 });

    host.world.clock.advanceBy(MINUTE);
    ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session));
    const second = lastCode(host, EMAIL);
    for (let i = 0; i < 4; i++) ok(await submitCode(host, flowId, user, wrongFor(second)));
    const locked = ok(await submitCode(host, flowId, user, wrongFor(second)));
    expect(locked.view).toMatchObject({ state: 'locked', done: true, result: 'locked', notice: { code: 'flow_locked', retryAfterMs: host.world.policy.code.flowLockMs } });
    expect((await host.world.directory.get(user.id))?.email).toBeNull();
  });

  it('should refuse a code at its expiry exactly, move to codeExpired on the tick, and bind after a resend', async () => {
    const host = testHost();
    const user = await signUp(host);
    const startedAt = host.world.clock.now();
    const { flowId, reply } = await challenge(host, user, 'phone', NEW_PHONE);
    const first = lastCode(host, NEW_PHONE);
    host.world.clock.advanceTo(reply.nextDeadline as number);
    expect(ok(await submitCode(host, flowId, user, first)).view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_expired' } });
    expect(ok(await host.runtime.tick(flowId))).toMatchObject({ view: { state: 'codeExpired' }, nextDeadline: startedAt + host.world.policy.flowMaxLifetimeMs });
    expect(ok(await submitCode(host, flowId, user, first)).view.notice).toEqual({ code: 'code_expired' });
    expect((await host.world.directory.get(user.id))?.phone?.value).toBe(PHONE);

    const again = ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session));
    expect(again.view).toMatchObject({ state: 'awaitingCode', notice: null });
    expect(messagesTo(host, NEW_PHONE)).toHaveLength(2);
    expect(ok(await submitCode(host, flowId, user, lastCode(host, NEW_PHONE))).view.state).toBe('bound');
    expect((await host.world.directory.get(user.id))?.phone?.value).toBe(NEW_PHONE);
  });

  it('should refuse a resend inside the cooldown, quoting the real wait, and kill the old code on resend', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'email', EMAIL);
    host.world.clock.advanceBy(MINUTE - 1);
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session)).view.notice).toEqual({ code: 'cooldown', retryAfterMs: 1 });
    host.world.clock.advanceBy(1);
    const first = lastCode(host, EMAIL);
    ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session));
    const second = lastCode(host, EMAIL);
    if (first !== second) expect(ok(await submitCode(host, flowId, user, first)).view.notice).toEqual({ code: 'code_invalid' });
    expect(ok(await submitCode(host, flowId, user, second)).view.state).toBe('bound');
  });

  it('should apply nothing until the code is redeemed, and nothing at all when cancelled or timed out', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'phone', NEW_PHONE);
    ok(await submitCode(host, flowId, user, wrongFor(lastCode(host, NEW_PHONE))));
    const before = await host.world.directory.get(user.id);
    expect(before?.phone?.value).toBe(PHONE);
    expect(await host.world.directory.findByPhone(NEW_PHONE as Phone)).toBeUndefined();
    const cancelled = ok(await host.runtime.send(flowId, { type: 'flow.cancel' }, user.session));
    expect(cancelled.view).toMatchObject({ state: 'cancelled', done: true, result: 'cancelled' });
    expect(fail(await submitCode(host, flowId, user, lastCode(host, NEW_PHONE)))).toMatchObject({ code: 'flow_finished' });
    expect(await host.world.directory.get(user.id)).toEqual(before);

    const lifetimeEnd = host.world.clock.now() + host.world.policy.flowMaxLifetimeMs;
    const idle = await challenge(host, user, 'email', EMAIL);
    host.world.clock.advanceTo(idle.reply.nextDeadline as number);
    expect(ok(await host.runtime.tick(idle.flowId)).nextDeadline).toBe(lifetimeEnd);
    host.world.clock.advanceTo(lifetimeEnd);
    expect(ok(await host.runtime.tick(idle.flowId)).view).toMatchObject({ state: 'timedOut', done: true, result: 'timed_out' });
    expect((await host.world.directory.get(user.id))?.email).toBeNull();
  });

  it('should end the flow when its session is revoked, applying nothing the dead session sends', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'phone', NEW_PHONE);
    const code = lastCode(host, NEW_PHONE);
    await host.world.sessions.revoke(user.session.sessionId as string, host.world.clock.now());

    // A fresh session of the same account cannot pick the flow up: it belongs to the one that started it.
    const again = await signIn(host, user.id);
    const before = ok(await host.runtime.read(flowId)).version;
    expect(fail(await submitCode(host, flowId, again, code))).toMatchObject({ code: 'session_required' });
    expect(ok(await host.runtime.read(flowId)).version).toBe(before);

    const ended = ok(await submitCode(host, flowId, user, code));
    expect(ended.view).toMatchObject({ state: 'sessionEnded', done: true, result: 'session_ended', notice: { code: 'session_required' } });
    expect(ended.nextDeadline).toBeNull();
    expect((await host.world.directory.get(user.id))?.phone?.value).toBe(PHONE);
    expect(await host.world.directory.findByPhone(NEW_PHONE as Phone)).toBeUndefined();
    expect(fail(await submitCode(host, flowId, user, code))).toMatchObject({ code: 'flow_finished' });
  });

  it("should end the flow when the account's epoch moves on after a recovery", async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'phone', NEW_PHONE);
    const idle = await begin(host, user);
    host.world.directory.bumpEpoch(user.id);
    const ended = ok(await submitCode(host, flowId, user, lastCode(host, NEW_PHONE)));
    expect(ended.view).toMatchObject({ state: 'sessionEnded', done: true, result: 'session_ended', notice: { code: 'session_required' } });
    expect((await host.world.directory.get(user.id))?.phone?.value).toBe(PHONE);
    expect(ok(await host.runtime.send(idle.flowId, { type: 'flow.cancel' }, user.session)).view).toMatchObject({ state: 'sessionEnded', result: 'session_ended' });
    expect(fail(await host.runtime.start('binding', {}, user.session))).toMatchObject({ code: 'session_required' });
    expect(host.world.messenger.sent).toHaveLength(1);
  });

  it('should refuse the write when the epoch moves on between redeeming the code and writing the change', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'email', EMAIL);
    const directory = host.world.directory;
    const write = directory.bindChannel.bind(directory);
    // A recovery lands in the gap between the code check and the directory write.
    directory.bindChannel = async (input) => {
      directory.bumpEpoch(input.id);
      return write(input);
    };
    const ended = ok(await submitCode(host, flowId, user, lastCode(host, EMAIL)));
    expect(ended.view).toMatchObject({ state: 'sessionEnded', result: 'session_ended' });
    expect((await directory.get(user.id))?.email).toBeNull();
    expect(messagesTo(host, PHONE)).toHaveLength(0);
    expect(host.world.audit.entries.find((e) => e.kind === 'binding.refused')?.detail).toEqual({ channel: 'email', reason: 'stale_epoch' });
  });

  it('should hold changing a channel after a recovery but allow binding a new one', async () => {
    const host = testHost();
    const id = seed(host);
    const now = host.world.clock.now();
    const hold = host.world.policy.recovery.sensitiveHoldMs;
    const reset = await host.world.directory.resetPassword({ id, expectedEpoch: 0, passwordHash: 'y', holdSensitiveUntil: now + hold, idempotencyKey: 'reset-1' });
    expect(reset.ok).toBe(true);
    const user = await signIn(host, id);
    const { flowId, version } = await begin(host, user);
    host.world.clock.advanceBy(HOUR);
    expect(fail(await submitChannel(host, flowId, user, 'phone', NEW_PHONE))).toMatchObject({ code: 'action_held', visibility: 'public', retryAfterMs: hold - HOUR });
    expect(ok(await host.runtime.read(flowId)).version).toBe(version);
    expect(host.world.messenger.sent).toHaveLength(0);

    ok(await submitChannel(host, flowId, user, 'email', EMAIL));
    expect(ok(await submitCode(host, flowId, user, lastCode(host, EMAIL))).view.state).toBe('bound');
    expect((await host.world.directory.get(id))?.email?.value).toBe(EMAIL);

    host.world.clock.advanceTo(now + hold);
    const later = await challenge(host, user, 'phone', NEW_PHONE);
    expect(ok(await submitCode(host, later.flowId, user, lastCode(host, NEW_PHONE))).view.state).toBe('bound');
  });

  it('should reveal a channel held by another account only after its code proves possession', async () => {
    const host = testHost();
    seed(host, { phone: OTHER_PHONE, handle: 'bob_0001', email: EMAIL });
    const user = await signUp(host);
    const fresh = testHost();
    seed(fresh, { phone: OTHER_PHONE, handle: 'bob_0001' });
    const control = await signUp(fresh);

    const taken = await challenge(host, user, 'email', EMAIL);
    const free = await challenge(fresh, control, 'email', EMAIL);
    expect(taken.reply.view).toEqual(free.reply.view);
    expect(taken.reply.nextDeadline).toEqual(free.reply.nextDeadline);
    const wrongTaken = ok(await submitCode(host, taken.flowId, user, wrongFor(lastCode(host, EMAIL))));
    const wrongFree = ok(await submitCode(fresh, free.flowId, control, wrongFor(lastCode(fresh, EMAIL))));
    expect(wrongTaken.view).toEqual(wrongFree.view);

    const revealed = ok(await submitCode(host, taken.flowId, user, lastCode(host, EMAIL)));
    expect(revealed.view).toMatchObject({ state: 'channelTaken', done: true, result: 'channel_taken' });
    expect(revealed.view['message']).toContain('already belongs to another account');
    expect((await host.world.directory.get(user.id))?.email).toBeNull();
    expect((await host.world.directory.findByEmail(EMAIL as Email))?.handle).toBe('bob_0001');
    expect(host.world.audit.entries.find((e) => e.kind === 'binding.refused')?.detail).toEqual({ channel: 'email', reason: 'channel_taken' });
  });

  it('should refuse anyone but the signed-in session that started the flow, and change nothing', async () => {
    const host = testHost();
    const alice = await signUp(host);
    const mallory = await signUp(host, { phone: OTHER_PHONE, handle: 'mallory_1' });
    expect(fail(await host.runtime.start('binding', {}))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.start('binding', {}, { actor: alice.id, sessionId: null }))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.start('binding', {}, { actor: alice.id, sessionId: mallory.session.sessionId }))).toMatchObject({ code: 'session_required' });

    // A body naming another account is ignored: the flow belongs to whoever is signed in.
    const own = ok(await host.runtime.start('binding', { accountId: alice.id }, mallory.session));
    ok(await submitChannel(host, own.flowId, mallory, 'email', 'mallory@example.com'));
    ok(await submitCode(host, own.flowId, mallory, lastCode(host, 'mallory@example.com')));
    expect((await host.world.directory.get(mallory.id))?.email?.value).toBe('mallory@example.com');
    expect((await host.world.directory.get(alice.id))?.email).toBeNull();

    const { flowId, version } = await begin(host, alice);
    const aliceElsewhere = await signIn(host, alice.id);
    for (const session of [undefined, mallory.session, aliceElsewhere.session, { actor: alice.id, sessionId: mallory.session.sessionId }]) {
      expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: EMAIL }, session))).toMatchObject({ code: 'session_required' });
      expect(fail(await host.runtime.send(flowId, { type: 'flow.cancel' }, session))).toMatchObject({ code: 'session_required' });
    }
    expect(ok(await host.runtime.read(flowId)).version).toBe(version);

    host.world.directory.deactivate(alice.id);
    expect(fail(await host.runtime.start('binding', {}, alice.session))).toMatchObject({ code: 'session_required' });
  });

  it('should kill the code and say when to retry when the address has no send budget left', async () => {
    const host = testHost();
    const user = await signUp(host);
    for (let i = 0; i < 5; i++) {
      await host.world.budgets.consume(`sends:email:${EMAIL}`, host.world.policy.sends, host.world.clock.now());
      host.world.clock.advanceBy(MINUTE);
    }
    const { flowId, reply } = await challenge(host, user, 'email', EMAIL);
    expect(reply.view.notice).toMatchObject({ code: 'rate_limited' });
    const retryAfterMs = (reply.view.notice as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(reply.view).toMatchObject({ state: 'awaitingCode', codeExpiresAt: host.world.clock.now(), resendAllowedAt: host.world.clock.now() + retryAfterMs });
    expect(host.world.messenger.sent).toHaveLength(0);

    // The dead code expires at once; asking again before the budget allows is refused with the real wait.
    expect(ok(await host.runtime.tick(flowId)).view.state).toBe('codeExpired');
    host.world.clock.advanceBy(1_000);
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session)).view).toMatchObject({ state: 'codeExpired', notice: { code: 'cooldown', retryAfterMs: retryAfterMs - 1_000 } });
    expect(host.world.messenger.sent).toHaveLength(0);
  });

  it('should refuse codes for an account that has used up its failure budget, before checking them', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'email', EMAIL);
    const rule = host.world.policy.accountFailures;
    const limit = Math.min(...rule.windows.map((w) => w.limit));
    for (let i = 0; i < limit; i++) await host.world.budgets.consume(`failures:account:${user.id}`, rule, host.world.clock.now());
    const before = ok(await host.runtime.read(flowId)).version;
    expect(fail(await submitCode(host, flowId, user, lastCode(host, EMAIL)))).toMatchObject({ code: 'rate_limited', field: 'code', retryAfterMs: expect.any(Number) });
    expect(ok(await host.runtime.read(flowId)).version).toBe(before);
    expect((await host.world.directory.get(user.id))?.email).toBeNull();
  });

  it('should cancel or time out before any channel was entered', async () => {
    const host = testHost();
    const user = await signUp(host);
    const a = await begin(host, user);
    expect(ok(await host.runtime.send(a.flowId, { type: 'flow.cancel' }, user.session)).view).toMatchObject({ state: 'cancelled', done: true });
    const b = await begin(host, user);
    expect(b.nextDeadline).toBe(host.world.clock.now() + host.world.policy.flowMaxLifetimeMs);
    host.world.clock.advanceTo((b.nextDeadline as number) - 1);
    expect(ok(await host.runtime.tick(b.flowId)).view.state).toBe('enteringChannel');
    host.world.clock.advanceTo(b.nextDeadline as number);
    expect(ok(await host.runtime.tick(b.flowId)).view).toMatchObject({ state: 'timedOut', done: true, result: 'timed_out' });
  });

  it('should let the user resend at once when the messenger failed', async () => {
    let failNext = true;
    const messenger = new MemoryMessenger(() => (failNext ? ((failNext = false), { ok: false, reason: 'unreachable', retryable: true }) : undefined));
    const host = testHost({ messenger });
    const user = await signUp(host);
    const { flowId, reply } = await challenge(host, user, 'email', EMAIL);
    expect(reply.view).toMatchObject({ notice: { code: 'delivery_failed' }, resendAllowedAt: host.world.clock.now() });
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session)).view.notice).toBeNull();
    expect(ok(await submitCode(host, flowId, user, lastCode(host, EMAIL))).view.state).toBe('bound');
  });

  it('should keep no code in the stored flow or its outbox', async () => {
    const host = testHost();
    const user = await signUp(host);
    const { flowId } = await challenge(host, user, 'email', EMAIL);
    const code = lastCode(host, EMAIL);
    const stored = JSON.stringify(await host.world.store.load(flowId));
    expect(stored).not.toMatch(new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`));
    expect(stored).toContain('"purpose":"binding.email"');
  });
});
