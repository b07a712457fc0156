import { checkCode, deriveCode, deriveLinkToken } from '../domain/verificationCode.ts';
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
  };
};
