/**
 * Friend-assisted recovery, step by step: the notices, budgets, audit entries and messages each
 * step asks for, and what the requester and each friend are told. The traces are kept in
 * snapshots; test/friendAssist.test.ts states the rules in words.
 */
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/domain/account.ts';
import { vouchKey, vouchRule } from '../../src/domain/friendAssist.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { seedAccount } from '../support/accounts.ts';
import { enrollTotp, NEW_PASSWORD, OWNER_HANDLE, seedFriends, sessionOf } from '../support/friends.ts';
import { deliveries, tracingHost, type TracingHost } from './trace.ts';

const begin = async (host: TracingHost, account = OWNER_HANDLE, nominees?: readonly string[]) => {
  const started = host.answer('start', await host.runtime.start('friendAssist', {}));
  if (started._tag === 'Left') throw new Error(started.left.message);
  const { flowId } = started.right;
  const token = started.right.view['requesterToken'] as string;
  const send = async (label: string, event: Record<string, unknown>) => host.answer(label, await host.runtime.send(flowId, { ...event, token }));
  const asFriend = async (label: string, friend: Account, type: 'friend.confirm' | 'friend.refuse') =>
    host.answer(label, await host.runtime.send(flowId, { type }, await sessionOf(host.world, friend.id)));
  const tickAt = async (label: string, at: number) => {
    host.world.clock.advanceTo(at);
    return host.answer(label, await host.runtime.tick(flowId));
  };
  await send('account', { type: 'account.submit', handle: account });
  if (nominees !== undefined) await send('nominate', { type: 'friends.nominate', handles: nominees });
  return { flowId, send, asFriend, tickAt };
};

const handles = (accounts: readonly Account[]): string[] => accounts.map((a) => a.handle);


