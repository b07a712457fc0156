/**
 * TOTP as a second factor, as pure data and functions.
 *
 * A TOTP secret is shown to the user once (QR code) and kept by the authenticator app. Flows and
 * accounts hold only a `secretRef`; the bytes are derived again from it with the host key
 * (`CodeSecrets.secretBytes('totp', [secretRef], TOTP_SECRET_BYTES)`, machines/totpEnrollment.ts
 * builds the reference from account, flow and a random nonce) and passed in at the moment of
 * verification, so no secret ever rests in plain text. `totpSecretFromBytes` only encodes them.
 *
 * Replay protection is the factor's `lastUsedStep`: a code is accepted only for a step after
 * the last accepted one, so a code seen over someone's shoulder is dead once used. That state
 * belongs to the account (through its directory port), not to one flow, or a second flow
 * could replay the code.
 *
 * Backup codes are formatted, normalised and hashed here: a machine hashes them at confirmation,
 * and the host's store compares hashes, so both must agree on one function.
 */
import * as O from 'fp-ts/lib/Option.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import * as t from 'io-ts';
import { constantTimeEqual, HotpAlgorithm, hotp, totpStep } from './hotp.ts';
import type { Policy } from './policy.ts';
import type { Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

const isNonNegativeInteger = (u: unknown): u is number => Number.isSafeInteger(u) && (u as number) >= 0;

const NonNegativeInteger = new t.Type<number, number, unknown>(
  'NonNegativeInteger',
  isNonNegativeInteger,
  (u, c) => (isNonNegativeInteger(u) ? t.success(u) : t.failure(u, c)),
  (n) => n,
);

/**
 * A TOTP secret shown to the user but not yet confirmed with a first code. The parameters are
 * fixed at enrollment: the authenticator app was configured with them, so a later policy change
 * must not change what this factor accepts.
 */
export const TotpEnrollment = t.readonly(
  t.type({
    secretRef: t.string,
    startedAt: t.number,
    algorithm: HotpAlgorithm,
    digits: NonNegativeInteger,
    periodSeconds: NonNegativeInteger,
  }),
  'TotpEnrollment',
);
export type TotpEnrollment = t.TypeOf<typeof TotpEnrollment>;

/** A confirmed TOTP factor. `lastUsedStep` is null until the first code is accepted. */
export const TotpFactor = t.readonly(
  t.type({
    secretRef: t.string,
    enrolledAt: t.number,
    algorithm: HotpAlgorithm,
    digits: NonNegativeInteger,
    periodSeconds: NonNegativeInteger,
    lastUsedStep: t.union([t.number, t.null]),
  }),
  'TotpFactor',
);
export type TotpFactor = t.TypeOf<typeof TotpFactor>;

export type TotpVerifyParams = Pick<Policy['totp'], 'periodSeconds' | 'digits' | 'skewSteps'> & {
  readonly algorithm?: HotpAlgorithm;
};

export interface TotpVerification {
  readonly ok: boolean;
  /** The step the code matched, present exactly when ok: the caller stores it as the new `lastUsedStep`. */
  readonly step?: number;
}

export interface OtpauthParams {
  readonly issuer: string;
  readonly account: string;
  readonly secretBase32: string;
  readonly digits: number;
  readonly periodSeconds: number;
}

/** 160 bits, the HMAC-SHA1 output length RFC 4226 §4 recommends for the shared secret. */
export const TOTP_SECRET_BYTES = 20;

/** Bytes needed for one backup code: 10 base-32 characters carry 50 bits, 7 bytes give 56. */
export const BACKUP_CODE_BYTES = 7;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// Crockford's alphabet: no I, L, O or U, so a code read aloud or copied from paper has no
// look-alike characters.
const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const BACKUP_CODE_CHARS = 10;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * An enrollment under the current policy, for a secret the host has stored under `secretRef`.
 *
 * @example
 * const enrollment = startTotpEnrollment('totp/acct-1/1', now, policy.totp);
 */
export const startTotpEnrollment = (
  secretRef: string,
  now: Instant,
  params: Pick<Policy['totp'], 'periodSeconds' | 'digits'>,
): TotpEnrollment => ({
  secretRef,
  startedAt: now,
  algorithm: 'SHA1',
  digits: params.digits,
  periodSeconds: params.periodSeconds,
});

/**
 * Confirms an enrollment with the user's first code: the factor, with that code's step already
 * marked used, or none when the code does not verify.
 *
 * @example
 * const factor = confirmTotpEnrollment(enrollment, secret, '287082', now, policy.totp.skewSteps);
 */
export const confirmTotpEnrollment = (
  enrollment: TotpEnrollment,
  secret: Uint8Array,
  submitted: string,
  now: Instant,
  skewSteps: number,
): O.Option<TotpFactor> => {
  const result = verifyTotp(secret, submitted, now, { ...enrollment, skewSteps }, null);
  return result.step !== undefined
    ? O.some({
        secretRef: enrollment.secretRef,
        enrolledAt: now,
        algorithm: enrollment.algorithm,
        digits: enrollment.digits,
        periodSeconds: enrollment.periodSeconds,
        lastUsedStep: result.step,
      })
    : O.none;
};

/**
 * Verifies a code against a confirmed factor: the factor with its step advanced when accepted.
 *
 * @example
 * const { ok, next } = useTotpFactor(factor, secret, '287082', now, policy.totp.skewSteps);
 */
export const useTotpFactor = (
  factor: TotpFactor,
  secret: Uint8Array,
  submitted: string,
  now: Instant,
  skewSteps: number,
): { readonly ok: boolean; readonly next: TotpFactor } => {
  const result = verifyTotp(secret, submitted, now, { ...factor, skewSteps }, factor.lastUsedStep);
  return result.step !== undefined
    ? { ok: true, next: { ...factor, lastUsedStep: result.step } }
    : { ok: false, next: factor };
};

/**
 * A base32 TOTP secret from the host's random bytes (at least 20, RFC 4226 §4).
 *
 * @example
 * const secretBase32 = totpSecretFromBytes(random.bytes(TOTP_SECRET_BYTES)); // 32 characters
 */
export const totpSecretFromBytes = (bytes: Uint8Array): string => {
  if (bytes.length < TOTP_SECRET_BYTES) throw new RangeError(`A TOTP secret needs at least ${TOTP_SECRET_BYTES} random bytes`);
  return base32Encode(bytes);
};

/**
 * The `otpauth://` key URI authenticator apps read from a QR code (Google Authenticator's Key
 * Uri Format). Issuer and account are percent-encoded, so a colon inside either cannot be read
 * as the label's separator; the issuer is repeated as a parameter, which apps prefer.
 *
 * @example
 * otpauthUri({ issuer: 'Acme', account: 'alice', secretBase32: 'JBSWY3DPEHPK3PXP', digits: 6, periodSeconds: 30 });
 * // 'otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme&algorithm=SHA1&digits=6&period=30'
 */
export const otpauthUri = ({ issuer, account, secretBase32, digits, periodSeconds }: OtpauthParams): string => {
  const secret = secretBase32.replace(/[\s=]/g, '').toUpperCase();
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = [
    `secret=${encodeURIComponent(secret)}`,
    `issuer=${encodeURIComponent(issuer)}`,
    'algorithm=SHA1',
    `digits=${digits}`,
    `period=${periodSeconds}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
};

/**
 * A backup code from the host's random bytes (at least 7): 10 Crockford base-32 characters
 * (50 bits), grouped `xxxxx-xxxxx`.
 *
 * @example
 * backupCodeFromBytes(random.bytes(BACKUP_CODE_BYTES)); // e.g. '7k2mq-x9d4c'
 */
export const backupCodeFromBytes = (bytes: Uint8Array): string => {
  if (bytes.length < BACKUP_CODE_BYTES) throw new RangeError(`A backup code needs at least ${BACKUP_CODE_BYTES} random bytes`);
  const chars = bitsToChars(bytes, CROCKFORD).slice(0, BACKUP_CODE_CHARS);
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
};

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/**
 * Whether `submitted` is the TOTP for a step within ±`skewSteps` of now and after
 * `lastUsedStep`. Spaces are ignored (apps show "123 456"); anything else malformed is simply
 * not ok. Every candidate step is compared, so timing does not reveal which one matched.
 *
 * @example
 * verifyTotp(secret, '287082', now, policy.totp, factor.lastUsedStep); // { ok: true, step } or { ok: false }
 */
export const verifyTotp = (
  secret: Uint8Array,
  submitted: string,
  now: Instant,
  params: TotpVerifyParams,
  lastUsedStep: number | null,
): TotpVerification => {
  if (typeof submitted !== 'string') return { ok: false };
  const code = submitted.replace(/\s/g, '');
  // Only a candidate can match, so this check changes no answer: it keeps hostile lengths from
  // costing a comparison per step.
  if (code.length !== params.digits) return { ok: false };
  let current: number;
  try {
    current = totpStep(now, params.periodSeconds);
  } catch {
    return { ok: false };
  }
  let matched: number | undefined;
  for (let step = current - params.skewSteps; step <= current + params.skewSteps; step++) {
    if (step < 0 || (lastUsedStep !== null && step <= lastUsedStep)) continue;
    let candidate: string;
    try {
      candidate = hotp(secret, step, params.digits, params.algorithm ?? 'SHA1');
    } catch {
      return { ok: false };
    }
    if (constantTimeEqual(code, candidate) && matched === undefined) matched = step;
  }
  return matched === undefined ? { ok: false } : { ok: true, step: matched };
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/**
 * RFC 4648 §6 base32, upper case, without padding (authenticator apps expect none in a URI).
 *
 * @example
 * base32Encode(new TextEncoder().encode('foobar')); // 'MZXW6YTBOI'
 */
export const base32Encode = (bytes: Uint8Array): string => bitsToChars(bytes, BASE32);

/**
 * RFC 4648 §6 base32 to bytes. Case, spaces and trailing `=` are forgiven (people type secrets
 * by hand); other characters, an impossible length, or non-zero leftover bits give none, so
 * every string decodes to at most one byte sequence and back.
 *
 * @example
 * base32Decode('mzxw6ytboi'); // some(bytes of 'foobar')
 */
export const base32Decode = (input: string): O.Option<Uint8Array> => {
  const s = input.replace(/\s/g, '').replace(/=+$/, '').toUpperCase();
  // 8 characters carry 5 bytes; remainders of 1, 3 or 6 characters cannot end a byte boundary.
  if ([1, 3, 6].includes(s.length % 8)) return O.none;
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let at = 0;
  for (const ch of s) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return O.none;
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (buffer >>> bits) & 0xff;
    }
  }
  return (buffer & ((1 << bits) - 1)) === 0 ? O.some(out) : O.none;
};

/**
 * A typed backup code in its canonical form `xxxxx-xxxxx`, or none. Case, spaces and hyphens
 * are forgiven, and Crockford's look-alikes are read as meant (o → 0, i and l → 1), so the
 * host hashes the same string whatever the user typed.
 *
 * @example
 * normaliseBackupCode(' 7K2MQ X9D4C '); // some('7k2mq-x9d4c')
 */
export const normaliseBackupCode = (input: string): O.Option<string> => {
  if (typeof input !== 'string' || input.length > 64) return O.none;
  const s = input
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
  if (s.length !== BACKUP_CODE_CHARS || ![...s].every((ch) => CROCKFORD.includes(ch))) return O.none;
  return O.some(`${s.slice(0, 5)}-${s.slice(5)}`);
};

/**
 * The stored form of a backup code in its canonical form (see `normaliseBackupCode`). Backup codes
 * carry ~50 bits from the host's secret derivation, so a fast hash is enough to keep them from
 * resting in plain text (unlike passwords, they are not human-chosen).
 *
 * @example
 * hashBackupCode('7k2mq-x9d4c'); // 64 hex characters
 */
export const hashBackupCode = (code: string): string => bytesToHex(sha256(utf8ToBytes(code)));

/** Bytes to 5-bit characters, most significant bit first, the last group zero-filled. */
const bitsToChars = (bytes: Uint8Array, alphabet: string): string => {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >>> bits) & 0x1f];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 0x1f];
  return out;
};
