import { describe, expect, it } from 'vitest';
import { createMemoryWorld, type MemoryWorld, type MemoryWorldOptions } from '../src/adapters/memory/index.ts';
import { MemoryRealNameProvider } from '../src/adapters/memory/realNameProvider.ts';
import type { AccountId, RealNameStatus } from '../src/domain/account.ts';
import type { Handle } from '../src/domain/handle.ts';
import { canMakePayments } from '../src/domain/paymentsGate.ts';
import type { Phone } from '../src/domain/phone.ts';
import { DAY, HOUR } from '../src/domain/time.ts';
import { providerVerdict, realNameFlow } from '../src/flows/realName.ts';
import { createRuntime, type HostSession } from '../src/runtime/runtime.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const REFERENCE = 'kyc_ref_7f3a9c2e';

interface User {
  readonly id: AccountId;
  readonly session: HostSession;
}

const signUp = (host: TestHost, phone = '+8613800138000', handle = 'alice_01'): User => {
  const created = host.world.directory.createNow({ phone: phone as Phone, handle: handle as Handle, passwordHash: 'x', at: host.world.clock.now() });
  if (!created.ok) throw new Error(`could not seed ${phone}: ${created.conflict}`);
  const session = host.world.sessions.signIn(created.account.id, 0, host.world.clock.now());
  return { id: created.account.id, session: { actor: created.account.id, sessionId: session.id } };
};

const start = async (host: TestHost, user: User) => ok(await host.runtime.start('realName', {}, user.session));

const submit = (host: TestHost, flowId: string, user: User, reference = REFERENCE) =>
  host.runtime.send(flowId, { type: 'realName.submit', reference }, user.session);

const verified = (host: TestHost, flowId: string, attempt: number) => providerVerdict(host.runtime, flowId, { type: 'provider.verified', attempt });

const rejected = (host: TestHost, flowId: string, attempt: number, reason = 'document_unreadable') =>
  providerVerdict(host.runtime, flowId, { type: 'provider.rejected', attempt, reason });

const statusOf = async (host: TestHost, user: User): Promise<RealNameStatus | undefined> => (await host.world.directory.get(user.id))?.realName;

const auditKinds = (host: TestHost): string[] => host.world.audit.entries.map((e) => e.kind);

/** A host whose provider can be switched off, to see what happens when it refuses submissions. */
const hostWithProvider = (available: () => boolean, options: MemoryWorldOptions = {}): TestHost => {
  const world: MemoryWorld = { ...createMemoryWorld(options), realNameProvider: new MemoryRealNameProvider(available) };
  return { world, runtime: createRuntime(world, [realNameFlow(world)]) };
};

