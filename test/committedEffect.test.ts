/**
 * A state that waits on an effect already committed to the outbox (registration's
 * `creatingAccount`, the hardening's `applying`) is not ended by the flow's lifetime or by a
 * cancel: the effect will still run (a failed port leaves it pending for `drain`), so only its
 * answer may say how the flow ends. Otherwise an account gets created, or a password reset,
 * under a flow that already told its user "timed out" or "cancelled".
 *
 * Each test makes the port throw so the effect stays pending, moves the clock past every
 * deadline the flow has, wakes it, then lets the port work and drains.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Phone } from '../src/domain/phone.ts';
import type { Handle } from '../src/domain/handle.ts';
import { HOUR } from '../src/domain/time.ts';
import type { StepReply } from '../src/runtime/runtime.ts';
import { OLD_PASSWORD, seedAccount } from './support/accounts.ts';
import { NEW_PASSWORD, OWNER_HANDLE, seedFriends, sessionOf, startFriendAssist } from './support/friends.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';
const EMAIL = 'wang@example.com';
const AGENT = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' } as const;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The port's `method` is down: every call throws until the returned function brings it back. */
const down = (port: object, method: string): (() => void) => {
  const spy = vi.spyOn(port as Record<string, () => Promise<unknown>>, method).mockRejectedValue(new Error(`${method}: port down`));
  return () => spy.mockRestore();
};

/** Past the flow's lifetime and every deadline it set, then a wake-up. */
const outliveAndWake = async (host: TestHost, flowId: string, startedAt: number): Promise<StepReply> => {
  host.world.clock.advanceTo(startedAt + host.world.policy.flowMaxLifetimeMs + HOUR);
  return ok(await host.runtime.tick(flowId));
};

/** Whether a host's durable scheduler would wake this flow now. */
const dueNow = async (host: TestHost, flowId: string): Promise<boolean> =>
  (await host.world.store.due(host.world.clock.now(), 1_000)).some((d) => d.flowId === flowId);

describe('registration while the account is being created', () => {
  const upToPassword = async (host: TestHost) => {
    const startedAt = host.world.clock.now();
    const { flowId } = ok(await host.runtime.start('registration', {}));
    ok(await host.runtime.send(flowId, { type: 'phone.submit', phone: PHONE }));
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: host.world.messenger.lastCodeTo(PHONE) ?? '' }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'wang_xiaoming' }));
    return { flowId, startedAt };
  };

  it('should wait past its lifetime for the directory, then end registered when the account is created', async () => {
    const host = testHost();
    const { flowId, startedAt } = await upToPassword(host);
    const createBack = down(host.world.directory, 'create');
    const waiting = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(waiting).toMatchObject({ view: { state: 'creatingAccount', done: false }, pendingEffects: 1 });

    const woken = await outliveAndWake(host, flowId, startedAt);
    expect(woken).toMatchObject({ view: { state: 'creatingAccount', done: false }, pendingEffects: 1 });
    // Only the directory's answer moves it on, so there is nothing to wake it for.
    expect([waiting.nextDeadline, woken.nextDeadline]).toEqual([null, null]);
    expect(await dueNow(host, flowId)).toBe(false);

    createBack();
    const done = ok(await host.runtime.drain(flowId));
    const account = await host.world.directory.findByPhone(PHONE as Phone);
    expect(account).toBeDefined();
    expect(done).toMatchObject({ view: { state: 'registered', done: true, result: 'registered', accountId: account?.id }, pendingEffects: 0 });
  });

  it('should refuse a cancel while the account is being created, and end as the directory decides', async () => {
    const host = testHost();
    const { flowId } = await upToPassword(host);
    const createBack = down(host.world.directory, 'create');
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(fail(await host.runtime.send(flowId, { type: 'flow.cancel' })).code).toBe('event_not_accepted');
    expect(ok(await host.runtime.read(flowId)).view.state).toBe('creatingAccount');

    createBack();
    expect(ok(await host.runtime.drain(flowId)).view).toMatchObject({ state: 'registered', done: true });
  });

  it('should let its lifetime end it again once the directory sent it back to choose another handle', async () => {
    const host = testHost();
    const { flowId, startedAt } = await upToPassword(host);
    const createBack = down(host.world.directory, 'create');
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect((await outliveAndWake(host, flowId, startedAt)).view.state).toBe('creatingAccount');

    // Someone took the handle while the directory was down: its answer is a conflict.
    host.world.directory.createNow({ phone: '+8613600136000' as Phone, handle: 'wang_xiaoming' as Handle, passwordHash: 'x', at: host.world.clock.now() });
    createBack();
    const back = ok(await host.runtime.drain(flowId));
    expect(back.view).toMatchObject({ state: 'choosingHandle', notice: { code: 'handle_taken' } });
    expect(await host.world.directory.findByPhone(PHONE as Phone)).toBeUndefined();
    expect(back.nextDeadline).toBe(startedAt + host.world.policy.flowMaxLifetimeMs);
    expect(ok(await host.runtime.tick(flowId)).view).toMatchObject({ state: 'timedOut', done: true });
  });
});

