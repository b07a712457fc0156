/**
 * A handle: the public ID friends find an account by, so the phone number need not be shared
 * (seed 002). Rules follow WeChat IDs: 6–20 characters by default, an ASCII letter first, then
 * ASCII letters, digits, `_` and `-`. Handles keep the case they were typed in for display but
 * are unique ignoring case: `handleKey` is what a directory indexes.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { type FlowError, flowError } from './errors.ts';
import type { Policy } from './policy.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

interface HandleBrand {
  readonly Handle: unique symbol;
}

interface HandleKeyBrand {
  readonly HandleKey: unique symbol;
}

const HANDLE_GRAMMAR = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * A handle in the grammar. Its length is policy and is checked by `parseHandle` when a handle is
 * chosen, so a handle stored under an older policy still decodes.
 */
export const Handle = t.brand(t.string, (s): s is t.Branded<string, HandleBrand> => HANDLE_GRAMMAR.test(s), 'Handle');
export type Handle = t.TypeOf<typeof Handle>;

/** The case-folded form uniqueness is decided on. */
export const HandleKey = t.brand(
  t.string,
  (s): s is t.Branded<string, HandleKeyBrand> => HANDLE_GRAMMAR.test(s) && s === s.toLowerCase(),
  'HandleKey',
);
export type HandleKey = t.TypeOf<typeof HandleKey>;

/** Far above any sensible maximum; longer input is refused before normalising it. */
const MAX_RAW_LENGTH = 256;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Parses a chosen handle. Surrounding whitespace is dropped and input is NFKC-normalised first,
 * so fullwidth letters from a CJK input method (`ａｌｉｃｅ＿０１`) become the ASCII handle the
 * user meant; anything still outside the grammar is refused.
 *
 * @example
 * parseHandle('Alice_2024', DEFAULT_POLICY); // Right('Alice_2024')
 * parseHandle('2alice', DEFAULT_POLICY);     // Left(handle_invalid): must start with a letter
 */
export const parseHandle = (raw: unknown, policy: Policy): E.Either<FlowError, Handle> => {
  const { minLength, maxLength } = policy.handle;
  const rules = `Use ${minLength}–${maxLength} characters: a letter first, then letters, digits, _ or -.`;
  if (typeof raw !== 'string' || raw.length > MAX_RAW_LENGTH) return E.left(invalid(rules));
  const handle = raw.normalize('NFKC').trim();
  // The grammar is ASCII-only, so after it passes, UTF-16 length is the character count.
  if (!HANDLE_GRAMMAR.test(handle) || handle.length < minLength || handle.length > maxLength) return E.left(invalid(rules));
  return E.right(handle as Handle);
};

const invalid = (message: string): FlowError => flowError('handle_invalid', message, { field: 'handle' });

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/**
 * The key a handle is unique under: `Alice_01` and `alice_01` are the same handle. Handles are
 * ASCII, so plain lowercasing is full case folding here (no locale, no dotted-i surprises).
 */
export const handleKey = (handle: Handle): HandleKey => handle.toLowerCase() as HandleKey;