describe('friend-assisted recovery traces', () => {
  it('should count three friends, wait out the dispute, ask for the second factor and harden the account', async () => {
    const host = tracingHost();
    const { owner, friends } = await seedFriends(host.world, 4);
    if (owner === undefined) throw new Error('no owner');
    const app = await enrollTotp(host.world, owner.id);
    const [a, b, c, d] = friends as [Account, Account, Account, Account];
    const flow = await begin(host, OWNER_HANDLE, handles([a, b, c]));
    host.world.clock.advanceBy(HOUR);
    await flow.asFriend('a confirms', a, 'friend.confirm');
    await flow.asFriend('a again', a, 'friend.confirm');
    await flow.asFriend('d not named', d, 'friend.confirm');
    await flow.send('replace c by d', { type: 'friends.replace', old: c.handle, new: d.handle });
    await flow.asFriend('c replaced', c, 'friend.confirm');
    await flow.asFriend('b confirms', b, 'friend.confirm');
    await flow.send('password too early', { type: 'password.submit', password: NEW_PASSWORD });
    await flow.asFriend('d confirms', d, 'friend.confirm');
    await flow.tickAt('dispute over', host.world.clock.now() + DAY);
    await flow.send('wrong second factor', { type: 'secondFactor.submit', code: app() === '000000' ? '111111' : '000000' });
    await flow.send('second factor', { type: 'secondFactor.submit', code: app() });
    await flow.send('password', { type: 'password.submit', password: NEW_PASSWORD });
    await flow.send('done', { type: 'security.done' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
    expect(host.world.budgets.spent(vouchKey(a.id))).toHaveLength(1);
  });

  it('should stop on a refusal, an owner stop, a cancel, a closed window and the end of its life', async () => {
    const host = tracingHost();
    const { owner, friends } = await seedFriends(host.world, 5);
    if (owner === undefined) throw new Error('no owner');
    const [a, b, c] = friends as [Account, Account, Account];
    const refused = await begin(host, OWNER_HANDLE, handles([a, b, c]));
    await refused.asFriend('a confirms', a, 'friend.confirm');
    await refused.asFriend('b refuses', b, 'friend.refuse');
    const stopped = await begin(host, OWNER_HANDLE, handles([a, b, c]));
    host.answer('owner stops', await host.runtime.send(stopped.flowId, { type: 'owner.stop' }, await sessionOf(host.world, owner.id)));
    const cancelled = await begin(host, OWNER_HANDLE, handles([a, b, c]));
    await cancelled.send('cancel', { type: 'flow.cancel' });
    const lapsed = await begin(host, OWNER_HANDLE);
    await lapsed.tickAt('lifetime', host.world.clock.now() + host.world.policy.flowMaxLifetimeMs);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should fail at the window end without a quorum, after a late confirmation and ineligible friends', async () => {
    const host = tracingHost();
    const { world } = host;
    const { owner, friends } = await seedFriends(world, 4);
    if (owner === undefined) throw new Error('no owner');
    const [a, b, voucher, recovered] = friends as [Account, Account, Account, Account];
    const stranger = await seedAccount(world, { handle: 'stranger_1', phone: '+8613700137000' });
    world.budgets.consumeNow(vouchKey(voucher.id), vouchRule(world.policy), world.clock.now() - 29 * DAY);
    await world.directory.resetPassword({ id: recovered.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: world.clock.now() + DAY, idempotencyKey: 'seed-recovered' });
    const flow = await begin(host, OWNER_HANDLE, ['stranger_1', a.handle, voucher.handle, recovered.handle, b.handle]);
    const t0 = world.clock.now();
    await flow.asFriend('stranger', stranger, 'friend.confirm');
    await flow.asFriend('voucher', voucher, 'friend.confirm');
    await flow.asFriend('recovered', recovered, 'friend.confirm');
    await flow.asFriend('a', a, 'friend.confirm');
    world.clock.advanceTo(t0 + world.policy.friends.windowMs);
    await flow.asFriend('b late', b, 'friend.confirm');
    await flow.send('replace late', { type: 'friends.replace', old: b.handle, new: 'friend_00' });
    await flow.tickAt('window over', t0 + world.policy.friends.windowMs);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should answer an unknown account like a known one, budget nominations and refuse bad nominations', async () => {
    const host = tracingHost();
    await seedFriends(host.world, 3);
    const unknown = await begin(host, 'nobody_here');
    await unknown.send('too few', { type: 'friends.nominate', handles: ['friend_00', 'friend_01'] });
    await unknown.send('twice the same', { type: 'friends.nominate', handles: ['friend_00', 'friend_00', 'friend_01'] });
    await unknown.send('nominate', { type: 'friends.nominate', handles: ['friend_00', 'friend_01', 'friend_02'] });
    const self = await begin(host, OWNER_HANDLE);
    await self.send('the account itself', { type: 'friends.nominate', handles: [OWNER_HANDLE, 'friend_00', 'friend_01'] });
    for (let i = 0; i < 3; i++) await begin(host, OWNER_HANDLE, ['friend_00', 'friend_01', 'friend_02']);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should hear a friend during the dispute wait, lock on wrong second factors, and refuse a recovery the account moved past', async () => {
    const host = tracingHost();
    const { owner, friends } = await seedFriends(host.world, 5);
    if (owner === undefined) throw new Error('no owner');
    const [a, b, c, d, e] = friends as [Account, Account, Account, Account, Account];
    const app = await enrollTotp(host.world, owner.id);
    const locked = await begin(host, OWNER_HANDLE, handles([a, b, c, d, e]));
    for (const [label, friend] of [['a', a], ['b', b], ['c', c]] as const) await locked.asFriend(`${label} confirms`, friend, 'friend.confirm');
    await locked.asFriend('d confirms in the wait', d, 'friend.confirm');
    await locked.tickAt('dispute over', host.world.clock.now() + DAY);
    for (let i = 0; i < 10; i++) await locked.send(`wrong factor ${i}`, { type: 'secondFactor.submit', code: app() === '000000' ? '111111' : '000000' });

    const refusedInWait = await begin(host, OWNER_HANDLE, handles([a, b, c, d, e]));
    for (const friend of [a, b, c]) await refusedInWait.asFriend('confirms', friend, 'friend.confirm');
    await refusedInWait.asFriend('e refuses (a, b and c vouched already)', e, 'friend.refuse');

    const moved = tracingHost();
    const scene = await seedFriends(moved.world, 3);
    if (scene.owner === undefined) throw new Error('no owner');
    const flow = await begin(moved, OWNER_HANDLE, handles(scene.friends));
    for (const friend of scene.friends) await flow.asFriend('confirms', friend, 'friend.confirm');
    await flow.tickAt('dispute over', moved.world.clock.now() + DAY);
    moved.world.directory.bumpEpoch(scene.owner.id);
    await flow.send('password after the account moved', { type: 'password.submit', password: NEW_PASSWORD });
    await flow.asFriend('refusal after the password', scene.friends[0] as Account, 'friend.refuse');
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
    expect(moved.trace()).toMatchSnapshot();
    expect(deliveries(moved)).toMatchSnapshot();
  });
});

