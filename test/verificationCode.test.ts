import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, makePolicy, type Policy } from '../src/domain/policy.ts';
import {
  checkCode,
  type CodeBinding,
  type CodeCheck,
  type CodeOutcome,
  CodePurpose,
  CodeState,
  codeToFlowError,
  deriveCode,
  deriveLinkToken,
  base64url,
  encodeFields,
  issueCode,
} from '../src/domain/verificationCode.ts';

const hostKey = new Uint8Array(32).map((_, i) => i + 1);
const otherKey = new Uint8Array(32).map((_, i) => 255 - i);
const binding: CodeBinding = { flowId: 'flow-1', purpose: 'registration', epoch: 0, nonce: 'bm9uY2UtMQ' };
const expected = { flowId: binding.flowId, purpose: binding.purpose, epoch: binding.epoch };
const T0 = 1_750_000_000_000;
const TTL = DEFAULT_POLICY.code.ttlMs;

const codeOf = (state: CodeState, key: Uint8Array = hostKey): string =>
  deriveCode(key, state.binding, state.counter, DEFAULT_POLICY.code.digits);

const check = (state: CodeState, submitted: string, now: number, extra: Partial<CodeCheck> = {}) =>
  checkCode(state, { hostKey, submitted, now, expected, policy: DEFAULT_POLICY, kind: 'code', ...extra });

/** Submits `n` codes that are certainly wrong for `state`, returning the final state. */
const wrongTimes = (state: CodeState, n: number, now: number): CodeState => {
  let s = state;
  for (let i = 0; i < n; i++) {
    const r = check(s, mangle(codeOf(s), i), now);
    expect(r.outcome).toBe('wrong');
    s = r.next;
  }
  return s;
};

/** A different code of the same shape: one digit moved on. */
const mangle = (code: string, position: number): string => {
  const i = position % code.length;
  return code.slice(0, i) + String((Number(code[i]) + 1) % 10) + code.slice(i + 1);
};

describe('deriveCode and deriveLinkToken', () => {
  it('should derive the same code for the same binding and counter, and digits only', () => {
    const a = deriveCode(hostKey, binding, 0, 6);
    expect(a).toMatch(/^[0-9]{6}$/);
    expect(deriveCode(hostKey, { ...binding }, 0, 6)).toBe(a);
    expect(deriveCode(hostKey, binding, 0, 8)).toMatch(/^[0-9]{8}$/);
  });

  it('should depend on the host key, every binding field and the counter', () => {
    const base = deriveLinkToken(hostKey, binding, 0);
    // Link tokens carry 128 bits, so unlike 6-digit codes they cannot collide by chance here.
    expect(deriveLinkToken(otherKey, binding, 0)).not.toBe(base);
    expect(deriveLinkToken(hostKey, { ...binding, flowId: 'flow-2' }, 0)).not.toBe(base);
    expect(deriveLinkToken(hostKey, { ...binding, purpose: 'recovery.email' }, 0)).not.toBe(base);
    expect(deriveLinkToken(hostKey, { ...binding, epoch: 1 }, 0)).not.toBe(base);
    expect(deriveLinkToken(hostKey, { ...binding, nonce: 'other' }, 0)).not.toBe(base);
    expect(deriveLinkToken(hostKey, binding, 1)).not.toBe(base);
  });

  it('should make a 128-bit base64url link token', () => {
    expect(deriveLinkToken(hostKey, binding, 0)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('should encode fields unambiguously', () => {
    expect(encodeFields(['ab', 'c'])).not.toEqual(encodeFields(['a', 'bc']));
    expect(encodeFields(['', 'x'])).not.toEqual(encodeFields(['x', '']));
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' })), fc.array(fc.string({ unit: 'grapheme' })), (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(Buffer.from(encodeFields(a)).equals(Buffer.from(encodeFields(b)))).toBe(false);
      }),
    );
  });

  it('should refuse a host key shorter than 128 bits', () => {
    expect(() => deriveCode(new Uint8Array(15), binding, 0, 6)).toThrow(RangeError);
    expect(() => deriveLinkToken(new Uint8Array(0), binding, 0)).toThrow(RangeError);
  });
});

describe('issueCode', () => {
  it('should start at counter 0 with a fresh expiry', () => {
    expect(issueCode(undefined, binding, T0, TTL)).toEqual({
      binding,
      counter: 0,
      issuedAt: T0,
      expiresAt: T0 + TTL,
      wrongForCode: 0,
      wrongForFlow: 0,
      used: false,
    });
  });

  it('should bump the counter, reset the per-code count and carry the per-flow count on resend', () => {
    const first = wrongTimes(issueCode(undefined, binding, T0, TTL), 3, T0);
    const resent = issueCode(first, binding, T0 + 60_000, TTL);
    expect(resent).toMatchObject({ counter: 1, issuedAt: T0 + 60_000, expiresAt: T0 + 60_000 + TTL, wrongForCode: 0, wrongForFlow: 3, used: false });
  });
});

