/**
 * One-time passwords as pure functions: HOTP (RFC 4226) and TOTP (RFC 6238) over
 * `@noble/hashes`, which is synchronous and runs the same in Node, a browser or a worker, so
 * guards may call it. Time is always an argument: a TOTP that read the clock itself could not
 * be replayed under virtual time.
 */
import * as t from 'io-ts';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The HMAC hashes RFC 6238 names; authenticator apps widely support only SHA1. */
export const HotpAlgorithm = t.keyof({ SHA1: null, SHA256: null, SHA512: null }, 'HotpAlgorithm');
export type HotpAlgorithm = t.TypeOf<typeof HotpAlgorithm>;

export interface TotpParams {
  readonly periodSeconds: number;
  readonly digits: number;
  readonly algorithm: HotpAlgorithm;
}

/** RFC 6238 §4.1 defaults, which every authenticator app assumes when the URI is silent. */
export const DEFAULT_TOTP_PARAMS: TotpParams = { periodSeconds: 30, digits: 6, algorithm: 'SHA1' };

const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const;

// RFC 4226 §5.3 truncates to 31 bits, so more than 10 digits would only ever add leading zeros;
// fewer than 6 is below the RFC's own floor.
const MIN_DIGITS = 6;
const MAX_DIGITS = 10;
const MAX_COUNTER = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * The HOTP value for `counter`: HMAC over the 8-byte big-endian counter, dynamic truncation to
 * 31 bits, the low `digits` decimal digits, zero-padded.
 *
 * Throws `RangeError` on a counter outside 0..2^64-1 or digits outside 6..10: both are wiring
 * mistakes, never user input.
 *
 * @example
 * const key = new TextEncoder().encode('12345678901234567890');
 * hotp(key, 0); // '755224' (RFC 4226 Appendix D)
 */
export const hotp = (
  key: Uint8Array,
  counter: number | bigint,
  digits = 6,
  algorithm: HotpAlgorithm = 'SHA1',
): string => {
  if (!Number.isSafeInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(`HOTP digits must be an integer from ${MIN_DIGITS} to ${MAX_DIGITS}`);
  }
  const mac = hmac(HASHES[algorithm], key, counterBytes(counter));
  return truncate(mac, digits);
};

/**
 * The TOTP value at `unixMs`: HOTP over the time step (RFC 6238 §4.2, T0 = 0).
 *
 * @example
 * const key = new TextEncoder().encode('12345678901234567890');
 * totpAt(key, 59_000, { periodSeconds: 30, digits: 8, algorithm: 'SHA1' }); // '94287082'
 */
export const totpAt = (key: Uint8Array, unixMs: Instant, params: Partial<TotpParams> = {}): string => {
  const { periodSeconds, digits, algorithm } = { ...DEFAULT_TOTP_PARAMS, ...params };
  return hotp(key, totpStep(unixMs, periodSeconds), digits, algorithm);
};

/**
 * The RFC 6238 time step containing `unixMs`. A step's window is [step·period, (step+1)·period)
 * in seconds.
 *
 * @example
 * totpStep(59_000, 30); // 1
 */
export const totpStep = (unixMs: Instant, periodSeconds: number): number => {
  if (!Number.isSafeInteger(periodSeconds) || periodSeconds <= 0) {
    throw new RangeError('TOTP period must be a positive integer number of seconds');
  }
  return Math.floor(unixMs / (periodSeconds * 1000));
};

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/**
 * Whether two strings are equal, looking at every character of the longer one whatever the
 * content, so the time taken does not reveal how long a matching prefix was. Lengths are not
 * secret here (a code's length is public), but the loop runs over the longer one anyway.
 * JavaScript promises no timing; this removes the early exit, which is what an attacker can
 * measure.
 *
 * @example
 * constantTimeEqual('123456', '123456'); // true
 * constantTimeEqual('123456', '123457'); // false
 */
export const constantTimeEqual = (a: string, b: string): boolean => {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) {
    // charCodeAt past the end is NaN, and NaN | 0 is 0: the length check above already counts it.
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** The counter as RFC 4226 §5.2 feeds it to HMAC: 8 bytes, big-endian. */
export const counterBytes = (counter: number | bigint): Uint8Array => {
  const big = typeof counter === 'bigint' ? counter : Number.isSafeInteger(counter) ? BigInt(counter) : -1n;
  if (big < 0n || big > MAX_COUNTER) throw new RangeError('HOTP counter must be an integer from 0 to 2^64-1');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, big, false);
  return out;
};

const truncate = (mac: Uint8Array, digits: number): string => {
  // The offset comes from the last byte (RFC 4226 §5.3), which also holds for 32- and 64-byte MACs.
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin =
    (((mac[offset] ?? 0) & 0x7f) << 24) |
    ((mac[offset + 1] ?? 0) << 16) |
    ((mac[offset + 2] ?? 0) << 8) |
    (mac[offset + 3] ?? 0);
  // Modulo in BigInt-free arithmetic: bin < 2^31 and 10^10 > 2^31, so `%` is exact in doubles.
  return String(bin % 10 ** digits).padStart(digits, '0');
};