describe.each([
  ['smsRecovery', PHONE],
  ['emailRecovery', EMAIL],
] as const)('%s while the new password is being applied', (flow, channel) => {
  const upToPassword = async (host: TestHost) => {
    const account = await seedAccount(host.world, { phone: PHONE, email: EMAIL });
    const startedAt = host.world.clock.now();
    const { flowId } = ok(await host.runtime.start(flow, {}));
    ok(await host.runtime.send(flowId, { type: 'channel.submit', channel }));
    const code = host.world.messenger.lastCodeTo(channel) ?? '';
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code })).view.state).toBe('hardening.choosingPassword');
    return { account, flowId, startedAt };
  };

  it('should wait past its lifetime for the directory, then review the security of the recovered account', async () => {
    const host = testHost();
    const { account, flowId, startedAt } = await upToPassword(host);
    const resetBack = down(host.world.directory, 'resetPassword');
    const waiting = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(waiting).toMatchObject({ view: { state: 'hardening.applying', done: false }, pendingEffects: 1 });

    const woken = await outliveAndWake(host, flowId, startedAt);
    expect(woken).toMatchObject({ view: { state: 'hardening.applying', done: false }, pendingEffects: 1 });
    expect([waiting.nextDeadline, woken.nextDeadline]).toEqual([null, null]);
    expect(await dueNow(host, flowId)).toBe(false);
    expect(await host.world.hasher.verify(OLD_PASSWORD, (await host.world.directory.get(account.id))?.passwordHash ?? '')).toBe(true);

    resetBack();
    const applied = ok(await host.runtime.drain(flowId));
    expect(applied).toMatchObject({ view: { state: 'hardening.reviewingSecurity', done: false }, pendingEffects: 0 });
    const after = await host.world.directory.get(account.id);
    expect(after?.securityEpoch).toBe(1);
    expect(await host.world.hasher.verify(NEW_PASSWORD, after?.passwordHash ?? '')).toBe(true);
    // The reset landed after the lifetime: the next wake-up ends the optional review, and the
    // flow says what happened (recovered), never "timed out" over a password that did change.
    expect(applied.nextDeadline).toBe(startedAt + host.world.policy.flowMaxLifetimeMs);
    expect(ok(await host.runtime.tick(flowId)).view).toMatchObject({ state: 'recovered', done: true, result: 'recovered' });
  });

  it('should end as recovered, not cancelled, when the person leaves the review', async () => {
    const host = testHost();
    const { flowId } = await upToPassword(host);
    expect(ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD })).view.state).toBe('hardening.reviewingSecurity');
    expect(ok(await host.runtime.send(flowId, { type: 'flow.cancel' })).view).toMatchObject({ state: 'recovered', done: true, result: 'recovered' });
  });

  it('should refuse a cancel while the new password is being applied', async () => {
    const host = testHost();
    const { account, flowId } = await upToPassword(host);
    const resetBack = down(host.world.directory, 'resetPassword');
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(fail(await host.runtime.send(flowId, { type: 'flow.cancel' })).code).toBe('event_not_accepted');

    resetBack();
    expect(ok(await host.runtime.drain(flowId)).view.state).toBe('hardening.reviewingSecurity');
    expect(await host.world.hasher.verify(NEW_PASSWORD, (await host.world.directory.get(account.id))?.passwordHash ?? '')).toBe(true);
  });
});

