import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Handle, HandleKey, handleKey, parseHandle } from '../src/domain/handle.ts';
import { DEFAULT_POLICY, makePolicy, type Policy } from '../src/domain/policy.ts';

const codeOf = (result: E.Either<{ code: string }, unknown>): string => (E.isLeft(result) ? result.left.code : 'ok');

const expectRefused = (raw: unknown, policy: Policy = DEFAULT_POLICY): void => {
  const result = parseHandle(raw, policy);
  expect(codeOf(result), String(raw).slice(0, 40)).toBe('handle_invalid');
  expect(E.isLeft(result) && result.left.field).toBe('handle');
};

describe('parseHandle', () => {
  it('should accept a handle in the grammar and keep its case', () => {
    expect(parseHandle('Alice_2024', DEFAULT_POLICY)).toEqual(E.right('Alice_2024'));
    expect(parseHandle('a-b_c-1', DEFAULT_POLICY)).toEqual(E.right('a-b_c-1'));
  });

  it('should refuse 5 characters and accept 6', () => {
    expectRefused('abcde');
    expect(parseHandle('abcdef', DEFAULT_POLICY)).toEqual(E.right('abcdef'));
  });

  it('should accept 20 characters and refuse 21', () => {
    expect(parseHandle(`a${'b'.repeat(19)}`, DEFAULT_POLICY)).toEqual(E.right(`a${'b'.repeat(19)}`));
    expectRefused(`a${'b'.repeat(20)}`);
  });

  it('should follow the policy lengths', () => {
    const policy = makePolicy({ handle: { minLength: 3, maxLength: 8 } });
    if (E.isLeft(policy)) throw new Error(policy.left.message);
    expect(E.isRight(parseHandle('abc', policy.right))).toBe(true);
    expectRefused('ab', policy.right);
    expectRefused('abcdefghi', policy.right);
  });

  it('should refuse a handle that does not start with an ASCII letter', () => {
    for (const raw of ['1alice', '_alice', '-alice', 'éalice', '中文alice']) expectRefused(raw);
  });

  it('should refuse characters outside letters, digits, _ and -', () => {
    for (const raw of ['alice.bob', 'alice bob', 'alice@bob', 'alice中文', 'alice😀x', 'alicé_01', 'alice\nbob', 'alice\u0000b', 'alice+bob']) {
      expectRefused(raw);
    }
  });

  it('should trim surrounding whitespace', () => {
    expect(parseHandle('  alice_01 \n', DEFAULT_POLICY)).toEqual(E.right('alice_01'));
  });

  it('should fold fullwidth letters and digits to ASCII', () => {
    expect(parseHandle('ａｌｉｃｅ＿０１', DEFAULT_POLICY)).toEqual(E.right('alice_01'));
    expect(parseHandle('\u3000alice_01\u3000', DEFAULT_POLICY)).toEqual(E.right('alice_01'));
  });

  it('should refuse non-strings and huge strings with a typed error', () => {
    for (const raw of [undefined, null, 123456, {}, ['alice_01'], true, `a${'b'.repeat(1_000_000)}`, '']) expectRefused(raw);
  });

  it('should state the rules in its message without echoing the input', () => {
    const result = parseHandle('bad handle!', DEFAULT_POLICY);
    expect(E.isLeft(result) && result.left.message).toContain('6–20');
    expect(E.isLeft(result) && result.left.message).not.toContain('bad handle');
  });
});

describe('handleKey', () => {
  it('should fold case', () => {
    expect(handleKey('Alice_01' as Handle)).toBe('alice_01');
  });

  it('should give handles differing only in case the same key', () => {
    expect(handleKey('ALICE_01' as Handle)).toBe(handleKey('alice_01' as Handle));
  });

  it('should give a codec-valid key', () => {
    expect(HandleKey.is(handleKey('Alice_01' as Handle))).toBe(true);
    expect(HandleKey.is('Alice_01')).toBe(false);
  });
});

describe('Handle codec', () => {
  it('should decode handles in the grammar whatever their length', () => {
    expect(Handle.is('Alice_01')).toBe(true);
    expect(Handle.is('abc')).toBe(true);
    for (const raw of ['1abc', 'a b', '', 'ａｌｉｃｅ', 42, null]) expect(Handle.is(raw)).toBe(false);
  });
});

describe('parseHandle properties', () => {
  const handle = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{5,19}$/);
  const flipCase = (s: string, flips: readonly boolean[]): string =>
    Array.from(s, (c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c.toLowerCase())).join('');

  it('should never throw on arbitrary unicode input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const result = parseHandle(raw, DEFAULT_POLICY);
        expect(E.isLeft(result) || E.isRight(result)).toBe(true);
      }),
    );
  });

  it('should accept every string in the grammar and length range, unchanged', () => {
    fc.assert(
      fc.property(handle, (raw) => {
        expect(parseHandle(raw, DEFAULT_POLICY)).toEqual(E.right(raw));
      }),
    );
  });

  it('should be idempotent on its own output', () => {
    fc.assert(
      fc.property(fc.oneof(handle, fc.string({ unit: 'grapheme' })), (raw) => {
        const first = parseHandle(raw, DEFAULT_POLICY);
        if (E.isRight(first)) {
          expect(parseHandle(first.right, DEFAULT_POLICY)).toEqual(first);
          expect(Handle.is(first.right)).toBe(true);
          expect(first.right.length).toBeGreaterThanOrEqual(6);
          expect(first.right.length).toBeLessThanOrEqual(20);
        }
      }),
    );
  });

  it('should give the same key to a handle in any case', () => {
    fc.assert(
      fc.property(handle, fc.array(fc.boolean(), { minLength: 1 }), (raw, flips) => {
        const a = parseHandle(raw, DEFAULT_POLICY);
        const b = parseHandle(flipCase(raw, flips), DEFAULT_POLICY);
        if (E.isLeft(a) || E.isLeft(b)) throw new Error('a handle in the grammar was refused');
        expect(handleKey(a.right)).toBe(handleKey(b.right));
      }),
    );
  });

  it('should give distinct keys exactly to handles that differ ignoring case', () => {
    fc.assert(
      fc.property(fc.uniqueArray(handle, { minLength: 2, maxLength: 30 }), (raws) => {
        const accepted = raws.map((raw) => parseHandle(raw, DEFAULT_POLICY)).filter(E.isRight).map((r) => r.right);
        const keys = new Set(accepted.map(handleKey));
        const folded = new Set(accepted.map((h) => h.toLowerCase()));
        expect(keys.size).toBe(folded.size);
      }),
    );
  });
});

describe('parseHandle raw length', () => {
  it('should refuse raw input over 256 characters even when it trims to a handle', () => {
    const padded = `${' '.repeat(250)}alice1`;
    expect(padded).toHaveLength(256);
    expect(parseHandle(padded, DEFAULT_POLICY)).toEqual(E.right('alice1'));
    expectRefused(` ${padded}`);
  });
});
