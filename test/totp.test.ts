import fc from 'fast-check';
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect, it } from 'vitest';
import { totpAt } from '../src/domain/hotp.ts';
import { DEFAULT_POLICY } from '../src/domain/policy.ts';
import {
  BACKUP_CODE_BYTES,
  backupCodeFromBytes,
  base32Decode,
  base32Encode,
  confirmTotpEnrollment,
  normaliseBackupCode,
  otpauthUri,
  startTotpEnrollment,
  TOTP_SECRET_BYTES,
  TotpFactor,
  totpSecretFromBytes,
  useTotpFactor,
  verifyTotp,
} from '../src/domain/totp.ts';

const secret = new TextEncoder().encode('12345678901234567890');
const params = DEFAULT_POLICY.totp; // 30 s, 6 digits, one step of skew
const NOW = 1_111_111_109_000; // mid-step, so ±30 s stays one step away
const at = (ms: number): string => totpAt(secret, ms);

describe('verifyTotp', () => {
  it('should accept the current code and say which step it matched', () => {
    expect(verifyTotp(secret, at(NOW), NOW, params, null)).toEqual({ ok: true, step: Math.floor(NOW / 30_000) });
  });

  it('should ignore the space apps show in the middle', () => {
    const code = at(NOW);
    expect(verifyTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, NOW, params, null).ok).toBe(true);
  });

  it('should accept one step of skew either side', () => {
    expect(verifyTotp(secret, at(NOW - 30_000), NOW, params, null).ok).toBe(true);
    expect(verifyTotp(secret, at(NOW + 30_000), NOW, params, null).ok).toBe(true);
  });

  it('should refuse codes outside the skew', () => {
    for (const ms of [NOW - 60_000, NOW + 60_000, NOW - 3_600_000]) {
      const code = at(ms);
      // Only meaningful when that code is not also a valid one inside the window by chance.
      const inside = [-1, 0, 1].some((k) => at(NOW + k * 30_000) === code);
      if (!inside) expect(verifyTotp(secret, code, NOW, params, null).ok).toBe(false);
    }
    expect(verifyTotp(secret, at(NOW - 30_000), NOW, { ...params, skewSteps: 0 }, null).ok).toBe(false);
  });

  it('should refuse a replayed code within its window', () => {
    const code = at(NOW);
    const first = verifyTotp(secret, code, NOW, params, null);
    expect(first.ok).toBe(true);
    expect(verifyTotp(secret, code, NOW + 5_000, params, first.step ?? null)).toEqual({ ok: false });
  });

  it('should refuse an earlier step once a later one was used', () => {
    const later = verifyTotp(secret, at(NOW + 30_000), NOW, params, null);
    expect(later.ok).toBe(true);
    expect(verifyTotp(secret, at(NOW), NOW, params, later.step ?? null).ok).toBe(false);
  });

  it('should refuse malformed input without throwing', () => {
    for (const bad of ['', '12345', '1234567', 'abcdef', '１２３４５６', 'x'.repeat(10_000)]) {
      expect(verifyTotp(secret, bad, NOW, params, null)).toEqual({ ok: false });
    }
    fc.assert(
      fc.property(fc.anything(), (u) => {
        expect(verifyTotp(secret, u as string, NOW, params, null)).toEqual({ ok: false });
      }),
    );
  });

  it('should never accept a step at or below lastUsedStep', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: -3, max: 3 }), (now, back) => {
        const step = Math.floor(now / 30_000);
        const lastUsed = step + back;
        const r = verifyTotp(secret, totpAt(secret, now), now, params, lastUsed);
        if (r.ok) expect(r.step).toBeGreaterThan(lastUsed);
      }),
    );
  });
});

describe('enrollment and use of a factor', () => {
  it('should confirm with a first code and then refuse that code again', () => {
    const enrollment = startTotpEnrollment('totp/acct-1/1', NOW, params);
    expect(O.isNone(confirmTotpEnrollment(enrollment, secret, '000000' === at(NOW) ? '111111' : '000000', NOW, 1))).toBe(true);
    const factor = confirmTotpEnrollment(enrollment, secret, at(NOW), NOW, 1);
    expect(O.isSome(factor)).toBe(true);
    if (O.isNone(factor)) return;
    expect(TotpFactor.is(factor.value)).toBe(true);
    expect(JSON.stringify(factor.value)).not.toContain(base32Encode(secret));
    expect(useTotpFactor(factor.value, secret, at(NOW), NOW + 1_000, 1).ok).toBe(false);
    const next = useTotpFactor(factor.value, secret, at(NOW + 30_000), NOW + 30_000, 1);
    expect(next.ok).toBe(true);
    expect(next.next.lastUsedStep).toBe(Math.floor((NOW + 30_000) / 30_000));
  });
});

