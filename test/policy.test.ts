import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { FlowError } from '../src/domain/errors.ts';
import { DEFAULT_POLICY, makePolicy, type Policy, POLICY_SOURCES, type PolicyOverrides, type RateRule } from '../src/domain/policy.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../src/domain/time.ts';

const right = (result: E.Either<FlowError, Policy>): Policy => {
  if (E.isLeft(result)) return expect.fail(`expected a policy, got ${result.left.message}`);
  return result.right;
};

const left = (result: E.Either<FlowError, Policy>): FlowError => {
  if (E.isRight(result)) return expect.fail('expected the overrides to be refused');
  return result.left;
};

/** Overrides as a host might read them from a config file: no help from the type checker. */
const untyped = (u: unknown): PolicyOverrides => u as PolicyOverrides;

const refusedAt = (overrides: unknown): string | undefined => {
  const error = left(makePolicy(untyped(overrides)));
  expect(error.code).toBe('policy_invalid');
  expect(error.visibility).toBe('internal');
  expect(error.message).toContain(error.field);
  return error.field;
};

// ---------------------------------------------------------------------------------------------
// paths into the policy
// ---------------------------------------------------------------------------------------------

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/** Every dotted path of the default policy: objects, and leaves (lists count as leaves). */
const pathsOf = (value: unknown, prefix = ''): { readonly path: string; readonly value: unknown }[] => {
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [{ path, value: child }, ...pathsOf(child, path)];
  });
};

const ALL_PATHS = pathsOf(DEFAULT_POLICY);
const LEAF_PATHS = ALL_PATHS.filter((p) => !isRecord(p.value));

/** The value at a dotted path; numeric segments index lists. */
const at = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), value);

/** Whether a field an error names is a place in the policy (list items may be new indices). */
const namesPolicyPlace = (field: string): boolean => {
  let node: unknown = DEFAULT_POLICY;
  for (const key of field.split('.')) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(key)) return false;
      node = node[0];
    } else if (isRecord(node) && Object.hasOwn(node, key)) {
      node = node[key];
    } else {
      return false;
    }
  }
  return true;
};

const setPath = (target: Record<string, unknown>, path: string, value: unknown): void => {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (!isRecord(next)) return; // a number already sits above this path
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
};

// ---------------------------------------------------------------------------------------------
// an independent statement of what a coherent policy is
// ---------------------------------------------------------------------------------------------

const isNat = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isPositive = (n: unknown): boolean => isNat(n) && (n as number) > 0;

const coherentRule = (rule: RateRule): boolean =>
  rule.windows.length > 0 &&
  rule.windows.every((w) => isPositive(w.limit) && isPositive(w.windowMs) && (rule.cooldownMs < w.windowMs || w.limit === 1)) &&
  isNat(rule.cooldownMs);

