import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Email, maskEmail, parseEmail } from '../src/domain/email.ts';

const codeOf = (result: E.Either<{ code: string }, unknown>): string => (E.isLeft(result) ? result.left.code : 'ok');

const expectRefused = (raw: unknown): void => {
  const result = parseEmail(raw);
  expect(codeOf(result), JSON.stringify(raw)?.slice(0, 80)).toBe('email_invalid');
  expect(E.isLeft(result) && result.left.field).toBe('email');
};

describe('parseEmail', () => {
  it('should accept a plain address', () => {
    expect(parseEmail('alice@example.com')).toEqual(E.right('alice@example.com'));
  });

  it('should trim and lowercase the whole address', () => {
    expect(parseEmail('  Alice.Smith@Example.COM \n')).toEqual(E.right('alice.smith@example.com'));
  });

  it('should accept dot-atom local parts with tags and the apostrophe', () => {
    for (const raw of ['a.b.c@example.com', 'alice+news@example.com', "o'brien@example.ie", 'a_b-c=d@example.co.uk', 'x@a.io']) {
      expect(parseEmail(raw)).toEqual(E.right(raw));
    }
  });

  it('should refuse more than one recipient', () => {
    for (const raw of ['a@x,b@y', 'a@x.com,b@y.com', 'a@x.com;b@y.com', 'a@x.com b@y.com', 'a@x.com, b@y.com', 'a@x.com\tb@y.com']) {
      expectRefused(raw);
    }
  });

  it('should refuse header injection through newlines and control characters', () => {
    for (const raw of ['a@x.com\nBcc: b@y.com', 'a@x.com\r\nBcc: b@y.com', 'a@x.com\rBcc:b@y.com', 'a\u0000@x.com', 'a@x.com\u0000b@y.com', 'a\u0007@x.com', 'a@x\u007f.com', 'a\u2028@x.com']) {
      expectRefused(raw);
    }
  });

  it('should refuse display names, angle brackets and quoted local parts', () => {
    for (const raw of ['Alice <a@x.com>', '<a@x.com>', '"a b"@x.com', '"a"@x.com', '"a@b"@x.com', 'a(comment)@x.com']) {
      expectRefused(raw);
    }
  });

  it('should refuse escaped and multiple @', () => {
    for (const raw of ['\\@', 'a\\@x.com', 'a\\@b@x.com', 'a@b@x.com', '@x.com', 'a@', '@', 'ax.com']) {
      expectRefused(raw);
    }
  });

  it('should refuse bad dots in the local part', () => {
    for (const raw of ['.a@x.com', 'a.@x.com', 'a..b@x.com', '.@x.com']) {
      expectRefused(raw);
    }
  });

  it('should refuse source-routing characters', () => {
    for (const raw of ['a%b.com@relay.com', 'b.com!a@relay.com']) {
      expectRefused(raw);
    }
  });

  it('should refuse domains that are not LDH names with a dot', () => {
    for (const raw of ['a@localhost', 'a@x', 'a@1.2.3.4', 'a@[1.2.3.4]', 'a@-x.com', 'a@x-.com', 'a@x..com', 'a@.x.com', 'a@x.com.', 'a@x.c0m', 'a@x.1com', 'a@x_y.com', 'a@ab--cd.com', 'a@x.c']) {
      expectRefused(raw);
    }
  });

  it('should accept IDN domains only as punycode', () => {
    expect(parseEmail('a@xn--bcher-kva.de')).toEqual(E.right('a@xn--bcher-kva.de'));
    expect(parseEmail('a@example.xn--fiqs8s')).toEqual(E.right('a@example.xn--fiqs8s'));
    expectRefused('a@bücher.de');
    expectRefused('a@例子.中国');
  });

  it('should refuse non-ASCII local parts, including letters that lowercase to ASCII', () => {
    expectRefused('ü@example.com');
    expectRefused('\u212Aelvin@example.com');
    expectRefused('ａ@example.com');
  });

  it('should accept a 64-character local part and refuse 65', () => {
    expect(E.isRight(parseEmail(`${'a'.repeat(64)}@example.com`))).toBe(true);
    expectRefused(`${'a'.repeat(65)}@example.com`);
  });

  it('should accept a 63-character label and refuse 64', () => {
    expect(E.isRight(parseEmail(`a@${'b'.repeat(63)}.com`))).toBe(true);
    expectRefused(`a@${'b'.repeat(64)}.com`);
  });

  it('should accept 254 characters and refuse 255', () => {
    const domain189 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    const address254 = `${'a'.repeat(64)}@${domain189}`;
    expect(address254).toHaveLength(254);
    expect(parseEmail(address254)).toEqual(E.right(address254));
    expectRefused(`${'a'.repeat(64)}@e${domain189}`);
  });

  it('should refuse non-strings and huge strings with a typed error', () => {
    for (const raw of [undefined, null, 42, {}, ['a@x.com'], true, `${'a'.repeat(1_000_000)}@x.com`, '']) {
      expectRefused(raw);
    }
  });

  it('should never echo the input in its message', () => {
    const result = parseEmail('attacker@x.com\nBcc: victim@y.com');
    expect(E.isLeft(result) && result.left.message).not.toMatch(/attacker|victim/);
  });
});