describe('friend-assisted recovery while the new password is being applied', () => {
  it('should wait past its lifetime for the directory, then review the security of the recovered account', async () => {
    const host = testHost();
    const { owner, friends } = await seedFriends(host.world, 3);
    if (owner === undefined) throw new Error('no owner');
    const startedAt = host.world.clock.now();
    const requester = await startFriendAssist(host.runtime);
    ok(await requester.send({ type: 'account.submit', handle: OWNER_HANDLE }));
    ok(await requester.send({ type: 'friends.nominate', handles: friends.map((f) => f.handle) }));
    for (const friend of friends) ok(await host.runtime.send(requester.flowId, { type: 'friend.confirm' }, await sessionOf(host.world, friend.id)));
    host.world.clock.advanceBy(host.world.policy.friends.disputeWaitMs);
    expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('hardening.choosingPassword');

    const resetBack = down(host.world.directory, 'resetPassword');
    const waiting = ok(await requester.send({ type: 'password.submit', password: NEW_PASSWORD }));
    expect(waiting).toMatchObject({ view: { state: 'hardening.applying', done: false }, pendingEffects: 1 });

    const woken = await outliveAndWake(host, requester.flowId, startedAt);
    expect(woken).toMatchObject({ view: { state: 'hardening.applying', done: false }, pendingEffects: 1 });
    expect([waiting.nextDeadline, woken.nextDeadline]).toEqual([null, null]);
    expect(await dueNow(host, requester.flowId)).toBe(false);

    resetBack();
    expect(ok(await host.runtime.drain(requester.flowId))).toMatchObject({ view: { state: 'hardening.reviewingSecurity', done: false }, pendingEffects: 0 });
    const after = await host.world.directory.get(owner.id);
    expect(after?.securityEpoch).toBe(1);
    expect(await host.world.hasher.verify(NEW_PASSWORD, after?.passwordHash ?? '')).toBe(true);
    expect(ok(await host.runtime.tick(requester.flowId)).view).toMatchObject({ state: 'recovered', done: true });
  });
});

// Not a fix but a guard: manual review's own deadlines already hold back while the password is
// applied (its guards ask for no password in flight), and the shared fragment must keep it so.
describe('manual review while the new password is being applied', () => {
  it('should wait past every deadline for the directory, then review the security of the recovered account', async () => {
    const host = testHost();
    const account = await seedAccount(host.world, { phone: PHONE, email: EMAIL });
    const startedAt = host.world.clock.now();
    const { flowId } = ok(await host.runtime.start('manualReview', {}));
    ok(await host.runtime.send(flowId, { type: 'account.submit', handle: 'wang_xiaoming' }));
    ok(await host.runtime.send(flowId, { type: 'evidence.submit', nickname: 'Xiaoming', team: 'Hangzhou sales', frequentContacts: ['Li Lei'], pastDevices: ['iPhone 12'], loginPlaces: ['Hangzhou'], formerPhone: PHONE, contactEmail: 'new@example.net' }));
    ok(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, AGENT));
    host.world.clock.advanceBy(host.world.policy.review.disputeWindowMs);
    expect(ok(await host.runtime.tick(flowId)).view.state).toBe('hardening.choosingPassword');

    const resetBack = down(host.world.directory, 'resetPassword');
    expect(ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD })).view.state).toBe('hardening.applying');
    expect((await outliveAndWake(host, flowId, startedAt)).view).toMatchObject({ state: 'hardening.applying', done: false });
    expect(fail(await host.runtime.send(flowId, { type: 'flow.cancel' })).code).toBe('event_not_accepted');

    resetBack();
    expect(ok(await host.runtime.drain(flowId)).view.state).toBe('hardening.reviewingSecurity');
    expect(await host.world.hasher.verify(NEW_PASSWORD, (await host.world.directory.get(account.id))?.passwordHash ?? '')).toBe(true);
  });
});
