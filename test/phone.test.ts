import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, makePolicy, type Policy, type PolicyOverrides } from '../src/domain/policy.ts';
import { maskPhone, parsePhone, Phone, phoneNationalDigits, phoneRegion } from '../src/domain/phone.ts';

const policyWith = (overrides: PolicyOverrides): Policy => {
  const policy = makePolicy(overrides);
  if (E.isLeft(policy)) throw new Error(policy.left.message);
  return policy.right;
};

const codeOf = (result: E.Either<{ code: string }, unknown>): string => (E.isLeft(result) ? result.left.code : 'ok');

const CN_MOBILE = '+8613800138000';
const CN_FIXED_LINE = '+861088888888';
const US_NUMBER = '+12025550123';
const HK_MOBILE = '+85291234567';
const HK_FIXED_LINE = '+85221234567';

describe('parsePhone', () => {
  it('should accept a CN mobile number in E.164', () => {
    expect(parsePhone(CN_MOBILE, DEFAULT_POLICY)).toEqual(E.right(CN_MOBILE));
  });

  it('should accept an HK mobile number', () => {
    expect(parsePhone('+852 9123 4567', DEFAULT_POLICY)).toEqual(E.right(HK_MOBILE));
  });

  it('should refuse a CN fixed line when the policy wants mobiles only', () => {
    const result = parsePhone(CN_FIXED_LINE, DEFAULT_POLICY);
    expect(codeOf(result)).toBe('phone_invalid');
    expect(E.isLeft(result) && result.left.field).toBe('phone');
  });

  it('should refuse an HK fixed line when the policy wants mobiles only', () => {
    expect(codeOf(parsePhone(HK_FIXED_LINE, DEFAULT_POLICY))).toBe('phone_invalid');
  });

  it('should accept fixed lines when the policy allows them', () => {
    const policy = policyWith({ phone: { mobileOnly: false } });
    expect(parsePhone(CN_FIXED_LINE, policy)).toEqual(E.right(CN_FIXED_LINE));
    expect(parsePhone(HK_FIXED_LINE, policy)).toEqual(E.right(HK_FIXED_LINE));
  });

  it('should refuse a valid US number as a region not allowed', () => {
    const result = parsePhone(US_NUMBER, DEFAULT_POLICY);
    expect(codeOf(result)).toBe('phone_region_not_allowed');
    expect(E.isLeft(result) && result.left.field).toBe('phone');
  });

  it('should accept a US number, fixed-line-or-mobile, when the policy allows US', () => {
    expect(parsePhone(US_NUMBER, policyWith({ phone: { allowedRegions: ['US'] } }))).toEqual(E.right(US_NUMBER));
  });

  it('should refuse a CN mobile when only HK is allowed', () => {
    expect(codeOf(parsePhone(CN_MOBILE, policyWith({ phone: { allowedRegions: ['HK'] } })))).toBe('phone_region_not_allowed');
  });

  it('should refuse a non-geographic number as a region not allowed', () => {
    expect(codeOf(parsePhone('+80012345678', policyWith({ phone: { mobileOnly: false } })))).toBe('phone_region_not_allowed');
  });

  it('should normalise common formatting to E.164', () => {
    for (const raw of ['+86 138 0013 8000', '+86-138-0013-8000', '+86.138.0013.8000', '  +8613800138000  ', '+86 (138) 0013 8000']) {
      expect(parsePhone(raw, DEFAULT_POLICY)).toEqual(E.right(CN_MOBILE));
    }
  });

  it('should fold fullwidth digits and plus sign from a CJK input method', () => {
    expect(parsePhone('＋８６１３８００１３８０００', DEFAULT_POLICY)).toEqual(E.right(CN_MOBILE));
    expect(parsePhone('１３８ ００１３ ８０００', DEFAULT_POLICY, 'CN')).toEqual(E.right(CN_MOBILE));
  });

  it('should read a national number with a default region or calling code', () => {
    for (const region of ['CN', 'cn', '86', '+86']) {
      expect(parsePhone('13800138000', DEFAULT_POLICY, region)).toEqual(E.right(CN_MOBILE));
    }
    expect(parsePhone('9123 4567', DEFAULT_POLICY, 'HK')).toEqual(E.right(HK_MOBILE));
    expect(parsePhone('9123 4567', DEFAULT_POLICY, '852')).toEqual(E.right(HK_MOBILE));
  });

  it('should let an explicit calling code win over the default region', () => {
    expect(parsePhone('+852 9123 4567', DEFAULT_POLICY, 'CN')).toEqual(E.right(HK_MOBILE));
  });

  it('should refuse a national number without a default region', () => {
    expect(codeOf(parsePhone('13800138000', DEFAULT_POLICY))).toBe('phone_invalid');
  });

  it('should refuse an unusable default region without throwing', () => {
    for (const region of ['ZZ', '999', '0', 'China', '', '+']) {
      expect(codeOf(parsePhone('13800138000', DEFAULT_POLICY, region))).toBe('phone_invalid');
    }
  });

  it('should refuse a list of numbers rather than take the first', () => {
    for (const raw of [
      '+8613800138000,+8613900139000',
      '+8613800138000, +8613900139000',
      '+8613800138000;+8613900139000',
      '+8613800138000 +8613900139000',
      '+8613800138000/+8613900139000',
      '+8613800138000\n+8613900139000',
      '13800138000 13900139000',
    ]) {
      expect(codeOf(parsePhone(raw, DEFAULT_POLICY, 'CN'))).toBe('phone_invalid');
    }
  });

  it('should refuse extensions, URIs and trailing text', () => {
    for (const raw of ['+8613800138000x123', '+8613800138000 ext. 5', '+8613800138000;ext=1', 'tel:+8613800138000', '+8613800138000abc', 'call +8613800138000']) {
      expect(codeOf(parsePhone(raw, DEFAULT_POLICY))).toBe('phone_invalid');
    }
  });

  it('should refuse numbers that are too short, too long or not numbers', () => {
    for (const raw of ['', ' ', '+', '+86', '+86138', '+861380013800012345', '+8613800138000000000', '++8613800138000', '0']) {
      expect(codeOf(parsePhone(raw, DEFAULT_POLICY))).toBe('phone_invalid');
    }
  });

  it('should refuse non-strings and huge strings with a typed error', () => {
    for (const raw of [undefined, null, 8613800138000, {}, [CN_MOBILE], true, '1'.repeat(1_000_000)]) {
      expect(codeOf(parsePhone(raw, DEFAULT_POLICY))).toBe('phone_invalid');
    }
  });

  it('should never echo the input in its message', () => {
    const result = parsePhone('+8613800138000,+8613900139000', DEFAULT_POLICY);
    expect(E.isLeft(result) && result.left.message).not.toContain('13800138000');
  });
});

