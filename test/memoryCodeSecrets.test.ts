import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacCodeSecrets } from '../src/adapters/codeSecrets.ts';
import { rememberingChecks } from '../src/adapters/memory/codeSecrets.ts';
import { seededRandom } from '../src/adapters/random.ts';
import { DEFAULT_POLICY } from '../src/domain/policy.ts';
import { type CodeBinding, type CodeState, issueCode } from '../src/domain/verificationCode.ts';
import type { CodeSecrets } from '../src/ports/codeSecrets.ts';

const T0 = Date.UTC(2026, 0, 1);
const binding: CodeBinding = { flowId: 'f1', purpose: 'recovery.sms', epoch: 0, nonce: 'n1' };
const expected = { flowId: 'f1', purpose: 'recovery.sms', epoch: 0 } as const;

/** The real adapter, counting the checks that reach it. */
const counted = (): { secrets: CodeSecrets; checks: () => number } => {
  const inner = hmacCodeSecrets(seededRandom(1).bytes(32));
  let checks = 0;
  return {
    secrets: {
      ...inner,
      check: (state, check) => {
        checks++;
        return inner.check(state, check);
      },
    },
    checks: () => checks,
  };
};

describe('rememberingChecks', () => {
  it('should answer a repeated check of the same state from memory, with the same answer', () => {
    const { secrets, checks } = counted();
    const remembering = rememberingChecks(secrets);
    const state = issueCode(undefined, binding, T0, DEFAULT_POLICY.code.ttlMs);
    const code = secrets.code(binding, 0, 6);
    const ask = { submitted: code, now: T0 + 1, expected, policy: DEFAULT_POLICY, kind: 'code' as const };
    const first = remembering.check(state, ask);
    expect(first.outcome).toBe('accepted');
    for (let i = 0; i < 4; i++) expect(remembering.check(state, { ...ask })).toBe(first);
    expect(checks()).toBe(1);
  });

  it('should check afresh when anything asked or anything in the state differs, even a state changed in place', () => {
    const { secrets, checks } = counted();
    const remembering = rememberingChecks(secrets);
    const state = issueCode(undefined, binding, T0, DEFAULT_POLICY.code.ttlMs) as { -readonly [K in keyof CodeState]: CodeState[K] };
    const ask = { submitted: '000000', now: T0 + 1, expected, policy: DEFAULT_POLICY, kind: 'code' as const };
    remembering.check(state, ask);
    remembering.check(state, { ...ask, submitted: '000001' });
    remembering.check(state, { ...ask, now: T0 + 2 });
    remembering.check(state, { ...ask, expected: { ...expected, epoch: 1 } });
    remembering.check(state, { ...ask, kind: 'link' });
    state.wrongForCode = 4;
    remembering.check(state, { ...ask, kind: 'link' });
    expect(checks()).toBe(6);
  });

  it('should answer every check as the adapter it wraps does', () => {
    const { secrets } = counted();
    const remembering = rememberingChecks(secrets);
    const right = secrets.code(binding, 0, 6);
    fc.assert(
      fc.property(
        fc.record({ wrongForCode: fc.nat(6), wrongForFlow: fc.nat(11), used: fc.boolean(), late: fc.integer({ min: -2, max: 2 }), typed: fc.oneof(fc.constant(right), fc.stringMatching(/^\d{6}$/)) }),
        ({ wrongForCode, wrongForFlow, used, late, typed }) => {
          const state = { ...issueCode(undefined, binding, T0, DEFAULT_POLICY.code.ttlMs), wrongForCode, wrongForFlow: Math.max(wrongForCode, wrongForFlow), used };
          const ask = { submitted: typed, now: state.expiresAt + late, expected, policy: DEFAULT_POLICY, kind: 'code' as const };
          const direct = secrets.check(state, ask);
          expect(remembering.check(state, ask)).toEqual(direct);
          expect(remembering.check(state, ask)).toEqual(direct);
        },
      ),
    );
  });
});
