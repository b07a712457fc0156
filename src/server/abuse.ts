/**
 * Budgets against SMS pumping and password guessing, all rules in one place, spent through the
 * Budgets port before any flow that can text a number starts (per client, globally) and before
 * any event that names a number (per number prefix). The flows' own per-number send budgets
 * still apply behind these; these stop a client from spreading over many numbers.
 *
 * Nothing here depends on whether an account exists, so a refusal reveals nothing.
 */
import { isIPv4, isIPv6 } from 'node:net';
import * as E from 'fp-ts/lib/Either.js';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { type FlowError, flowError } from '../domain/errors.ts';
import { parsePhone } from '../domain/phone.ts';
import type { Policy, RateRule } from '../domain/policy.ts';
import type { Budgets } from '../ports/budgets.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface AbuseLimits {
  /** Starts of flows that can text, per client address (an IPv6 client counts per /64). */
  readonly smsStartsPerClient: RateRule;
  /** Starts of flows that can text, across the whole service: the last line against a botnet. */
  readonly smsStartsGlobal: RateRule;
  /** Events naming a phone number, per prefix (country code and the first `prefixDigits` digits). */
  readonly smsNumbersPerPrefix: RateRule;
  readonly prefixDigits: number;
  /** Wrong passwords at sign-in, per client address. */
  readonly signInFailuresPerClient: RateRule;
  /** Wrong passwords at sign-in, per account (kept apart from recovery's code failures). */
  readonly signInFailuresPerAccount: RateRule;
}

/**
 * Defaults sized for one person (or one household behind a NAT) registering and recovering a
 * few times a day; a host with carrier-grade NAT in front raises the per-client rule.
 */
export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  smsStartsPerClient: { windows: [{ limit: 10, windowMs: HOUR }, { limit: 30, windowMs: DAY }], cooldownMs: 0 },
  smsStartsGlobal: { windows: [{ limit: 2_000, windowMs: HOUR }, { limit: 20_000, windowMs: DAY }], cooldownMs: 0 },
  smsNumbersPerPrefix: { windows: [{ limit: 100, windowMs: HOUR }, { limit: 500, windowMs: DAY }], cooldownMs: 0 },
  prefixDigits: 3,
  signInFailuresPerClient: { windows: [{ limit: 50, windowMs: HOUR }], cooldownMs: 0 },
  signInFailuresPerAccount: { windows: [{ limit: 20, windowMs: HOUR }], cooldownMs: 0 },
};

export interface BudgetCheck {
  readonly key: string;
  readonly rule: RateRule;
}

// ---------------------------------------------------------------------------------------------
// keys
// ---------------------------------------------------------------------------------------------

/** Expands an IPv6 address to its eight hextets; undefined when it is not one. */
const hextets = (address: string): string[] | undefined => {
  if (!isIPv6(address)) return undefined;
  const [head = '', tail] = address.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const missing = 8 - left.length - right.length;
  return [...left, ...Array.from({ length: Math.max(0, missing) }, () => '0'), ...right].map((h) => h.padStart(4, '0').toLowerCase());
};

/**
 * The budget key of a client address: an IPv4 address as is, an IPv4-mapped IPv6 address as its
 * IPv4 address, any other IPv6 address as its /64 (one subscriber usually holds a whole /64).
 *
 * @example
 * clientKey('2001:db8:1:2:3:4:5:6'); // 'ip6:2001:0db8:0001:0002::/64'
 */
export const clientKey = (address: string): string => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return `ip4:${mapped}`;
  if (isIPv4(address)) return `ip4:${address}`;
  const six = hextets(address);
  if (six !== undefined) return `ip6:${six.slice(0, 4).join(':')}::/64`;
  return 'ip:unknown';
};

/**
 * The prefix of a number a client typed, when it is one the policy accepts; undefined otherwise
 * (such a number is refused or ignored by the flow, so nothing is texted to it).
 *
 * @example
 * phonePrefix('+86 138 0013 8000', undefined, policy, 3); // '+86138'
 */
export const phonePrefix = (raw: string, region: string | undefined, policy: Policy, digits: number): string | undefined => {
  const phone = parsePhone(raw, policy, region);
  if (E.isLeft(phone)) return undefined;
  const parsed = parsePhoneNumberFromString(phone.right);
  return parsed === undefined ? undefined : `+${parsed.countryCallingCode}${parsed.nationalNumber.slice(0, digits)}`;
};

