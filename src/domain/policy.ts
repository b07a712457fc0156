/**
 * Every number account-flows enforces, in one object, with its default and where the default
 * comes from. A host overrides any of them with `makePolicy`; an override that would make the
 * rules incoherent is refused with an error naming the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { type FlowError, flowError } from './errors.ts';
import { DAY, HOUR, MINUTE, SECOND, type Duration } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** One sliding window of a rate limit: at most `limit` events in any `windowMs`. */
export interface RateWindow {
  readonly limit: number;
  readonly windowMs: Duration;
}

/** A rate rule: every window must have room, and no two events closer than `cooldownMs`. */
export interface RateRule {
  readonly windows: readonly RateWindow[];
  readonly cooldownMs: Duration;
}

export interface Policy {
  readonly code: {
    readonly digits: number;
    readonly ttlMs: Duration;
    readonly emailLinkTtlMs: Duration;
    readonly maxWrongPerCode: number;
    readonly maxWrongPerFlow: number;
    /** How long a flow that used up its wrong tries stays locked before a new flow may try. */
    readonly flowLockMs: Duration;
  };
  /** Sends of a code to one phone number or one e-mail address, across all flows. */
  readonly sends: RateRule;
  /** Failed verification attempts against one account, across all flows. */
  readonly accountFailures: RateRule;
  readonly password: { readonly minLength: number; readonly maxLength: number };
  readonly handle: {
    readonly minLength: number;
    readonly maxLength: number;
    /** Handle availability checks per flow: stops walking the handle namespace. */
    readonly checks: RateRule;
  };
  readonly phone: { readonly allowedRegions: readonly string[]; readonly mobileOnly: boolean };
  readonly realName: { readonly providerTimeoutMs: Duration; readonly maxSubmissions: number };
  readonly friends: {
    readonly minNominated: number;
    readonly maxNominated: number;
    readonly required: number;
    readonly windowMs: Duration;
    readonly minFriendshipMs: Duration;
    /** A friend who vouched for anyone is not eligible to vouch again within this time. */
    readonly vouchCooldownMs: Duration;
    readonly maxReplacements: number;
    readonly disputeWaitMs: Duration;
    readonly nominations: RateRule;
  };
  readonly review: {
    readonly agentActionMs: Duration;
    readonly userResponseMs: Duration;
    readonly maxInfoRequests: number;
    readonly disputeWindowMs: Duration;
    readonly evidenceRetentionMs: Duration;
  };
  readonly recovery: {
    /** After a recovery, changing channels and payments wait this long. */
    readonly sensitiveHoldMs: Duration;
  };
  readonly totp: {
    readonly periodSeconds: number;
    readonly digits: number;
    /** Accepted steps either side of the current one, for clock drift. */
    readonly skewSteps: number;
    readonly backupCodes: number;
    /** An enrollment shows its secret for at most this long before it must start again. */
    readonly enrollmentTtlMs: Duration;
    /** The issuer authenticator apps show beside the account (`otpauth://` URI). */
    readonly issuer: string;
  };
  /** Any flow ends, by success or timeout, within this virtual time of its start. */
  readonly flowMaxLifetimeMs: Duration;
}

// ---------------------------------------------------------------------------------------------
// defaults and their sources
// ---------------------------------------------------------------------------------------------

export const DEFAULT_POLICY: Policy = {
  code: {
    digits: 6,
    ttlMs: 10 * MINUTE,
    emailLinkTtlMs: 60 * MINUTE,
    maxWrongPerCode: 5,
    maxWrongPerFlow: 10,
    flowLockMs: 1 * HOUR,
  },
  sends: {
    windows: [
      { limit: 5, windowMs: HOUR },
      { limit: 10, windowMs: DAY },
    ],
    cooldownMs: 60 * SECOND,
  },
  accountFailures: { windows: [{ limit: 100, windowMs: HOUR }], cooldownMs: 0 },
  password: { minLength: 8, maxLength: 128 },
  handle: {
    minLength: 6,
    maxLength: 20,
    checks: { windows: [{ limit: 20, windowMs: 10 * MINUTE }], cooldownMs: 0 },
  },
  phone: { allowedRegions: ['CN', 'HK'], mobileOnly: true },
  realName: { providerTimeoutMs: 24 * HOUR, maxSubmissions: 3 },
  friends: {
    minNominated: 3,
    maxNominated: 5,
    required: 3,
    windowMs: 24 * HOUR,
    minFriendshipMs: 30 * DAY,
    vouchCooldownMs: 30 * DAY,
    maxReplacements: 2,
    disputeWaitMs: 24 * HOUR,
    nominations: { windows: [{ limit: 2, windowMs: 7 * DAY }], cooldownMs: 0 },
  },
  review: {
    agentActionMs: 3 * DAY,
    userResponseMs: 7 * DAY,
    maxInfoRequests: 3,
    disputeWindowMs: 24 * HOUR,
    evidenceRetentionMs: 30 * DAY,
  },
  recovery: { sensitiveHoldMs: 24 * HOUR },
  totp: { periodSeconds: 30, digits: 6, skewSteps: 1, backupCodes: 10, enrollmentTtlMs: 10 * MINUTE, issuer: 'account-flows' },
  flowMaxLifetimeMs: 30 * DAY,
};

