/**
 * The password rules of NIST SP 800-63B-4 §3.1.1.2 (and ASVS 2.1): a length range counted in
 * characters, any Unicode (spaces included), no composition rules, and a refusal of common
 * passwords and of passwords built from the account's own identifiers.
 *
 * Input is NFKC-normalised first (800-63B-4 asks for NFKC or NFKD), so the same password typed
 * with fullwidth letters or as precomposed or combining accents hashes the same. Length counts
 * Unicode code points, so an emoji is one character, not two UTF-16 units.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { PasswordBlocklist } from '../ports/passwordBlocklist.ts';
import { type FlowError, flowError } from './errors.ts';
import { type Handle, handleKey } from './handle.ts';
import { type Phone, phoneNationalDigits } from './phone.ts';
import type { Policy } from './policy.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

interface NormalisedPasswordBrand {
  readonly NormalisedPassword: unique symbol;
}

/**
 * A password that passed the policy, NFKC-normalised — and still plaintext. It lives only
 * between this check and the `PasswordHasher` port, which turns it into the hash that enters a
 * flow's context. There is deliberately no io-ts codec: nothing should ever decode one from a
 * snapshot, a log or storage.
 */
export type NormalisedPassword = t.Branded<string, NormalisedPasswordBrand>;

export interface PasswordContext {
  readonly policy: Policy;
  readonly blocklist: PasswordBlocklist;
  /** The phone being registered or bound, if known: its digits may not appear in the password. */
  readonly phone?: Phone;
  /** The account's handle, if known: it may not appear in the password, ignoring case. */
  readonly handle?: Handle;
}

/**
 * NFKC shrinks text at most about 4:1 in code points (a base letter and three combining marks
 * compose to one), and a code point is at most 2 UTF-16 units, so raw input longer than this
 * many units per allowed character is too long whatever it normalises to. Checking it first
 * keeps normalisation and scanning off megabyte inputs.
 */
const RAW_UNITS_PER_CHARACTER = 8;

const LONE_SURROGATE = /\p{Cs}/u;

/** Separators people put in a phone number; stripped so `138-0013-8000` is still caught. */
const SEPARATORS = /[\s.()-]/gu;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Checks a new password against the policy and returns it normalised, ready for the hasher.
 * Error messages never include the password.
 *
 * @example
 * checkPassword('correct horse battery staple', { policy: DEFAULT_POLICY, blocklist });
 * // Right('correct horse battery staple')
 * checkPassword('ｐａｓｓｗｏｒｄ', { policy: DEFAULT_POLICY, blocklist });
 * // Left(password_blocklisted): NFKC makes it 'password'
 */
export const checkPassword = (raw: unknown, ctx: PasswordContext): E.Either<FlowError, NormalisedPassword> => {
  const { minLength, maxLength } = ctx.policy.password;
  if (typeof raw !== 'string') return E.left(flowError('invalid_input', 'The password must be text.', { field: 'password' }));
  if (raw.length > maxLength * RAW_UNITS_PER_CHARACTER) return E.left(tooLong(maxLength));
  // A lone surrogate cannot be encoded as UTF-8: the hasher would see U+FFFD, so distinct inputs
  // would collide on one hash.
  if (LONE_SURROGATE.test(raw)) {
    return E.left(flowError('invalid_input', 'The password contains characters that cannot be stored.', { field: 'password' }));
  }
  const password = raw.normalize('NFKC');
  const length = codePointCount(password);
  if (length < minLength) {
    return E.left(flowError('password_too_short', `Use at least ${minLength} characters.`, { field: 'password' }));
  }
  if (length > maxLength) return E.left(tooLong(maxLength));
  const folded = password.toLowerCase();
  if (isBlocklisted(folded, ctx.blocklist)) {
    return E.left(flowError('password_blocklisted', 'This password is too common. Choose another one.', { field: 'password' }));
  }
  if (containsIdentifier(folded, ctx)) {
    return E.left(
      flowError('password_contains_identifier', 'The password must not contain your phone number or ID.', { field: 'password' }),
    );
  }
  return E.right(password as NormalisedPassword);
};

const tooLong = (maxLength: number): FlowError =>
  flowError('password_too_long', `Use at most ${maxLength} characters.`, { field: 'password' });

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

// Spaces do not hide a common password: 'i love you' is 'iloveyou'.
const isBlocklisted = (folded: string, blocklist: PasswordBlocklist): boolean =>
  blocklist.has(folded) || blocklist.has(folded.replace(/\s/gu, ''));

const containsIdentifier = (folded: string, ctx: PasswordContext): boolean => {
  // The national digits end the E.164 digits, so a password holding either holds them.
  const needles: string[] = [];
  if (ctx.phone !== undefined) needles.push(phoneNationalDigits(ctx.phone));
  if (ctx.handle !== undefined) needles.push(handleKey(ctx.handle));
  const haystacks = [folded, folded.replace(SEPARATORS, '')];
  return needles.some((needle) => haystacks.some((haystack) => haystack.includes(needle)));
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** Length in Unicode code points, the unit NIST counts characters in. */
export const codePointCount = (s: string): number => {
  let count = 0;
  for (const _ of s) count += 1;
  return count;
};