describe('otpauthUri', () => {
  it('should build the standard key URI', () => {
    expect(otpauthUri({ issuer: 'Acme', account: 'alice', secretBase32: 'JBSWY3DPEHPK3PXP', digits: 6, periodSeconds: 30 })).toBe(
      'otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('should percent-encode issuer and account, colons included', () => {
    const uri = otpauthUri({ issuer: 'Acme Co: Ltd', account: 'alice@example.com', secretBase32: 'jbsw y3dp', digits: 8, periodSeconds: 60 });
    expect(uri).toBe(
      'otpauth://totp/Acme%20Co%3A%20Ltd:alice%40example.com?secret=JBSWY3DP&issuer=Acme%20Co%3A%20Ltd&algorithm=SHA1&digits=8&period=60',
    );
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.searchParams.get('issuer')).toBe('Acme Co: Ltd');
    expect(decodeURIComponent(url.pathname.slice(1).split(':')[1] ?? '')).toBe('alice@example.com');
  });
});

describe('base32', () => {
  it('should match the RFC 4648 §10 vectors, without padding', () => {
    const vectors = ['', 'MY', 'MZXQ', 'MZXW6', 'MZXW6YQ', 'MZXW6YTB', 'MZXW6YTBOI'];
    vectors.forEach((encoded, i) => {
      const bytes = new TextEncoder().encode('foobar'.slice(0, i));
      expect(base32Encode(bytes)).toBe(encoded);
      expect(base32Decode(encoded)).toEqual(O.some(bytes));
    });
  });

  it('should round-trip any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const encoded = base32Encode(bytes);
        expect(encoded).toMatch(/^[A-Z2-7]*$/);
        expect(base32Decode(encoded)).toEqual(O.some(bytes));
        expect(base32Decode(encoded.toLowerCase())).toEqual(O.some(bytes));
      }),
    );
  });

  it('should decode every string to at most one byte sequence', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const decoded = base32Decode(s);
        if (O.isSome(decoded)) expect(base32Encode(decoded.value)).toBe(s.replace(/\s/g, '').replace(/=+$/, '').toUpperCase());
      }),
    );
  });

  it('should accept padding and refuse foreign characters, impossible lengths and stray bits', () => {
    expect(base32Decode('MZXW6===')).toEqual(O.some(new TextEncoder().encode('foo')));
    expect(O.isNone(base32Decode('MZXW1'))).toBe(true);
    expect(O.isNone(base32Decode('M'))).toBe(true);
    expect(O.isNone(base32Decode('MZ'))).toBe(true); // 'Z' leaves non-zero bits after 'f'
  });

  it('should make a 32-character secret from 20 random bytes, and refuse fewer', () => {
    expect(totpSecretFromBytes(new Uint8Array(TOTP_SECRET_BYTES).fill(7))).toMatch(/^[A-Z2-7]{32}$/);
    expect(() => totpSecretFromBytes(new Uint8Array(19))).toThrow(RangeError);
  });
});

describe('backup codes', () => {
  it('should format 10 Crockford characters as xxxxx-xxxxx', () => {
    expect(backupCodeFromBytes(new Uint8Array(BACKUP_CODE_BYTES))).toBe('00000-00000');
    expect(backupCodeFromBytes(new Uint8Array(BACKUP_CODE_BYTES).fill(0xff))).toBe('zzzzz-zzzzz');
    expect(() => backupCodeFromBytes(new Uint8Array(6))).toThrow(RangeError);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: BACKUP_CODE_BYTES, maxLength: 16 }), (bytes) => {
        expect(backupCodeFromBytes(bytes)).toMatch(/^[0-9abcdefghjkmnpqrstvwxyz]{5}-[0-9abcdefghjkmnpqrstvwxyz]{5}$/);
      }),
    );
  });

  it('should normalise what people type to the canonical form', () => {
    expect(normaliseBackupCode(' 7K2MQ X9D4C ')).toEqual(O.some('7k2mq-x9d4c'));
    expect(normaliseBackupCode('7k2mqx9d4c')).toEqual(O.some('7k2mq-x9d4c'));
    expect(normaliseBackupCode('OIL00-abcde')).toEqual(O.some('01100-abcde'));
    expect(O.isNone(normaliseBackupCode('7k2mq-x9d4'))).toBe(true);
    expect(O.isNone(normaliseBackupCode('7k2mq-x9d4u'))).toBe(true);
    expect(O.isNone(normaliseBackupCode(''))).toBe(true);
  });

  it('should give back the same code it generated, however it is typed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: BACKUP_CODE_BYTES, maxLength: BACKUP_CODE_BYTES }), fc.boolean(), (bytes, upper) => {
        const code = backupCodeFromBytes(bytes);
        const typed = upper ? code.toUpperCase().replace('-', ' ') : code.replace('-', '');
        expect(normaliseBackupCode(typed)).toEqual(O.some(code));
      }),
    );
  });
});

