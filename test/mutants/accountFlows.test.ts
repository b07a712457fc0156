/**
 * Registration, real-name verification and TOTP enrollment, step by step: the deliveries,
 * budgets, account writes, provider submissions, factors and audit entries each step asks for.
 * The traces are kept in snapshots; the flow's own test files state the rules in words.
 */
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect, it } from 'vitest';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import type { AccountId } from '../../src/domain/account.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import { totpAt } from '../../src/domain/hotp.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { DAY, HOUR, MINUTE } from '../../src/domain/time.ts';
import { base32Decode } from '../../src/domain/totp.ts';
import { providerVerdict } from '../../src/flows/realName.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { deliveries, startTraced, tracingHost, type TracingHost } from './trace.ts';

const PHONE = '+8613800138000';
const wrongFor = (right: string): string => (right === '000000' ? '111111' : '000000');

const signUp = (host: TracingHost, phone = PHONE, handle = 'alice_01', email?: string): { id: AccountId; session: HostSession } => {
  const created = host.world.directory.createNow({
    phone: phone as Phone,
    handle: handle as Handle,
    passwordHash: 'x',
    at: host.world.clock.now(),
    ...(email === undefined ? {} : { email: email as Email }),
  });
  if (!created.ok) throw new Error(created.conflict);
  const session = host.world.sessions.signIn(created.account.id, 0, host.world.clock.now());
  return { id: created.account.id, session: { actor: created.account.id, sessionId: session.id } };
};