const coherenceProblems = (p: Policy): string[] => {
  const problems: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  // Every number in the policy is a non-negative safe integer.
  for (const { path, value } of ALL_PATHS) {
    if (typeof value === 'number') need(isNat(at(p, path)), `${path} is a non-negative integer`);
  }
  need(p.code.digits >= 6 && p.code.digits <= 10, 'code digits 6..10');
  need(p.code.ttlMs > 0 && p.code.emailLinkTtlMs > 0 && p.code.flowLockMs > 0, 'code times positive');
  need(p.code.maxWrongPerCode > 0 && p.code.maxWrongPerFlow >= p.code.maxWrongPerCode, 'wrong tries');
  need(coherentRule(p.sends) && p.sends.cooldownMs < p.code.ttlMs, 'sends rule');
  need(coherentRule(p.accountFailures) && coherentRule(p.handle.checks) && coherentRule(p.friends.nominations), 'other rules');
  need(p.password.minLength >= 8 && p.password.maxLength >= Math.max(64, p.password.minLength), 'password lengths');
  need(p.handle.minLength > 0 && p.handle.maxLength >= p.handle.minLength, 'handle lengths');
  need(p.phone.allowedRegions.length > 0 && p.phone.allowedRegions.every((r) => /^[A-Z]{2}$/.test(r)), 'regions');
  need(typeof p.phone.mobileOnly === 'boolean', 'mobileOnly');
  need(p.friends.required > 0 && p.friends.minNominated >= p.friends.required && p.friends.maxNominated >= p.friends.minNominated, 'friends counts');
  need(p.friends.windowMs > 0 && p.friends.disputeWaitMs > 0, 'friends times');
  need(p.totp.digits === 6 || p.totp.digits === 8, 'totp digits');
  need(p.totp.skewSteps <= 2 && p.totp.periodSeconds > 0, 'totp step');
  need(
    p.flowMaxLifetimeMs >= p.friends.windowMs + p.friends.disputeWaitMs &&
      p.flowMaxLifetimeMs >= p.review.agentActionMs + p.review.disputeWindowMs &&
      p.flowMaxLifetimeMs >= p.code.emailLinkTtlMs,
    'flow lifetime',
  );
  return problems;
};

// ---------------------------------------------------------------------------------------------
// defaults
// ---------------------------------------------------------------------------------------------