/** Where each default comes from; the README's policy table is this list. */
export const POLICY_SOURCES: Readonly<Record<string, string>> = {
  'code.digits': 'ASVS 4.0.3 2.7.3/2.7.6 (six digits meet the 20-bit rule)',
  'code.ttlMs': 'NIST SP 800-63B §5.1.3.2; ASVS 2.7.2; seed 001: "5-15 minutes"',
  'code.emailLinkTtlMs': 'Ory Kratos and Amazon Cognito default of 1 h',
  'code.maxWrongPerCode': 'Ory Kratos max_submissions = 5',
  'code.maxWrongPerFlow': 'caps guessing across resends (2 codes x 5 tries)',
  'code.flowLockMs': 'one hour, the shortest send window',
  sends: 'Amazon Cognito 5-20/h per user; resend cooldown from Supabase max_frequency; seed 001: "wait 2 minutes"',
  accountFailures: 'ASVS 2.2.1; NIST SP 800-63B §5.2.2 (at most 100 failed attempts)',
  password: 'NIST SP 800-63B-4 §3.1.1.2; ASVS 2.1.1/2.1.2',
  handle: 'WeChat ID rules (6-20 characters, starts with a letter)',
  'handle.checks': 'budgeted so a flow cannot walk the handle namespace (enumeration)',
  phone: 'seed 002: the service is tailored to Chinese and Hong Kong mobile numbers',
  'realName.providerTimeoutMs': 'seed 002: payments require real-name verification; a provider turnaround of a day',
  'realName.maxSubmissions': 'bounds retries against a provider that bills per check',
  friends: 'seed 000 (3 friends, "within the specified time"); Facebook Trusted Contacts (3 of 3-5); NIST SP 800-63B-4 §4.2',
  'friends.minFriendshipMs': 'seed 000 FAQ ("meets the requirements"): a friend added last week is no witness',
  'friends.vouchCooldownMs': 'one friend vouching for many accounts is a recovery ring, not a friend',
  'friends.maxReplacements': 'a friend who does not answer can be replaced, a bounded number of times',
  'friends.disputeWaitMs': 'Apple account-recovery waiting period; NIST SP 800-63B-4 §4.6 notification',
  'friends.nominations': 'limits how often an attacker can try a new set of friends',
  review: 'seed 001 (customer-service verification with nickname, team, contacts, devices)',
  'review.disputeWindowMs': 'Apple account-recovery waiting period; NIST SP 800-63B-4 §4.6',
  'review.evidenceRetentionMs': 'GDPR Art. 5(1)(e) storage limitation: evidence is personal data',
  'recovery.sensitiveHoldMs': 'common practice after recovery (Apple, Google hold sensitive changes)',
  totp: 'RFC 6238 (30 s step; §5.2 one step of skew)',
  'totp.backupCodes': 'ten single-use codes, as GitHub and Google issue',
  'totp.enrollmentTtlMs': 'one sitting, like a code (NIST SP 800-63B §5.1.3.2): a secret on screen should not wait for days',
  'totp.issuer': 'Google Authenticator Key Uri Format (issuer names the service in the app)',
  flowMaxLifetimeMs: 'bounds every flow: outlasts the friend window plus dispute wait and a review plus its dispute window',
};

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

export type PolicyOverrides = DeepPartial<Policy>;
type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly U[]
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * The default policy with a host's overrides applied, or the first incoherence found.
 *
 * @example
 * const policy = makePolicy({ code: { ttlMs: 5 * 60_000 } });
 */
