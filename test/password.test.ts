import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commonPasswordBlocklist, isTrivialPattern } from '../src/adapters/commonPasswords.ts';
import type { Handle } from '../src/domain/handle.ts';
import { checkPassword, codePointCount, type PasswordContext } from '../src/domain/password.ts';
import type { Phone } from '../src/domain/phone.ts';
import { DEFAULT_POLICY, makePolicy } from '../src/domain/policy.ts';
import type { PasswordBlocklist } from '../src/ports/passwordBlocklist.ts';

const setBlocklist = (...words: string[]): PasswordBlocklist => {
  const set = new Set(words);
  return { has: (s) => set.has(s) };
};

const ctx: PasswordContext = { policy: DEFAULT_POLICY, blocklist: setBlocklist('password', 'iloveyou') };

const codeOf = (result: E.Either<{ code: string }, unknown>): string => (E.isLeft(result) ? result.left.code : 'ok');

describe('checkPassword', () => {
  describe('length', () => {
    it('should refuse 7 characters and accept 8', () => {
      expect(codeOf(checkPassword('abcdefg', ctx))).toBe('password_too_short');
      expect(checkPassword('abcdefgh', ctx)).toEqual(E.right('abcdefgh'));
    });

    it('should accept 128 characters and refuse 129', () => {
      expect(E.isRight(checkPassword('x'.repeat(128), ctx))).toBe(true);
      expect(codeOf(checkPassword('x'.repeat(129), ctx))).toBe('password_too_long');
    });

    it('should count astral characters as one character each', () => {
      expect('😀'.repeat(7)).toHaveLength(14);
      expect(codeOf(checkPassword('😀'.repeat(7), ctx))).toBe('password_too_short');
      expect(E.isRight(checkPassword('😀'.repeat(8), ctx))).toBe(true);
      expect(E.isRight(checkPassword('😀'.repeat(128), ctx))).toBe(true);
      expect(codeOf(checkPassword('😀'.repeat(129), ctx))).toBe('password_too_long');
    });

    it('should count characters after NFKC normalisation', () => {
      // Four ligatures are four code points typed but eight after NFKC ('fi' each).
      expect(checkPassword('ﬁﬁﬁﬁ', ctx)).toEqual(E.right('fifififi'));
      // Eight decomposed accents (sixteen code points) compose to eight.
      expect(checkPassword('e\u0301'.repeat(8), ctx)).toEqual(E.right('\u00e9'.repeat(8)));
      // Four decomposed accents are eight code points typed but four characters.
      expect(codeOf(checkPassword('e\u0301'.repeat(4), ctx))).toBe('password_too_short');
      // 128 characters after composition pass although 256 code points were typed.
      expect(E.isRight(checkPassword('e\u0301'.repeat(128), ctx))).toBe(true);
    });

    it('should fold fullwidth and mathematical letters with NFKC', () => {
      expect(checkPassword('ａｂｃｄｅｆｇｈ', ctx)).toEqual(E.right('abcdefgh'));
      expect(checkPassword('𝒜𝒷𝒸𝒹'.repeat(2), ctx)).toEqual(E.right('AbcdAbcd'));
    });

    it('should follow the policy lengths', () => {
      const policy = makePolicy({ password: { minLength: 15, maxLength: 64 } });
      if (E.isLeft(policy)) throw new Error(policy.left.message);
      const strict = { ...ctx, policy: policy.right };
      expect(codeOf(checkPassword('a'.repeat(14), strict))).toBe('password_too_short');
      expect(E.isRight(checkPassword('a'.repeat(15), strict))).toBe(true);
      expect(codeOf(checkPassword('a'.repeat(65), strict))).toBe('password_too_long');
    });
  });

  describe('characters', () => {
    it('should accept any Unicode, spaces included, without composition rules', () => {
      for (const raw of ['correct horse battery staple', 'alllowercase', '        ', '密码是一个很长的句子', 'pässwörd-ñ', 'tab\there!', '12345678901']) {
        expect(checkPassword(raw, ctx)).toEqual(E.right(raw.normalize('NFKC')));
      }
    });

    it('should refuse lone surrogates, which cannot be stored as UTF-8', () => {
      expect(codeOf(checkPassword('\ud800abcdefgh', ctx))).toBe('invalid_input');
      expect(codeOf(checkPassword('abcdefgh\udfff', ctx))).toBe('invalid_input');
    });

    it('should refuse non-strings and huge strings with a typed error', () => {
      for (const raw of [undefined, null, 12345678, {}, ['password1'], true]) {
        expect(codeOf(checkPassword(raw, ctx))).toBe('invalid_input');
      }
      expect(codeOf(checkPassword('a'.repeat(1_000_000), ctx))).toBe('password_too_long');
    });
  });

  describe('blocklist', () => {
    it('should refuse a blocklisted password ignoring case', () => {
      for (const raw of ['password', 'PassWord', 'PASSWORD', 'ｐａｓｓｗｏｒｄ', 'i love you']) {
        const result = checkPassword(raw, ctx);
        expect(codeOf(result)).toBe('password_blocklisted');
        expect(E.isLeft(result) && result.left.field).toBe('password');
      }
    });

    it('should hand the blocklist the normalised lowercase password', () => {
      const seen: string[] = [];
      checkPassword('ＭｙＳｅｃｒｅｔ１２', { ...ctx, blocklist: { has: (s) => (seen.push(s), false) } });
      expect(seen[0]).toBe('mysecret12');
    });
  });

  describe('identifiers', () => {
    const phone = '+8613800138000' as Phone;
    const handle = 'Alice_01' as Handle;
    const withIds: PasswordContext = { ...ctx, phone, handle };

    it('should refuse a password containing the national digits of the phone', () => {
      for (const raw of ['13800138000', 'x13800138000y', 'my 138-0013-8000!', '138 0013 8000 ok']) {
        expect(codeOf(checkPassword(raw, withIds))).toBe('password_contains_identifier');
      }
    });

    it('should refuse a password containing the full E.164 digits', () => {
      expect(codeOf(checkPassword('+8613800138000', withIds))).toBe('password_contains_identifier');
      expect(codeOf(checkPassword('pw8613800138000', withIds))).toBe('password_contains_identifier');
    });

    it('should refuse the national digits of an HK number', () => {
      expect(codeOf(checkPassword('pw91234567', { ...ctx, phone: '+85291234567' as Phone }))).toBe('password_contains_identifier');
    });

    it('should refuse a password containing the handle, ignoring case', () => {
      for (const raw of ['alice_01', 'ALICE_01!!', 'my-Alice_01-pw', 'ａｌｉｃｅ＿０１xyz']) {
        expect(codeOf(checkPassword(raw, withIds))).toBe('password_contains_identifier');
      }
    });

    it('should accept a password that only shares fragments of them', () => {
      expect(E.isRight(checkPassword('alice 138 quiet river', withIds))).toBe(true);
    });

    it('should not check identifiers it was not given', () => {
      expect(E.isRight(checkPassword('13800138000', ctx))).toBe(true);
    });
  });

  it('should never echo the password in its message', () => {
    const cases: readonly [string, PasswordContext][] = [
      ['short', ctx],
      ['ILOVEYOU', ctx],
      ['x'.repeat(200), ctx],
      ['Alice_01 is me', { ...ctx, handle: 'Alice_01' as Handle }],
    ];
    for (const [raw, context] of cases) {
      const result = checkPassword(raw, context);
      expect(E.isLeft(result)).toBe(true);
      expect(E.isLeft(result) && result.left.message.toLowerCase().includes(raw.toLowerCase())).toBe(false);
    }
  });
});