describe('Email codec', () => {
  it('should decode only canonical addresses', () => {
    expect(Email.is('alice@example.com')).toBe(true);
    for (const raw of ['Alice@example.com', ' alice@example.com', 'a@x,b@y', 'a@x', 42, null]) {
      expect(Email.is(raw)).toBe(false);
    }
  });
});

describe('maskEmail', () => {
  it('should keep the first character and the domain', () => {
    expect(maskEmail('alice@example.com' as Email)).toBe('a***@example.com');
  });

  it('should hide a one-character local part completely', () => {
    expect(maskEmail('a@example.com' as Email)).toBe('***@example.com');
  });

  it('should not reveal the local part length', () => {
    expect(maskEmail('ab@x.io' as Email)).toBe(maskEmail('abcdefgh@x.io' as Email));
  });
});

describe('parseEmail properties', () => {
  const plainAddress = fc.stringMatching(/^[a-z0-9]{1,20}(\.[a-z0-9_+-]{1,10}){0,2}@[a-z0-9]{1,20}\.[a-z]{2,6}$/);

  it('should never throw on arbitrary unicode input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const result = parseEmail(raw);
        expect(E.isLeft(result) || E.isRight(result)).toBe(true);
      }),
    );
  });

  it('should never throw on arbitrary values', () => {
    fc.assert(fc.property(fc.anything(), (raw) => typeof raw === 'string' || E.isLeft(parseEmail(raw))));
  });

  it('should accept plain addresses in any case', () => {
    fc.assert(
      fc.property(plainAddress, fc.boolean(), (address, upper) => {
        expect(parseEmail(upper ? address.toUpperCase() : address)).toEqual(E.right(address));
      }),
    );
  });

  it('should be idempotent on its own output', () => {
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), plainAddress, fc.string()), (raw) => {
        const first = parseEmail(raw);
        if (E.isRight(first)) {
          expect(parseEmail(first.right)).toEqual(first);
          expect(Email.is(first.right)).toBe(true);
        }
      }),
    );
  });

  it('should never accept an address with a separator, space, quote, bracket or a second @', () => {
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), fc.string({ unit: 'grapheme' })), fc.string(), (a, b) => {
        for (const raw of [a, `${a},${b}`, `${a};${b}`, `${a} ${b}`, `${a}\n${b}`, `"${a}"`, `<${a}>`]) {
          const result = parseEmail(raw);
          if (E.isRight(result)) {
            expect(result.right).not.toMatch(/[,;\s"<>\\()[\]\x00-\x1f\x7f]/);
            expect(result.right.split('@')).toHaveLength(2);
            expect(result.right.length).toBeLessThanOrEqual(254);
          }
        }
      }),
    );
  });
});

describe('parseEmail refusals, exactly', () => {
  const refusal = (message: string) => E.left({ _tag: 'FlowError', code: 'email_invalid', visibility: 'public', message, field: 'email' });

  it('should say which part is wrong', () => {
    expect(parseEmail(7)).toEqual(refusal('Enter one e-mail address.'));
    expect(parseEmail('a b@example.com')).toEqual(refusal('Enter one e-mail address, without spaces or special characters.'));
    expect(parseEmail('@example.com')).toEqual(refusal('Enter one e-mail address.'));
    expect(parseEmail('a@b@example.com')).toEqual(refusal('Enter one e-mail address.'));
    expect(parseEmail('example.com')).toEqual(refusal('Enter one e-mail address.'));
    expect(parseEmail(`${'a'.repeat(65)}@example.com`)).toEqual(refusal('The part before @ is too long.'));
    expect(parseEmail('a..b@example.com')).toEqual(refusal('The part before @ has characters that are not allowed.'));
    expect(parseEmail('a@example')).toEqual(refusal('The part after @ is not a valid domain.'));
    expect(parseEmail('a@example.c0m')).toEqual(refusal('The part after @ is not a valid domain.'));
  });

  it('should refuse 255 characters made of parts that are each fine', () => {
    const domain190 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;
    const address = `${'a'.repeat(64)}@${domain190}`;
    expect(address).toHaveLength(255);
    expect(parseEmail(address)).toEqual(refusal('The e-mail address is too long.'));
  });

  it('should refuse raw input over 1,024 characters even when it trims to an address', () => {
    const padded = `${' '.repeat(1011)}a@example.com`;
    expect(padded).toHaveLength(1024);
    expect(parseEmail(padded)).toEqual(E.right('a@example.com'));
    expect(parseEmail(` ${padded}`)).toEqual(refusal('Enter one e-mail address.'));
  });
});