export const makePolicy = (overrides: PolicyOverrides = {}): E.Either<FlowError, Policy> => {
  const merged = mergeInto(DEFAULT_POLICY, overrides, '');
  if (E.isLeft(merged)) return merged;
  const policy = merged.right as Policy;
  const problem = findIncoherence(policy);
  return problem === undefined ? E.right(policy) : E.left(problem);
};

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

const mergeInto = (base: unknown, override: unknown, path: string): E.Either<FlowError, unknown> => {
  if (override === undefined) return E.right(base);
  if (Array.isArray(base)) return replaceList(base, override, path);
  if (isRecord(base)) {
    if (!isRecord(override)) return E.left(invalid(path, 'must be an object'));
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
      const at = path === '' ? key : `${path}.${key}`;
      // Own fields only: `toString` or `__proto__` are not policy fields.
      if (!Object.hasOwn(out, key)) return E.left(invalid(at, 'is not a policy field'));
      const child = mergeInto(out[key], value, at);
      if (E.isLeft(child)) return child;
      out[key] = child.right;
    }
    return E.right(out);
  }
  if (typeof base !== typeof override) return E.left(invalid(path, `must be a ${typeof base}`));
  return E.right(override);
};

/**
 * A list replaces the default list whole; each item must have the shape of the default's items
 * (every field, of the same type, and no other), so the checks below never meet a hole.
 */
const replaceList = (base: readonly unknown[], override: unknown, path: string): E.Either<FlowError, unknown> => {
  if (!Array.isArray(override)) return E.left(invalid(path, 'must be a list'));
  const template: unknown = base[0];
  if (template === undefined) return E.right(override);
  const items: unknown[] = [];
  for (let i = 0; i < override.length; i++) {
    const at = `${path}.${i}`;
    const item: unknown = override[i];
    if (isRecord(template)) {
      if (!isRecord(item)) return E.left(invalid(at, 'must be an object'));
      const missing = Object.keys(template).find((key) => item[key] === undefined);
      if (missing !== undefined) return E.left(invalid(`${at}.${missing}`, 'is required'));
    } else if (item === undefined) {
      return E.left(invalid(at, `must be a ${typeof template}`));
    }
    const merged = mergeInto(template, item, at);
    if (E.isLeft(merged)) return merged;
    items.push(merged.right);
  }
  return E.right(items);
};

const invalid = (field: string, why: string): FlowError =>
  flowError('policy_invalid', `Policy field ${field} ${why}.`, { field });

// ---------------------------------------------------------------------------------------------
// coherence
// ---------------------------------------------------------------------------------------------

type Check = readonly [field: string, ok: boolean, why: string];

const positiveInt = (field: string, n: number): Check => [field, Number.isSafeInteger(n) && n > 0, 'must be a positive integer'];
const nonNegativeInt = (field: string, n: number): Check => [field, Number.isSafeInteger(n) && n >= 0, 'must be a non-negative integer'];

const rateRuleChecks = (field: string, rule: RateRule): Check[] => [
  [`${field}.windows`, rule.windows.length > 0, 'must have at least one window'],
  ...rule.windows.flatMap((w, i) => [
    positiveInt(`${field}.windows.${i}.limit`, w.limit),
    positiveInt(`${field}.windows.${i}.windowMs`, w.windowMs),
  ]),
  nonNegativeInt(`${field}.cooldownMs`, rule.cooldownMs),
  ...rule.windows.map((w, i): Check => [
    `${field}.cooldownMs`,
    rule.cooldownMs < w.windowMs || w.limit === 1,
    `must be shorter than window ${i} or that window can never fill`,
  ]),
];