describe('Phone codec', () => {
  it('should decode an E.164 string that re-parses to itself', () => {
    expect(Phone.is(CN_MOBILE)).toBe(true);
    expect(E.isRight(Phone.decode(HK_FIXED_LINE))).toBe(true);
    expect(Phone.is(US_NUMBER)).toBe(true);
  });

  it('should refuse anything that is not already canonical E.164', () => {
    for (const raw of ['+86 138 0013 8000', '8613800138000', '13800138000', ` ${CN_MOBILE}`, '+8613800138000x1', '+86138', '+0123456789', '', 8613800138000, null]) {
      expect(Phone.is(raw)).toBe(false);
    }
  });
});

describe('phoneRegion', () => {
  it('should give the ISO region of a number', () => {
    expect(phoneRegion(CN_MOBILE as Phone)).toBe('CN');
    expect(phoneRegion(HK_MOBILE as Phone)).toBe('HK');
    expect(phoneRegion(US_NUMBER as Phone)).toBe('US');
  });

  it('should give undefined for a non-geographic number', () => {
    expect(phoneRegion('+80012345678' as Phone)).toBeUndefined();
  });
});

describe('phoneNationalDigits', () => {
  it('should give the national significant number', () => {
    expect(phoneNationalDigits(CN_MOBILE as Phone)).toBe('13800138000');
    expect(phoneNationalDigits(HK_MOBILE as Phone)).toBe('91234567');
  });
});

describe('maskPhone', () => {
  it('should show the calling code, first three and last four digits of a CN mobile', () => {
    expect(maskPhone('+8613805675678' as Phone)).toBe('+86 138****5678');
  });

  it('should show only the last four digits of an eight-digit HK number', () => {
    expect(maskPhone(HK_MOBILE as Phone)).toBe('+852 ****4567');
  });

  it('should keep the length and never show the middle digits', () => {
    expect(maskPhone(US_NUMBER as Phone)).toBe('+1 20****0123');
  });
});