describe('makePolicy defaults', () => {
  it('should give DEFAULT_POLICY without overrides', () => {
    expect(right(makePolicy())).toEqual(DEFAULT_POLICY);
    expect(right(makePolicy({}))).toEqual(DEFAULT_POLICY);
  });

  it('should find the default policy coherent', () => {
    expect(coherenceProblems(DEFAULT_POLICY)).toEqual([]);
  });

  it('should default to the documented numbers', () => {
    const p = DEFAULT_POLICY;
    expect(p.code.digits).toBe(6);
    expect(p.code.ttlMs).toBe(10 * MINUTE);
    expect(p.code.emailLinkTtlMs).toBe(60 * MINUTE);
    expect(p.sends.cooldownMs).toBe(60 * SECOND);
    expect(p.sends.windows).toEqual([
      { limit: 5, windowMs: HOUR },
      { limit: 10, windowMs: DAY },
    ]);
    expect(p.code.maxWrongPerCode).toBe(5);
    expect(p.code.maxWrongPerFlow).toBe(10);
    expect(p.accountFailures.windows).toEqual([{ limit: 100, windowMs: HOUR }]);
    expect(p.password.minLength).toBe(8);
    expect(p.password.maxLength).toBe(128);
    expect(p.handle.minLength).toBe(6);
    expect(p.handle.maxLength).toBe(20);
    expect(p.phone.allowedRegions).toEqual(['CN', 'HK']);
    expect(p.friends.required).toBe(3);
    expect(p.friends.minNominated).toBe(3);
    expect(p.friends.maxNominated).toBe(5);
    expect(p.friends.windowMs).toBe(24 * HOUR);
    expect(p.friends.disputeWaitMs).toBe(24 * HOUR);
    expect(p.review.disputeWindowMs).toBe(24 * HOUR);
  });

  it('should name a real policy path with every key of POLICY_SOURCES', () => {
    const known = new Set(ALL_PATHS.map((p) => p.path));
    const unknown = Object.keys(POLICY_SOURCES).filter((key) => !known.has(key));
    expect(unknown).toEqual([]);
    for (const source of Object.values(POLICY_SOURCES)) expect(source.trim()).not.toBe('');
  });

  it('should give a source for every top-level part of the policy', () => {
    const covered = (key: string): boolean => Object.keys(POLICY_SOURCES).some((s) => s === key || s.startsWith(`${key}.`));
    expect(Object.keys(DEFAULT_POLICY).filter((key) => !covered(key))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// overrides
// ---------------------------------------------------------------------------------------------

describe('makePolicy overrides', () => {
  it('should merge a nested override and keep every other default', () => {
    const p = right(makePolicy({ code: { ttlMs: 5 * MINUTE } }));
    expect(p.code).toEqual({ ...DEFAULT_POLICY.code, ttlMs: 5 * MINUTE });
    expect({ ...p, code: DEFAULT_POLICY.code }).toEqual(DEFAULT_POLICY);
  });

  it('should keep the windows of a rule when only its cooldown is overridden', () => {
    const p = right(makePolicy({ sends: { cooldownMs: 2 * MINUTE } }));
    expect(p.sends).toEqual({ windows: DEFAULT_POLICY.sends.windows, cooldownMs: 2 * MINUTE });
  });

  it('should replace a list whole', () => {
    const p = right(makePolicy({ sends: { windows: [{ limit: 3, windowMs: HOUR }] }, phone: { allowedRegions: ['HK'] } }));
    expect(p.sends.windows).toEqual([{ limit: 3, windowMs: HOUR }]);
    expect(p.phone.allowedRegions).toEqual(['HK']);
  });

  it('should merge overrides at several depths at once', () => {
    const p = right(makePolicy({ friends: { required: 2, nominations: { cooldownMs: 1 } }, totp: { digits: 8 } }));
    expect(p.friends.required).toBe(2);
    expect(p.friends.nominations).toEqual({ ...DEFAULT_POLICY.friends.nominations, cooldownMs: 1 });
    expect(p.friends.minNominated).toBe(DEFAULT_POLICY.friends.minNominated);
    expect(p.totp).toEqual({ ...DEFAULT_POLICY.totp, digits: 8 });
  });

  it('should leave DEFAULT_POLICY untouched', () => {
    const before = JSON.stringify(DEFAULT_POLICY);
    right(makePolicy({ code: { ttlMs: MINUTE * 5 }, sends: { windows: [{ limit: 1, windowMs: HOUR }] } }));
    left(makePolicy({ code: { ttlMs: -1 } }));
    expect(JSON.stringify(DEFAULT_POLICY)).toBe(before);
  });
});

describe('makePolicy refusals', () => {
  it('should refuse a negative TTL', () => {
    expect(refusedAt({ code: { ttlMs: -1 } })).toBe('code.ttlMs');
  });

  it('should refuse a zero-length window', () => {
    expect(refusedAt({ sends: { windows: [{ limit: 5, windowMs: 0 }] } })).toBe('sends.windows.0.windowMs');
    expect(refusedAt({ accountFailures: { windows: [{ limit: 0, windowMs: HOUR }] } })).toBe('accountFailures.windows.0.limit');
  });

  it('should refuse a rule with no window', () => {
    expect(refusedAt({ sends: { windows: [] } })).toBe('sends.windows');
  });

  it('should refuse a send cooldown as long as the code lifetime, or longer', () => {
    expect(refusedAt({ sends: { cooldownMs: 10 * MINUTE } })).toBe('sends.cooldownMs');
    expect(refusedAt({ code: { ttlMs: 60 * SECOND } })).toBe('sends.cooldownMs');
    expect(right(makePolicy({ sends: { cooldownMs: 10 * MINUTE - 1 } })).sends.cooldownMs).toBe(10 * MINUTE - 1);
  });

  it('should refuse a cooldown that keeps a window from ever filling', () => {
    expect(refusedAt({ handle: { checks: { cooldownMs: 10 * MINUTE } } })).toBe('handle.checks.cooldownMs');
  });

  it('should refuse an unknown field, naming it', () => {
    expect(refusedAt({ code: { bogus: 1 } })).toBe('code.bogus');
    expect(refusedAt({ bogus: {} })).toBe('bogus');
  });

  it('should refuse inherited names as unknown fields', () => {
    const error = left(makePolicy(untyped({ code: { toString: 5 } })));
    expect(error.field).toBe('code.toString');
    expect(error.message).toContain('is not a policy field');
    expect(refusedAt({ code: { constructor: 1 } })).toBe('code.constructor');
    expect(refusedAt(JSON.parse('{"__proto__": {}}'))).toBe('__proto__');
    expect(refusedAt(JSON.parse('{"code": {"__proto__": {"ttlMs": 1}}}'))).toBe('code.__proto__');
  });

  it('should refuse a value of the wrong type', () => {
    expect(refusedAt({ code: { ttlMs: '600000' } })).toBe('code.ttlMs');
    expect(refusedAt({ code: { ttlMs: null } })).toBe('code.ttlMs');
    expect(refusedAt({ phone: { mobileOnly: 'yes' } })).toBe('phone.mobileOnly');
    expect(refusedAt({ code: 5 })).toBe('code');
    expect(refusedAt({ code: [] })).toBe('code');
    expect(refusedAt({ sends: { windows: 5 } })).toBe('sends.windows');
    expect(refusedAt({ phone: { allowedRegions: 'CN' } })).toBe('phone.allowedRegions');
  });

  it('should refuse malformed list items without throwing', () => {
    expect(refusedAt({ sends: { windows: [null] } })).toBe('sends.windows.0');
    expect(refusedAt({ sends: { windows: [{ limit: 5, windowMs: HOUR }, 7] } })).toBe('sends.windows.1');
    expect(refusedAt({ sends: { windows: [{ limit: 5 }] } })).toBe('sends.windows.0.windowMs');
    expect(refusedAt({ sends: { windows: [{ limit: '5', windowMs: HOUR }] } })).toBe('sends.windows.0.limit');
    expect(refusedAt({ sends: { windows: [{ limit: 5, windowMs: HOUR, burst: 2 }] } })).toBe('sends.windows.0.burst');
    expect(refusedAt({ phone: { allowedRegions: ['CN', 86] } })).toBe('phone.allowedRegions.1');
    // A hole in a list is a missing item, not the default.
    // eslint-disable-next-line no-sparse-arrays
    expect(refusedAt({ phone: { allowedRegions: [, 'HK'] } })).toBe('phone.allowedRegions.0');
  });

  it('should refuse friends.required above friends.minNominated', () => {
    const error = left(makePolicy({ friends: { required: 4 } }));
    expect(error.field).toBe('friends.minNominated');
    expect(error.message).toContain('friends.required');
    expect(right(makePolicy({ friends: { required: 4, minNominated: 4 } })).friends.required).toBe(4);
  });

  it('should refuse a minimum password length below 8', () => {
    expect(refusedAt({ password: { minLength: 7 } })).toBe('password.minLength');
    expect(right(makePolicy({ password: { minLength: 15 } })).password.minLength).toBe(15);
  });

  it('should refuse fewer wrong tries per flow than per code', () => {
    expect(refusedAt({ code: { maxWrongPerFlow: 4 } })).toBe('code.maxWrongPerFlow');
    expect(right(makePolicy({ code: { maxWrongPerFlow: 5 } })).code.maxWrongPerFlow).toBe(5);
  });

  it('should refuse a region that is not an ISO 3166 alpha-2 region with phone numbers', () => {
    expect(refusedAt({ phone: { allowedRegions: ['cn'] } })).toBe('phone.allowedRegions');
    expect(refusedAt({ phone: { allowedRegions: ['China'] } })).toBe('phone.allowedRegions');
    expect(refusedAt({ phone: { allowedRegions: ['+86'] } })).toBe('phone.allowedRegions');
    expect(refusedAt({ phone: { allowedRegions: ['XX'] } })).toBe('phone.allowedRegions');
    expect(refusedAt({ phone: { allowedRegions: [] } })).toBe('phone.allowedRegions');
    expect(right(makePolicy({ phone: { allowedRegions: ['CN', 'HK', 'MO', 'TW'] } })).phone.allowedRegions).toHaveLength(4);
  });

  it('should refuse non-integer and non-finite numbers', () => {
    expect(refusedAt({ code: { ttlMs: 1.5 } })).toBe('code.ttlMs');
    expect(refusedAt({ code: { ttlMs: Number.NaN } })).toBe('code.ttlMs');
    expect(refusedAt({ code: { ttlMs: Number.POSITIVE_INFINITY } })).toBe('code.ttlMs');
    expect(refusedAt({ code: { digits: 5 } })).toBe('code.digits');
    expect(refusedAt({ totp: { digits: 7 } })).toBe('totp.digits');
  });

  it('should refuse a flow lifetime shorter than the longest path', () => {
    expect(refusedAt({ flowMaxLifetimeMs: DAY })).toBe('flowMaxLifetimeMs');
  });
});

// ---------------------------------------------------------------------------------------------
// property: arbitrary overrides never throw and give a coherent policy or a named refusal
// ---------------------------------------------------------------------------------------------

const numberArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.integer({ min: -DAY, max: 60 * DAY }),
  fc.constantFrom(0, -0, 1, 8, 64, MINUTE, HOUR, DAY, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1),
  fc.double(),
);

/** A value for a path: mostly a number, sometimes a list or a boolean where the default has one. */
const valueFor = (defaultValue: unknown): fc.Arbitrary<unknown> => {
  if (Array.isArray(defaultValue)) {
    // Lists also get malformed items, as a hand-written config file might hold.
    const item = isRecord(defaultValue[0])
      ? fc.oneof(
          { arbitrary: fc.record({ limit: numberArb, windowMs: numberArb }), weight: 4 },
          fc.record({ limit: numberArb, windowMs: numberArb }, { requiredKeys: [] }),
          fc.constant(null),
          numberArb,
        )
      : fc.constantFrom<unknown>('CN', 'HK', 'US', 'MO', 'XX', 'cn', '', 86, null);
    return fc.oneof(numberArb, fc.array(item, { maxLength: 3 }));
  }
  if (typeof defaultValue === 'boolean') return fc.oneof(numberArb, fc.boolean());
  return numberArb;
};

const overridesArb: fc.Arbitrary<readonly (readonly [string, unknown])[]> = fc.array(
  fc.constantFrom(...ALL_PATHS).chain(({ path, value }) => fc.tuple(fc.constant(path), valueFor(value))),
  { maxLength: 6 },
);

describe('makePolicy over arbitrary overrides', () => {
  it('should never throw and give either a coherent policy or a refusal naming a policy field', () => {
    fc.assert(
      fc.property(overridesArb, (entries) => {
        const overrides: Record<string, unknown> = {};
        for (const [path, value] of entries) setPath(overrides, path, value);
        const result = makePolicy(untyped(overrides));
        if (E.isLeft(result)) {
          expect(result.left.code).toBe('policy_invalid');
          expect(result.left.field).toEqual(expect.any(String));
          expect(namesPolicyPlace(result.left.field as string)).toBe(true);
          return;
        }
        const policy = result.right;
        expect(coherenceProblems(policy)).toEqual([]);
        // Every override that took effect is in the policy, and every other leaf is the default.
        for (const { path } of LEAF_PATHS) {
          const given = at(overrides, path);
          expect(at(policy, path)).toEqual(given === undefined ? at(DEFAULT_POLICY, path) : given);
        }
        // A coherent policy is a fixed point of makePolicy.
        expect(right(makePolicy(untyped(policy)))).toEqual(policy);
      }),
    );
  });

  it('should accept arbitrary coherent send rules and keep them as given', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ limit: fc.integer({ min: 1, max: 50 }), windowMs: fc.integer({ min: 2 * MINUTE, max: 7 * DAY }) }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: MINUTE }),
        (windows, cooldownMs) => {
          const p = right(makePolicy({ sends: { windows, cooldownMs } }));
          expect(p.sends).toEqual({ windows, cooldownMs });
        },
      ),
    );
  });
});