describe('real-name verification', () => {
  it('should verify on the first submission and open the payments gate', async () => {
    const host = testHost();
    const user = signUp(host);
    const started = await start(host, user);
    expect(started.view).toMatchObject({ state: 'notStarted', done: false, submissions: 0, attemptsLeft: 3, verdictDueAt: null, notice: null });
    expect(started.nextDeadline).toBe(host.world.clock.now() + 30 * DAY);

    host.world.clock.advanceBy(1_000);
    const sent = ok(await submit(host, started.flowId, user));
    const due = host.world.clock.now() + 24 * HOUR;
    expect(sent.view).toMatchObject({ state: 'submitted', submissions: 1, attemptsLeft: 2, verdictDueAt: due });
    expect(sent.nextDeadline).toBe(due);
    expect(host.world.realNameProvider.submissions).toEqual([{ accountId: user.id, flowId: started.flowId, attempt: 1, reference: REFERENCE }]);
    expect(await statusOf(host, user)).toBe('pending');

    host.world.clock.advanceBy(HOUR);
    const done = ok(await verified(host, started.flowId, 1));
    expect(done.view).toMatchObject({ state: 'verified', done: true, result: 'verified', verdictDueAt: null, attemptsLeft: 0 });
    expect(done.nextDeadline).toBeNull();
    expect(await statusOf(host, user)).toBe('verified');
    expect(host.world.audit.entries).toContainEqual({ at: host.world.clock.now(), flowId: started.flowId, kind: 'realName.verified', accountId: user.id, detail: { attempt: 1 } });
    const account = await host.world.directory.get(user.id);
    expect(account && canMakePayments(account, host.world.clock.now())).toEqual({ allowed: true });
  });

  it('should keep the reference out of the stored context and the outbox once it has run', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    ok(await submit(host, flowId, user));
    const stored = JSON.stringify(await host.world.store.load(flowId));
    expect(stored).not.toContain(REFERENCE);
    expect(Object.keys((await host.world.store.load(flowId) as { snapshot: { context: object } }).snapshot.context).sort()).toEqual(
      ['accountId', 'expiresAt', 'flowId', 'notice', 'startedAt', 'submissions', 'verdictDueAt'],
    );
  });

  it('should refuse a reference shaped like an identity number, and anything that is not a reference', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId, version } = await start(host, user);
    expect(fail(await submit(host, flowId, user, '11010519491231002X'))).toMatchObject({ code: 'invalid_input', field: 'reference' });
    expect(fail(await submit(host, flowId, user, 'ref_110105194912310'))).toMatchObject({ code: 'invalid_input', field: 'reference' });
    expect(fail(await submit(host, flowId, user, 'short'))).toMatchObject({ code: 'invalid_input', field: 'reference' });
    expect(fail(await submit(host, flowId, user, 'has spaces in it'))).toMatchObject({ code: 'invalid_input', field: 'reference' });
    expect(fail(await host.runtime.send(flowId, { type: 'realName.submit', reference: 42 }, user.session))).toMatchObject({ code: 'invalid_input', field: 'reference' });
    expect(ok(await host.runtime.read(flowId)).version).toBe(version);
    expect(host.world.realNameProvider.submissions).toHaveLength(0);
  });

  it('should let the user resubmit after a rejection, refuse the stale verdict, and verify the second submission', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    ok(await submit(host, flowId, user));
    const refused = ok(await rejected(host, flowId, 1, 'data_mismatch'));
    expect(refused.view).toMatchObject({ state: 'rejectedRetryable', done: false, attemptsLeft: 2, verdictDueAt: null, notice: { code: 'real_name_rejected', reason: 'data_mismatch' } });
    expect(await statusOf(host, user)).toBe('rejected');

    const again = ok(await submit(host, flowId, user, 'kyc_ref_second_1'));
    expect(again.view).toMatchObject({ state: 'submitted', submissions: 2, attemptsLeft: 1, notice: null });
    expect(host.world.realNameProvider.submissions.map((s) => [s.attempt, s.reference])).toEqual([
      [1, REFERENCE],
      [2, 'kyc_ref_second_1'],
    ]);
    expect(await statusOf(host, user)).toBe('pending');
    // A verdict for the first submission, delivered late, must not decide the second.
    expect(fail(await verified(host, flowId, 1))).toMatchObject({ code: 'event_not_accepted' });
    expect(ok(await verified(host, flowId, 2)).view).toMatchObject({ state: 'verified', result: 'verified' });
    expect(await statusOf(host, user)).toBe('verified');
  });

  it.each([1, 3])('should end rejected for good once all %i submissions allowed are rejected', async (max) => {
    const host = testHost({ policy: { realName: { maxSubmissions: max } } });
    const user = signUp(host);
    const { flowId } = await start(host, user);
    for (let attempt = 1; attempt < max; attempt++) {
      ok(await submit(host, flowId, user));
      expect(ok(await rejected(host, flowId, attempt)).view).toMatchObject({ state: 'rejectedRetryable', attemptsLeft: max - attempt });
    }
    ok(await submit(host, flowId, user));
    const last = ok(await rejected(host, flowId, max, 'liveness_failed'));
    expect(last.view).toMatchObject({ state: 'rejected', done: true, result: 'rejected', attemptsLeft: 0, notice: { code: 'real_name_rejected', reason: 'liveness_failed' } });
    expect(last.nextDeadline).toBeNull();
    expect(await statusOf(host, user)).toBe('rejected');
    expect(auditKinds(host).filter((k) => k === 'realName.rejected')).toHaveLength(max);
    expect(host.world.realNameProvider.submissions).toHaveLength(max);
    expect(fail(await submit(host, flowId, user))).toMatchObject({ code: 'flow_finished' });
  });

  it('should let the user retry when the provider refuses a submission', async () => {
    let up = false;
    const host = hostWithProvider(() => up);
    const user = signUp(host);
    const { flowId } = await start(host, user);
    const down = ok(await submit(host, flowId, user));
    expect(down.view).toMatchObject({ state: 'unavailable', done: false, submissions: 1, attemptsLeft: 2, verdictDueAt: null, notice: { code: 'provider_unavailable' } });
    expect(down.nextDeadline).toBe(host.world.clock.now() + 30 * DAY);
    expect(down.pendingEffects).toBe(0);
    // The submission never reached the provider, so the account must not stay "pending".
    expect(await statusOf(host, user)).toBe('expired');
    expect(host.world.realNameProvider.submissions).toHaveLength(0);

    up = true;
    host.world.clock.advanceBy(10 * 60_000);
    expect(ok(await submit(host, flowId, user)).view).toMatchObject({ state: 'submitted', submissions: 2 });
    expect(host.world.realNameProvider.submissions.map((s) => s.attempt)).toEqual([2]);
    expect(await statusOf(host, user)).toBe('pending');
    expect(ok(await verified(host, flowId, 2)).view.state).toBe('verified');
  });

  it('should end expired when the provider refuses the last submission left', async () => {
    const host = hostWithProvider(() => false, { policy: { realName: { maxSubmissions: 1 } } });
    const user = signUp(host);
    const { flowId } = await start(host, user);
    expect(ok(await submit(host, flowId, user)).view).toMatchObject({ state: 'expired', done: true, result: 'expired', notice: { code: 'provider_unavailable' } });
    expect(await statusOf(host, user)).toBe('expired');
  });

  it('should expire a submission at its deadline exactly, not a millisecond before', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    const sent = ok(await submit(host, flowId, user));
    const deadline = sent.nextDeadline as number;
    expect(deadline).toBe(sent.view['verdictDueAt']);

    host.world.clock.advanceTo(deadline - 1);
    const early = ok(await host.runtime.tick(flowId));
    expect(early).toMatchObject({ version: sent.version, view: { state: 'submitted' }, nextDeadline: deadline });
    expect(await statusOf(host, user)).toBe('pending');

    host.world.clock.advanceTo(deadline);
    // At the deadline the verdict no longer counts, whether or not the host has ticked yet.
    expect(fail(await verified(host, flowId, 1))).toMatchObject({ code: 'event_not_accepted' });
    const expired = ok(await host.runtime.tick(flowId));
    expect(expired.view).toMatchObject({ state: 'submissionExpired', done: false, attemptsLeft: 2, verdictDueAt: null, notice: { code: 'submission_expired' } });
    expect(await statusOf(host, user)).toBe('expired');
    expect(auditKinds(host)).toContain('realName.expired');

    expect(ok(await submit(host, flowId, user)).view).toMatchObject({ state: 'submitted', submissions: 2 });
    expect(ok(await verified(host, flowId, 2)).view.state).toBe('verified');
  });

  it('should accept a verdict one millisecond before the deadline', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    const sent = ok(await submit(host, flowId, user));
    host.world.clock.advanceTo((sent.nextDeadline as number) - 1);
    expect(ok(await verified(host, flowId, 1)).view.state).toBe('verified');
  });

  it('should end expired when the last submission times out', async () => {
    const host = testHost({ policy: { realName: { maxSubmissions: 1 } } });
    const user = signUp(host);
    const { flowId } = await start(host, user);
    const sent = ok(await submit(host, flowId, user));
    host.world.clock.advanceTo(sent.nextDeadline as number);
    expect(ok(await host.runtime.tick(flowId)).view).toMatchObject({ state: 'expired', done: true, result: 'expired', notice: { code: 'submission_expired' } });
    expect(await statusOf(host, user)).toBe('expired');
  });

  it('should cancel, withdrawing a submission still awaiting its verdict', async () => {
    const host = testHost();
    const user = signUp(host);
    const idle = await start(host, user);
    expect(ok(await host.runtime.send(idle.flowId, { type: 'flow.cancel' }, user.session)).view).toMatchObject({ state: 'cancelled', done: true, result: 'cancelled' });
    expect(await statusOf(host, user)).toBe('not_started');

    const { flowId } = await start(host, user);
    ok(await submit(host, flowId, user));
    const cancelled = ok(await host.runtime.send(flowId, { type: 'flow.cancel' }, user.session));
    expect(cancelled.view).toMatchObject({ state: 'cancelled', done: true, verdictDueAt: null });
    expect(cancelled.nextDeadline).toBeNull();
    expect(await statusOf(host, user)).toBe('expired');
    expect(auditKinds(host)).toContain('realName.cancelled');
    expect(fail(await verified(host, flowId, 1))).toMatchObject({ code: 'flow_finished' });
    expect(await statusOf(host, user)).toBe('expired');
  });

  it('should time out at the end of the flow lifetime, even with a submission outstanding', async () => {
    const host = testHost();
    const user = signUp(host);
    const idle = await start(host, user);
    host.world.clock.advanceTo(idle.nextDeadline as number);
    expect(ok(await host.runtime.tick(idle.flowId)).view).toMatchObject({ state: 'timedOut', done: true, result: 'timed_out' });

    const { flowId, nextDeadline } = await start(host, user);
    const lifetimeEnd = nextDeadline as number;
    host.world.clock.advanceTo(lifetimeEnd - HOUR);
    const late = ok(await submit(host, flowId, user));
    expect(late.nextDeadline).toBe(lifetimeEnd);
    host.world.clock.advanceTo(lifetimeEnd);
    expect(ok(await host.runtime.tick(flowId)).view).toMatchObject({ state: 'timedOut', done: true });
    expect(await statusOf(host, user)).toBe('expired');
  });

  it('should refuse anyone not signed in as the account, and take the account from the session only', async () => {
    const host = testHost();
    const alice = signUp(host);
    const mallory = signUp(host, '+8613900139000', 'mallory_1');
    expect(fail(await host.runtime.start('realName', {}))).toMatchObject({ code: 'session_required', visibility: 'internal' });
    expect(fail(await host.runtime.start('realName', { accountId: alice.id }))).toMatchObject({ code: 'session_required' });

    // A body naming another account is ignored: the flow belongs to whoever is signed in.
    const { flowId, version } = ok(await host.runtime.start('realName', { accountId: alice.id }, mallory.session));
    ok(await submit(host, flowId, mallory));
    expect(host.world.realNameProvider.submissions[0]?.accountId).toBe(mallory.id);

    const aliceFlow = await start(host, alice);
    expect(fail(await submit(host, aliceFlow.flowId, mallory))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.send(aliceFlow.flowId, { type: 'flow.cancel' }))).toMatchObject({ code: 'session_required' });
    expect(fail(await host.runtime.send(aliceFlow.flowId, { type: 'flow.cancel' }, mallory.session))).toMatchObject({ code: 'session_required' });
    expect(ok(await host.runtime.read(aliceFlow.flowId)).version).toBe(aliceFlow.version);
    expect(version).toBe(1);
  });

  it('should refuse to start for a deactivated account, during a recovery hold, and once verified', async () => {
    const host = testHost();
    const user = signUp(host);
    const now = host.world.clock.now();
    await host.world.directory.resetPassword({ id: user.id, expectedEpoch: 0, passwordHash: 'y', holdSensitiveUntil: now + HOUR, idempotencyKey: 'reset-1' });
    expect(fail(await host.runtime.start('realName', {}, user.session))).toMatchObject({ code: 'action_held', retryAfterMs: HOUR });
    host.world.clock.advanceTo(now + HOUR);
    const { flowId } = await start(host, user);
    ok(await submit(host, flowId, user));
    ok(await verified(host, flowId, 1));
    expect(fail(await host.runtime.start('realName', {}, user.session))).toMatchObject({ code: 'already_verified', visibility: 'public' });

    const other = signUp(host, '+8613900139000', 'bob_0001');
    host.world.directory.deactivate(other.id);
    expect(fail(await host.runtime.start('realName', {}, other.session))).toMatchObject({ code: 'session_required' });
  });

  it('should refuse a malformed webhook payload with a typed error naming the field, and change nothing', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    const sent = ok(await submit(host, flowId, user));
    const bad: readonly [unknown, string | undefined][] = [
      [{ type: 'provider.rejected', attempt: 1, reason: 'we just do not like them' }, 'reason'],
      [{ type: 'provider.rejected', attempt: 1 }, 'reason'],
      [{ type: 'provider.verified', attempt: '1' }, 'attempt'],
      [{ type: 'provider.verified', attempt: 1.5 }, 'attempt'],
      [{ type: 'provider.approved', attempt: 1 }, 'type'],
      [{ type: 'provider.unavailable' }, 'type'],
      [null, undefined],
    ];
    for (const [payload, field] of bad) {
      const error = fail(await providerVerdict(host.runtime, flowId, payload));
      expect(error.code).toBe('invalid_input');
      expect(error.field).toBe(field);
    }
    expect(ok(await host.runtime.read(flowId))).toMatchObject({ version: sent.version, view: { state: 'submitted' } });
    expect(await statusOf(host, user)).toBe('pending');
  });

  it('should not let a client forge a verdict through send', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    const sent = ok(await submit(host, flowId, user));
    expect(fail(await host.runtime.send(flowId, { type: 'provider.verified', attempt: 1 }, user.session))).toMatchObject({ code: 'invalid_input', field: 'type' });
    expect(ok(await host.runtime.read(flowId)).version).toBe(sent.version);
  });

  it('should answer a verdict for a finished flow with flow_finished, and a retried webhook with its first answer', async () => {
    const host = testHost();
    const user = signUp(host);
    const { flowId } = await start(host, user);
    ok(await submit(host, flowId, user));
    const first = ok(await providerVerdict(host.runtime, flowId, { type: 'provider.verified', attempt: 1 }, 'delivery-1'));
    const retried = ok(await providerVerdict(host.runtime, flowId, { type: 'provider.verified', attempt: 1 }, 'delivery-1'));
    expect(retried).toMatchObject({ replayed: true, view: first.view });
    const version = ok(await host.runtime.read(flowId)).version;
    expect(fail(await rejected(host, flowId, 1))).toMatchObject({ code: 'flow_finished' });
    expect(fail(await verified(host, flowId, 1))).toMatchObject({ code: 'flow_finished' });
    expect(ok(await host.runtime.read(flowId)).version).toBe(version);
    expect(await statusOf(host, user)).toBe('verified');
  });

  it('should refuse a verdict delivered to a flow of another kind', async () => {
    const host = testHost();
    const registration = ok(await host.runtime.start('registration', {}));
    expect(fail(await verified(host, registration.flowId, 1))).toMatchObject({ code: 'event_not_accepted' });
  });

  it("should keep the directory's status in step with every submission", async () => {
    const host = testHost();
    const user = signUp(host);
    const seen: (RealNameStatus | undefined)[] = [await statusOf(host, user)];
    const { flowId } = await start(host, user);
    seen.push(await statusOf(host, user));
    ok(await submit(host, flowId, user));
    seen.push(await statusOf(host, user));
    ok(await rejected(host, flowId, 1));
    seen.push(await statusOf(host, user));
    const second = ok(await submit(host, flowId, user));
    seen.push(await statusOf(host, user));
    host.world.clock.advanceTo(second.nextDeadline as number);
    ok(await host.runtime.tick(flowId));
    seen.push(await statusOf(host, user));
    ok(await submit(host, flowId, user));
    seen.push(await statusOf(host, user));
    ok(await verified(host, flowId, 3));
    seen.push(await statusOf(host, user));
    expect(seen).toEqual(['not_started', 'not_started', 'pending', 'rejected', 'pending', 'expired', 'pending', 'verified']);
    const account = await host.world.directory.get(user.id);
    expect(account && canMakePayments(account, host.world.clock.now())).toEqual({ allowed: true });
  });
});
