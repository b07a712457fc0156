import { describe, expect, it } from 'vitest';
import { eligibility, type FriendFacts, friendBudgetRule, nominationKey, recoveringKey, vouchKey } from '../../src/domain/friendAssist.ts';
import { DEFAULT_POLICY } from '../../src/domain/policy.ts';
import { DAY } from '../../src/domain/time.ts';

const T0 = 100 * DAY;
const GOOD: FriendFacts = { isFriend: true, friendsSince: T0 - 31 * DAY, active: true, recentlyRecovered: false, underRecovery: false, vouchedRecently: false };

describe('eligibility, one rule at a time', () => {
  it('should let a good friend vouch', () => {
    expect(eligibility(GOOD, T0, DEFAULT_POLICY)).toBeNull();
  });

  it('should give the reason of the one rule that fails', () => {
    expect(eligibility({ ...GOOD, isFriend: false }, T0, DEFAULT_POLICY)).toBe('not_a_friend');
    expect(eligibility({ ...GOOD, friendsSince: null }, T0, DEFAULT_POLICY)).toBe('not_a_friend');
    expect(eligibility({ ...GOOD, active: false }, T0, DEFAULT_POLICY)).toBe('inactive');
    expect(eligibility({ ...GOOD, friendsSince: T0 - 30 * DAY + 1 }, T0, DEFAULT_POLICY)).toBe('friends_too_recently');
    expect(eligibility({ ...GOOD, friendsSince: T0 - 30 * DAY }, T0, DEFAULT_POLICY)).toBeNull();
    expect(eligibility({ ...GOOD, recentlyRecovered: true }, T0, DEFAULT_POLICY)).toBe('recently_recovered');
    expect(eligibility({ ...GOOD, underRecovery: true }, T0, DEFAULT_POLICY)).toBe('under_recovery');
    expect(eligibility({ ...GOOD, vouchedRecently: true }, T0, DEFAULT_POLICY)).toBe('vouched_recently');
  });
});

describe('friend budget keys and rules', () => {
  it('should key known accounts by id and unknown ones by the handle typed, apart from each other', () => {
    expect(nominationKey('acct-1', 'wang')).toBe('nominations:acct-1');
    expect(nominationKey(null, 'wang')).toBe('nominations:handle:wang');
    expect(recoveringKey('acct-1', 'wang')).toBe('recovering:acct-1');
    expect(recoveringKey(null, 'wang')).toBe('recovering:handle:wang');
    expect(vouchKey('acct-2')).toBe('vouches:acct-2');
  });

  it('should record recoveries without ever refusing, for the window plus the dispute wait', () => {
    expect(friendBudgetRule(DEFAULT_POLICY, 'friends.recovering')).toEqual({ windows: [{ limit: Number.MAX_SAFE_INTEGER, windowMs: 2 * DAY }], cooldownMs: 0 });
    expect(friendBudgetRule(DEFAULT_POLICY, 'friends.vouches')).toEqual({ windows: [{ limit: 1, windowMs: 30 * DAY }], cooldownMs: 0 });
    expect(friendBudgetRule(DEFAULT_POLICY, 'friends.nominations')).toBe(DEFAULT_POLICY.friends.nominations);
  });
});
