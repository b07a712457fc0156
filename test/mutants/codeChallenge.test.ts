/**
 * The shared code-challenge rules, one function at a time: every machine that sends a code leans
 * on them, so an exact answer here is checked once instead of through four machines' views.
 */
import { describe, expect, it } from 'vitest';
import { hmacCodeSecrets } from '../../src/adapters/codeSecrets.ts';
import { seededRandom } from '../../src/adapters/random.ts';
import { DEFAULT_POLICY } from '../../src/domain/policy.ts';
import type { CodeBinding } from '../../src/domain/verificationCode.ts';
import {
  type ChallengeContext,
  codeDelivery,
  codeExpiredAt,
  cooldownNotice,
  exhaustsFlow,
  issueNext,
  killCode,
  noticeFor,
  outcomeOf,
  resendAllowed,
  spentATry,
} from '../../machines/codeChallenge.ts';

const T0 = Date.UTC(2026, 0, 1);
const policy = DEFAULT_POLICY;
const secrets = hmacCodeSecrets(seededRandom(3).bytes(32));
const fresh: ChallengeContext = { flowId: 'f1', nonce: 'n1', code: null, resendAllowedAt: null, sends: 0, notice: null };
const unissued: CodeBinding = { flowId: 'f1', purpose: 'registration', epoch: 0, nonce: 'n1' };

describe('issueNext', () => {
  it('should count the send, start the cooldown and clear the notice', () => {
    const first = issueNext({ ...fresh, notice: { code: 'cooldown' } }, 'registration', 0, T0, policy);
    expect(first.sends).toBe(1);
    expect(first.resendAllowedAt).toBe(T0 + policy.sends.cooldownMs);
    expect(first.notice).toBeNull();
    expect(first.code).toMatchObject({ counter: 0, issuedAt: T0, expiresAt: T0 + policy.code.ttlMs, binding: unissued });
    const second = issueNext({ ...fresh, ...first }, 'registration', 0, T0 + 61_000, policy, 5_000);
    expect(second.sends).toBe(2);
    expect(second.code).toMatchObject({ counter: 1, expiresAt: T0 + 61_000 + 5_000 });
  });
});

describe('codeDelivery', () => {
  it('should name the current code by binding and counter, never by value', () => {
    const once = { ...fresh, ...issueNext(fresh, 'recovery.sms', 2, T0, policy) };
    const { code } = issueNext(once, 'recovery.sms', 2, T0 + 1, policy);
    const entry = codeDelivery({ channel: 'sms', to: '+8613800138000', code, unissued, template: 'registration.code', deliver: true });
    expect(entry).toEqual({
      channel: 'sms',
      to: '+8613800138000',
      binding: { flowId: 'f1', purpose: 'recovery.sms', epoch: 2, nonce: 'n1' },
      counter: 1,
      template: 'registration.code',
      budgetKeys: ['sends:phone:+8613800138000'],
      deliver: true,
    });
  });

  it('should fall back to the unissued binding and counter 0, and key e-mail budgets by address', () => {
    const entry = codeDelivery({ channel: 'email', to: 'a@example.com', code: null, unissued, template: 'recovery.link', deliver: false, withLink: true });
    expect(entry).toEqual({
      channel: 'email',
      to: 'a@example.com',
      binding: unissued,
      counter: 0,
      template: 'recovery.link',
      budgetKeys: ['sends:email:a@example.com'],
      deliver: false,
      withLink: true,
    });
    expect(codeDelivery({ channel: 'email', to: 'a@example.com', code: null, unissued, template: 'recovery.link', deliver: true, withLink: false })).not.toHaveProperty('withLink');
  });
});

