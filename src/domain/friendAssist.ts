/**
 * Friend-assisted recovery as data: who may vouch for an account, which confirmation counts,
 * and the shared budgets behind both.
 *
 * **Eligibility.** A friend may vouch for account A, at instant `at`, for a nomination made at
 * `t0`, only if every one of these holds (first failure wins, in this order):
 *
 * | # | rule                                                                  | reason              |
 * |---|-----------------------------------------------------------------------|---------------------|
 * | 1 | a friend of A in the directory (`friendsOf(A)`)                       | `not_a_friend`      |
 * | 2 | their own account is active                                           | `inactive`          |
 * | 3 | friends since at least `minFriendshipMs` before `t0`: `since + minFriendshipMs <= t0` | `friends_too_recently` |
 * | 4 | not recently recovered themselves: `sensitiveHoldUntil` is null or `<= at` | `recently_recovered` |
 * | 5 | not under friend-assisted recovery themselves: no nomination against their account within the last `windowMs + disputeWaitMs` | `under_recovery` |
 * | 6 | has not vouched (a counted confirmation, for anyone) within the last `vouchCooldownMs` | `vouched_recently` |
 *
 * The rule is judged twice: on the facts at nomination (a nominee who fails it then never
 * counts) and on fresh facts when the friend confirms (a friend deactivated, unfriended or
 * recovered meanwhile no longer counts).
 *
 * **The window** of a nomination made at `t0` is the half-open interval `[t0, t0 + windowMs)`:
 * a confirmation at `t0 + windowMs - 1` counts, one at `t0 + windowMs` is late. The boundary
 * belongs to the closed side, as every deadline in account-flows does (`hasPassed`).
 *
 * **Budgets** (atomic, behind the Budgets port, shared across flows): nominations per account
 * (`nominations:<accountId>`, `policy.friends.nominations`); a vouch mark per friend
 * (`vouches:<friendId>`, one per `vouchCooldownMs`, spent when a confirmation counts); and a
 * marker per account under friend-assisted recovery (`recovering:<accountId>`), which rule 5
 * reads.
 */
import * as t from 'io-ts';
import type { Policy, RateRule } from './policy.ts';
import { hasPassed, type Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** What the host's directory, sessions and budgets say about one would-be voucher, at one instant. */
export const FriendFacts = t.readonly(
  t.type({
    isFriend: t.boolean,
    /** When the friendship began; null when there is none. */
    friendsSince: t.union([t.number, t.null]),
    active: t.boolean,
    recentlyRecovered: t.boolean,
    underRecovery: t.boolean,
    vouchedRecently: t.boolean,
  }),
  'FriendFacts',
);
export type FriendFacts = t.TypeOf<typeof FriendFacts>;

/** The facts of someone who is nobody's friend: an unknown handle, or any nominee of an unknown account. */
export const NO_FRIEND: FriendFacts = { isFriend: false, friendsSince: null, active: false, recentlyRecovered: false, underRecovery: false, vouchedRecently: false };

export const Ineligibility = t.keyof(
  { not_a_friend: null, inactive: null, friends_too_recently: null, recently_recovered: null, under_recovery: null, vouched_recently: null },
  'Ineligibility',
);
export type Ineligibility = t.TypeOf<typeof Ineligibility>;

/**
 * What a friend is told about their own confirmation or refusal. The requester never sees it;
 * it goes to that friend's own reply and to the audit log.
 */
export const FriendOutcome = t.keyof(
  { counted: null, late: null, duplicate: null, not_nominated: null, not_eligible: null, refused: null },
  'FriendOutcome',
);
export type FriendOutcome = t.TypeOf<typeof FriendOutcome>;

/** Named rules of the budgets friend-assisted recovery spends; the executor resolves them against the policy. */
export type FriendBudgetRule = 'friends.nominations' | 'friends.vouches' | 'friends.recovering';

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/**
 * Why a friend may not vouch, or null when they may. Pure: the facts are looked up by the host.
 *
 * @example
 * eligibility({ ...facts, friendsSince: t0 - 31 * DAY }, t0, DEFAULT_POLICY); // null
 */
export const eligibility = (facts: FriendFacts, nominatedAt: Instant, policy: Policy): Ineligibility | null => {
  if (!facts.isFriend || facts.friendsSince === null) return 'not_a_friend';
  if (!facts.active) return 'inactive';
  if (facts.friendsSince + policy.friends.minFriendshipMs > nominatedAt) return 'friends_too_recently';
  if (facts.recentlyRecovered) return 'recently_recovered';
  if (facts.underRecovery) return 'under_recovery';
  if (facts.vouchedRecently) return 'vouched_recently';
  return null;
};

/** The exclusive end of the window of a nomination made at `nominatedAt`. */
export const windowEnd = (nominatedAt: Instant, policy: Policy): Instant => nominatedAt + policy.friends.windowMs;

/** Whether `at` is inside a window ending (exclusively) at `windowEndsAt`. */
export const insideWindow = (windowEndsAt: Instant, at: Instant): boolean => !hasPassed(windowEndsAt, at);

// ---------------------------------------------------------------------------------------------
// budgets
// ---------------------------------------------------------------------------------------------

/**
 * The nominations key. An unknown account spends a key of its own, named by the handle typed,
 * so the answer (allowed, or refused with a retry-after) looks the same either way.
 */
export const nominationKey = (accountId: string | null, handleKey: string): string =>
  accountId === null ? `nominations:handle:${handleKey}` : `nominations:${accountId}`;

export const vouchKey = (friendId: string): string => `vouches:${friendId}`;

export const recoveringKey = (accountId: string | null, handleKey: string): string =>
  accountId === null ? `recovering:handle:${handleKey}` : `recovering:${accountId}`;

/** How long a nomination marks its account as "under recovery": the window plus the dispute wait. */
const recoveringMs = (policy: Policy): number => policy.friends.windowMs + policy.friends.disputeWaitMs;

/**
 * The rule a budget is spent under. The recovering marker never refuses (it only records), and
 * `underRecoveryCheck` reads it: one mark inside the span is enough.
 */
export const friendBudgetRule = (policy: Policy, rule: FriendBudgetRule): RateRule => {
  switch (rule) {
    case 'friends.nominations':
      return policy.friends.nominations;
    case 'friends.vouches':
      return vouchRule(policy);
    case 'friends.recovering':
      return { windows: [{ limit: Number.MAX_SAFE_INTEGER, windowMs: recoveringMs(policy) }], cooldownMs: 0 };
  }
};

/** One vouch per cooldown: a peek that is refused means the friend vouched too recently. */
export const vouchRule = (policy: Policy): RateRule => ({ windows: [{ limit: 1, windowMs: policy.friends.vouchCooldownMs }], cooldownMs: 0 });

/** Peeked against `recoveringKey`: refused when the account was nominated for recovery within the span. */
export const underRecoveryCheck = (policy: Policy): RateRule => ({ windows: [{ limit: 1, windowMs: recoveringMs(policy) }], cooldownMs: 0 });
