import type { Account, AccountId, Friendship, RealNameStatus } from '../domain/account.ts';
import type { Email } from '../domain/email.ts';
import type { Handle } from '../domain/handle.ts';
import type { Phone } from '../domain/phone.ts';
import type { Instant } from '../domain/time.ts';

export type CreateAccountResult =
  | { readonly ok: true; readonly account: Account }
  | { readonly ok: false; readonly conflict: 'phone_taken' | 'handle_taken' };

export type EpochGuardedResult =
  | { readonly ok: true; readonly account: Account }
  | { readonly ok: false; readonly reason: 'stale_epoch' | 'not_found' | 'deactivated' };

/**
 * Accounts, their bound channels and friends. Every write that needs uniqueness or an
 * epoch check is one atomic operation here, so two flows can never both win.
 */
export interface AccountDirectory {
  get(id: AccountId): Promise<Account | undefined>;
  findByPhone(phone: Phone): Promise<Account | undefined>;
  findByEmail(email: Email): Promise<Account | undefined>;
  isHandleTaken(handle: Handle): Promise<boolean>;
  /** The account whose handle this is, ignoring case. */
  findByHandle(handle: Handle): Promise<Account | undefined>;
  /** Creates the account only if neither the phone nor the handle (ignoring case) is taken. */
  create(input: {
    readonly phone: Phone;
    readonly handle: Handle;
    readonly passwordHash: string;
    readonly at: Instant;
    readonly idempotencyKey: string;
  }): Promise<CreateAccountResult>;
  /**
   * Sets a new password hash and bumps the security epoch in one step, only if the account is
   * still at `expectedEpoch` and active.
   */
  resetPassword(input: {
    readonly id: AccountId;
    readonly expectedEpoch: number;
    readonly passwordHash: string;
    readonly holdSensitiveUntil: Instant | null;
    readonly idempotencyKey: string;
  }): Promise<EpochGuardedResult>;
  bindChannel(input: {
    readonly id: AccountId;
    readonly expectedEpoch: number;
    readonly channel: { readonly kind: 'phone'; readonly value: Phone } | { readonly kind: 'email'; readonly value: Email };
    readonly at: Instant;
    readonly idempotencyKey: string;
  }): Promise<EpochGuardedResult | { readonly ok: false; readonly reason: 'channel_taken' }>;
  setRealName(id: AccountId, status: RealNameStatus, idempotencyKey: string): Promise<void>;
  friendsOf(id: AccountId): Promise<readonly Friendship[]>;
}