describe('checkCode', () => {
  const fresh = (): CodeState => issueCode(undefined, binding, T0, TTL);

  it('should accept the right code one millisecond before expiry', () => {
    const s = fresh();
    expect(check(s, codeOf(s), s.expiresAt - 1).outcome).toBe('accepted');
  });

  it('should refuse the right code exactly at its expiry time', () => {
    const s = fresh();
    const r = check(s, codeOf(s), s.expiresAt);
    expect(r.outcome).toBe('expired');
    expect(r.next).toEqual(s);
  });

  it('should refuse the right code after 5 wrong ones as exhausted', () => {
    const s = wrongTimes(fresh(), 5, T0);
    expect(s.wrongForCode).toBe(5);
    const r = check(s, codeOf(s), T0);
    expect(r.outcome).toBe('exhausted');
    expect(r.next).toEqual(s);
  });

  it('should accept the right code after 4 wrong ones', () => {
    const s = wrongTimes(fresh(), 4, T0);
    expect(check(s, codeOf(s), T0).outcome).toBe('accepted');
  });

  it('should lock the flow after 10 wrong codes across resends', () => {
    let s = wrongTimes(fresh(), 5, T0);
    s = issueCode(s, binding, T0 + 60_000, TTL);
    s = wrongTimes(s, 5, T0 + 60_000);
    expect(s.wrongForFlow).toBe(10);
    s = issueCode(s, binding, T0 + 120_000, TTL);
    const r = check(s, codeOf(s), T0 + 120_000);
    expect(r.outcome).toBe('flow_exhausted');
    expect(r.next).toEqual(s);
  });

  it('should let a resend kill the old code', () => {
    const first = fresh();
    const oldCode = codeOf(first);
    const resent = issueCode(first, binding, T0 + 60_000, TTL);
    expect(oldCode).not.toBe(codeOf(resent)); // fixed keys: guards against a chance collision hiding the rule
    const r = check(resent, oldCode, T0 + 60_000);
    expect(r.outcome).toBe('wrong');
    expect(check(r.next, codeOf(resent), T0 + 60_000).outcome).toBe('accepted');
  });

  it.each([
    ['flow', { ...expected, flowId: 'flow-2' }],
    ['purpose', { ...expected, purpose: 'recovery.sms' as const }],
    ['epoch', { ...expected, epoch: 1 }],
  ])('should refuse the right code for another %s as stale, counting it wrong', (_, other) => {
    const s = fresh();
    const r = check(s, codeOf(s), T0, { expected: other });
    expect(r.outcome).toBe('stale');
    expect(r.next).toMatchObject({ wrongForCode: 1, wrongForFlow: 1, used: false });
  });

  it('should refuse a code used twice', () => {
    const s = fresh();
    const first = check(s, codeOf(s), T0);
    expect(first.outcome).toBe('accepted');
    expect(first.next.used).toBe(true);
    const second = check(first.next, codeOf(s), T0 + 1);
    expect(second.outcome).toBe('used');
    expect(second.next).toEqual(first.next);
  });

  it('should count malformed input as a plain wrong try', () => {
    const s = fresh();
    for (const garbage of ['', '12345', '1234567', 'abcdef', ` ${codeOf(s)}`, '１２３４５６', 'x'.repeat(10_000)]) {
      const r = check(s, garbage, T0);
      expect(r.outcome).toBe('wrong');
      expect(r.next.wrongForCode).toBe(1);
    }
  });

  it('should verify a link token only as a link, and a code only as a code', () => {
    const s = issueCode(undefined, { ...binding, purpose: 'recovery.email' }, T0, DEFAULT_POLICY.code.emailLinkTtlMs);
    const link = { expected: { ...expected, purpose: 'recovery.email' as const } };
    const token = deriveLinkToken(hostKey, s.binding, s.counter);
    expect(check(s, codeOf(s), T0, { ...link, kind: 'link' }).outcome).toBe('wrong');
    expect(check(s, token, T0, { ...link, kind: 'code' }).outcome).toBe('wrong');
    expect(check(s, token, T0, { ...link, kind: 'link' }).outcome).toBe('accepted');
  });

  it('should refuse a code derived with another host key', () => {
    const s = fresh();
    expect(codeOf(s, otherKey)).not.toBe(codeOf(s));
    expect(check(s, codeOf(s, otherKey), T0).outcome).toBe('wrong');
  });

  it('should never throw, even on a host key that cannot derive or hostile input', () => {
    const s = fresh();
    expect(check(s, codeOf(s), T0, { hostKey: new Uint8Array(3) }).outcome).toBe('wrong');
    fc.assert(
      fc.property(fc.anything(), fc.double(), (submitted, now) => {
        const r = check(s, submitted as string, now);
        expect(['wrong', 'expired']).toContain(r.outcome);
      }),
    );
  });
});

