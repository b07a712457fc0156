import { describe, expect, it } from 'vitest';
import type { AccountId } from '../src/domain/account.ts';
import type { Handle } from '../src/domain/handle.ts';
import type { Phone } from '../src/domain/phone.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';

const startWithPhone = async (host: TestHost, phone = PHONE) => {
  const started = ok(await host.runtime.start('registration', {}));
  const sent = ok(await host.runtime.send(started.flowId, { type: 'phone.submit', phone }));
  return { flowId: started.flowId, reply: sent };
};

const lastCode = (host: TestHost, phone = PHONE): string => {
  const code = host.world.messenger.lastCodeTo(phone);
  if (code === undefined) throw new Error(`no code was sent to ${phone}`);
  return code;
};

describe('registration', () => {
  it('should register a new number end to end under the virtual clock', async () => {
    const host = testHost();
    const { flowId, reply } = await startWithPhone(host);
    expect(reply.view.state).toBe('awaitingCode');
    expect(reply.view.phone).toBe('+86 138****8000');
    expect(host.world.messenger.sent).toHaveLength(1);
    expect(host.world.messenger.sent[0]?.message.text).toContain('Nobody from the service will ever ask you for this code');

    host.world.clock.advanceBy(30_000);
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) })).view.state).toBe('choosingHandle');
    expect(ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_01' })).view.state).toBe('choosingPassword');
    const done = ok(await host.runtime.send(flowId, { type: 'password.submit', password: 'correct horse battery staple' }));
    expect(done.view).toMatchObject({ state: 'registered', done: true, result: 'registered' });
    const account = await host.world.directory.findByPhone(PHONE as Phone);
    expect(account?.handle).toBe('alice_01');
    expect(account?.passwordHash).not.toContain('correct horse');
    expect(await host.world.hasher.verify('correct horse battery staple', account?.passwordHash ?? '')).toBe(true);
  });

  it('should refuse a number outside the allowed regions and change nothing', async () => {
    const host = testHost();
    const started = ok(await host.runtime.start('registration', {}));
    const error = fail(await host.runtime.send(started.flowId, { type: 'phone.submit', phone: '+12025550123' }));
    expect(error).toMatchObject({ code: 'phone_region_not_allowed', field: 'phone' });
    expect(ok(await host.runtime.read(started.flowId)).version).toBe(started.version);
    expect(host.world.messenger.sent).toHaveLength(0);
  });

  it('should refuse a blocked number before any code is sent', async () => {
    const host = testHost({ blocked: [PHONE] });
    const started = ok(await host.runtime.start('registration', {}));
    expect(fail(await host.runtime.send(started.flowId, { type: 'phone.submit', phone: PHONE })).code).toBe('phone_blocked');
    expect(host.world.messenger.sent).toHaveLength(0);
  });

  it('should name the malformed field of a bad event and keep the flow as it was', async () => {
    const host = testHost();
    const started = ok(await host.runtime.start('registration', {}));
    expect(fail(await host.runtime.send(started.flowId, { type: 'phone.submit', phone: 42 }))).toMatchObject({ code: 'invalid_input', field: 'phone' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'no.such.event' }))).toMatchObject({ code: 'invalid_input', field: 'type' });
    expect(fail(await host.runtime.send(started.flowId, null))).toMatchObject({ code: 'invalid_input' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'code.submit', code: '123456' }))).toMatchObject({ code: 'event_not_accepted' });
    expect(ok(await host.runtime.read(started.flowId)).version).toBe(started.version);
  });

  it('should tell an existing number only after its code is verified', async () => {
    const host = testHost();
    host.world.directory.createNow({ phone: PHONE as Phone, handle: 'existing' as Handle, passwordHash: 'x', at: 0 });
    const known = await startWithPhone(host);
    const fresh = testHost();
    const unknown = await startWithPhone(fresh);
    expect(known.reply.view).toEqual(unknown.reply.view);
    const wrongKnown = ok(await host.runtime.send(known.flowId, { type: 'code.submit', code: '000000' }));
    const wrongUnknown = ok(await fresh.runtime.send(unknown.flowId, { type: 'code.submit', code: '000000' }));
    expect(wrongKnown.view).toEqual(wrongUnknown.view);
    const verified = ok(await host.runtime.send(known.flowId, { type: 'code.submit', code: lastCode(host) }));
    expect(verified.view).toMatchObject({ state: 'alreadyRegistered', result: 'already_registered', done: true });
    expect(verified.view['message']).toContain('Sign in, or recover');
  });

  it('should refuse a resend inside the cooldown, quoting the real wait, and allow it at the cooldown exactly', async () => {
    const host = testHost();
    const { flowId } = await startWithPhone(host);
    host.world.clock.advanceBy(59_999);
    const early = ok(await host.runtime.send(flowId, { type: 'code.resend' }));
    expect(early.view.notice).toEqual({ code: 'cooldown', retryAfterMs: 1 });
    expect(host.world.messenger.sent).toHaveLength(1);
    host.world.clock.advanceBy(1);
    const first = lastCode(host);
    const resent = ok(await host.runtime.send(flowId, { type: 'code.resend' }));
    expect(resent.view.notice).toBeNull();
    expect(host.world.messenger.sent).toHaveLength(2);
    const second = lastCode(host);
    if (first !== second) {
      const refused = ok(await host.runtime.send(flowId, { type: 'code.submit', code: first }));
      expect(refused.view.notice).toEqual({ code: 'code_invalid' });
    }
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: second })).view.state).toBe('choosingHandle');
  });

  it('should refuse a code submitted exactly at its expiry and move to codeExpired on the tick', async () => {
    const host = testHost();
    const { flowId, reply } = await startWithPhone(host);
    const code = lastCode(host);
    expect(reply.nextDeadline).toBe(reply.view.codeExpiresAt);
    host.world.clock.advanceTo(reply.view.codeExpiresAt as number);
    const late = ok(await host.runtime.send(flowId, { type: 'code.submit', code }));
    expect(late.view.notice).toEqual({ code: 'code_expired' });
    const ticked = ok(await host.runtime.tick(flowId));
    expect(ticked.view.state).toBe('codeExpired');
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code })).view.notice).toEqual({ code: 'code_expired' });
    const again = ok(await host.runtime.send(flowId, { type: 'code.resend' }));
    expect(again.view.state).toBe('awaitingCode');
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) })).view.state).toBe('choosingHandle');
  });

  it('should accept a code one millisecond before its expiry', async () => {
    const host = testHost();
    const { flowId, reply } = await startWithPhone(host);
    host.world.clock.advanceTo((reply.view.codeExpiresAt as number) - 1);
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) })).view.state).toBe('choosingHandle');
  });

  it('should refuse the 6th try of a code even when it is right', async () => {
    const host = testHost();
    const { flowId } = await startWithPhone(host);
    const right = lastCode(host);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 5; i++) {
      const r = ok(await host.runtime.send(flowId, { type: 'code.submit', code: wrong }));
      expect(r.view.notice).toEqual({ code: 'code_invalid' });
      expect(r.view.triesLeft).toBe(5 - i);
    }
    const sixth = ok(await host.runtime.send(flowId, { type: 'code.submit', code: right }));
    expect(sixth.view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_attempts_exhausted' } });
  });

  it('should lock the flow after 10 wrong tries across resends, with a retry-after', async () => {
    const host = testHost();
    const { flowId } = await startWithPhone(host);
    for (let i = 0; i < 5; i++) ok(await host.runtime.send(flowId, { type: 'code.submit', code: 'zzzzzz' }));
    host.world.clock.advanceBy(60_000);
    ok(await host.runtime.send(flowId, { type: 'code.resend' }));
    for (let i = 0; i < 4; i++) ok(await host.runtime.send(flowId, { type: 'code.submit', code: 'zzzzzz' }));
    const locked = ok(await host.runtime.send(flowId, { type: 'code.submit', code: 'zzzzzz' }));
    expect(locked.view).toMatchObject({ state: 'locked', done: true, result: 'locked', notice: { code: 'flow_locked', retryAfterMs: 3_600_000 } });
    expect(fail(await host.runtime.send(flowId, { type: 'code.resend' })).code).toBe('flow_finished');
  });

  it('should let a taken handle be chosen again, ignoring case', async () => {
    const host = testHost();
    host.world.directory.createNow({ phone: '+8613900139000' as Phone, handle: 'Alice_01' as Handle, passwordHash: 'x', at: 0 });
    const { flowId } = await startWithPhone(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) }));
    const taken = ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_01' }));
    expect(taken.view).toMatchObject({ state: 'choosingHandle', notice: { code: 'handle_taken' } });
    expect(fail(await host.runtime.send(flowId, { type: 'handle.submit', handle: '1bad' })).code).toBe('handle_invalid');
    expect(ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_02' })).view.state).toBe('choosingPassword');
  });

  it('should budget handle checks per flow', async () => {
    const host = testHost({ policy: { handle: { checks: { windows: [{ limit: 2, windowMs: 60_000 }], cooldownMs: 0 } } } });
    host.world.directory.createNow({ phone: '+8613900139000' as Phone, handle: 'taken_1' as Handle, passwordHash: 'x', at: 0 });
    const { flowId } = await startWithPhone(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'taken_1' }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'taken_1' }));
    expect(fail(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'free_one' }))).toMatchObject({ code: 'rate_limited', retryAfterMs: 60_000 });
  });

  it('should refuse a policy-breaking password and keep the flow where it was', async () => {
    const host = testHost();
    const { flowId } = await startWithPhone(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_01' }));
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: 'short' })).code).toBe('password_too_short');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: 'password123' })).code).toBe('password_blocklisted');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: 'x13800138000x' })).code).toBe('password_contains_identifier');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: 'my alice_01 pw' })).code).toBe('password_contains_identifier');
    expect(ok(await host.runtime.read(flowId)).view.state).toBe('choosingPassword');
  });

  it('should send the user back to choose a handle when another flow took it first', async () => {
    const host = testHost();
    const { flowId } = await startWithPhone(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_01' }));
    host.world.directory.createNow({ phone: '+8613900139000' as Phone, handle: 'ALICE_01' as Handle, passwordHash: 'x', at: 0 });
    const r = ok(await host.runtime.send(flowId, { type: 'password.submit', password: 'correct horse battery staple' }));
    expect(r.view).toMatchObject({ state: 'choosingHandle', notice: { code: 'handle_taken' }, handle: null });
  });

  it('should end as already registered when another flow registered the number first', async () => {
    const host = testHost();
    const { flowId } = await startWithPhone(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_01' }));
    host.world.directory.createNow({ phone: PHONE as Phone, handle: 'someone' as Handle, passwordHash: 'x', at: 0 });
    const r = ok(await host.runtime.send(flowId, { type: 'password.submit', password: 'correct horse battery staple' }));
    expect(r.view.state).toBe('alreadyRegistered');
  });

  it('should kill the code and say when to retry when the send budget is spent', async () => {
    const host = testHost();
    // Five flows for one number within the hour spend the hourly budget; the sixth is refused.
    for (let i = 0; i < 5; i++) {
      await startWithPhone(host);
      host.world.clock.advanceBy(60_000);
    }
    const sixth = await startWithPhone(host);
    expect(sixth.reply.view.notice).toMatchObject({ code: 'rate_limited' });
    expect(sixth.reply.view.codeExpiresAt).toBe(host.world.clock.now());
    expect(sixth.reply.view.resendAllowedAt).toBe(host.world.clock.now() + (sixth.reply.view.notice as { retryAfterMs: number }).retryAfterMs);
    expect(host.world.messenger.sent).toHaveLength(5);
  });

  it('should let the user resend at once when the messenger failed (the code never arrived)', async () => {
    let failNext = true;
    const { MemoryMessenger } = await import('../src/adapters/memory/messenger.ts');
    const messenger = new MemoryMessenger(() => (failNext ? ((failNext = false), { ok: false, reason: 'unreachable', retryable: true }) : undefined));
    const host = testHost({ messenger });
    const { flowId, reply } = await startWithPhone(host);
    expect(reply.view.notice).toEqual({ code: 'delivery_failed' });
    expect(reply.view.resendAllowedAt).toBe(host.world.clock.now());
    // Nothing went out, so the send budget got its unit back: "at once" means at once.
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' })).view.notice).toBeNull();
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: lastCode(host) })).view.state).toBe('choosingHandle');
  });

  it('should cancel, and time out at the flow deadline', async () => {
    const host = testHost();
    const a = await startWithPhone(host);
    expect(ok(await host.runtime.send(a.flowId, { type: 'flow.cancel' })).view).toMatchObject({ state: 'cancelled', done: true });
    const b = ok(await host.runtime.start('registration', {}));
    host.world.clock.advanceTo(b.nextDeadline as number);
    expect(ok(await host.runtime.tick(b.flowId)).view).toMatchObject({ state: 'timedOut', done: true });
  });

  it('should refuse a second account for the same number even when two flows race to the end', async () => {
    const host = testHost();
    const a = await startWithPhone(host);
    const codeA = lastCode(host);
    host.world.clock.advanceBy(60_000);
    const b = await startWithPhone(host);
    const codeB = lastCode(host);
    ok(await host.runtime.send(a.flowId, { type: 'code.submit', code: codeA }));
    ok(await host.runtime.send(b.flowId, { type: 'code.submit', code: codeB }));
    ok(await host.runtime.send(a.flowId, { type: 'handle.submit', handle: 'first_1' }));
    ok(await host.runtime.send(b.flowId, { type: 'handle.submit', handle: 'second_2' }));
    const [ra, rb] = await Promise.all([
      host.runtime.send(a.flowId, { type: 'password.submit', password: 'correct horse battery staple' }),
      host.runtime.send(b.flowId, { type: 'password.submit', password: 'another long passphrase' }),
    ]);
    expect([ok(ra).view.state, ok(rb).view.state].sort()).toEqual(['alreadyRegistered', 'registered']);
    expect(host.world.directory.all()).toHaveLength(1);
    expect((await host.world.directory.get('acct-1' as AccountId))?.phone?.value).toBe(PHONE);
  });
});
