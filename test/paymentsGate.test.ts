import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, AccountId, RealNameStatus } from '../src/domain/account.ts';
import type { Handle } from '../src/domain/handle.ts';
import { canMakePayments } from '../src/domain/paymentsGate.ts';
import { HOUR } from '../src/domain/time.ts';

const NOW = Date.UTC(2026, 0, 1);

const account = (overrides: Partial<Account> = {}): Account => ({
  id: 'acct-1' as AccountId,
  handle: 'alice_01' as Handle,
  phone: null,
  email: null,
  passwordHash: 'x',
  securityEpoch: 0,
  status: 'active',
  createdAt: 0,
  realName: 'verified',
  sensitiveHoldUntil: null,
  ...overrides,
});

describe('canMakePayments', () => {
  it('should allow an active, verified account with no hold', () => {
    expect(canMakePayments(account(), NOW)).toEqual({ allowed: true });
  });

  it.each<RealNameStatus>(['not_started', 'pending', 'rejected', 'expired'])('should ask for real-name verification when the status is %s', (realName) => {
    expect(canMakePayments(account({ realName }), NOW)).toEqual({ allowed: false, reason: 'real_name_required' });
  });

  it('should refuse a deactivated account before anything else', () => {
    expect(canMakePayments(account({ status: 'deactivated' }), NOW)).toEqual({ allowed: false, reason: 'account_inactive' });
    expect(canMakePayments(account({ status: 'deactivated', realName: 'not_started', sensitiveHoldUntil: NOW + HOUR }), NOW)).toEqual({ allowed: false, reason: 'account_inactive' });
  });

  it('should hold payments after a recovery until the hold ends, quoting the real wait', () => {
    const held = account({ sensitiveHoldUntil: NOW + HOUR });
    expect(canMakePayments(held, NOW)).toEqual({ allowed: false, reason: 'recent_recovery_hold', retryAfterMs: HOUR });
    expect(canMakePayments(held, NOW + HOUR - 1)).toEqual({ allowed: false, reason: 'recent_recovery_hold', retryAfterMs: 1 });
    expect(canMakePayments(held, NOW + HOUR)).toEqual({ allowed: true });
    expect(canMakePayments(account({ sensitiveHoldUntil: NOW - 1 }), NOW)).toEqual({ allowed: true });
  });

  it('should name the hold before a missing verification, since verification waits for the hold too', () => {
    expect(canMakePayments(account({ realName: 'not_started', sensitiveHoldUntil: NOW + 5 }), NOW)).toEqual({ allowed: false, reason: 'recent_recovery_hold', retryAfterMs: 5 });
    expect(canMakePayments(account({ realName: 'not_started', sensitiveHoldUntil: NOW + 5 }), NOW + 5)).toEqual({ allowed: false, reason: 'real_name_required' });
  });

  it('should allow exactly the active, verified accounts past their hold', () => {
    const arbitraryAccount = fc.record({
      status: fc.constantFrom<Account['status']>('active', 'deactivated'),
      realName: fc.constantFrom<RealNameStatus>('not_started', 'pending', 'verified', 'rejected', 'expired'),
      sensitiveHoldUntil: fc.option(fc.integer({ min: NOW - 2 * HOUR, max: NOW + 2 * HOUR }), { nil: null }),
    });
    fc.assert(
      fc.property(arbitraryAccount, fc.integer({ min: NOW - HOUR, max: NOW + HOUR }), (fields, now) => {
        const decision = canMakePayments(account(fields), now);
        const expected = fields.status === 'active' && fields.realName === 'verified' && (fields.sensitiveHoldUntil === null || now >= fields.sensitiveHoldUntil);
        expect(decision.allowed).toBe(expected);
        if (!decision.allowed && decision.retryAfterMs !== undefined) expect(decision.retryAfterMs).toBeGreaterThan(0);
      }),
    );
  });
});

describe('canMakePayments without a hold', () => {
  it('should not hold an account that has no hold, whatever the instant', () => {
    for (const now of [-1_000, 0, NOW]) expect(canMakePayments(account({ realName: 'verified', sensitiveHoldUntil: null }), now)).toEqual({ allowed: true });
  });
});
