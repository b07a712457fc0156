import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { AccountId } from '../src/domain/account.ts';
import { totpAt } from '../src/domain/hotp.ts';
import { startTotpEnrollment, confirmTotpEnrollment } from '../src/domain/totp.ts';
import * as O from 'fp-ts/lib/Option.js';
import { OLD_PASSWORD, seedAccount } from './support/accounts.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';
const NEW_PASSWORD = 'a brand new long passphrase';

const begin = async (host: TestHost, channel = PHONE) => {
  const started = ok(await host.runtime.start('smsRecovery', {}));
  const reply = ok(await host.runtime.send(started.flowId, { type: 'channel.submit', channel }));
  return { flowId: started.flowId, reply };
};

const codeFor = (host: TestHost, phone = PHONE): string => host.world.messenger.lastCodeTo(phone) ?? '000000';

/** Enrolls a TOTP factor directly in the port, returning a function that plays the authenticator app. */
const enrollTotp = async (host: TestHost, accountId: AccountId) => {
  const secretRef = `test/${accountId}`;
  const secret = host.world.secondFactors.secretFor(secretRef);
  const now = host.world.clock.now();
  const factor = confirmTotpEnrollment(startTotpEnrollment(secretRef, now - 120_000, host.world.policy.totp), secret, totpAt(secret, now - 120_000), now - 120_000, 1);
  if (O.isNone(factor)) throw new Error('could not enroll');
  await host.world.secondFactors.enroll(accountId, { factor: factor.value, backupCodeHashes: [] }, 'seed');
  return () => totpAt(secret, host.world.clock.now());
};