describe('codePointCount', () => {
  it('should count code points, not UTF-16 units', () => {
    expect(codePointCount('')).toBe(0);
    expect(codePointCount('abc')).toBe(3);
    expect(codePointCount('😀😀')).toBe(2);
  });
});

describe('checkPassword properties', () => {
  it('should never throw on arbitrary values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 300 })), (raw) => {
        const result = checkPassword(raw, ctx);
        expect(E.isLeft(result) || E.isRight(result)).toBe(true);
      }),
    );
  });

  it('should accept only NFKC-normal passwords within the length range, idempotently', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 4, maxLength: 140 }), (raw) => {
        const result = checkPassword(raw, ctx);
        if (E.isLeft(result)) return;
        const n = codePointCount(result.right);
        expect(n).toBeGreaterThanOrEqual(8);
        expect(n).toBeLessThanOrEqual(128);
        expect(result.right.normalize('NFKC')).toBe(result.right);
        expect(checkPassword(result.right, ctx)).toEqual(result);
      }),
    );
  });

  it('should never include the password in an error message', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        const raw = `Zq9#${s}#9qZ`;
        const result = checkPassword(raw, { ...ctx, handle: 'Zq9_handle' as Handle });
        if (E.isLeft(result)) expect(result.left.message).not.toContain('#9qZ');
      }),
    );
  });

  it('should refuse every password that contains the phone digits', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const result = checkPassword(`${before}13800138000${after}`, { ...ctx, phone: '+8613800138000' as Phone });
        expect(['password_contains_identifier', 'password_too_long', 'invalid_input']).toContain(codeOf(result));
      }),
    );
  });
});

