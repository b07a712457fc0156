/**
 * An account as the flows see it. The directory port owns it; flows only ever hold an
 * account's id and the security epoch they were started under.
 */
import type { Email } from './email.ts';
import type { Handle } from './handle.ts';
import type { Phone } from './phone.ts';
import type { Instant } from './time.ts';

export type AccountId = string & { readonly AccountId: unique symbol };

export type RealNameStatus = 'not_started' | 'pending' | 'verified' | 'rejected' | 'expired';

export interface BoundChannel<T> {
  readonly value: T;
  /** When the holder last proved control of it by redeeming a code. */
  readonly verifiedAt: Instant;
}

export interface Friendship {
  readonly friendId: AccountId;
  readonly since: Instant;
}

export interface Account {
  readonly id: AccountId;
  readonly handle: Handle;
  readonly phone: BoundChannel<Phone> | null;
  readonly email: BoundChannel<Email> | null;
  readonly passwordHash: string;
  /**
   * Bumped atomically with every password change and recovery; every code, link, request and
   * session issued under an older epoch is refused.
   */
  readonly securityEpoch: number;
  readonly status: 'active' | 'deactivated';
  readonly createdAt: Instant;
  readonly realName: RealNameStatus;
  /** After a recovery, sensitive actions (channel changes, payments) wait until this instant. */
  readonly sensitiveHoldUntil: Instant | null;
}

/** The view of an account that may be shown to its owner after a challenge passed. */
export const isActive = (account: Account | undefined): account is Account => account?.status === 'active';
