import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { PasswordHasher } from '../ports/passwordHasher.ts';
import type { RandomSource } from '../ports/random.ts';

const constantTimeEqualBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
};

// A malformed stored hash (truncated, odd hex, another scheme) verifies nothing; it never throws.
const SCRYPT_STORED = /^scrypt\$([1-9][0-9]{0,9})\$([1-9][0-9]{0,5})\$([1-9][0-9]{0,5})\$((?:[0-9a-fA-F]{2})+)\$((?:[0-9a-fA-F]{2}){32})$/;
const TEST_STORED = /^test-sha256\$((?:[0-9a-fA-F]{2})+)\$((?:[0-9a-fA-F]{2}){32})$/;

/**
 * scrypt (pure JS, so it runs in any runtime) with OWASP's minimum of N=2^17, r=8, p=1.
 * The stored form is `scrypt$N$r$p$salt$hash`, so parameters can be raised later.
 */
export const scryptHasher = (random: RandomSource, params: { readonly N: number; readonly r: number; readonly p: number } = { N: 2 ** 17, r: 8, p: 1 }): PasswordHasher => ({
  async hash(password) {
    const salt = random.bytes(16);
    const dk = await scryptAsync(utf8ToBytes(password), salt, { ...params, dkLen: 32 });
    return `scrypt$${params.N}$${params.r}$${params.p}$${bytesToHex(salt)}$${bytesToHex(dk)}`;
  },
  async verify(password, stored) {
    const parts = SCRYPT_STORED.exec(stored);
    if (parts === null) return false;
    const [, N, r, p, salt, hash] = parts as unknown as [string, string, string, string, string, string];
    let dk: Uint8Array;
    try {
      dk = await scryptAsync(utf8ToBytes(password), hexToBytes(salt), { N: Number(N), r: Number(r), p: Number(p), dkLen: 32 });
    } catch {
      // N not a power of two, or parameters beyond scrypt's memory limit: not a hash we made.
      return false;
    }
    return constantTimeEqualBytes(dk, hexToBytes(hash));
  },
});

/**
 * A fast salted SHA-256, ONLY for tests and simulations that hash thousands of passwords.
 * It is not a password hash: never use it in production.
 */
export const testOnlyHasher = (random: RandomSource): PasswordHasher => ({
  async hash(password) {
    const salt = bytesToHex(random.bytes(8));
    return `test-sha256$${salt}$${bytesToHex(sha256(utf8ToBytes(salt + password)))}`;
  },
  async verify(password, stored) {
    const parts = TEST_STORED.exec(stored);
    if (parts === null) return false;
    const [, salt, hash] = parts as unknown as [string, string, string];
    return constantTimeEqualBytes(sha256(utf8ToBytes(salt + password)), hexToBytes(hash));
  },
});
