import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { checkCode, deriveCode, deriveLinkToken, encodeFields } from '../domain/verificationCode.ts';
import type { CodeSecrets } from '../ports/codeSecrets.ts';

/**
 * Codes derived from one host key, which never leaves this closure (keep it in a secret
 * manager; rotating it kills every code in flight, which is the safe failure).
 */
export const hmacCodeSecrets = (hostKey: Uint8Array): CodeSecrets => {
  if (hostKey.length < 16) throw new RangeError('The code key must be at least 16 bytes.');
  const key = hostKey.slice();
  return {
    code: (binding, counter, digits) => deriveCode(key, binding, counter, digits),
    linkToken: (binding, counter) => deriveLinkToken(key, binding, counter),
    check: (state, check) => checkCode(state, { ...check, hostKey: key }),
    secretBytes: (label, fields, length) => {
      // HMAC-SHA256 in counter mode: as many 32-byte blocks as asked for, each domain-separated.
      const out = new Uint8Array(length);
      for (let block = 0; block * 32 < length; block++) {
        const bytes = hmac(sha256, key, encodeFields([`account-flows/${label}/v1`, String(block), ...fields]));
        out.set(bytes.subarray(0, Math.min(32, length - block * 32)), block * 32);
      }
      return out;
    },
  };
};
