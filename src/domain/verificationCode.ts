/**
 * Verification codes (SMS and e-mail) and e-mail reset-link tokens that never rest in plain
 * text.
 *
 * A code is not generated and stored: it is *derived*, HOTP-style, from a key only the host
 * holds and the flow's binding (flow, purpose, security epoch, random nonce) and counter. A
 * snapshot or an outbox entry therefore holds neither the code nor a hash of it — a hash of six
 * digits is reversed in milliseconds by trying all 10^6. The sender derives the code at send
 * time; the check derives it again and compares in constant time.
 *
 * Rules of `checkCode`, first match wins:
 *
 * | # | condition                                             | outcome          | counters |
 * |---|-------------------------------------------------------|------------------|----------|
 * | 1 | the code was already accepted                         | `used`           | —        |
 * | 2 | `now >= expiresAt` (the boundary is expired)          | `expired`        | —        |
 * | 3 | `wrongForFlow >= policy.code.maxWrongPerFlow`         | `flow_exhausted` | —        |
 * | 4 | `wrongForCode >= policy.code.maxWrongPerCode`         | `exhausted`      | —        |
 * | 5 | binding's flow, purpose or epoch is not the expected  | `stale`          | both +1  |
 * | 6 | submitted ≠ derived value (malformed input included)  | `wrong`          | both +1  |
 * | 7 | otherwise                                             | `accepted`       | used     |
 *
 * Limits are checked before the comparison, so a right code after the limit is still refused:
 * otherwise the limit would only slow guessing, not stop it. Only the current counter is ever
 * derived, so a resend kills every earlier code.
 */