describe('commonPasswordBlocklist', () => {
  const blocklist = commonPasswordBlocklist();

  it('should hold common passwords from the bundled list', () => {
    for (const word of ['password', 'iloveyou', 'sunshine', 'qwertyuiop', 'p@ssw0rd', 'letmein1']) expect(blocklist.has(word)).toBe(true);
  });

  it('should not hold a long passphrase', () => {
    expect(blocklist.has('correct horse battery staple')).toBe(false);
    expect(blocklist.has('tr0ub4dor&3xq')).toBe(false);
  });

  it('should refuse repeats and runs that the bundled list leaves out', () => {
    for (const word of ['aaaaaaaa', '00000000', '88888888', '12341234', 'abcabcab', 'abcdefgh', '87654321', '😀😀😀😀😀😀😀😀']) {
      expect(blocklist.has(word)).toBe(true);
    }
    expect(isTrivialPattern('abcdefgz')).toBe(false);
    expect(isTrivialPattern('ab')).toBe(false);
  });

  it('should add the host words, normalised and lowercased', () => {
    const withExtra = commonPasswordBlocklist(['WoAiNi1314', 'ｑｑ１２３４５６７８']);
    expect(withExtra.has('woaini1314')).toBe(true);
    expect(withExtra.has('qq12345678')).toBe(true);
    expect(blocklist.has('woaini1314')).toBe(false);
  });

  it('should make checkPassword refuse common passwords in any case', () => {
    const real: PasswordContext = { policy: DEFAULT_POLICY, blocklist };
    for (const raw of ['Password', 'ILOVEYOU', 'Sunshine', 'ａａａａａａａａ', '12345678']) {
      expect(codeOf(checkPassword(raw, real))).toBe('password_blocklisted');
    }
    expect(E.isRight(checkPassword('correct horse battery staple', real))).toBe(true);
  });
});

describe('checkPassword refusals, exactly', () => {
  const refusal = (code: string, message: string) => E.left({ _tag: 'FlowError', code, visibility: 'public', message, field: 'password' });

  it('should say what is wrong, on field password', () => {
    const withIds: PasswordContext = { ...ctx, phone: '+8613800138000' as Phone, handle: 'Alice_01' as Handle };
    expect(checkPassword(42, ctx)).toEqual(refusal('invalid_input', 'The password must be text.'));
    expect(checkPassword('ok\uD800 but broken', ctx)).toEqual(refusal('invalid_input', 'The password contains characters that cannot be stored.'));
    expect(checkPassword('short', ctx)).toEqual(refusal('password_too_short', 'Use at least 8 characters.'));
    expect(checkPassword('x'.repeat(129), ctx)).toEqual(refusal('password_too_long', 'Use at most 128 characters.'));
    expect(checkPassword('Password', ctx)).toEqual(refusal('password_blocklisted', 'This password is too common. Choose another one.'));
    expect(checkPassword('tea 13800138000', withIds)).toEqual(refusal('password_contains_identifier', 'The password must not contain your phone number or ID.'));
  });

  it('should call raw input beyond eight units a character too long before looking inside it', () => {
    // 128 characters at most, so 1,024 UTF-16 units of raw input are still examined.
    expect(checkPassword(`${'a'.repeat(1023)}\uD800`, ctx)).toEqual(refusal('invalid_input', 'The password contains characters that cannot be stored.'));
    expect(checkPassword(`${'a'.repeat(1024)}\uD800`, ctx)).toEqual(refusal('password_too_long', 'Use at most 128 characters.'));
  });
});
