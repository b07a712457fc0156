import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { MemoryWorld } from '../src/adapters/memory/index.ts';
import type { Account } from '../src/domain/account.ts';
import { vouchKey, vouchRule } from '../src/domain/friendAssist.ts';
import { DAY, HOUR } from '../src/domain/time.ts';
import type { StepResult } from '../src/runtime/runtime.ts';
import { OLD_PASSWORD, seedAccount } from './support/accounts.ts';
import { enrollTotp, NEW_PASSWORD, OWNER_EMAIL, OWNER_HANDLE, OWNER_PHONE, type Requester, seedFriends, sessionOf, startFriendAssist } from './support/friends.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const WINDOW = 24 * HOUR;
const DISPUTE = 24 * HOUR;

const handles = (accounts: readonly Account[]): string[] => accounts.map((a) => a.handle);

/** A requester who named the account and `nominees`; the window opens now. */
const nominated = async (host: TestHost, nominees: readonly string[], account = OWNER_HANDLE): Promise<Requester & { readonly t0: number }> => {
  const requester = await startFriendAssist(host.runtime);
  ok(await requester.send({ type: 'account.submit', handle: account }));
  const t0 = host.world.clock.now();
  ok(await requester.send({ type: 'friends.nominate', handles: nominees }));
  return { ...requester, t0 };
};

const confirm = async (host: TestHost, flowId: string, friend: Account): Promise<StepResult> =>
  host.runtime.send(flowId, { type: 'friend.confirm' }, await sessionOf(host.world, friend.id));

const refuse = async (host: TestHost, flowId: string, friend: Account): Promise<StepResult> =>
  host.runtime.send(flowId, { type: 'friend.refuse' }, await sessionOf(host.world, friend.id));

const view = async (host: TestHost, flowId: string) => ok(await host.runtime.read(flowId)).view;

const auditOf = (world: MemoryWorld, kind: string) => world.audit.entries.filter((e) => e.kind === kind);

