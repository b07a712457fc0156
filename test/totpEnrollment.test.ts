import * as O from 'fp-ts/lib/Option.js';
import { initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createTotpEnrollmentMachine, enrollmentBackupCodes, enrollmentSecret, totpSecretRef } from '../machines/totpEnrollment.ts';
import type { AccountId } from '../src/domain/account.ts';
import type { Email } from '../src/domain/email.ts';
import type { Handle } from '../src/domain/handle.ts';
import { totpAt } from '../src/domain/hotp.ts';
import type { Phone } from '../src/domain/phone.ts';
import { MINUTE } from '../src/domain/time.ts';
import { base32Decode, base32Encode, hashBackupCode } from '../src/domain/totp.ts';
import type { HostSession } from '../src/runtime/runtime.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const STEP = 30_000;

interface User {
  readonly id: AccountId;
  readonly sessionId: string;
  readonly session: HostSession;
}

const signUp = (host: TestHost, options: { phone?: string; handle?: string; email?: string } = {}): User => {
  const { phone = '+8613800138000', handle = 'alice_01', email } = options;
  const created = host.world.directory.createNow({
    phone: phone as Phone,
    handle: handle as Handle,
    passwordHash: 'x',
    at: host.world.clock.now(),
    ...(email === undefined ? {} : { email: email as Email }),
  });
  if (!created.ok) throw new Error(`could not seed ${phone}: ${created.conflict}`);
  return signIn(host, created.account.id);
};

const signIn = (host: TestHost, id: AccountId, epoch = 0): User => {
  const session = host.world.sessions.signIn(id, epoch, host.world.clock.now());
  return { id, sessionId: session.id, session: { actor: id, sessionId: session.id } };
};

const start = async (host: TestHost, user: User) => ok(await host.runtime.start('totpEnrollment', {}, user.session));

const confirm = (host: TestHost, flowId: string, user: User, code: string, requestId?: string) =>
  host.runtime.send(flowId, { type: 'totp.confirm', code }, user.session, requestId);

const acknowledge = (host: TestHost, flowId: string, user: User) => host.runtime.send(flowId, { type: 'backupCodes.acknowledged' }, user.session);

/** The authenticator app: it knows only what the QR code told it. */
const appSecret = (view: Record<string, unknown>): Uint8Array => {
  const decoded = base32Decode(String(view['secret']));
  if (O.isNone(decoded)) throw new Error('the view shows no valid base32 secret');
  return decoded.value;
};

const appCode = (secret: Uint8Array, at: number, digits = 6): string => totpAt(secret, at, { digits });

/** A well-formed code that matches no step the factor would accept around `at`. */
const wrongCode = (secret: Uint8Array, at: number): string => {
  const near = new Set([-2, -1, 0, 1, 2].map((k) => appCode(secret, at + k * STEP)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!near.has(candidate)) return candidate;
  }
};

const stored = async (host: TestHost, flowId: string): Promise<string> => JSON.stringify(await host.world.store.load(flowId));

const storedSecretRef = async (host: TestHost, flowId: string): Promise<string> =>
  ((await host.world.store.load(flowId)) as { snapshot: { context: { secretRef: string } } }).snapshot.context.secretRef;

const auditKinds = (host: TestHost): string[] => host.world.audit.entries.map((e) => e.kind);

/** Enrolls `user` end to end and returns what the app and the user kept. */
const enroll = async (host: TestHost, user: User) => {
  const started = await start(host, user);
  const secret = appSecret(started.view);
  host.world.clock.advanceBy(5_000);
  const at = host.world.clock.now();
  const code = appCode(secret, at);
  const shown = ok(await confirm(host, started.flowId, user, code));
  const backupCodes = shown.view['backupCodes'] as string[];
  ok(await acknowledge(host, started.flowId, user));
  return { flowId: started.flowId, secret, code, at, backupCodes };
};