import * as t from 'io-ts';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { type FlowError, flowError } from './errors.ts';
import { constantTimeEqual, counterBytes, hotp } from './hotp.ts';
import type { Policy } from './policy.ts';
import type { Duration, Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

// Kept as a number at runtime rather than a branded t.Int, so states stay plain JSON literals.
const isNonNegativeInteger = (u: unknown): u is number => Number.isSafeInteger(u) && (u as number) >= 0;

const NonNegativeInteger = new t.Type<number, number, unknown>(
  'NonNegativeInteger',
  isNonNegativeInteger,
  (u, c) => (isNonNegativeInteger(u) ? t.success(u) : t.failure(u, c)),
  (n) => n,
);

// Number.isFinite is false for anything that is not a number.
const isFiniteNumber = (u: unknown): u is number => Number.isFinite(u);

const FiniteNumber = new t.Type<number, number, unknown>(
  'FiniteNumber',
  isFiniteNumber,
  (u, c) => (isFiniteNumber(u) ? t.success(u) : t.failure(u, c)),
  (n) => n,
);

/** What a code is for; a code issued for one purpose never verifies for another. */
export const CodePurpose = t.keyof(
  {
    registration: null,
    'recovery.sms': null,
    'recovery.email': null,
    'binding.phone': null,
    'binding.email': null,
  },
  'CodePurpose',
);
export type CodePurpose = t.TypeOf<typeof CodePurpose>;

/**
 * Everything a code is bound to. `epoch` is the account's security epoch (0 when there is no
 * account yet), so a recovery or password change kills the code; `nonce` comes from the host's
 * random source per flow, so two flows with the same id (after a restore, say) never share codes.
 */
export const CodeBinding = t.readonly(
  t.type({ flowId: t.string, purpose: CodePurpose, epoch: NonNegativeInteger, nonce: t.string }),
  'CodeBinding',
);
export type CodeBinding = t.TypeOf<typeof CodeBinding>;

/** What a flow keeps about its code: no code, no hash, only what is needed to derive and limit it. */
export const CodeState = t.readonly(
  t.type({
    binding: CodeBinding,
    /** Bumped on every (re)send; only the current counter is derived, so a resend kills the old code. */
    counter: NonNegativeInteger,
    issuedAt: FiniteNumber,
    expiresAt: FiniteNumber,
    wrongForCode: NonNegativeInteger,
    /** Carried across resends, so resending cannot reset the guessing budget. */
    wrongForFlow: NonNegativeInteger,
    used: t.boolean,
  }),
  'CodeState',
);
export type CodeState = t.TypeOf<typeof CodeState>;

/** What a check found; everything but `accepted` maps to a public error with `codeToFlowError`. */
export const CodeOutcome = t.keyof(
  { accepted: null, wrong: null, expired: null, used: null, exhausted: null, flow_exhausted: null, stale: null },
  'CodeOutcome',
);
export type CodeOutcome = t.TypeOf<typeof CodeOutcome>;

export type CodeKind = 'code' | 'link';

export interface CodeCheck {
  readonly hostKey: Uint8Array;
  readonly submitted: string;
  readonly now: Instant;
  readonly expected: { readonly flowId: string; readonly purpose: CodePurpose; readonly epoch: number };
  readonly policy: Pick<Policy, 'code'>;
  readonly kind: CodeKind;
}

// Domain separation: a code key can never equal a link key, nor either collide with any other
// HMAC the host might compute with the same key.
const CODE_LABEL = 'account-flows/verification-code/v1';
const LINK_LABEL = 'account-flows/reset-link/v1';

/** 128 bits: out of reach of guessing within any link lifetime. */
const LINK_TOKEN_BYTES = 16;

// Longer than any code or token we derive; longer input is refused before the comparison so a
// hostile megabyte does not cost a megabyte-long loop.
const MAX_SUBMITTED_LENGTH = 256;

/** Below 128 bits the host key, not the code, would be the weakest link. */
const MIN_HOST_KEY_BYTES = 16;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * The code for `binding` at `counter`: HOTP (HMAC-SHA256, RFC 6238's SHA-256 variant) keyed by
 * the per-flow key HMAC-SHA256(hostKey, length-prefixed label|flowId|purpose|epoch|nonce).
 *
 * Throws `RangeError` on a host key shorter than 16 bytes or digits outside 6..10.
 *
 * @example
 * const binding = { flowId: 'f1', purpose: 'registration', epoch: 0, nonce: 'n1' } as const;
 * deriveCode(hostKey, binding, 0, 6); // e.g. '093412', the same every time
 */
export const deriveCode = (hostKey: Uint8Array, binding: CodeBinding, counter: number, digits: number): string =>
  hotp(flowKey(hostKey, CODE_LABEL, binding), counter, digits, 'SHA256');

/**
 * The e-mail reset-link token for `binding` at `counter`: 128 bits, base64url without padding
 * (22 characters), derived like `deriveCode` under a different label.
 *
 * @example
 * deriveLinkToken(hostKey, { flowId: 'f1', purpose: 'recovery.email', epoch: 3, nonce: 'n1' }, 0);
 * // e.g. 'q3Jx0Wc1YzN1l8S2kQe7Ag'
 */
export const deriveLinkToken = (hostKey: Uint8Array, binding: CodeBinding, counter: number): string =>
  base64url(hmac(sha256, flowKey(hostKey, LINK_LABEL, binding), counterBytes(counter)).subarray(0, LINK_TOKEN_BYTES));

/**
 * A fresh code: the next counter (0 for the first), a new expiry, the per-code wrong count
 * reset, the per-flow wrong count carried over.
 *
 * @example
 * const first = issueCode(undefined, binding, now, policy.code.ttlMs);
 * const resent = issueCode(first, binding, now + 60_000, policy.code.ttlMs); // kills `first`'s code
 */
export const issueCode = (
  previous: CodeState | undefined,
  binding: CodeBinding,
  now: Instant,
  ttlMs: Duration,
): CodeState => ({
  binding,
  counter: previous === undefined ? 0 : previous.counter + 1,
  issuedAt: now,
  expiresAt: now + ttlMs,
  wrongForCode: 0,
  wrongForFlow: previous?.wrongForFlow ?? 0,
  used: false,
});

/**
 * Checks a submitted code or link token against the state, by the rules in this module's
 * header, and returns the outcome with the next state. Never throws: anything malformed, and
 * even a host key that cannot derive, counts as a wrong try (failing closed, within the limits).
 *
 * @example
 * const { outcome, next } = checkCode(state, {
 *   hostKey, submitted: '093412', now, policy,
 *   expected: { flowId: 'f1', purpose: 'registration', epoch: 0 }, kind: 'code',
 * });
 */
export const checkCode = (state: CodeState, check: CodeCheck): { outcome: CodeOutcome; next: CodeState } => {
  const { now, policy, expected } = check;
  if (state.used) return { outcome: 'used', next: state };
  // Not "before expiry" rather than hasPassed: a NaN clock must read as expired, not as in time.
  if (!(now < state.expiresAt)) return { outcome: 'expired', next: state };
  if (state.wrongForFlow >= policy.code.maxWrongPerFlow) return { outcome: 'flow_exhausted', next: state };
  if (state.wrongForCode >= policy.code.maxWrongPerCode) return { outcome: 'exhausted', next: state };
  const wrong = { ...state, wrongForCode: state.wrongForCode + 1, wrongForFlow: state.wrongForFlow + 1 };
  if (!bindingMatches(state.binding, expected)) return { outcome: 'stale', next: wrong };
  return matches(state, check) ? { outcome: 'accepted', next: { ...state, used: true } } : { outcome: 'wrong', next: wrong };
};

/**
 * The public error for a refused code, on field `code`. `stale` reads as an invalid code: saying
 * "this code belongs to another flow" would tell a guesser more than they need.
 *
 * @example
 * codeToFlowError('flow_exhausted', 3_600_000).code; // 'flow_locked'
 */
export const codeToFlowError = (outcome: Exclude<CodeOutcome, 'accepted'>, retryAfterMs?: number): FlowError => {
  const field = 'code';
  switch (outcome) {
    case 'wrong':
    case 'stale':
      return flowError('code_invalid', 'The code is not correct.', { field });
    case 'expired':
      return flowError('code_expired', 'The code has expired; ask for a new one.', { field });
    case 'used':
      return flowError('code_used', 'The code has already been used.', { field });
    case 'exhausted':
      return flowError('code_attempts_exhausted', 'Too many wrong tries for this code; ask for a new one.', { field });
    case 'flow_exhausted':
      return flowError('flow_locked', 'Too many wrong tries; try again later.', { field, retryAfterMs });
  }
};

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

export const isCodeOutcome = (u: unknown): u is CodeOutcome => CodeOutcome.is(u);

const bindingMatches = (binding: CodeBinding, expected: CodeCheck['expected']): boolean =>
  binding.flowId === expected.flowId && binding.purpose === expected.purpose && binding.epoch === expected.epoch;

const matches = (state: CodeState, check: CodeCheck): boolean => {
  const { submitted } = check;
  if (typeof submitted !== 'string' || submitted.length > MAX_SUBMITTED_LENGTH) return false;
  let derived: string;
  try {
    derived =
      check.kind === 'link'
        ? deriveLinkToken(check.hostKey, state.binding, state.counter)
        : deriveCode(check.hostKey, state.binding, state.counter, check.policy.code.digits);
  } catch {
    return false;
  }
  return constantTimeEqual(submitted, derived);
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/**
 * The per-flow key. Each field is length-prefixed (4 bytes, big-endian, then UTF-8), so no two
 * different bindings encode alike: ("ab", "c") and ("a", "bc") differ in their prefixes.
 */
const flowKey = (hostKey: Uint8Array, label: string, binding: CodeBinding): Uint8Array => {
  if (!(hostKey instanceof Uint8Array) || hostKey.length < MIN_HOST_KEY_BYTES) {
    throw new RangeError(`The host code key must be at least ${MIN_HOST_KEY_BYTES} bytes`);
  }
  return hmac(sha256, hostKey, encodeFields([label, binding.flowId, binding.purpose, String(binding.epoch), binding.nonce]));
};

/** Length-prefixed concatenation: the unambiguous encoding the per-flow key is computed over. */
export const encodeFields = (fields: readonly string[]): Uint8Array => {
  const parts = fields.map((f) => utf8ToBytes(f));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length, false);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
};

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** RFC 4648 §5 without padding: safe in a URL path or query without further escaping. */
export const base64url = (bytes: Uint8Array): string => {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    const n = (b0 << 16) | (b1 << 8) | b2;
    const chars = i + 1 >= bytes.length ? 2 : i + 2 >= bytes.length ? 3 : 4;
    for (let j = 0; j < chars; j++) out += BASE64URL[(n >>> (18 - 6 * j)) & 0x3f];
  }
  return out;
};
