import type { AccountId } from '../domain/account.ts';
import type { Instant } from '../domain/time.ts';
import type { TotpFactor } from '../domain/totp.ts';

export type SecondFactorCheck = 'ok' | 'wrong' | 'replayed' | 'not_enrolled';

/**
 * An account's enrolled second factors: a TOTP factor (whose secret is derived, never stored in
 * plain text) and backup codes (stored hashed, single use).
 */
export interface SecondFactors {
  status(accountId: AccountId): Promise<{ readonly totp: boolean; readonly backupCodesLeft: number }>;
  /**
   * Checks a TOTP code or a backup code and, when it is good, uses it up: the TOTP step is
   * remembered (a code used once is refused in its window) and a backup code is spent.
   */
  verify(accountId: AccountId, code: string, at: Instant, idempotencyKey: string): Promise<SecondFactorCheck>;
  enroll(
    accountId: AccountId,
    enrollment: { readonly factor: TotpFactor; readonly backupCodeHashes: readonly string[] },
    idempotencyKey: string,
  ): Promise<void>;
  /** Only manual review may call this (see machines/manualReview.ts). */
  reset(accountId: AccountId, idempotencyKey: string): Promise<void>;
}
