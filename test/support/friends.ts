import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import type { MemoryWorld } from '../../src/adapters/memory/index.ts';
import type { Account, AccountId } from '../../src/domain/account.ts';
import { totpAt } from '../../src/domain/hotp.ts';
import { DAY } from '../../src/domain/time.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../../src/domain/totp.ts';
import type { FlowRuntime, HostSession, StepResult } from '../../src/runtime/runtime.ts';
import { seedAccount } from './accounts.ts';

export const OWNER_HANDLE = 'wang_xiaoming';
export const OWNER_PHONE = '+8613800138000';
export const OWNER_EMAIL = 'wang@example.com';
export const NEW_PASSWORD = 'a brand new long passphrase';

/** An account to recover and `count` friends of it, friends for 60 days (`friend_00`, `friend_01`, …). */
export const seedFriends = async (world: MemoryWorld, count: number, options: { readonly owner?: boolean } = {}) => {
  const owner = options.owner === false ? undefined : await seedAccount(world, { handle: OWNER_HANDLE, phone: OWNER_PHONE, email: OWNER_EMAIL });
  const friends: Account[] = [];
  for (let i = 0; i < count; i++) friends.push(await seedAccount(world, { handle: `friend_${String(i).padStart(2, '0')}`, phone: `+86139${String(i).padStart(8, '0')}` }));
  if (owner !== undefined) for (const friend of friends) world.directory.befriend(owner.id, friend.id, world.clock.now() - 60 * DAY);
  return { owner, friends };
};

/** A signed-in session of the account at its current epoch, as the host's login would make. */
export const sessionOf = async (world: MemoryWorld, id: AccountId): Promise<HostSession> => {
  const account = await world.directory.get(id);
  const session = world.sessions.signIn(id, account?.securityEpoch ?? 0, world.clock.now());
  return { actor: id, sessionId: session.id };
};

export interface Requester {
  readonly flowId: string;
  readonly token: string;
  send(event: Record<string, unknown>): Promise<StepResult>;
}

/** Starts a flow as an anonymous requester, who holds the token the start reply showed once. */
export const startFriendAssist = async (runtime: FlowRuntime): Promise<Requester> => {
  const started = await runtime.start('friendAssist', {});
  if (E.isLeft(started)) throw new Error(started.left.message);
  const flowId = started.right.flowId;
  const token = started.right.view['requesterToken'] as string;
  return { flowId, token, send: (event) => runtime.send(flowId, { ...event, token }) };
};

/** Enrolls a TOTP factor in the port; returns the authenticator app. */
export const enrollTotp = async (world: MemoryWorld, accountId: AccountId): Promise<() => string> => {
  const secretRef = `test/${accountId}`;
  const secret = world.secondFactors.secretFor(secretRef);
  const at = world.clock.now() - 120_000;
  const factor = confirmTotpEnrollment(startTotpEnrollment(secretRef, at, world.policy.totp), secret, totpAt(secret, at), at, 1);
  if (O.isNone(factor)) throw new Error('could not enroll');
  await world.secondFactors.enroll(accountId, { factor: factor.value, backupCodeHashes: [] }, `enroll-${accountId}`);
  return () => totpAt(secret, world.clock.now());
};