describe('friend-assisted recovery', () => {
  it('should tell the owner and ask each friend at nomination, count three confirmations, wait out the dispute and harden the account', async () => {
    const host = testHost();
    const { owner, friends } = await seedFriends(host.world, 4);
    if (owner === undefined) throw new Error('no owner');
    const ownerSession = await sessionOf(host.world, owner.id);
    const requester = await nominated(host, handles(friends.slice(0, 3)));

    // Every bound channel and the owner's sessions hear at once; each friend is asked in the app.
    expect(host.world.messenger.sent.map((m) => m.message.to).sort()).toEqual([OWNER_PHONE, OWNER_EMAIL].sort());
    expect(host.world.messenger.lastTo(OWNER_PHONE)?.text).toContain('Someone started recovering your account');
    expect(host.world.inApp.to(owner.id).map((n) => n.kind)).toEqual(['friendAssist.started']);
    for (const friend of friends.slice(0, 3)) {
      const [asked] = host.world.inApp.to(friend.id);
      expect(asked).toMatchObject({ kind: 'friendAssist.asked', flowId: requester.flowId, accountHandle: OWNER_HANDLE });
      // No code passes through a friend, and the notice says so.
      expect(asked?.text).not.toMatch(/\d{4,}/);
      expect(asked?.text).toContain('nobody from the service');
    }
    expect(host.world.inApp.to(friends[3]?.id ?? ('' as never))).toEqual([]);

    const waiting = await view(host, requester.flowId);
    expect(waiting).toMatchObject({ state: 'awaitingFriends', nominated: 3, confirmed: 0, required: 3, windowEndsAt: requester.t0 + WINDOW, disputeEndsAt: null, replacementsLeft: 2 });
    expect(waiting).not.toHaveProperty('requesterToken');

    for (const [i, friend] of friends.slice(0, 3).entries()) {
      host.world.clock.advanceBy(HOUR);
      const reply = ok(await confirm(host, requester.flowId, friend));
      expect(reply.view['yourConfirmation']).toBe('counted');
      expect(reply.view['confirmed']).toBe(i + 1);
    }
    const quorumAt = host.world.clock.now();
    const disputing = await view(host, requester.flowId);
    expect(disputing).toMatchObject({ state: 'disputeWait', confirmed: 3, disputeEndsAt: quorumAt + DISPUTE });
    expect(ok(await host.runtime.read(requester.flowId)).nextDeadline).toBe(quorumAt + DISPUTE);

    // A millisecond before the wait ends: the tick changes nothing and no password is taken.
    host.world.clock.advanceTo(quorumAt + DISPUTE - 1);
    expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('disputeWait');
    expect(fail(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).code).toBe('event_not_accepted');
    expect(host.world.directory.passwordChanges).toEqual([]);

    host.world.clock.advanceBy(1);
    expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('hardening.choosingPassword');
    expect(fail(await requester.send({ type: 'password.submit', password: OLD_PASSWORD })).code).toBe('password_reused');
    const sentBefore = host.world.messenger.sent.length;
    const review = ok(await requester.send({ type: 'password.submit', password: NEW_PASSWORD }));
    expect(review.view).toMatchObject({ state: 'hardening.reviewingSecurity', revokedSessions: 1, offers: ['enableTotp'] });

    const after = await host.world.directory.get(owner.id);
    expect(after?.securityEpoch).toBe(1);
    expect(await host.world.hasher.verify(NEW_PASSWORD, after?.passwordHash ?? '')).toBe(true);
    expect(host.world.sessions.isLive(ownerSession.sessionId ?? '', 1)).toBe(false);
    expect(host.world.messenger.sent.slice(sentBefore).map((m) => m.message.to).sort()).toEqual([OWNER_PHONE, OWNER_EMAIL].sort());
    expect(auditOf(host.world, 'recovery.completed')[0]?.detail).toMatchObject({ path: 'friends', revokedSessions: 1 });
    expect(ok(await requester.send({ type: 'security.done' })).view).toMatchObject({ state: 'recovered', done: true, result: 'recovered' });
    // Each friend's vouch is spent: they cannot vouch for anyone else for the cooldown.
    for (const friend of friends.slice(0, 3)) expect(host.world.budgets.spent(vouchKey(friend.id))).toHaveLength(1);
  });

  describe('the window', () => {
    it('should count a confirmation at the last millisecond of the window', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      ok(await confirm(host, requester.flowId, friends[0] as Account));
      ok(await confirm(host, requester.flowId, friends[1] as Account));
      host.world.clock.advanceTo(requester.t0 + WINDOW - 1);
      const last = ok(await confirm(host, requester.flowId, friends[2] as Account));
      expect(last.view).toMatchObject({ state: 'disputeWait', confirmed: 3, yourConfirmation: 'counted', disputeEndsAt: requester.t0 + WINDOW - 1 + DISPUTE });
    });

    it('should not count a confirmation a millisecond after the window, and fail at its end', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      ok(await confirm(host, requester.flowId, friends[0] as Account));
      ok(await confirm(host, requester.flowId, friends[1] as Account));
      host.world.clock.advanceTo(requester.t0 + WINDOW);
      const late = ok(await confirm(host, requester.flowId, friends[2] as Account));
      expect(late.view).toMatchObject({ state: 'awaitingFriends', confirmed: 2, yourConfirmation: 'late' });
      expect(auditOf(host.world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'late', friendId: friends[2]?.id });
      // The requester's own view says nothing about who was late.
      expect(await view(host, requester.flowId)).not.toHaveProperty('yourConfirmation');
      const failed = ok(await host.runtime.tick(requester.flowId));
      expect(failed.view).toMatchObject({ state: 'failed', done: true, result: 'failed', help: { checkFriends: true, manualReview: true } });
      expect(failed.view['message']).toContain('active and meet the requirements');
      expect(auditOf(host.world, 'friendAssist.failed')).toHaveLength(1);
    });

    it('should fail when the window ends without a quorum, waking at the window end', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      ok(await confirm(host, requester.flowId, friends[0] as Account));
      expect(ok(await host.runtime.read(requester.flowId)).nextDeadline).toBe(requester.t0 + WINDOW);
      host.world.clock.advanceTo(requester.t0 + WINDOW - 1);
      expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('awaitingFriends');
      host.world.clock.advanceBy(1);
      expect(ok(await host.runtime.tick(requester.flowId)).view).toMatchObject({ state: 'failed', confirmed: 1 });
    });
  });

  describe('which confirmations count', () => {
    it('should count a friend once however often they confirm', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      const friend = friends[0] as Account;
      expect(ok(await confirm(host, requester.flowId, friend)).view).toMatchObject({ confirmed: 1, yourConfirmation: 'counted' });
      expect(ok(await confirm(host, requester.flowId, friend)).view).toMatchObject({ confirmed: 1, yourConfirmation: 'duplicate' });
      expect(ok(await confirm(host, requester.flowId, friend)).view).toMatchObject({ confirmed: 1, yourConfirmation: 'duplicate' });
      expect(host.world.budgets.spent(vouchKey(friend.id))).toHaveLength(1);
    });

    it('should count none of a non-nominee, a non-friend, a new friend, a deactivated friend, a recent voucher, a recently recovered or a recovering friend', async () => {
      const host = testHost();
      const { world } = host;
      const { owner, friends } = await seedFriends(world, 4);
      if (owner === undefined) throw new Error('no owner');
      const [foreign, deactivated, voucher, recovered] = friends as [Account, Account, Account, Account];
      const stranger = await seedAccount(world, { handle: 'stranger_1', phone: '+8613700137000' });
      // One millisecond short of the minimum friendship at nomination time.
      const recent = await seedAccount(world, { handle: 'recent_friend', phone: '+8613700137001' });
      world.directory.befriend(owner.id, recent.id, world.clock.now() - 30 * DAY + 1);
      world.budgets.consumeNow(vouchKey(voucher.id), vouchRule(world.policy), world.clock.now() - 29 * DAY);
      await world.directory.resetPassword({ id: recovered.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: world.clock.now() + DAY, idempotencyKey: 'seed-recovered' });

      const requester = await nominated(host, ['stranger_1', 'recent_friend', deactivated.handle, voucher.handle, recovered.handle]);
      const before = await view(host, requester.flowId);
      world.directory.deactivate(deactivated.id);

      expect(ok(await confirm(host, requester.flowId, foreign)).view).not.toHaveProperty('yourConfirmation');
      expect(auditOf(world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ friendId: foreign.id, outcome: 'not_nominated' });
      expect(ok(await confirm(host, requester.flowId, stranger)).view).toMatchObject({ yourConfirmation: 'not_eligible' });
      expect(auditOf(world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'not_eligible', reason: 'not_a_friend' });
      expect(ok(await confirm(host, requester.flowId, recent)).view).toMatchObject({ yourConfirmation: 'not_eligible' });
      expect(auditOf(world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'not_eligible', reason: 'friends_too_recently' });
      // A deactivated account has no live session to confirm from at all.
      expect(fail(await confirm(host, requester.flowId, deactivated)).code).toBe('session_required');
      expect(ok(await confirm(host, requester.flowId, voucher)).view).toMatchObject({ yourConfirmation: 'not_eligible' });
      expect(auditOf(world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'not_eligible', reason: 'vouched_recently' });
      expect(ok(await confirm(host, requester.flowId, recovered)).view).toMatchObject({ yourConfirmation: 'not_eligible' });
      expect(auditOf(world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'not_eligible', reason: 'recently_recovered' });
      expect(world.budgets.spent(vouchKey(voucher.id))).toHaveLength(1);

      // The requester sees the same "0 of 5" as before: nothing about who failed, or why.
      expect(await view(host, requester.flowId)).toEqual(before);

      const second = testHost();
      const scene = await seedFriends(second.world, 3);
      const [a, b, c] = scene.friends as [Account, Account, Account];
      // Someone is recovering c's own account with friends: c is no witness for anyone meanwhile.
      await nominated(second, ['someone_1', 'someone_2', 'someone_3'], c.handle);
      const flow = await nominated(second, handles([a, b, c]));
      ok(await confirm(second, flow.flowId, a));
      ok(await confirm(second, flow.flowId, b));
      expect(ok(await confirm(second, flow.flowId, c)).view).toMatchObject({ state: 'awaitingFriends', confirmed: 2, yourConfirmation: 'not_eligible' });
      expect(auditOf(second.world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'not_eligible', reason: 'under_recovery' });
    });

    it('should count a friend of exactly the minimum standing', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 2);
      if (owner === undefined) throw new Error('no owner');
      const exact = await seedAccount(host.world, { handle: 'exact_friend', phone: '+8613700137002' });
      host.world.directory.befriend(owner.id, exact.id, host.world.clock.now() - 30 * DAY);
      const requester = await nominated(host, [...handles(friends), exact.handle]);
      expect(ok(await confirm(host, requester.flowId, exact)).view).toMatchObject({ confirmed: 1, yourConfirmation: 'counted' });
    });

    it('should judge eligibility again at confirmation: a friend who became ineligible after being named does not count', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const [a, b, c] = friends as [Account, Account, Account];
      const requester = await nominated(host, handles(friends));
      host.world.budgets.consumeNow(vouchKey(c.id), vouchRule(host.world.policy), host.world.clock.now());
      ok(await confirm(host, requester.flowId, a));
      ok(await confirm(host, requester.flowId, b));
      expect(ok(await confirm(host, requester.flowId, c)).view).toMatchObject({ confirmed: 2, yourConfirmation: 'not_eligible' });
    });

    it('should let the budget port decide a vouch two flows race for', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const [a] = friends as [Account];
      const first = await nominated(host, handles(friends));
      const second = await nominated(host, handles(friends));
      ok(await confirm(host, first.flowId, a));
      // Both look-ups passed before either spent the mark: the second flow's spend is refused.
      host.world.budgets.peek = async () => ({ allowed: true, next: { events: [] } });
      expect(ok(await confirm(host, second.flowId, a)).view).toMatchObject({ confirmed: 0, yourConfirmation: 'not_eligible' });
      expect(auditOf(host.world, 'friendAssist.confirmation').at(-1)?.detail).toMatchObject({ outcome: 'not_eligible', reason: 'vouched_recently' });
    });

    it('should show a friend their own outcome in their reply alone, never in a stored or replayed one', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      const friend = friends[0] as Account;
      const session = await sessionOf(host.world, friend.id);
      expect(ok(await host.runtime.send(requester.flowId, { type: 'friend.confirm' }, session, 'confirm-1')).view['yourConfirmation']).toBe('counted');
      const replayed = ok(await host.runtime.send(requester.flowId, { type: 'flow.cancel', token: requester.token }, undefined, 'confirm-1'));
      expect(replayed.replayed).toBe(true);
      expect(replayed.view).not.toHaveProperty('yourConfirmation');
      expect(host.world.store.raw(requester.flowId)).not.toContain('yourConfirmation');
      // Another signed-in account that was never named sees nothing of it either.
      const other = await seedAccount(host.world, { handle: 'someone_else', phone: '+8613700137003' });
      expect(ok(await confirm(host, requester.flowId, other)).view).not.toHaveProperty('yourConfirmation');
    });

    it('should take the friend from the session, never from the request', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      expect(fail(await host.runtime.send(requester.flowId, { type: 'friend.confirm', friendId: friends[0]?.id, actor: friends[0]?.id })).code).toBe('session_required');
      expect((await view(host, requester.flowId))['confirmed']).toBe(0);
    });
  });

  describe('replacing a friend', () => {
    it('should replace a silent nominee within the limit, ask the new one, and refuse beyond it', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 6);
      const [a, b, c, d, e, f] = friends as [Account, Account, Account, Account, Account, Account];
      const requester = await nominated(host, handles([a, b, c]));
      const replaced = ok(await requester.send({ type: 'friends.replace', old: c.handle, new: d.handle }));
      expect(replaced.view).toMatchObject({ nominees: [a.handle, b.handle, d.handle], nominated: 3, replacementsLeft: 1 });
      expect(host.world.inApp.to(d.id)).toMatchObject([{ kind: 'friendAssist.asked', flowId: requester.flowId }]);
      // The replaced friend no longer counts; the new one does.
      expect(ok(await confirm(host, requester.flowId, c)).view).toMatchObject({ confirmed: 0, yourConfirmation: 'not_nominated' });
      ok(await confirm(host, requester.flowId, d));
      ok(await requester.send({ type: 'friends.replace', old: b.handle, new: e.handle }));
      expect(fail(await requester.send({ type: 'friends.replace', old: a.handle, new: f.handle })).code).toBe('replacements_exhausted');
      expect(fail(await requester.send({ type: 'friends.replace', old: 'nobody_here', new: f.handle })).code).toBe('replacements_exhausted');
      ok(await confirm(host, requester.flowId, a));
      expect(ok(await confirm(host, requester.flowId, e)).view).toMatchObject({ state: 'disputeWait', confirmed: 3 });
    });

    it('should refuse a replacement after the window, of someone not named, or by someone named before', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 5);
      const [a, b, c, d] = friends as [Account, Account, Account, Account];
      const requester = await nominated(host, handles([a, b, c]));
      expect(fail(await requester.send({ type: 'friends.replace', old: d.handle, new: a.handle })).field).toBe('old');
      expect(fail(await requester.send({ type: 'friends.replace', old: c.handle, new: b.handle })).field).toBe('new');
      expect(fail(await requester.send({ type: 'friends.replace', old: c.handle, new: OWNER_HANDLE })).field).toBe('new');
      ok(await requester.send({ type: 'friends.replace', old: c.handle, new: d.handle }));
      expect(fail(await requester.send({ type: 'friends.replace', old: d.handle, new: c.handle })).field).toBe('new');
      host.world.clock.advanceTo(requester.t0 + WINDOW);
      expect(fail(await requester.send({ type: 'friends.replace', old: d.handle, new: 'friend_04' })).code).toBe('window_closed');
    });
  });

  describe('stopping it', () => {
    it('should stop when a named friend refuses, and alert the owner on every channel and session', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const requester = await nominated(host, handles(friends));
      ok(await confirm(host, requester.flowId, friends[0] as Account));
      const sent = host.world.messenger.sent.length;
      const refused = ok(await refuse(host, requester.flowId, friends[1] as Account));
      expect(refused.view).toMatchObject({ state: 'refusedByFriend', done: true, result: 'refused_by_friend', yourConfirmation: 'refused' });
      expect(host.world.messenger.sent.slice(sent).map((m) => m.message.to).sort()).toEqual([OWNER_PHONE, OWNER_EMAIL].sort());
      expect(host.world.messenger.lastTo(OWNER_EMAIL)?.text).toContain('not from you');
      expect(host.world.inApp.to(owner.id).map((n) => n.kind)).toEqual(['friendAssist.started', 'friendAssist.refused']);
      expect(auditOf(host.world, 'friendAssist.refusedByFriend')[0]?.detail).toMatchObject({ friendId: friends[1]?.id });
      expect(fail(await confirm(host, requester.flowId, friends[2] as Account)).code).toBe('flow_finished');
      expect(fail(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).code).toBe('flow_finished');
    });

    it('should let a replaced friend still refuse, and ignore a refusal from someone never named', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 5);
      const [a, b, c, d, e] = friends as [Account, Account, Account, Account, Account];
      const requester = await nominated(host, handles([a, b, c]));
      ok(await requester.send({ type: 'friends.replace', old: c.handle, new: d.handle }));
      const ignored = ok(await refuse(host, requester.flowId, e));
      expect(ignored.view.state).toBe('awaitingFriends');
      expect(auditOf(host.world, 'friendAssist.refusalIgnored')[0]?.detail).toMatchObject({ friendId: e.id, outcome: 'not_nominated' });
      expect(ok(await refuse(host, requester.flowId, c)).view.state).toBe('refusedByFriend');
    });

    it('should let the owner stop it from a live session during the window, and nobody else', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const requester = await nominated(host, handles(friends));
      expect(fail(await host.runtime.send(requester.flowId, { type: 'owner.stop' })).code).toBe('session_required');
      expect(fail(await host.runtime.send(requester.flowId, { type: 'owner.stop' }, await sessionOf(host.world, (friends[0] as Account).id))).code).toBe('not_permitted');
      const stale = host.world.sessions.signIn(owner.id, 7, host.world.clock.now());
      expect(fail(await host.runtime.send(requester.flowId, { type: 'owner.stop' }, { actor: owner.id, sessionId: stale.id })).code).toBe('session_required');
      const stopped = ok(await host.runtime.send(requester.flowId, { type: 'owner.stop' }, await sessionOf(host.world, owner.id)));
      expect(stopped.view).toMatchObject({ state: 'stoppedByOwner', done: true, result: 'stopped_by_owner' });
      expect(auditOf(host.world, 'friendAssist.stoppedByOwner')).toHaveLength(1);
      expect(fail(await confirm(host, requester.flowId, friends[0] as Account)).code).toBe('flow_finished');
    });

    it('should let the owner stop it during the dispute wait, after which no password is ever set', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const requester = await nominated(host, handles(friends));
      for (const friend of friends) ok(await confirm(host, requester.flowId, friend));
      host.world.clock.advanceBy(DISPUTE - 1);
      expect(ok(await host.runtime.send(requester.flowId, { type: 'owner.stop' }, await sessionOf(host.world, owner.id))).view.state).toBe('stoppedByOwner');
      host.world.clock.advanceBy(1);
      expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('stoppedByOwner');
      expect(fail(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).code).toBe('flow_finished');
      expect(host.world.directory.passwordChanges).toEqual([]);
    });

    it('should let the owner stop it even at the password step', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const requester = await nominated(host, handles(friends));
      for (const friend of friends) ok(await confirm(host, requester.flowId, friend));
      host.world.clock.advanceBy(DISPUTE);
      expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('hardening.choosingPassword');
      expect(ok(await host.runtime.send(requester.flowId, { type: 'owner.stop' }, await sessionOf(host.world, owner.id))).view.state).toBe('stoppedByOwner');
      expect(fail(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).code).toBe('flow_finished');
      expect(host.world.directory.passwordChanges).toEqual([]);
    });

    it('should let the requester cancel', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const requester = await nominated(host, handles(friends));
      expect(ok(await requester.send({ type: 'flow.cancel' })).view).toMatchObject({ state: 'cancelled', result: 'cancelled' });
    });
  });

  describe('the requester', () => {
    it('should see only counts, and take a token friends never learn', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 3);
      const started = ok(await host.runtime.start('friendAssist', {}));
      const token = started.view['requesterToken'] as string;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      // The token is derived, not stored: neither the snapshot nor any stored reply holds it.
      expect(host.world.store.raw(started.flowId)).not.toContain(token);
      ok(await host.runtime.send(started.flowId, { type: 'account.submit', handle: OWNER_HANDLE, token }, undefined, 'req-1'));
      expect(ok(await host.runtime.read(started.flowId)).view).not.toHaveProperty('requesterToken');
      ok(await host.runtime.send(started.flowId, { type: 'friends.nominate', handles: handles(friends), token }));
      for (const friend of friends) ok(await confirm(host, started.flowId, friend));
      host.world.clock.advanceBy(DISPUTE);
      ok(await host.runtime.tick(started.flowId));
      // A friend has the flow id from their notice, but not the token: they cannot set the password.
      const friendSession = await sessionOf(host.world, (friends[0] as Account).id);
      expect(fail(await host.runtime.send(started.flowId, { type: 'password.submit', password: NEW_PASSWORD, token: 'guess' }, friendSession)).code).toBe('token_invalid');
      expect(fail(await host.runtime.send(started.flowId, { type: 'password.submit', password: NEW_PASSWORD }, friendSession)).code).toBe('invalid_input');
      expect(host.world.store.raw(started.flowId)).not.toContain(token);
      expect(ok(await host.runtime.send(started.flowId, { type: 'password.submit', password: NEW_PASSWORD, token })).view.state).toBe('hardening.reviewingSecurity');
    });

    it('should check the nomination: 3 to 5 distinct IDs, not the account itself', async () => {
      const host = testHost();
      const { friends } = await seedFriends(host.world, 6);
      const requester = await startFriendAssist(host.runtime);
      ok(await requester.send({ type: 'account.submit', handle: OWNER_HANDLE }));
      expect(fail(await requester.send({ type: 'friends.nominate', handles: handles(friends.slice(0, 2)) })).field).toBe('handles');
      expect(fail(await requester.send({ type: 'friends.nominate', handles: handles(friends) })).field).toBe('handles');
      expect(fail(await requester.send({ type: 'friends.nominate', handles: ['friend_00', 'FRIEND_00', 'friend_01'] })).code).toBe('invalid_input');
      expect(fail(await requester.send({ type: 'friends.nominate', handles: ['friend_00', 'friend_01', 'Wang_XiaoMing'] })).code).toBe('invalid_input');
      expect(fail(await requester.send({ type: 'friends.nominate', handles: ['friend_00', 'friend_01', '2bad'] })).code).toBe('handle_invalid');
      expect(fail(await requester.send({ type: 'account.submit', handle: OWNER_HANDLE })).code).toBe('event_not_accepted');
      expect(ok(await requester.send({ type: 'friends.nominate', handles: ['ｆｒｉｅｎｄ＿００', 'Friend_01', 'friend_02'] })).view).toMatchObject({ nominated: 3, nominees: ['friend_00', 'friend_01', 'friend_02'] });
    });

    it('should answer an unknown or inactive handle exactly as a real one, and send it nothing', async () => {
      const worlds = [testHost(), testHost(), testHost()];
      const [known, unknown, inactive] = worlds as [TestHost, TestHost, TestHost];
      await seedFriends(known.world, 4);
      await seedFriends(unknown.world, 4, { owner: false });
      const gone = await seedFriends(inactive.world, 4);
      inactive.world.directory.deactivate(gone.owner?.id ?? ('' as never));
      const script: (Record<string, unknown> | 'tick' | number)[] = [
        { type: 'account.submit', handle: OWNER_HANDLE },
        { type: 'friends.nominate', handles: ['friend_00', 'friend_01', 'no_such_friend'] },
        HOUR,
        { type: 'friends.replace', old: 'no_such_friend', new: 'friend_02' },
        { type: 'friends.replace', old: 'friend_02', new: 'friend_03' },
        { type: 'friends.replace', old: 'friend_03', new: 'friend_99' },
        { type: 'password.submit', password: NEW_PASSWORD },
        WINDOW - HOUR - 1,
        'tick',
        1,
        'tick',
      ];
      const requesters = await Promise.all(worlds.map((h) => startFriendAssist(h.runtime)));
      const sentBefore = unknown.world.messenger.sent.length;
      for (const step of script) {
        const observed: unknown[] = [];
        for (const [i, host] of worlds.entries()) {
          const requester = requesters[i] as Requester;
          if (typeof step === 'number') host.world.clock.advanceBy(step);
          else {
            const result = step === 'tick' ? await host.runtime.tick(requester.flowId) : await requester.send(step);
            observed.push(E.isLeft(result) ? result.left : { ...result.right, flowId: '' });
          }
        }
        expect(observed[1]).toEqual(observed[0]);
        expect(observed[2]).toEqual(observed[0]);
      }
      expect(ok(await known.runtime.read(requesters[0]?.flowId ?? '')).view).toMatchObject({ state: 'failed' });
      expect(known.world.inApp.delivered.length).toBeGreaterThan(0);
      for (const host of [unknown, inactive]) {
        expect(host.world.messenger.sent.length).toBe(sentBefore);
        expect(host.world.inApp.delivered).toEqual([]);
      }
    });

    it('should budget nominations per account, for unknown handles alike', async () => {
      for (const owner of [true, false]) {
        const host = testHost();
        const { friends } = await seedFriends(host.world, 3, { owner });
        const spent = () => host.world.inApp.delivered.length;
        await nominated(host, handles(friends));
        host.world.clock.advanceBy(DAY);
        await nominated(host, handles(friends));
        const before = spent();
        const messages = host.world.messenger.sent.length;
        host.world.clock.advanceBy(DAY);
        const third = await startFriendAssist(host.runtime);
        ok(await third.send({ type: 'account.submit', handle: OWNER_HANDLE }));
        const refused = ok(await third.send({ type: 'friends.nominate', handles: handles(friends) }));
        expect(refused.view).toMatchObject({ state: 'nominating', nominated: 0, notice: { code: 'rate_limited', retryAfterMs: 5 * DAY } });
        expect(spent()).toBe(before);
        expect(host.world.messenger.sent.length).toBe(messages);
        host.world.clock.advanceBy(5 * DAY);
        expect(ok(await third.send({ type: 'friends.nominate', handles: handles(friends) })).view.state).toBe('awaitingFriends');
      }
    });
  });

  describe('after the dispute wait', () => {
    it('should ask for an enrolled second factor before any password', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const authenticator = await enrollTotp(host.world, owner.id);
      const requester = await nominated(host, handles(friends));
      for (const friend of friends) ok(await confirm(host, requester.flowId, friend));
      host.world.clock.advanceBy(DISPUTE);
      expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('secondFactor');
      expect(fail(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).code).toBe('event_not_accepted');
      expect(ok(await requester.send({ type: 'secondFactor.submit', code: '000000' })).view.notice).toEqual({ code: 'code_invalid' });
      expect(ok(await requester.send({ type: 'secondFactor.submit', code: authenticator() })).view.state).toBe('hardening.choosingPassword');
      expect(ok(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).view.state).toBe('hardening.reviewingSecurity');
    });

    it('should lock after too many wrong second-factor codes', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      await enrollTotp(host.world, owner.id);
      const requester = await nominated(host, handles(friends));
      for (const friend of friends) ok(await confirm(host, requester.flowId, friend));
      host.world.clock.advanceBy(DISPUTE);
      ok(await host.runtime.tick(requester.flowId));
      let last;
      for (let i = 0; i < host.world.policy.code.maxWrongPerCode; i++) last = ok(await requester.send({ type: 'secondFactor.submit', code: 'zzzzzz' }));
      expect(last?.view).toMatchObject({ state: 'locked', result: 'locked' });
    });

    it('should not skip a second factor enrolled during the wait', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const requester = await nominated(host, handles(friends));
      for (const friend of friends) ok(await confirm(host, requester.flowId, friend));
      await enrollTotp(host.world, owner.id);
      host.world.clock.advanceBy(DISPUTE);
      expect(ok(await host.runtime.tick(requester.flowId)).view.state).toBe('hardening.choosingPassword');
      expect(fail(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).code).toBe('second_factor_required');
      expect(host.world.directory.passwordChanges).toEqual([]);
    });

    it('should refuse the password when the account changed during the recovery', async () => {
      const host = testHost();
      const { owner, friends } = await seedFriends(host.world, 3);
      if (owner === undefined) throw new Error('no owner');
      const requester = await nominated(host, handles(friends));
      for (const friend of friends) ok(await confirm(host, requester.flowId, friend));
      host.world.directory.bumpEpoch(owner.id);
      host.world.clock.advanceBy(DISPUTE);
      ok(await host.runtime.tick(requester.flowId));
      expect(ok(await requester.send({ type: 'password.submit', password: NEW_PASSWORD })).view).toMatchObject({ state: 'refused', result: 'refused' });
      expect(host.world.directory.passwordChanges).toEqual([]);
    });

    it('should time out a flow left alone past its lifetime', async () => {
      const host = testHost();
      const requester = await startFriendAssist(host.runtime);
      ok(await requester.send({ type: 'account.submit', handle: OWNER_HANDLE }));
      host.world.clock.advanceBy(host.world.policy.flowMaxLifetimeMs);
      expect(ok(await host.runtime.tick(requester.flowId)).view).toMatchObject({ state: 'timedOut', result: 'timed_out' });
    });
  });
});