describe('TOTP edges', () => {
  it('should accept the code of step 0 at the epoch, where the window reaches below zero', () => {
    expect(verifyTotp(secret, totpAt(secret, 0), 0, params, null)).toEqual({ ok: true, step: 0 });
    expect(verifyTotp(secret, totpAt(secret, 29_999), 29_999, params, null)).toEqual({ ok: true, step: 0 });
  });

  it('should take the earliest step when two steps in the window share a code', () => {
    // Found by search: this secret gives '911617' at steps 910737 and 910738.
    const first = 910_737;
    const now = (first + 1) * 30_000 + 15_000;
    expect(totpAt(secret, first * 30_000)).toBe('911617');
    expect(totpAt(secret, now)).toBe('911617');
    expect(verifyTotp(secret, '911617', now, params, null)).toEqual({ ok: true, step: first });
    // Once the earlier step is used, the same digits are still good for the later one.
    expect(verifyTotp(secret, '911617', now, params, first)).toEqual({ ok: true, step: first + 1 });
  });

  it('should verify with the factor algorithm, not SHA1 regardless', () => {
    const sha256 = { ...params, algorithm: 'SHA256' as const };
    const code = totpAt(secret, NOW, { algorithm: 'SHA256' });
    expect(code).not.toBe(at(NOW));
    expect(verifyTotp(secret, code, NOW, sha256, null)).toEqual({ ok: true, step: Math.floor(NOW / 30_000) });
    expect(verifyTotp(secret, at(NOW), NOW, sha256, null).ok).toBe(false);
  });

  it('should refuse, not throw, under parameters no factor can hold', () => {
    expect(verifyTotp(secret, at(NOW), NOW, { ...params, periodSeconds: 0 }, null)).toEqual({ ok: false });
    expect(verifyTotp(secret, '12345', NOW, { ...params, digits: 5 }, null)).toEqual({ ok: false });
    for (const bad of [123456, null, undefined, ['123456'], { code: '123456' }]) {
      expect(verifyTotp(secret, bad as unknown as string, NOW, params, null)).toEqual({ ok: false });
    }
  });

  it('should say why too few random bytes are refused', () => {
    expect(() => totpSecretFromBytes(new Uint8Array(19))).toThrow(new RangeError('A TOTP secret needs at least 20 random bytes'));
    expect(() => backupCodeFromBytes(new Uint8Array(6))).toThrow(new RangeError('A backup code needs at least 7 random bytes'));
  });

  it('should keep a factor unchanged and give none when the code is wrong', () => {
    const enrollment = startTotpEnrollment('totp/acct-1/1', NOW, params);
    const wrong = at(NOW) === '000000' ? '111111' : '000000';
    expect(confirmTotpEnrollment(enrollment, secret, wrong, NOW, 1)).toEqual(O.none);
    const factor = confirmTotpEnrollment(enrollment, secret, at(NOW), NOW, 1);
    if (O.isNone(factor)) return expect.fail('the current code should confirm');
    expect(factor.value).toEqual({ ...enrollment, startedAt: undefined, enrolledAt: NOW, lastUsedStep: Math.floor(NOW / 30_000) });
    expect(useTotpFactor(factor.value, secret, wrong, NOW + 30_000, 1)).toEqual({ ok: false, next: factor.value });
  });
});

describe('TOTP records', () => {
  const factor = { secretRef: 'r', enrolledAt: 0, algorithm: 'SHA1', digits: 6, periodSeconds: 30, lastUsedStep: null };

  it('should hold digits and period as non-negative safe integers', () => {
    expect(TotpFactor.is(factor)).toBe(true);
    expect(TotpFactor.is({ ...factor, digits: 0 })).toBe(true);
    for (const digits of [-1, 1.5, '6', Number.NaN, 2 ** 53]) {
      expect(TotpFactor.is({ ...factor, digits }), String(digits)).toBe(false);
      expect(TotpFactor.decode({ ...factor, periodSeconds: digits })._tag, String(digits)).toBe('Left');
    }
    expect(TotpFactor.decode({ ...factor, periodSeconds: 0 })._tag).toBe('Right');
  });
});

describe('base32 edges', () => {
  it('should forgive spaces anywhere, as people type secrets in groups', () => {
    expect(base32Decode(' MZXW 6YTB OI ')).toEqual(O.some(new TextEncoder().encode('foobar')));
  });

  it('should drop only trailing padding', () => {
    expect(base32Decode('MZXW6YTBOI======')).toEqual(O.some(new TextEncoder().encode('foobar')));
    expect(base32Decode('MZXW6=YTBOI')).toEqual(O.none);
  });

  it('should refuse lengths that cannot end on a byte, even when the leftover bits are zero', () => {
    for (const s of ['A', 'AAA', 'AAAAAA', 'AAAAAAAAA']) expect(base32Decode(s), s).toEqual(O.none);
    expect(base32Decode('AA')).toEqual(O.some(new Uint8Array(1)));
  });
});

describe('backup code edges', () => {
  it('should refuse what is not a string or longer than 64 characters, however it normalises', () => {
    expect(normaliseBackupCode(`7k2mq${' '.repeat(54)}x9d4c`)).toEqual(O.some('7k2mq-x9d4c'));
    expect(normaliseBackupCode(`7k2mq${' '.repeat(55)}x9d4c`)).toEqual(O.none);
    for (const bad of [1234567890, null, ['7k2mq-x9d4c']]) expect(normaliseBackupCode(bad as unknown as string)).toEqual(O.none);
  });
});