describe('codeToFlowError', () => {
  it('should map every refusal to a public error on field code', () => {
    const cases: [Exclude<CodeOutcome, 'accepted'>, string][] = [
      ['wrong', 'code_invalid'],
      ['stale', 'code_invalid'],
      ['expired', 'code_expired'],
      ['used', 'code_used'],
      ['exhausted', 'code_attempts_exhausted'],
      ['flow_exhausted', 'flow_locked'],
    ];
    for (const [outcome, code] of cases) {
      const e = codeToFlowError(outcome);
      expect(e).toMatchObject({ code, field: 'code', visibility: 'public' });
      expect(e.retryAfterMs).toBeUndefined();
    }
    expect(codeToFlowError('flow_exhausted', 3_600_000).retryAfterMs).toBe(3_600_000);
  });
});

describe('CodeState codec', () => {
  it('should decode an issued state and refuse a corrupt one', () => {
    const s = issueCode(undefined, binding, T0, TTL);
    expect(CodeState.decode(JSON.parse(JSON.stringify(s)))).toEqual(E.right(s));
    expect(E.isLeft(CodeState.decode({ ...s, counter: -1 }))).toBe(true);
    expect(E.isLeft(CodeState.decode({ ...s, binding: { ...binding, purpose: 'login' } }))).toBe(true);
    expect(E.isLeft(CodeState.decode({ ...s, wrongForFlow: 1.5 }))).toBe(true);
    expect(CodePurpose.is('binding.email')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// model-based property: arbitrary sessions of resends, submissions and clock jumps
// ---------------------------------------------------------------------------------------------

type Command =
  | { readonly kind: 'resend' }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'jumpToExpiry'; readonly delta: -1 | 0 | 1 }
  | { readonly kind: 'submitRight' }
  | { readonly kind: 'submitOld'; readonly back: number }
  | { readonly kind: 'submitWrong'; readonly position: number }
  | { readonly kind: 'submitGarbage'; readonly text: string }
  | { readonly kind: 'submitForeign'; readonly field: 'flowId' | 'purpose' | 'epoch' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.constant({ kind: 'resend' as const }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.nat({ max: 1_000 }), fc.nat({ max: 2 * TTL })) }),
  fc.record({ kind: fc.constant('jumpToExpiry' as const), delta: fc.constantFrom(-1 as const, 0 as const, 1 as const) }),
  { arbitrary: fc.constant({ kind: 'submitRight' as const }), weight: 3 },
  fc.record({ kind: fc.constant('submitOld' as const), back: fc.integer({ min: 1, max: 3 }) }),
  { arbitrary: fc.record({ kind: fc.constant('submitWrong' as const), position: fc.nat({ max: 9 }) }), weight: 3 },
  fc.record({
    kind: fc.constant('submitGarbage' as const),
    text: fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{0,8}$/), fc.stringMatching(/^[0-9a-z ]{6}$/)),
  }),
  fc.record({ kind: fc.constant('submitForeign' as const), field: fc.constantFrom('flowId' as const, 'purpose' as const, 'epoch' as const) }),
);

const policyArb: fc.Arbitrary<Policy> = fc
  .record({ perCode: fc.integer({ min: 1, max: 6 }), extra: fc.integer({ min: 0, max: 8 }), digits: fc.integer({ min: 6, max: 8 }) })
  .map(({ perCode, extra, digits }) => {
    const p = makePolicy({ code: { maxWrongPerCode: perCode, maxWrongPerFlow: perCode + extra, digits } });
    if (E.isLeft(p)) throw new Error(p.left.message);
    return p.right;
  });

/** Every leaf of a JSON value, as the strings they would print as. */
const leaves = (u: unknown): string[] =>
  u !== null && typeof u === 'object' ? Object.values(u).flatMap(leaves) : [String(u)];

