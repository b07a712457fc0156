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

// ---------------------------------------------------------------------------------------------
// every rule, at its edge: the exact field and reason a host reads in the refusal
// ---------------------------------------------------------------------------------------------

const refusal = (overrides: unknown): string => {
  const error = left(makePolicy(untyped(overrides)));
  expect(error.code).toBe('policy_invalid');
  return error.message;
};

const accepted = (overrides: unknown): Policy => right(makePolicy(untyped(overrides)));

const because = (field: string, why: string): string => `Policy field ${field} ${why}.`;

describe('makePolicy refusal messages', () => {
  it('should say what shape was expected', () => {
    expect(refusal({ code: 5 })).toBe(because('code', 'must be an object'));
    expect(refusal({ code: { ttlMs: 'soon' } })).toBe(because('code.ttlMs', 'must be a number'));
    expect(refusal({ phone: { mobileOnly: 1 } })).toBe(because('phone.mobileOnly', 'must be a boolean'));
    expect(refusal({ code: { bogus: 1 } })).toBe(because('code.bogus', 'is not a policy field'));
    expect(refusal({ sends: { windows: 5 } })).toBe(because('sends.windows', 'must be a list'));
    expect(refusal({ phone: { allowedRegions: 'CN' } })).toBe(because('phone.allowedRegions', 'must be a list'));
    expect(refusal({ sends: { windows: [7] } })).toBe(because('sends.windows.0', 'must be an object'));
    expect(refusal({ sends: { windows: [{ limit: 5 }] } })).toBe(because('sends.windows.0.windowMs', 'is required'));
    // eslint-disable-next-line no-sparse-arrays
    expect(refusal({ phone: { allowedRegions: ['CN', , 'HK'] } })).toBe(because('phone.allowedRegions.1', 'must be a string'));
  });

  it('should treat a field given as undefined as not given', () => {
    expect(accepted({ code: { ttlMs: undefined }, sends: undefined })).toEqual(DEFAULT_POLICY);
  });

  const positiveFields = [
    'code.ttlMs',
    'code.emailLinkTtlMs',
    'code.maxWrongPerCode',
    'code.flowLockMs',
    'realName.providerTimeoutMs',
    'realName.maxSubmissions',
    'friends.windowMs',
    'friends.disputeWaitMs',
    'review.agentActionMs',
    'review.userResponseMs',
    'review.disputeWindowMs',
    'review.evidenceRetentionMs',
    'totp.periodSeconds',
    'totp.backupCodes',
    'totp.enrollmentTtlMs',
    'flowMaxLifetimeMs',
  ];

  it('should refuse zero in every field that must be positive, naming that field', () => {
    for (const field of positiveFields) {
      const overrides: Record<string, unknown> = {};
      setPath(overrides, field, 0);
      expect(refusal(overrides), field).toBe(because(field, 'must be a positive integer'));
    }
  });

  it('should refuse zero wrong tries per flow, zero friends and a zero-length password or handle', () => {
    expect(refusal({ code: { maxWrongPerCode: 0, maxWrongPerFlow: 0 } })).toBe(because('code.maxWrongPerCode', 'must be a positive integer'));
    expect(refusal({ code: { maxWrongPerFlow: 0 } })).toBe(because('code.maxWrongPerFlow', 'must be a positive integer'));
    expect(refusal({ friends: { required: 0 } })).toBe(because('friends.required', 'must be a positive integer'));
    expect(refusal({ friends: { minNominated: 0, required: 0 } })).toBe(because('friends.required', 'must be a positive integer'));
    expect(refusal({ friends: { minNominated: 0 } })).toBe(because('friends.minNominated', 'must be a positive integer'));
    expect(refusal({ password: { minLength: 0 } })).toBe(because('password.minLength', 'must be a positive integer'));
    expect(refusal({ password: { maxLength: 0 } })).toBe(because('password.maxLength', 'must be a positive integer'));
    expect(refusal({ handle: { minLength: 0 } })).toBe(because('handle.minLength', 'must be a positive integer'));
  });

  const nonNegativeFields = [
    'friends.minFriendshipMs',
    'friends.vouchCooldownMs',
    'friends.maxReplacements',
    'review.maxInfoRequests',
    'recovery.sensitiveHoldMs',
    'totp.skewSteps',
    'sends.cooldownMs',
    'accountFailures.cooldownMs',
    'handle.checks.cooldownMs',
    'friends.nominations.cooldownMs',
  ];

  it('should accept zero and refuse negative or fractional numbers where zero is allowed', () => {
    for (const field of nonNegativeFields) {
      for (const bad of [-1, 0.5]) {
        const overrides: Record<string, unknown> = {};
        setPath(overrides, field, bad);
        expect(refusal(overrides), `${field} = ${bad}`).toBe(because(field, 'must be a non-negative integer'));
      }
      const zero: Record<string, unknown> = {};
      setPath(zero, field, 0);
      expect(at(accepted(zero), field), field).toBe(0);
    }
  });

  it('should name the rule that has no window', () => {
    expect(refusal({ accountFailures: { windows: [] } })).toBe(because('accountFailures.windows', 'must have at least one window'));
  });

  it('should refuse a cooldown that keeps a window from filling, unless that window holds one event', () => {
    expect(refusal({ friends: { nominations: { windows: [{ limit: 2, windowMs: DAY }], cooldownMs: DAY } } })).toBe(
      because('friends.nominations.cooldownMs', 'must be shorter than window 0 or that window can never fill'),
    );
    expect(refusal({ friends: { nominations: { windows: [{ limit: 1, windowMs: HOUR }, { limit: 3, windowMs: DAY }], cooldownMs: DAY } } })).toBe(
      because('friends.nominations.cooldownMs', 'must be shorter than window 1 or that window can never fill'),
    );
    const one = accepted({ friends: { nominations: { windows: [{ limit: 1, windowMs: DAY }], cooldownMs: 2 * DAY } } });
    expect(one.friends.nominations).toEqual({ windows: [{ limit: 1, windowMs: DAY }], cooldownMs: 2 * DAY });
    expect(accepted({ handle: { checks: { cooldownMs: 10 * MINUTE - 1 } } }).handle.checks.cooldownMs).toBe(10 * MINUTE - 1);
  });

  it('should keep code digits from 6 to 10', () => {
    expect(accepted({ code: { digits: 10 } }).code.digits).toBe(10);
    expect(accepted({ code: { digits: 6 } }).code.digits).toBe(6);
    expect(refusal({ code: { digits: 11 } })).toBe(because('code.digits', 'must be an integer from 6 to 10'));
    expect(refusal({ code: { digits: 6.5 } })).toBe(because('code.digits', 'must be an integer from 6 to 10'));
  });

  it('should explain the wrong-try and cooldown orderings', () => {
    expect(refusal({ code: { maxWrongPerFlow: 4 } })).toBe(because('code.maxWrongPerFlow', 'must be at least code.maxWrongPerCode'));
    expect(refusal({ sends: { cooldownMs: 10 * MINUTE } })).toBe(
      because('sends.cooldownMs', 'must be shorter than code.ttlMs, or a code dies before a resend is allowed'),
    );
    expect(refusal({ friends: { required: 4 } })).toBe(because('friends.minNominated', 'must be at least friends.required'));
  });

  it('should hold password lengths to NIST: a minimum of at least 8, a maximum of at least 64 and the minimum', () => {
    expect(refusal({ password: { minLength: 7 } })).toBe(because('password.minLength', 'must be at least 8 (NIST SP 800-63B-4)'));
    expect(accepted({ password: { minLength: 8, maxLength: 64 } }).password).toEqual({ minLength: 8, maxLength: 64 });
    expect(refusal({ password: { maxLength: 63 } })).toBe(because('password.maxLength', 'must be at least 64 and at least password.minLength'));
    expect(refusal({ password: { minLength: 100, maxLength: 99 } })).toBe(because('password.maxLength', 'must be at least 64 and at least password.minLength'));
    expect(accepted({ password: { minLength: 100, maxLength: 100 } }).password).toEqual({ minLength: 100, maxLength: 100 });
  });

  it('should keep the handle maximum an integer no shorter than the minimum', () => {
    expect(accepted({ handle: { minLength: 6, maxLength: 6 } }).handle.maxLength).toBe(6);
    for (const maxLength of [5, 6.5, Number.POSITIVE_INFINITY]) {
      expect(refusal({ handle: { maxLength } }), String(maxLength)).toBe(because('handle.maxLength', 'must be an integer at least handle.minLength'));
    }
  });

  it('should keep the nominated-friends maximum an integer no smaller than the minimum', () => {
    expect(accepted({ friends: { maxNominated: 3 } }).friends.maxNominated).toBe(3);
    for (const maxNominated of [2, 3.5]) {
      expect(refusal({ friends: { maxNominated } }), String(maxNominated)).toBe(
        because('friends.maxNominated', 'must be an integer at least friends.minNominated'),
      );
    }
  });

  it('should refuse a region list with any bad region, however many good ones', () => {
    const why = 'must be a non-empty list of ISO 3166 alpha-2 regions that have phone numbers';
    expect(refusal({ phone: { allowedRegions: ['CN', 'XX'] } })).toBe(because('phone.allowedRegions', why));
    expect(refusal({ phone: { allowedRegions: ['XX', 'HK'] } })).toBe(because('phone.allowedRegions', why));
  });

  it('should keep TOTP at 6 or 8 digits and at most two steps of skew', () => {
    expect(refusal({ totp: { digits: 7 } })).toBe(because('totp.digits', 'must be 6 or 8'));
    expect(accepted({ totp: { skewSteps: 2 } }).totp.skewSteps).toBe(2);
    expect(refusal({ totp: { skewSteps: 3 } })).toBe(because('totp.skewSteps', 'must be at most 2 (RFC 6238 §5.2 advises one step)'));
  });

  it('should want an issuer of 1 to 64 characters, not blank, without a colon', () => {
    const why = because('totp.issuer', 'must be 1-64 characters without a colon');
    expect(accepted({ totp: { issuer: 'x'.repeat(64) } }).totp.issuer).toHaveLength(64);
    expect(accepted({ totp: { issuer: ' Tea House ' } }).totp.issuer).toBe(' Tea House ');
    expect(refusal({ totp: { issuer: 'x'.repeat(65) } })).toBe(why);
    expect(refusal({ totp: { issuer: '' } })).toBe(why);
    expect(refusal({ totp: { issuer: '   ' } })).toBe(why);
    expect(refusal({ totp: { issuer: 'Tea:House' } })).toBe(why);
  });

  it('should let a flow live exactly as long as its longest path, and not a millisecond less', () => {
    const why = because('flowMaxLifetimeMs', 'must outlast the longest path (friend window plus dispute wait, review plus dispute window)');
    // Friend window plus dispute wait.
    expect(accepted({ flowMaxLifetimeMs: 30 * DAY, friends: { windowMs: 29 * DAY, disputeWaitMs: DAY } }).flowMaxLifetimeMs).toBe(30 * DAY);
    expect(refusal({ flowMaxLifetimeMs: 30 * DAY, friends: { windowMs: 29 * DAY, disputeWaitMs: DAY + 1 } })).toBe(why);
    expect(refusal({ friends: { windowMs: 20 * DAY, disputeWaitMs: 11 * DAY } })).toBe(why);
    // Review plus its dispute window.
    expect(accepted({ flowMaxLifetimeMs: 4 * DAY }).flowMaxLifetimeMs).toBe(4 * DAY);
    expect(refusal({ flowMaxLifetimeMs: 4 * DAY - 1 })).toBe(why);
    expect(refusal({ review: { agentActionMs: 20 * DAY, disputeWindowMs: 11 * DAY } })).toBe(why);
    // The e-mail link.
    expect(accepted({ code: { emailLinkTtlMs: 30 * DAY } }).code.emailLinkTtlMs).toBe(30 * DAY);
    expect(refusal({ code: { emailLinkTtlMs: 30 * DAY + 1 } })).toBe(why);
  });
});
