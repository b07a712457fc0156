/**
 * Whether an account may pay. Seed 002: payments and red envelopes need a verified real name;
 * after a recovery, sensitive actions wait until the account's hold ends.
 */
import type { Account } from './account.ts';
import { hasPassed, type Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export type PaymentsRefusal = 'real_name_required' | 'account_inactive' | 'recent_recovery_hold';

export type PaymentsDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: PaymentsRefusal; readonly retryAfterMs?: number };

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/**
 * The payments gate. Reasons come in the order the user can act on them: an inactive account
 * cannot do anything; during a recovery hold real-name verification waits too (the realName
 * flow refuses to start), so the hold is named before the missing verification; only then is
 * verification itself asked for. The hold ends exactly at `sensitiveHoldUntil`.
 *
 * @example
 * canMakePayments(account, clock.now());
 * // { allowed: false, reason: 'recent_recovery_hold', retryAfterMs: 3_600_000 }
 */
export const canMakePayments = (account: Account, now: Instant): PaymentsDecision => {
  if (account.status !== 'active') return { allowed: false, reason: 'account_inactive' };
  const hold = account.sensitiveHoldUntil;
  if (hold !== null && !hasPassed(hold, now)) return { allowed: false, reason: 'recent_recovery_hold', retryAfterMs: hold - now };
  if (account.realName !== 'verified') return { allowed: false, reason: 'real_name_required' };
  return { allowed: true };
};
