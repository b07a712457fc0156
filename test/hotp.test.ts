import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, counterBytes, type HotpAlgorithm, hotp, totpAt, totpStep } from '../src/domain/hotp.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// RFC 6238 Appendix B: each mode has its own seed, the ASCII digits repeated to the hash's size.
const SEEDS: Record<HotpAlgorithm, Uint8Array> = {
  SHA1: ascii('12345678901234567890'),
  SHA256: ascii('12345678901234567890123456789012'),
  SHA512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
};

describe('hotp', () => {
  it('should match the RFC 4226 Appendix D vectors', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expected.forEach((code, counter) => expect(hotp(SEEDS.SHA1, counter)).toBe(code));
  });

  it('should give the same value for a number and a bigint counter', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (key, counter) => {
        expect(hotp(key, counter)).toBe(hotp(key, BigInt(counter)));
      }),
    );
  });

  it('should always give exactly `digits` decimal digits', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 6, max: 10 }),
        fc.constantFrom<HotpAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        (key, counter, digits, algorithm) => {
          expect(hotp(key, counter, digits, algorithm)).toMatch(new RegExp(`^[0-9]{${digits}}$`));
        },
      ),
    );
  });

  it('should refuse counters and digit counts outside the RFC', () => {
    expect(() => hotp(SEEDS.SHA1, -1)).toThrow(RangeError);
    expect(() => hotp(SEEDS.SHA1, 1.5)).toThrow(RangeError);
    expect(() => hotp(SEEDS.SHA1, 1n << 64n)).toThrow(RangeError);
    expect(() => hotp(SEEDS.SHA1, 0, 5)).toThrow(RangeError);
    expect(() => hotp(SEEDS.SHA1, 0, 11)).toThrow(RangeError);
  });

  it('should encode the counter as 8 big-endian bytes', () => {
    expect([...counterBytes(0x0102030405060708n)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...counterBytes(1)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
  });
});

describe('totp', () => {
  const vectors: readonly [seconds: number, algorithm: HotpAlgorithm, code: string][] = [
    [59, 'SHA1', '94287082'],
    [59, 'SHA256', '46119246'],
    [59, 'SHA512', '90693936'],
    [1111111109, 'SHA1', '07081804'],
    [1111111109, 'SHA256', '68084774'],
    [1111111109, 'SHA512', '25091201'],
    [1111111111, 'SHA1', '14050471'],
    [1111111111, 'SHA256', '67062674'],
    [1111111111, 'SHA512', '99943326'],
    [1234567890, 'SHA1', '89005924'],
    [1234567890, 'SHA256', '91819424'],
    [1234567890, 'SHA512', '93441116'],
    [2000000000, 'SHA1', '69279037'],
    [2000000000, 'SHA256', '90698825'],
    [2000000000, 'SHA512', '38618901'],
    [20000000000, 'SHA1', '65353130'],
    [20000000000, 'SHA256', '77737706'],
    [20000000000, 'SHA512', '47863826'],
  ];

  it.each(vectors)('should match RFC 6238 Appendix B at %i s with %s', (seconds, algorithm, code) => {
    expect(totpAt(SEEDS[algorithm], seconds * 1000, { periodSeconds: 30, digits: 8, algorithm })).toBe(code);
  });

  it('should put a period boundary in the next step', () => {
    expect(totpStep(29_999, 30)).toBe(0);
    expect(totpStep(30_000, 30)).toBe(1);
    expect(totpStep(59_000, 30)).toBe(1);
  });

  it('should default to 30 s, 6 digits and SHA1', () => {
    expect(totpAt(SEEDS.SHA1, 59_000)).toBe('287082');
  });

  it('should give the same code throughout a step', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 36 }), fc.nat({ max: 29_999 }), (step, offset) => {
        const start = step * 30_000;
        expect(totpAt(SEEDS.SHA1, start + offset)).toBe(totpAt(SEEDS.SHA1, start));
      }),
    );
  });
});

describe('constantTimeEqual', () => {
  it('should agree with === on any strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
    );
  });

  it('should tell a prefix from the whole', () => {
    expect(constantTimeEqual('12345', '123456')).toBe(false);
    expect(constantTimeEqual('', '1')).toBe(false);
    expect(constantTimeEqual('123456\u0000', '123456')).toBe(false);
  });
});

describe('HOTP and TOTP bounds, exactly', () => {
  it('should take the largest 64-bit counter and refuse one more, saying why', () => {
    expect(hotp(SEEDS.SHA1, (1n << 64n) - 1n)).toMatch(/^[0-9]{6}$/);
    expect([...counterBytes((1n << 64n) - 1n)]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(() => counterBytes(1n << 64n)).toThrow(new RangeError('HOTP counter must be an integer from 0 to 2^64-1'));
    expect(() => hotp(SEEDS.SHA1, 0, 11)).toThrow(new RangeError('HOTP digits must be an integer from 6 to 10'));
  });

  it('should refuse a period that is not a positive whole number of seconds, saying why', () => {
    for (const period of [0, -30, 1.5, Number.NaN]) {
      expect(() => totpStep(59_000, period), String(period)).toThrow(new RangeError('TOTP period must be a positive integer number of seconds'));
    }
    expect(totpStep(59_000, 1)).toBe(59);
  });
});