describe('checkCode over arbitrary sessions', () => {
  it('should accept a code only once, in time, within the limits, for the current counter, and never store it', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.array(commandArb, { maxLength: 60, size: 'max' }),
        (policy, start, commands) => {
          const ttl = policy.code.ttlMs;
          const digits = policy.code.digits;
          const cache = new Map<number, readonly [code: string, link: string]>();
          const derived = (counter: number): readonly [string, string] => {
            const hit = cache.get(counter);
            if (hit !== undefined) return hit;
            const pair = [deriveCode(hostKey, binding, counter, digits), deriveLinkToken(hostKey, binding, counter)] as const;
            cache.set(counter, pair);
            return pair;
          };
          const derive = (counter: number): string => derived(counter)[0];
          let now = start;
          let state = issueCode(undefined, binding, now, ttl);
          const accepted = new Set<number>();

          const submit = (submitted: string, exp: CodeCheck['expected']): void => {
            const before = state;
            const { outcome, next } = checkCode(before, { hostKey, submitted, now, expected: exp, policy, kind: 'code' });
            const right = submitted === derive(before.counter);
            const sameBinding = exp.flowId === binding.flowId && exp.purpose === binding.purpose && exp.epoch === binding.epoch;

            // The rule table, written out once more as the oracle.
            const oracle: CodeOutcome = before.used
              ? 'used'
              : now >= before.expiresAt
                ? 'expired'
                : before.wrongForFlow >= policy.code.maxWrongPerFlow
                  ? 'flow_exhausted'
                  : before.wrongForCode >= policy.code.maxWrongPerCode
                    ? 'exhausted'
                    : !sameBinding
                      ? 'stale'
                      : right
                        ? 'accepted'
                        : 'wrong';
            expect(outcome).toBe(oracle);

            if (outcome === 'accepted') {
              expect(accepted.has(before.counter)).toBe(false);
              accepted.add(before.counter);
              expect(now).toBeLessThan(before.expiresAt);
              expect(before.wrongForCode).toBeLessThan(policy.code.maxWrongPerCode);
              expect(before.wrongForFlow).toBeLessThan(policy.code.maxWrongPerFlow);
              expect(right && sameBinding).toBe(true);
              expect(next).toEqual({ ...before, used: true });
            } else if (outcome === 'wrong' || outcome === 'stale') {
              expect(next).toEqual({ ...before, wrongForCode: before.wrongForCode + 1, wrongForFlow: before.wrongForFlow + 1 });
            } else {
              expect(next).toEqual(before);
            }
            expect(next.wrongForCode).toBeLessThanOrEqual(policy.code.maxWrongPerCode);
            expect(next.wrongForFlow).toBeLessThanOrEqual(policy.code.maxWrongPerFlow);
            state = next;
          };

          for (const cmd of commands) {
            switch (cmd.kind) {
              case 'resend': {
                const before = state;
                state = issueCode(before, binding, now, ttl);
                expect(state.counter).toBe(before.counter + 1);
                expect(state.wrongForFlow).toBe(before.wrongForFlow);
                break;
              }
              case 'advance':
                now += cmd.ms;
                break;
              case 'jumpToExpiry':
                now = Math.max(now, state.expiresAt + cmd.delta);
                break;
              case 'submitRight':
                submit(derive(state.counter), { ...binding });
                break;
              case 'submitOld': {
                if (state.counter < cmd.back) break;
                const old = derive(state.counter - cmd.back);
                const wasAccepted = state.used;
                submit(old, { ...binding });
                // An old counter's code verifies only if it happens to equal the current one.
                if (!wasAccepted && state.used) expect(old).toBe(derive(state.counter));
                break;
              }
              case 'submitWrong':
                submit(mangle(derive(state.counter), cmd.position), { ...binding });
                break;
              case 'submitGarbage':
                submit(cmd.text, { ...binding });
                break;
              case 'submitForeign': {
                const exp = {
                  flowId: cmd.field === 'flowId' ? 'flow-other' : binding.flowId,
                  purpose: cmd.field === 'purpose' ? ('recovery.sms' as const) : binding.purpose,
                  epoch: cmd.field === 'epoch' ? binding.epoch + 1 : binding.epoch,
                };
                const wasUsed = state.used;
                submit(derive(state.counter), exp);
                expect(state.used).toBe(wasUsed);
                break;
              }
            }

            // Secrets never rest in the state: no field is any code this flow has issued.
            const fields = leaves(state);
            for (let c = 0; c <= state.counter; c++) {
              for (const secret of derived(c)) expect(fields).not.toContain(secret);
            }
            expect(CodeState.decode(JSON.parse(JSON.stringify(state)))).toEqual(E.right(state));
          }
        },
      ),
    );
  });
});