describe('SMS recovery', () => {
  it('should recover end to end and harden the account', async () => {
    const host = testHost();
    const account = await seedAccount(host.world, { email: 'wang@example.com' });
    const phoneSession = host.world.sessions.signIn(account.id, 0, host.world.clock.now(), 'iPhone', 'Shanghai');
    host.world.sessions.signIn(account.id, 0, host.world.clock.now(), 'Windows PC', 'Hangzhou');
    const { flowId, reply } = await begin(host);
    expect(reply.view).toMatchObject({ state: 'awaitingCode', message: 'If this is bound to an account, a code is on its way.', channel: '+86 138****8000' });
    expect(host.world.messenger.lastTo(PHONE)?.text).toContain('Nobody from the service will ever ask you for this code');

    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) })).view.state).toBe('hardening.choosingPassword');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: OLD_PASSWORD })).code).toBe('password_reused');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: 'password1' })).code).toBe('password_blocklisted');
    const sent = host.world.messenger.sent.length;
    const review = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(review.view).toMatchObject({ state: 'hardening.reviewingSecurity', revokedSessions: 2, offers: ['enableTotp'] });
    expect(review.view['recentLogins']).toHaveLength(2);

    const after = await host.world.directory.get(account.id);
    expect(after?.securityEpoch).toBe(1);
    expect(await host.world.hasher.verify(NEW_PASSWORD, after?.passwordHash ?? '')).toBe(true);
    expect(after?.sensitiveHoldUntil).toBe(host.world.clock.now() + host.world.policy.recovery.sensitiveHoldMs);
    expect(host.world.sessions.isLive(phoneSession.id, 1)).toBe(false);
    const told = host.world.messenger.sent.slice(sent).map((m) => m.message.to);
    expect(told.sort()).toEqual([PHONE, 'wang@example.com'].sort());
    expect(host.world.messenger.lastTo('wang@example.com')?.text).toContain('dispute');

    ok(await host.runtime.send(flowId, { type: 'session.revoke', sessionId: phoneSession.id }));
    expect(ok(await host.runtime.send(flowId, { type: 'security.done' })).view).toMatchObject({ state: 'recovered', done: true, result: 'recovered' });
    const stored = host.world.store.raw(flowId) ?? '';
    expect(stored).not.toContain(NEW_PASSWORD);
    expect(JSON.parse(stored).snapshot.context.passwordHash).toBeNull();
  });

  it('should offer a second channel when only a phone is bound', async () => {
    const host = testHost();
    await seedAccount(host.world);
    const { flowId } = await begin(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) }));
    const review = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(review.view['offers']).toEqual(['bindEmail', 'enableTotp']);
  });

  it('should answer an unknown number exactly as a bound one, send it nothing, and spend the same budgets', async () => {
    const known = testHost();
    await seedAccount(known.world);
    const unknown = testHost();
    const a = await begin(known);
    const b = await begin(unknown);
    expect(b.reply.view).toEqual(a.reply.view);
    expect(unknown.world.messenger.sent).toHaveLength(0);
    expect(unknown.world.budgets.spent(`sends:phone:${PHONE}`)).toEqual(known.world.budgets.spent(`sends:phone:${PHONE}`));
    for (const event of [{ type: 'code.submit', code: '000000' }, { type: 'code.resend' }, { type: 'code.submit', code: '123456' }]) {
      known.world.clock.advanceBy(61_000);
      unknown.world.clock.advanceBy(61_000);
      const x = ok(await known.runtime.send(a.flowId, event));
      const y = ok(await unknown.runtime.send(b.flowId, event));
      // Flow ids are random; everything a caller can observe besides them must match.
      expect({ ...y, flowId: '' }).toEqual({ ...x, flowId: '' });
    }
  });

  it('should give malformed input the same answer and never a second recipient', async () => {
    for (const channel of ['+8613800138000,+8613900139000', 'a@x.com,b@y.com', '\\@', '']) {
      const host = testHost();
      await seedAccount(host.world);
      const { reply } = await begin(host, channel);
      expect(reply.view).toMatchObject({ state: 'awaitingCode', message: 'If this is bound to an account, a code is on its way.', notice: null });
      expect(host.world.messenger.sent).toHaveLength(0);
    }
  });

  it('should never verify a code for an unknown number, even the one it would have been', async () => {
    const host = testHost();
    const { flowId } = await begin(host);
    const envelope = JSON.parse(host.world.store.raw(flowId) ?? '{}');
    const code = host.world.codeSecrets.code(envelope.snapshot.context.code.binding, envelope.snapshot.context.code.counter, 6);
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code })).view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_invalid' } });
  });

  it('should refuse the first code after a resend, and the 6th try even when right', async () => {
    const host = testHost();
    await seedAccount(host.world);
    const { flowId } = await begin(host);
    const first = codeFor(host);
    host.world.clock.advanceBy(60_000);
    ok(await host.runtime.send(flowId, { type: 'code.resend' }));
    const second = codeFor(host);
    if (first !== second) expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: first })).view.notice).toEqual({ code: 'code_invalid' });
    const wrong = second === '000000' ? '111111' : '000000';
    while ((ok(await host.runtime.read(flowId)).view['triesLeft'] as number) > 0 && ok(await host.runtime.read(flowId)).view.state === 'awaitingCode') {
      const r = ok(await host.runtime.send(flowId, { type: 'code.submit', code: wrong }));
      if (r.view['triesLeft'] === 0) break;
    }
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: second })).view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_attempts_exhausted' } });
  });

  it('should refuse a code for an account deactivated meanwhile, sending the person to support', async () => {
    const host = testHost();
    const account = await seedAccount(host.world);
    const { flowId } = await begin(host);
    host.world.directory.deactivate(account.id);
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) })).view).toMatchObject({ state: 'accountUnavailable', result: 'account_unavailable' });
  });

  it('should ask for the enrolled second factor before any new password, and lock after too many wrong ones', async () => {
    const host = testHost();
    const account = await seedAccount(host.world);
    const authenticator = await enrollTotp(host, account.id);
    const { flowId } = await begin(host);
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) })).view.state).toBe('secondFactor');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD })).code).toBe('event_not_accepted');
    expect(ok(await host.runtime.send(flowId, { type: 'secondFactor.submit', code: '000000' })).view.notice).toEqual({ code: 'code_invalid' });
    host.world.clock.advanceBy(30_000);
    expect(ok(await host.runtime.send(flowId, { type: 'secondFactor.submit', code: authenticator() })).view.state).toBe('hardening.choosingPassword');

    const other = testHost();
    const acct = await seedAccount(other.world);
    await enrollTotp(other, acct.id);
    const second = await begin(other);
    ok(await other.runtime.send(second.flowId, { type: 'code.submit', code: codeFor(other) }));
    let last;
    for (let i = 0; i < other.world.policy.code.maxWrongPerCode; i++) last = ok(await other.runtime.send(second.flowId, { type: 'secondFactor.submit', code: 'zzzzzz' }));
    expect(last?.view.state).toBe('locked');
  });

  it('should kill every older code and session when a recovery completes', async () => {
    const host = testHost();
    await seedAccount(host.world);
    const a = await begin(host);
    const codeA = codeFor(host);
    host.world.clock.advanceBy(60_000);
    const b = await begin(host);
    const codeB = codeFor(host);
    ok(await host.runtime.send(b.flowId, { type: 'code.submit', code: codeB }));
    ok(await host.runtime.send(b.flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    // Flow A's code was issued under the old security epoch: it is dead now.
    expect(ok(await host.runtime.send(a.flowId, { type: 'code.submit', code: codeA })).view).toMatchObject({ state: 'awaitingCode', notice: { code: 'code_invalid' } });
  });

  it('should refuse to apply a password when the epoch moved on after the code was verified', async () => {
    const host = testHost();
    const account = await seedAccount(host.world);
    const { flowId } = await begin(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) }));
    host.world.directory.bumpEpoch(account.id);
    const r = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(r.view).toMatchObject({ state: 'refused', result: 'refused', done: true });
    expect(await host.world.hasher.verify(OLD_PASSWORD, (await host.world.directory.get(account.id))?.passwordHash ?? '')).toBe(true);
  });

  it('should follow the FAQ paths: resend after the real wait, switch to e-mail, go to support', async () => {
    const host = testHost({ policy: { sends: { cooldownMs: 90_000 } } });
    await seedAccount(host.world);
    const a = await begin(host);
    expect(a.reply.view['help']).toMatchObject({ cooldownSeconds: 90, switchToEmail: true, contactSupport: true });
    host.world.clock.advanceBy(30_000);
    expect(ok(await host.runtime.send(a.flowId, { type: 'code.resend' })).view.notice).toEqual({ code: 'cooldown', retryAfterMs: 60_000 });
    expect(ok(await host.runtime.send(a.flowId, { type: 'switch.toEmail' })).view).toMatchObject({ state: 'switchedToEmail', result: 'switch_to_email' });
    const b = await begin(host);
    expect(ok(await host.runtime.send(b.flowId, { type: 'support.request' })).view).toMatchObject({ state: 'handedToSupport', result: 'support' });
    const c = ok(await host.runtime.start('smsRecovery', {}));
    expect(ok(await host.runtime.send(c.flowId, { type: 'number.deactivated' })).view).toMatchObject({ state: 'handedToSupport' });
  });

  it('should expire the code on the tick and let the user ask again', async () => {
    const host = testHost();
    await seedAccount(host.world);
    const { flowId, reply } = await begin(host);
    host.world.clock.advanceTo(reply.nextDeadline as number);
    expect(ok(await host.runtime.tick(flowId)).view.state).toBe('codeExpired');
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' })).view.state).toBe('awaitingCode');
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) })).view.state).toBe('hardening.choosingPassword');
  });

  it('should let exactly one of two concurrent password submissions apply', async () => {
    const host = testHost();
    const account = await seedAccount(host.world);
    const { flowId } = await begin(host);
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeFor(host) }));
    const results = await Promise.all([
      host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }),
      host.runtime.send(flowId, { type: 'password.submit', password: 'yet another long passphrase' }),
    ]);
    expect(results.filter(E.isRight)).toHaveLength(1);
    expect(host.world.directory.passwordChanges.filter((c) => c.id === account.id)).toHaveLength(1);
  });
});