const findIncoherence = (p: Policy): FlowError | undefined => {
  const checks: Check[] = [
    [`code.digits`, Number.isSafeInteger(p.code.digits) && p.code.digits >= 6 && p.code.digits <= 10, 'must be an integer from 6 to 10'],
    positiveInt('code.ttlMs', p.code.ttlMs),
    positiveInt('code.emailLinkTtlMs', p.code.emailLinkTtlMs),
    positiveInt('code.maxWrongPerCode', p.code.maxWrongPerCode),
    positiveInt('code.maxWrongPerFlow', p.code.maxWrongPerFlow),
    ['code.maxWrongPerFlow', p.code.maxWrongPerFlow >= p.code.maxWrongPerCode, 'must be at least code.maxWrongPerCode'],
    positiveInt('code.flowLockMs', p.code.flowLockMs),
    ...rateRuleChecks('sends', p.sends),
    ['sends.cooldownMs', p.sends.cooldownMs < p.code.ttlMs, 'must be shorter than code.ttlMs, or a code dies before a resend is allowed'],
    ...rateRuleChecks('accountFailures', p.accountFailures),
    positiveInt('password.minLength', p.password.minLength),
    ['password.minLength', p.password.minLength >= 8, 'must be at least 8 (NIST SP 800-63B-4)'],
    positiveInt('password.maxLength', p.password.maxLength),
    ['password.maxLength', p.password.maxLength >= Math.max(64, p.password.minLength), 'must be at least 64 and at least password.minLength'],
    positiveInt('handle.minLength', p.handle.minLength),
    ['handle.maxLength', Number.isSafeInteger(p.handle.maxLength) && p.handle.maxLength >= p.handle.minLength, 'must be an integer at least handle.minLength'],
    ...rateRuleChecks('handle.checks', p.handle.checks),
    [
      'phone.allowedRegions',
      p.phone.allowedRegions.length > 0 && p.phone.allowedRegions.every((r) => /^[A-Z]{2}$/.test(r) && isSupportedCountry(r)),
      'must be a non-empty list of ISO 3166 alpha-2 regions that have phone numbers',
    ],
    positiveInt('realName.providerTimeoutMs', p.realName.providerTimeoutMs),
    positiveInt('realName.maxSubmissions', p.realName.maxSubmissions),
    positiveInt('friends.required', p.friends.required),
    positiveInt('friends.minNominated', p.friends.minNominated),
    ['friends.minNominated', p.friends.minNominated >= p.friends.required, 'must be at least friends.required'],
    ['friends.maxNominated', Number.isSafeInteger(p.friends.maxNominated) && p.friends.maxNominated >= p.friends.minNominated, 'must be an integer at least friends.minNominated'],
    positiveInt('friends.windowMs', p.friends.windowMs),
    nonNegativeInt('friends.minFriendshipMs', p.friends.minFriendshipMs),
    nonNegativeInt('friends.vouchCooldownMs', p.friends.vouchCooldownMs),
    nonNegativeInt('friends.maxReplacements', p.friends.maxReplacements),
    positiveInt('friends.disputeWaitMs', p.friends.disputeWaitMs),
    ...rateRuleChecks('friends.nominations', p.friends.nominations),
    positiveInt('review.agentActionMs', p.review.agentActionMs),
    positiveInt('review.userResponseMs', p.review.userResponseMs),
    nonNegativeInt('review.maxInfoRequests', p.review.maxInfoRequests),
    positiveInt('review.disputeWindowMs', p.review.disputeWindowMs),
    positiveInt('review.evidenceRetentionMs', p.review.evidenceRetentionMs),
    nonNegativeInt('recovery.sensitiveHoldMs', p.recovery.sensitiveHoldMs),
    positiveInt('totp.periodSeconds', p.totp.periodSeconds),
    ['totp.digits', p.totp.digits === 6 || p.totp.digits === 8, 'must be 6 or 8'],
    nonNegativeInt('totp.skewSteps', p.totp.skewSteps),
    ['totp.skewSteps', p.totp.skewSteps <= 2, 'must be at most 2 (RFC 6238 §5.2 advises one step)'],
    positiveInt('totp.backupCodes', p.totp.backupCodes),
    positiveInt('totp.enrollmentTtlMs', p.totp.enrollmentTtlMs),
    // A colon separates issuer from account in the URI's label; some apps split before decoding.
    ['totp.issuer', p.totp.issuer.trim() !== '' && p.totp.issuer.length <= 64 && !p.totp.issuer.includes(':'), 'must be 1-64 characters without a colon'],
    positiveInt('flowMaxLifetimeMs', p.flowMaxLifetimeMs),
    [
      'flowMaxLifetimeMs',
      p.flowMaxLifetimeMs >=
        p.friends.windowMs + p.friends.disputeWaitMs &&
        p.flowMaxLifetimeMs >= p.review.agentActionMs + p.review.disputeWindowMs &&
        p.flowMaxLifetimeMs >= p.code.emailLinkTtlMs,
      'must outlast the longest path (friend window plus dispute wait, review plus dispute window)',
    ],
  ];
  const failed = checks.find(([, ok]) => !ok);
  return failed === undefined ? undefined : invalid(failed[0], failed[2]);
};