describe('verification code edges', () => {
  const fresh = (): CodeState => issueCode(undefined, binding, T0, TTL);

  it('should read a NaN clock as expired', () => {
    const s = fresh();
    expect(check(s, codeOf(s), Number.NaN)).toEqual({ outcome: 'expired', next: s });
  });

  it('should accept only a string, not an object that reads like the code', () => {
    const s = fresh();
    // eslint-disable-next-line no-new-wrappers
    const boxed = new String(codeOf(s)) as unknown as string;
    expect(check(s, boxed, T0).outcome).toBe('wrong');
    const link = { ...s, binding: { ...binding, purpose: 'recovery.email' as const } };
    const token = deriveLinkToken(hostKey, link.binding, link.counter);
    const asLink = (submitted: string) =>
      checkCode(link, { hostKey, submitted, now: T0, expected: { ...expected, purpose: 'recovery.email' }, policy: DEFAULT_POLICY, kind: 'link' });
    expect(asLink(token).outcome).toBe('accepted');
    // eslint-disable-next-line no-new-wrappers
    expect(asLink(new String(token) as unknown as string).outcome).toBe('wrong');
  });

  it('should derive with a host key of exactly 128 bits and say why a shorter one is refused', () => {
    expect(deriveCode(new Uint8Array(16).fill(9), binding, 0, 6)).toMatch(/^[0-9]{6}$/);
    expect(() => deriveCode(new Uint8Array(15), binding, 0, 6)).toThrow(new RangeError('The host code key must be at least 16 bytes'));
  });

  it('should prefix each field with its UTF-8 length, four bytes big-endian', () => {
    expect([...encodeFields(['ab', '', 'é'])]).toEqual([0, 0, 0, 2, 97, 98, 0, 0, 0, 0, 0, 0, 0, 2, 0xc3, 0xa9]);
    expect([...encodeFields(['x'.repeat(258)]).subarray(0, 4)]).toEqual([0, 0, 1, 2]);
  });

  it('should give each refusal its exact public message', () => {
    expect(codeToFlowError('wrong').message).toBe('The code is not correct.');
    expect(codeToFlowError('stale').message).toBe('The code is not correct.');
    expect(codeToFlowError('expired').message).toBe('The code has expired; ask for a new one.');
    expect(codeToFlowError('used').message).toBe('The code has already been used.');
    expect(codeToFlowError('exhausted').message).toBe('Too many wrong tries for this code; ask for a new one.');
    expect(codeToFlowError('flow_exhausted')).toEqual({
      _tag: 'FlowError',
      code: 'flow_locked',
      visibility: 'public',
      message: 'Too many wrong tries; try again later.',
      field: 'code',
    });
    expect('retryAfterMs' in codeToFlowError('flow_exhausted')).toBe(false);
  });

  it('should check the numbers of a stored state', () => {
    const s = fresh();
    expect(CodeState.is(s)).toBe(true);
    expect(CodeState.is({ ...s, counter: 0, wrongForCode: 0 })).toBe(true);
    for (const bad of [-1, 1.5, '1', Number.NaN, 2 ** 53]) {
      expect(CodeState.is({ ...s, counter: bad }), `counter ${String(bad)}`).toBe(false);
      expect(CodeState.is({ ...s, binding: { ...binding, epoch: bad } }), `epoch ${String(bad)}`).toBe(false);
    }
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '5', null]) {
      expect(CodeState.is({ ...s, issuedAt: bad }), `issuedAt ${String(bad)}`).toBe(false);
      expect(E.isLeft(CodeState.decode({ ...s, expiresAt: bad })), `expiresAt ${String(bad)}`).toBe(true);
    }
    expect(CodeState.is({ ...s, issuedAt: -1.5 })).toBe(true);
    expect(CodeState.decode({ ...s, expiresAt: -1.5 })).toEqual(E.right({ ...s, expiresAt: -1.5 }));
  });
});

describe('base64url', () => {
  it('should match the RFC 4648 §10 vectors in the URL alphabet, without padding', () => {
    const vectors = ['', 'Zg', 'Zm8', 'Zm9v', 'Zm9vYg', 'Zm9vYmE', 'Zm9vYmFy'];
    vectors.forEach((encoded, i) => expect(base64url(new TextEncoder().encode('foobar'.slice(0, i)))).toBe(encoded));
    expect(base64url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    expect(base64url(new Uint8Array([0, 0, 1, 0xff]))).toBe('AAAB_w');
  });

  it('should agree with Node on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(base64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      }),
    );
  });
});