describe('registration traces', () => {
  it('should register after a wrong code, a refused resend, a taken handle and a weak password', async () => {
    const host = tracingHost();
    signUp(host, '+8613700137000', 'Taken_Name');
    const flow = await startTraced(host, 'registration');
    await flow.send('foreign number', { type: 'phone.submit', phone: '+1 202 555 0123' });
    await flow.send('phone', { type: 'phone.submit', phone: '+86 138 0013 8000' });
    const code = host.world.messenger.lastCodeTo(PHONE) ?? '';
    await flow.send('wrong', { type: 'code.submit', code: wrongFor(code) });
    await flow.send('resend too soon', { type: 'code.resend' });
    await flow.send('code', { type: 'code.submit', code });
    await flow.send('bad handle', { type: 'handle.submit', handle: '2alice' });
    await flow.send('taken handle', { type: 'handle.submit', handle: 'taken_name' });
    await flow.send('handle', { type: 'handle.submit', handle: 'wang_xiaoming' });
    await flow.send('weak password', { type: 'password.submit', password: 'password' });
    await flow.send('password', { type: 'password.submit', password: 'tea on the west lake at dawn' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should tell a registered number only after its code, lock, expire, cancel and time out', async () => {
    const unreachable = '+8613600136000';
    const host = tracingHost({
      messenger: new MemoryMessenger((message) => (message.to === unreachable ? { ok: false, reason: 'unreachable', retryable: false } : undefined)),
    });
    signUp(host);
    const existing = await startTraced(host, 'registration');
    await existing.send('registered number', { type: 'phone.submit', phone: PHONE });
    await existing.send('code', { type: 'code.submit', code: host.world.messenger.lastCodeTo(PHONE) ?? '' });
    const locked = await startTraced(host, 'registration');
    await locked.send('phone', { type: 'phone.submit', phone: '+8613900139000' });
    for (let i = 0; i < 6; i++) await locked.send(`wrong ${i}`, { type: 'code.submit', code: wrongFor(host.world.messenger.lastCodeTo('+8613900139000') ?? '') });
    const expired = await startTraced(host, 'registration');
    await expired.send('phone', { type: 'phone.submit', phone: '+8613500135000' });
    await expired.tickAt('code expired', host.world.clock.now() + 10 * MINUTE);
    await expired.send('resend', { type: 'code.resend' });
    await expired.send('cancel', { type: 'flow.cancel' });
    const failed = await startTraced(host, 'registration');
    await failed.send('unreachable', { type: 'phone.submit', phone: unreachable });
    await failed.send('resend at once', { type: 'code.resend' });
    await failed.tickAt('flow deadline', host.world.clock.now() + DAY);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});

describe('real-name traces', () => {
  it('should verify after a rejection and a provider outage, and expire on silence', async () => {
    const host = tracingHost();
    const user = signUp(host);
    const flow = await startTraced(host, 'realName', {}, user.session);
    await flow.send('identity number', { type: 'realName.submit', reference: '11010519491231002X' });
    await flow.send('submit', { type: 'realName.submit', reference: 'kyc_ref_7f3a9c2e' });
    host.answer('stale verdict', await providerVerdict(host.runtime, flow.flowId, { type: 'provider.verified', attempt: 2 }));
    host.answer('rejected', await providerVerdict(host.runtime, flow.flowId, { type: 'provider.rejected', attempt: 1, reason: 'document_unreadable' }));
    await flow.send('again', { type: 'realName.submit', reference: 'kyc_ref_second_1' });
    host.answer('verified', await providerVerdict(host.runtime, flow.flowId, { type: 'provider.verified', attempt: 2 }, 'delivery-1'));
    host.answer('retried webhook', await providerVerdict(host.runtime, flow.flowId, { type: 'provider.verified', attempt: 2 }, 'delivery-1'));
    const other = signUp(host, '+8613900139000', 'bob_0001');
    const silent = await startTraced(host, 'realName', {}, other.session);
    await silent.send('submit', { type: 'realName.submit', reference: 'kyc_ref_bob_0001' });
    await silent.tickAt('provider silent', host.world.clock.now() + DAY);
    await silent.send('submit again', { type: 'realName.submit', reference: 'kyc_ref_bob_0002' });
    await silent.send('cancel', { type: 'flow.cancel' });
    const third = signUp(host, '+8613500135000', 'carol_01');
    const lapsed = await startTraced(host, 'realName', {}, third.session);
    await lapsed.tickAt('lifetime', host.world.clock.now() + host.world.policy.flowMaxLifetimeMs);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
    expect(host.world.directory.all().map((a) => a.realName)).toMatchSnapshot();
  });
});

describe('TOTP enrollment traces', () => {
  it('should enroll after a wrong code, show backup codes once and tell every channel', async () => {
    const host = tracingHost();
    const user = signUp(host, PHONE, 'alice_01', 'alice@example.com');
    const flow = await startTraced(host, 'totpEnrollment', {}, user.session);
    const first = host.trace().at(-1) as { view: Record<string, unknown> };
    const secret = base32Decode(String(first.view['secret']));
    if (O.isNone(secret)) throw new Error('no secret shown');
    host.world.clock.advanceBy(5_000);
    const now = host.world.clock.now();
    const right = totpAt(secret.value, now);
    await flow.send('malformed', { type: 'totp.confirm', code: '12ab56' });
    await flow.send('wrong', { type: 'totp.confirm', code: wrongFor(right) === totpAt(secret.value, now + 30_000) ? '222222' : wrongFor(right) });
    await flow.send('confirm', { type: 'totp.confirm', code: right });
    await flow.send('acknowledged', { type: 'backupCodes.acknowledged' });
    const again = await startTraced(host, 'totpEnrollment', {}, user.session).catch((e: Error) => e.message);
    expect(typeof again).toBe('string');
    const other = signUp(host, '+8613900139000', 'bob_0001');
    const lapsed = await startTraced(host, 'totpEnrollment', {}, other.session);
    await lapsed.tickAt('secret not confirmed', host.world.clock.now() + 10 * MINUTE);
    const third = signUp(host, '+8613500135000', 'carol_01');
    const cancelled = await startTraced(host, 'totpEnrollment', {}, third.session);
    await cancelled.send('cancel', { type: 'flow.cancel' });
    const fourth = signUp(host, '+8613400134000', 'dave_001');
    const hidden = await startTraced(host, 'totpEnrollment', {}, fourth.session);
    const shown = host.trace().at(-1) as { view: Record<string, unknown> };
    const secret4 = base32Decode(String(shown.view['secret']));
    if (O.isNone(secret4)) throw new Error('no secret shown');
    await hidden.send('confirm', { type: 'totp.confirm', code: totpAt(secret4.value, host.world.clock.now()) });
    await hidden.tickAt('codes hidden', host.world.clock.now() + HOUR);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});