describe('outcomeOf', () => {
  const issued = { ...fresh, ...issueNext(fresh, 'registration', 0, T0, policy) };
  const right = secrets.code(issued.code.binding, issued.code.counter, policy.code.digits);

  it('should read a missing code as expired', () => {
    expect(outcomeOf({ policy, secrets }, fresh, right, T0, { purpose: 'registration', epoch: 0 })).toEqual({ outcome: 'expired', next: null });
  });

  it('should check a typed code by default and a link token only when asked', () => {
    expect(outcomeOf({ policy, secrets }, issued, right, T0 + 1, { purpose: 'registration', epoch: 0 }).outcome).toBe('accepted');
    const token = secrets.linkToken(issued.code.binding, issued.code.counter);
    expect(outcomeOf({ policy, secrets }, issued, token, T0 + 1, { purpose: 'registration', epoch: 0 }, 'link').outcome).toBe('accepted');
    expect(outcomeOf({ policy, secrets }, issued, right, T0 + 1, { purpose: 'registration', epoch: 0 }, 'link').outcome).toBe('wrong');
  });

  it('should call a code of another purpose or epoch stale', () => {
    expect(outcomeOf({ policy, secrets }, issued, right, T0 + 1, { purpose: 'registration', epoch: 1 }).outcome).toBe('stale');
  });
});

describe('small rules', () => {
  it('should allow a resend before any send, and from the cooldown end on', () => {
    expect(resendAllowed(fresh, T0)).toBe(true);
    expect(resendAllowed({ ...fresh, resendAllowedAt: T0 + 10 }, T0 + 9)).toBe(false);
    expect(resendAllowed({ ...fresh, resendAllowedAt: T0 + 10 }, T0 + 10)).toBe(true);
  });

  it('should spend a try on a wrong or stale code only', () => {
    expect(spentATry('wrong')).toBe(true);
    expect(spentATry('stale')).toBe(true);
    for (const outcome of ['accepted', 'expired', 'used', 'exhausted', 'flow_exhausted'] as const) expect(spentATry(outcome)).toBe(false);
  });

  it('should quote the flow lock with its wait, and the other refusals without one', () => {
    expect(noticeFor('flow_exhausted', policy)).toEqual({ code: 'flow_locked', retryAfterMs: policy.code.flowLockMs });
    expect(noticeFor('wrong', policy)).toEqual({ code: 'code_invalid' });
    expect(noticeFor('stale', policy)).toEqual({ code: 'code_invalid' });
    expect(noticeFor('expired', policy)).toEqual({ code: 'code_expired' });
    expect(noticeFor('used', policy)).toEqual({ code: 'code_used' });
    expect(noticeFor('exhausted', policy)).toEqual({ code: 'code_attempts_exhausted' });
  });

  it('should call the flow exhausted exactly at the per-flow limit', () => {
    const code = issueNext(fresh, 'registration', 0, T0, policy).code;
    expect(exhaustsFlow(null, policy)).toBe(false);
    expect(exhaustsFlow({ ...code, wrongForFlow: policy.code.maxWrongPerFlow - 1 }, policy)).toBe(false);
    expect(exhaustsFlow({ ...code, wrongForFlow: policy.code.maxWrongPerFlow }, policy)).toBe(true);
  });

  it('should quote the real remaining cooldown, never a negative one', () => {
    expect(cooldownNotice({ ...fresh, resendAllowedAt: T0 + 40_000 }, T0)).toEqual({ code: 'cooldown', retryAfterMs: 40_000 });
    expect(cooldownNotice({ ...fresh, resendAllowedAt: T0 - 5 }, T0)).toEqual({ code: 'cooldown', retryAfterMs: 0 });
    expect(cooldownNotice(fresh, T0)).toEqual({ code: 'cooldown', retryAfterMs: 0 });
  });

  it('should see expiry only of an unused code, from its expiry instant on', () => {
    const code = issueNext(fresh, 'registration', 0, T0, policy).code;
    expect(codeExpiredAt(fresh, T0 + 10 ** 9)).toBe(false);
    expect(codeExpiredAt({ ...fresh, code }, code.expiresAt - 1)).toBe(false);
    expect(codeExpiredAt({ ...fresh, code }, code.expiresAt)).toBe(true);
    expect(codeExpiredAt({ ...fresh, code: { ...code, used: true } }, code.expiresAt)).toBe(false);
  });

  it('should end a code at once when it could not be delivered, never lengthen it', () => {
    const code = issueNext(fresh, 'registration', 0, T0, policy).code;
    expect(killCode(null, T0)).toBeNull();
    expect(killCode(code, T0 + 5)).toEqual({ ...code, expiresAt: T0 + 5 });
    expect(killCode(code, code.expiresAt + 5)).toEqual(code);
  });
});