describe('TOTP enrollment', () => {
  it('should show the secret, enroll with the first code from the app, show the backup codes once and turn the factor on', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    const secretBase32 = String(started.view['secret']);
    expect(started.view).toMatchObject({ state: 'showingSecret', done: false, triesLeft: 5, notice: null, result: null, digits: 6, periodSeconds: 30 });
    expect(secretBase32).toMatch(/^[A-Z2-7]{32}$/);
    expect(started.view['otpauthUri']).toBe(`otpauth://totp/account-flows:alice_01?secret=${secretBase32}&issuer=account-flows&algorithm=SHA1&digits=6&period=30`);
    expect(started.view).not.toHaveProperty('backupCodes');
    expect(started.nextDeadline).toBe(host.world.clock.now() + 10 * MINUTE);
    // The app's secret is the one the host derives again from the stored reference.
    const secretRef = await storedSecretRef(host, started.flowId);
    expect(appSecret(started.view)).toEqual(host.world.secondFactors.secretFor(secretRef));
    expect(ok(await host.runtime.read(started.flowId)).view['secret']).toBe(secretBase32);

    host.world.clock.advanceBy(20_000);
    const shown = ok(await confirm(host, started.flowId, user, appCode(appSecret(started.view), host.world.clock.now())));
    const backupCodes = shown.view['backupCodes'] as string[];
    expect(shown.view).toMatchObject({ state: 'showingBackupCodes', done: false, notice: null, triesLeft: null });
    expect(shown.view).not.toHaveProperty('secret');
    expect(shown.view).not.toHaveProperty('otpauthUri');
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    for (const code of backupCodes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    expect(shown.pendingEffects).toBe(0);
    expect(await host.world.secondFactors.status(user.id)).toEqual({ totp: true, backupCodesLeft: 10 });
    expect(auditKinds(host)).toContain('totp.enrolled');

    const done = ok(await acknowledge(host, started.flowId, user));
    expect(done.view).toMatchObject({ state: 'enrolled', done: true, result: 'enrolled', expiresAt: null });
    expect(done.nextDeadline).toBeNull();
    // Shown once: from here on no view carries a code or the secret, however it is asked for.
    const later = JSON.stringify([done.view, ok(await host.runtime.read(started.flowId)).view]);
    for (const code of backupCodes) expect(later).not.toContain(code);
    expect(later).not.toContain(secretBase32);
    expect(fail(await acknowledge(host, started.flowId, user))).toMatchObject({ code: 'flow_finished' });
  });

  it('should tell every bound channel that two-step verification was turned on', async () => {
    const host = testHost();
    const user = signUp(host, { email: 'alice@example.com' });
    await enroll(host, user);
    const told = host.world.messenger.sent.map((s) => [s.message.channel, s.message.to, s.idempotencyKey.split(':').at(-1)]);
    expect(told).toEqual([
      ['sms', '+8613800138000', 'sms'],
      ['email', 'alice@example.com', 'email'],
    ]);
    for (const { message } of host.world.messenger.sent) expect(message.text).toContain('Two-step verification');
    expect(host.world.messenger.lastTo('alice@example.com')).toMatchObject({ subject: 'Two-step verification is on' });
  });

  it('should tell the channels in Simplified Chinese when the host speaks it', async () => {
    const host = testHost({ locale: 'zh-CN' });
    const user = signUp(host);
    await enroll(host, user);
    expect(host.world.messenger.lastTo('+8613800138000')?.text).toContain('两步验证');
  });

  it('should keep a wrong code on the secret with a notice and one try fewer', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    const secret = appSecret(started.view);
    const wrong = ok(await confirm(host, started.flowId, user, wrongCode(secret, host.world.clock.now())));
    expect(wrong.view).toMatchObject({ state: 'showingSecret', triesLeft: 4, notice: { code: 'code_invalid' }, secret: started.view['secret'] });
    expect(await host.world.secondFactors.status(user.id)).toEqual({ totp: false, backupCodesLeft: 0 });
    const right = ok(await confirm(host, started.flowId, user, appCode(secret, host.world.clock.now())));
    expect(right.view).toMatchObject({ state: 'showingBackupCodes', notice: null });
  });

  it.each([1, 5])('should fail after %i wrong codes, and refuse the right one afterwards', async (max) => {
    const host = testHost({ policy: { code: { maxWrongPerCode: max } } });
    const user = signUp(host);
    const started = await start(host, user);
    const secret = appSecret(started.view);
    for (let i = 1; i < max; i++) {
      expect(ok(await confirm(host, started.flowId, user, wrongCode(secret, host.world.clock.now()))).view).toMatchObject({ state: 'showingSecret', triesLeft: max - i });
    }
    const last = ok(await confirm(host, started.flowId, user, wrongCode(secret, host.world.clock.now())));
    expect(last.view).toMatchObject({ state: 'failed', done: true, result: 'failed', notice: { code: 'code_attempts_exhausted' }, triesLeft: null });
    expect(last.view).not.toHaveProperty('secret');
    expect(fail(await confirm(host, started.flowId, user, appCode(secret, host.world.clock.now())))).toMatchObject({ code: 'flow_finished' });
    expect(await host.world.secondFactors.status(user.id)).toEqual({ totp: false, backupCodesLeft: 0 });
    expect(auditKinds(host)).toContain('totp.enrollmentFailed');
  });

  it('should accept the code of the next step (clock drift), and refuse one two steps away', async () => {
    const host = testHost();
    const user = signUp(host);
    const drifting = await start(host, user);
    const now = host.world.clock.now();
    expect(ok(await confirm(host, drifting.flowId, user, appCode(appSecret(drifting.view), now + STEP))).view.state).toBe('showingBackupCodes');

    const other = testHost();
    const bob = signUp(other);
    const tooFar = await start(other, bob);
    const refused = ok(await confirm(other, tooFar.flowId, bob, appCode(appSecret(tooFar.view), other.world.clock.now() + 2 * STEP)));
    expect(refused.view).toMatchObject({ state: 'showingSecret', notice: { code: 'code_invalid' }, triesLeft: 4 });
  });

  it('should accept the code as the app groups it ("123 456")', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    const code = appCode(appSecret(started.view), host.world.clock.now());
    expect(ok(await confirm(host, started.flowId, user, ` ${code.slice(0, 3)} ${code.slice(3)} `)).view.state).toBe('showingBackupCodes');
  });

  it('should refuse a malformed code without spending a try', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    for (const code of ['', 'abcdef', '12345', '1234567', '12345a', '１２３４５６', '1'.repeat(10_000)]) {
      expect(fail(await confirm(host, started.flowId, user, code))).toMatchObject({ code: 'invalid_input', field: 'code', visibility: 'public' });
    }
    expect(fail(await host.runtime.send(started.flowId, { type: 'totp.confirm', code: 123456 }, user.session))).toMatchObject({ code: 'invalid_input', field: 'code' });
    expect(ok(await host.runtime.read(started.flowId))).toMatchObject({ version: started.version, view: { triesLeft: 5 } });
  });

  it('should refuse the confirming code when replayed, and accept a fresh code and each backup code exactly once', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId, secret, code, at, backupCodes } = await enroll(host, user);
    // Confirming twice is not possible, and the same step at the factor is a replay.
    expect(fail(await confirm(host, flowId, user, code))).toMatchObject({ code: 'flow_finished' });
    expect(await host.world.secondFactors.verify(user.id, code, at, 'replay-1')).toBe('replayed');
    expect(await host.world.secondFactors.verify(user.id, code, at + STEP - 1, 'replay-2')).toBe('replayed');

    host.world.clock.advanceBy(STEP);
    const fresh = appCode(secret, host.world.clock.now());
    expect(await host.world.secondFactors.verify(user.id, fresh, host.world.clock.now(), 'fresh-1')).toBe('ok');
    expect(await host.world.secondFactors.verify(user.id, fresh, host.world.clock.now(), 'fresh-2')).toBe('replayed');

    for (const [i, backup] of backupCodes.entries()) {
      expect(await host.world.secondFactors.verify(user.id, backup.toUpperCase(), host.world.clock.now(), `backup-${i}`)).toBe('ok');
      expect(await host.world.secondFactors.verify(user.id, backup, host.world.clock.now(), `backup-again-${i}`)).toBe('wrong');
      expect((await host.world.secondFactors.status(user.id)).backupCodesLeft).toBe(backupCodes.length - i - 1);
    }
  });

  it('should keep the secret and the backup codes out of everything it stores, replies it remembers included', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    const secretBase32 = String(started.view['secret']);
    const secretHex = Buffer.from(appSecret(started.view)).toString('hex');
    const snapshots = [await stored(host, started.flowId)];
    ok(await confirm(host, started.flowId, user, wrongCode(appSecret(started.view), host.world.clock.now()), 'req-wrong'));
    snapshots.push(await stored(host, started.flowId));
    const shown = ok(await confirm(host, started.flowId, user, appCode(appSecret(started.view), host.world.clock.now()), 'req-confirm'));
    snapshots.push(await stored(host, started.flowId));
    ok(await acknowledge(host, started.flowId, user));
    snapshots.push(await stored(host, started.flowId));

    const backupCodes = shown.view['backupCodes'] as string[];
    expect(backupCodes).toHaveLength(10);
    for (const json of snapshots) {
      expect(json).not.toContain(secretBase32);
      expect(json.toLowerCase()).not.toContain(secretHex);
      expect(json).not.toContain('otpauth://');
      for (const code of backupCodes) expect(json).not.toContain(code);
    }
    // A retried request gets its answer again, without the secret in it.
    const again = ok(await confirm(host, started.flowId, user, '000000', 'req-confirm'));
    expect(again).toMatchObject({ replayed: true, view: { state: 'showingBackupCodes' } });
    expect(again.view).not.toHaveProperty('backupCodes');
  });

  it('should emit only the factor, hashes and a notice at confirmation: no secret in any effect', () => {
    const host = testHost();
    const { policy, codeSecrets: secrets } = host.world;
    const machine = createTotpEnrollmentMachine({ policy, secrets });
    const at = host.world.clock.now();
    const [snapshot] = initialTransition(machine, { flowId: 'f1', accountId: 'acct-1', accountLabel: 'alice_01', sessionRef: 's', nonce: 'n1', at });
    expect(snapshot.context.secretRef).toBe(totpSecretRef('acct-1', 'f1', 'n1'));
    const secret = enrollmentSecret(secrets, snapshot.context.secretRef);
    const [next, actions] = transition(machine, snapshot, { type: 'totp.confirm', at, code: appCode(secret, at) });
    expect(next.value).toBe('showingBackupCodes');
    const codes = enrollmentBackupCodes(secrets, snapshot.context.secretRef, policy.totp.backupCodes);
    const effects = actions.map((a) => ({ type: a.type, params: a.params }));
    expect(effects).toEqual([
      {
        type: 'enrollSecondFactor',
        params: {
          accountId: 'acct-1',
          factor: { secretRef: snapshot.context.secretRef, enrolledAt: at, algorithm: 'SHA1', digits: 6, periodSeconds: 30, lastUsedStep: Math.floor(at / STEP) },
          backupCodeHashes: codes.map(hashBackupCode),
        },
      },
      { type: 'notifyChannels', params: { accountId: 'acct-1', template: 'secondFactor.enabled' } },
      { type: 'audit', params: { kind: 'totp.enrolled', accountId: 'acct-1', detail: { wrongTries: 0 } } },
    ]);
    const json = JSON.stringify([next.context, effects]);
    expect(json).not.toContain(base32Encode(secret));
    for (const code of codes) expect(json).not.toContain(code);
    // Two enrollments of one account never share a secret.
    expect(enrollmentSecret(secrets, totpSecretRef('acct-1', 'f2', 'n1'))).not.toEqual(secret);
  });

  it('should time out when the secret is not confirmed within the enrollment lifetime', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    const deadline = started.nextDeadline as number;
    host.world.clock.advanceTo(deadline - 1);
    expect(ok(await host.runtime.tick(started.flowId))).toMatchObject({ version: started.version, view: { state: 'showingSecret' } });
    host.world.clock.advanceTo(deadline);
    const timedOut = ok(await host.runtime.tick(started.flowId));
    expect(timedOut.view).toMatchObject({ state: 'timedOut', done: true, result: 'timed_out' });
    expect(timedOut.view).not.toHaveProperty('secret');
    expect(fail(await confirm(host, started.flowId, user, appCode(appSecret(started.view), deadline)))).toMatchObject({ code: 'flow_finished' });
  });

  it('should follow the policy for the lifetime, the issuer and the digits', async () => {
    const host = testHost({ policy: { totp: { enrollmentTtlMs: 3 * MINUTE, issuer: 'Acme Chat', digits: 8 } } });
    const user = signUp(host);
    const started = await start(host, user);
    expect(started.nextDeadline).toBe(host.world.clock.now() + 3 * MINUTE);
    expect(String(started.view['otpauthUri'])).toMatch(/^otpauth:\/\/totp\/Acme%20Chat:alice_01\?secret=[A-Z2-7]{32}&issuer=Acme%20Chat&algorithm=SHA1&digits=8&period=30$/);
    expect(fail(await confirm(host, started.flowId, user, '123456'))).toMatchObject({ code: 'invalid_input', field: 'code' });
    const code = appCode(appSecret(started.view), host.world.clock.now(), 8);
    expect(ok(await confirm(host, started.flowId, user, code)).view.state).toBe('showingBackupCodes');
    expect(() => testHost({ policy: { totp: { issuer: 'Acme:Chat' } } })).toThrow(/totp\.issuer/);
  });

  it('should end enrolled with the codes hidden when their display times out, and not let the user cancel once the factor is on', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    host.world.clock.advanceBy(9 * MINUTE);
    const shown = ok(await confirm(host, started.flowId, user, appCode(appSecret(started.view), host.world.clock.now())));
    // The codes get a display lifetime of their own, not what was left of the secret's.
    expect(shown.nextDeadline).toBe(host.world.clock.now() + 10 * MINUTE);
    expect(fail(await host.runtime.send(started.flowId, { type: 'flow.cancel' }, user.session))).toMatchObject({ code: 'event_not_accepted' });
    host.world.clock.advanceTo(shown.nextDeadline as number);
    const closed = ok(await host.runtime.tick(started.flowId));
    expect(closed.view).toMatchObject({ state: 'enrolled', done: true, result: 'enrolled' });
    expect(closed.view).not.toHaveProperty('backupCodes');
    expect(await host.world.secondFactors.status(user.id)).toEqual({ totp: true, backupCodesLeft: 10 });
  });

  it('should cancel before confirmation and leave the account without a factor', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    const cancelled = ok(await host.runtime.send(started.flowId, { type: 'flow.cancel' }, user.session));
    expect(cancelled.view).toMatchObject({ state: 'cancelled', done: true, result: 'cancelled' });
    expect(cancelled.view).not.toHaveProperty('secret');
    expect(await host.world.secondFactors.status(user.id)).toEqual({ totp: false, backupCodesLeft: 0 });
    expect(auditKinds(host)).toContain('totp.enrollmentCancelled');
    expect(host.world.messenger.sent).toHaveLength(0);
  });

  it('should refuse to start without a live session', async () => {
    const host = testHost();
    const user = signUp(host);
    expect(fail(await host.runtime.start('totpEnrollment', {}))).toMatchObject({ code: 'session_required', visibility: 'internal' });
    expect(fail(await host.runtime.start('totpEnrollment', { accountId: user.id }))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.start('totpEnrollment', {}, { actor: user.id, sessionId: null }))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.start('totpEnrollment', {}, { actor: user.id, sessionId: 'sess-404' }))).toMatchObject({ code: 'session_required' });
    await host.world.sessions.revoke(user.sessionId, host.world.clock.now());
    expect(fail(await host.runtime.start('totpEnrollment', {}, user.session))).toMatchObject({ code: 'session_required' });
  });

  it.each([
    ['signed out', async (host: TestHost, user: User) => host.world.sessions.revoke(user.sessionId, host.world.clock.now())],
    ['every session ended by a recovery (epoch moved on)', async (host: TestHost, user: User) => host.world.directory.bumpEpoch(user.id)],
    ['the account deactivated', async (host: TestHost, user: User) => host.world.directory.deactivate(user.id)],
  ])('should refuse every event with session_required once %s mid-flow', async (_, end) => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    await end(host, user);
    const code = appCode(appSecret(started.view), host.world.clock.now());
    expect(fail(await confirm(host, started.flowId, user, code))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'flow.cancel' }, user.session))).toMatchObject({ code: 'session_required' });
    expect(ok(await host.runtime.read(started.flowId)).version).toBe(started.version);
    expect(await host.world.secondFactors.status(user.id)).toEqual({ totp: false, backupCodesLeft: 0 });
  });

  it('should refuse another session, even of the same account, and another account', async () => {
    const host = testHost();
    const user = signUp(host);
    const mallory = signUp(host, { phone: '+8613900139000', handle: 'mallory_1' });
    const started = await start(host, user);
    const code = appCode(appSecret(started.view), host.world.clock.now());
    const otherDevice = signIn(host, user.id);
    expect(fail(await confirm(host, started.flowId, otherDevice, code))).toMatchObject({ code: 'session_required' });
    expect(fail(await confirm(host, started.flowId, mallory, code))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'backupCodes.acknowledged' }, mallory.session))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'flow.cancel' }))).toMatchObject({ code: 'session_required' });
    expect(ok(await host.runtime.read(started.flowId)).version).toBe(started.version);
    expect(ok(await confirm(host, started.flowId, user, code)).view.state).toBe('showingBackupCodes');
  });

  it('should refuse to start for an account that already has TOTP, and refuse a second enrollment racing the first', async () => {
    const host = testHost();
    const user = signUp(host);
    const first = await start(host, user);
    const second = await start(host, user);
    expect(second.view['secret']).not.toBe(first.view['secret']);
    ok(await confirm(host, first.flowId, user, appCode(appSecret(first.view), host.world.clock.now())));
    expect(fail(await host.runtime.start('totpEnrollment', {}, user.session))).toMatchObject({ code: 'already_enrolled', visibility: 'public' });
    expect(fail(await confirm(host, second.flowId, user, appCode(appSecret(second.view), host.world.clock.now())))).toMatchObject({ code: 'already_enrolled' });
    // The first factor stands: the second secret opens nothing.
    host.world.clock.advanceBy(STEP);
    expect(await host.world.secondFactors.verify(user.id, appCode(appSecret(second.view), host.world.clock.now()), host.world.clock.now(), 'k1')).toBe('wrong');
    expect(await host.world.secondFactors.verify(user.id, appCode(appSecret(first.view), host.world.clock.now()), host.world.clock.now(), 'k2')).toBe('ok');
  });
});