describe('parsePhone properties', () => {
  const cnMobile = fc
    .tuple(fc.constantFrom('130', '138', '139', '150', '177', '186', '199'), fc.stringMatching(/^[0-9]{8}$/))
    .map(([prefix, rest]) => `${prefix}${rest}`);

  it('should never throw on arbitrary unicode input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.option(fc.string(), { nil: undefined }), (raw, region) => {
        const result = parsePhone(raw, DEFAULT_POLICY, region);
        expect(E.isLeft(result) || E.isRight(result)).toBe(true);
      }),
    );
  });

  it('should never throw on arbitrary values', () => {
    fc.assert(fc.property(fc.anything(), (raw) => E.isLeft(parsePhone(raw, DEFAULT_POLICY))));
  });

  it('should be idempotent on its own output and give codec-valid values', () => {
    fc.assert(
      fc.property(cnMobile, fc.constantFrom('', ' ', '-'), (national, sep) => {
        const raw = `+86${sep}${national.slice(0, 3)}${sep}${national.slice(3)}`;
        const first = parsePhone(raw, DEFAULT_POLICY);
        if (E.isLeft(first)) return;
        expect(parsePhone(first.right, DEFAULT_POLICY)).toEqual(first);
        expect(Phone.is(first.right)).toBe(true);
        expect(first.right).toBe(`+86${national}`);
      }),
    );
  });

  it('should accept only values from an allowed region', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+[1-9][0-9]{6,14}$/), (raw) => {
        const result = parsePhone(raw, DEFAULT_POLICY);
        if (E.isRight(result)) expect(['CN', 'HK']).toContain(phoneRegion(result.right));
      }),
    );
  });

  it('should refuse any input that joins two numbers with a separator', () => {
    fc.assert(
      fc.property(cnMobile, cnMobile, fc.constantFrom(',', ';', ' +86', '/', '|', '\n', '\t', '&'), (a, b, sep) => {
        expect(E.isLeft(parsePhone(`+86${a}${sep}${b}`, DEFAULT_POLICY))).toBe(true);
      }),
    );
  });
});

describe('parsePhone edges', () => {
  const INVALID = 'Enter a valid phone number with its country calling code.';

  it('should refuse separators other than spaces, brackets, dots and hyphens, which the library would take', () => {
    for (const raw of ['+86/138/0013/8000', '+86[138]00138000']) {
      expect(parsePhone(raw, DEFAULT_POLICY), raw).toEqual(E.left(expect.objectContaining({ code: 'phone_invalid', message: INVALID })));
    }
  });

  it('should refuse input longer than 64 characters, even when it trims to a number', () => {
    expect(parsePhone(CN_MOBILE.padEnd(64, ' '), DEFAULT_POLICY)).toEqual(E.right(CN_MOBILE));
    expect(codeOf(parsePhone(CN_MOBILE.padEnd(65, ' '), DEFAULT_POLICY))).toBe('phone_invalid');
  });

  it('should refuse even a full international number when the default region is unusable', () => {
    for (const region of ['ZZ', 'x86', '86x', '0', '1CN', 'CNX']) {
      expect(codeOf(parsePhone(CN_MOBILE, DEFAULT_POLICY, region)), region).toBe('phone_invalid');
    }
  });

  it('should forgive spaces around the default region', () => {
    expect(parsePhone('13800138000', DEFAULT_POLICY, ' cn ')).toEqual(E.right(CN_MOBILE));
    expect(parsePhone('13800138000', DEFAULT_POLICY, ' +86 ')).toEqual(E.right(CN_MOBILE));
  });

  it('should give each refusal its exact public message on field phone', () => {
    expect(parsePhone(US_NUMBER, DEFAULT_POLICY)).toEqual(
      E.left({
        _tag: 'FlowError',
        code: 'phone_region_not_allowed',
        visibility: 'public',
        message: 'Phone numbers from this region are not supported.',
        field: 'phone',
      }),
    );
    expect(parsePhone(CN_FIXED_LINE, DEFAULT_POLICY)).toEqual(
      E.left({ _tag: 'FlowError', code: 'phone_invalid', visibility: 'public', message: 'Enter a mobile phone number that can receive text messages.', field: 'phone' }),
    );
    expect(parsePhone('+86', DEFAULT_POLICY)).toEqual(E.left({ _tag: 'FlowError', code: 'phone_invalid', visibility: 'public', message: INVALID, field: 'phone' }));
  });
});

describe('Phone codec edges', () => {
  it('should refuse a valid number that is not written in E.164', () => {
    expect(Phone.is('+86 138 0013 8000')).toBe(false);
    expect(Phone.is('008613800138000')).toBe(false);
    expect(Phone.is('not a number')).toBe(false);
    expect(Phone.is(CN_MOBILE)).toBe(true);
  });
});

describe('phone helpers on numbers the library cannot read', () => {
  // Stored numbers decode only when valid, but the helpers must not throw if the metadata moved on.
  const unassigned = '+999123456' as Phone;

  it('should give no region, the digits after the plus, and a mask without calling code', () => {
    expect(phoneRegion(unassigned)).toBeUndefined();
    expect(phoneNationalDigits(unassigned)).toBe('999123456');
    expect(maskPhone(unassigned)).toBe('+9****3456');
  });

  it('should keep at most half of a short national number visible', () => {
    // Iceland: seven-digit national numbers.
    expect(maskPhone('+3546111234' as Phone)).toBe('+354 ****234');
  });
});
