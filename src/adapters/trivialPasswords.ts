/**
 * The part of a password blocklist that needs no dictionary: shapes no list has to spell out.
 * 800-63B rev. 3 §5.1.1.2 names "repetitive or sequential characters" among what a blocklist
 * should hold. Kept apart from the bundled word list so the embedded defaults refuse these
 * shapes without shipping ~400 KB of words to every browser.
 */
import type { PasswordBlocklist } from '../ports/passwordBlocklist.ts';

/** Longest repeated unit refused: `abab…`, `abcabc…`, `12341234`. */
const MAX_REPEAT_PERIOD = 4;

/** One short unit repeated (`aaaaaaaa`, `12121212`) or a run up or down by one (`abcdefgh`, `87654321`). */
export const isTrivialPattern = (s: string): boolean => {
  const points = Array.from(s, (c) => c.codePointAt(0) ?? 0);
  if (points.length < 3) return false;
  return isPeriodic(points) || isRun(points, 1) || isRun(points, -1);
};

/**
 * Refuses trivial shapes and the host's `extra` words (NFKC-normalised and lowercased, like
 * the candidates), and nothing else. The default of `createMemoryWorld`; a host that wants the
 * ~49,000 common passwords passes `commonPasswordBlocklist()` from `account-flows/common-passwords`.
 *
 * @example
 * trivialPatternBlocklist().has('12341234');                 // true
 * trivialPatternBlocklist(['woaini1314']).has('woaini1314'); // true
 * trivialPatternBlocklist().has('password');                 // false: that needs the word list
 */
export const trivialPatternBlocklist = (extra: Iterable<string> = []): PasswordBlocklist => {
  const extras = normalisedWords(extra);
  return { has: (candidate) => extras.has(candidate) || isTrivialPattern(candidate) };
};

export const normalisedWords = (words: Iterable<string>): ReadonlySet<string> => {
  const out = new Set<string>();
  for (const word of words) out.add(word.normalize('NFKC').toLowerCase());
  return out;
};

const isPeriodic = (points: readonly number[]): boolean => {
  for (let period = 1; period <= MAX_REPEAT_PERIOD && period * 2 <= points.length; period += 1) {
    if (points.every((p, i) => i < period || p === points[i - period])) return true;
  }
  return false;
};

const isRun = (points: readonly number[], step: 1 | -1): boolean =>
  points.every((p, i) => i === 0 || p - (points[i - 1] ?? 0) === step);