/**
 * The phone number a client event names, whichever flow it is for: registration's
 * `phone.submit`, SMS recovery's `channel.submit` and binding's `channel.submit` of a phone.
 * An e-mail address typed into a recovery does not parse as a number and counts for nothing.
 */
export const numberNamedBy = (event: unknown): { readonly raw: string; readonly region: string | undefined } | undefined => {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, unknown>;
  const region = typeof e['region'] === 'string' ? e['region'] : undefined;
  if (e['type'] === 'phone.submit' && typeof e['phone'] === 'string') return { raw: e['phone'], region };
  if (e['type'] !== 'channel.submit') return undefined;
  if (typeof e['channel'] === 'string') return { raw: e['channel'], region };
  if (e['kind'] === 'phone' && typeof e['value'] === 'string') return { raw: e['value'], region };
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------------

export const smsStartChecks = (limits: AbuseLimits, client: string): BudgetCheck[] => [
  { key: `abuse:sms-start:${client}`, rule: limits.smsStartsPerClient },
  { key: 'abuse:sms-start:global', rule: limits.smsStartsGlobal },
];

export const numberChecks = (limits: AbuseLimits, prefix: string): BudgetCheck[] => [{ key: `abuse:sms-prefix:${prefix}`, rule: limits.smsNumbersPerPrefix }];

export const signInFailureKeys = (client: string, accountId: string | undefined) => ({
  client: `abuse:sign-in-failures:${client}`,
  ...(accountId === undefined ? {} : { account: `abuse:sign-in-failures:account:${accountId}` }),
});

/**
 * Spends one unit of every check, or none when any of them is out of budget (peeked first, so
 * a refusal by one rule does not spend the others). Each `consume` is atomic, so no rule is ever
 * exceeded; a race can at worst spend a unit of one rule on a request another rule then refuses.
 */
export const spend = async (budgets: Budgets, checks: readonly BudgetCheck[], now: number): Promise<E.Either<FlowError, void>> => {
  let wait = 0;
  for (const check of checks) {
    const decision = await budgets.peek(check.key, check.rule, now);
    if (!decision.allowed) wait = Math.max(wait, decision.retryAfterMs);
  }
  if (wait === 0) {
    for (const check of checks) {
      const decision = await budgets.consume(check.key, check.rule, now);
      if (!decision.allowed) wait = Math.max(wait, decision.retryAfterMs);
    }
  }
  return wait === 0 ? E.right(undefined) : E.left(flowError('rate_limited', 'Too many requests; try again later.', { retryAfterMs: wait }));
};

/** Whether any of the checks is out of budget now, without spending. */
export const exhausted = async (budgets: Budgets, checks: readonly BudgetCheck[], now: number): Promise<number> => {
  let wait = 0;
  for (const check of checks) {
    const decision = await budgets.peek(check.key, check.rule, now);
    if (!decision.allowed) wait = Math.max(wait, decision.retryAfterMs);
  }
  return wait;
};

// ---------------------------------------------------------------------------------------------
// CAPTCHA
// ---------------------------------------------------------------------------------------------

/** The host's CAPTCHA provider (hCaptcha, Turnstile, reCAPTCHA…): true when the token is good. */
export interface CaptchaVerifier {
  verify(token: string, clientAddress: string): Promise<boolean>;
}

/** Far above any provider's token; a longer header is refused without asking the provider. */
const MAX_CAPTCHA_TOKEN = 4096;

export const checkCaptcha = async (verifier: CaptchaVerifier | undefined, token: string | undefined, clientAddress: string): Promise<'ok' | 'captcha_required' | 'captcha_failed'> => {
  if (verifier === undefined) return 'ok';
  if (token === undefined || token.trim() === '') return 'captcha_required';
  if (token.length > MAX_CAPTCHA_TOKEN) return 'captcha_failed';
  try {
    return (await verifier.verify(token.trim(), clientAddress)) ? 'ok' : 'captcha_failed';
  } catch {
    // A provider that cannot answer lets nobody through: failing open would switch the guard off.
    return 'captcha_failed';
  }
};
