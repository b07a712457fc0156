/**
 * A bundled blocklist of common passwords, opt-in so the ~50,000-word dictionary stays out of
 * the domain core.
 *
 * Source: `dictionary['passwords-common']` of @zxcvbn-ts/language-common (pinned in
 * package.json), the password list zxcvbn-ts builds from Mark Burnett's ten million leaked
 * passwords (Xato, 2015): lowercased, seen more than ten times, ASCII only, ranked by
 * frequency. Its generator drops every password that zxcvbn's own pattern matchers
 * (repeats, sequences) guess faster than its rank, because zxcvbn catches those anyway — so
 * `aaaaaaaa`, `00000000` and `87654321` are not in the list. This adapter has no pattern
 * matcher to fall back on, so it refuses those shapes by rule (800-63B rev. 3 §5.1.1.2 names
 * "repetitive or sequential characters" among what a blocklist should hold).
 *
 * The list comes from mostly Western leaks; a host serving Chinese users should pass its own
 * additions (pinyin phrases, dates, `5201314`-style numbers) as `extra`.
 */
import { dictionary } from '@zxcvbn-ts/language-common';
import type { PasswordBlocklist } from '../ports/passwordBlocklist.ts';
import { isTrivialPattern, normalisedWords } from './trivialPasswords.ts';

export { isTrivialPattern } from './trivialPasswords.ts';

let common: ReadonlySet<string> | undefined;

// Built on first use, so merely importing the adapter costs nothing.
const commonSet = (): ReadonlySet<string> => (common ??= new Set(dictionary['passwords-common']));

/**
 * A blocklist of common passwords, plus the host's `extra` words (compared, like the list,
 * after NFKC normalisation and lowercasing).
 *
 * @example
 * const blocklist = commonPasswordBlocklist(['woaini1314']);
 * blocklist.has('iloveyou');   // true
 * blocklist.has('12341234');   // true: a repeated unit
 * blocklist.has('woaini1314'); // true: from extra
 */
export const commonPasswordBlocklist = (extra: Iterable<string> = []): PasswordBlocklist => {
  const words = commonSet();
  const extras = normalisedWords(extra);
  return {
    has: (candidate) => words.has(candidate) || extras.has(candidate) || isTrivialPattern(candidate),
  };
};
