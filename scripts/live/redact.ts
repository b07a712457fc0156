/**
 * What the live view may show of a context, a view or an effect: everything but secrets. The
 * flows already keep codes out of their state (they are derived, never stored), so what is left
 * to catch is what still looks secret: a password hash, a nonce, a token, a TOTP secret or URI,
 * backup codes, and any string that looks like a one-time code wherever it turns up.
 */

export const REDACTED = '[redacted]';

const SECRET_KEY = /password|hash|nonce|token|secret|otpauth|backupcode/i;
const CODE_LIKE = /^\d{6,8}$/;

/**
 * @example
 * redact({ passwordHash: 'scrypt$…', code: { counter: 1 } }); // { passwordHash: '[redacted]', code: { counter: 1 } }
 */
export const redact = (value: unknown, key = ''): unknown => {
  if (value === null || value === undefined) return value;
  if (typeof value === 'string') {
    // A `code` that reads like an identifier (`code_invalid`) is a notice, not a secret.
    const noticeCode = /^[a-z]+(?:_[a-z]+)*$/.test(value);
    if (SECRET_KEY.test(key) || (key === 'code' && !noticeCode) || CODE_LIKE.test(value) || value.includes('otpauth://')) return REDACTED;
    return value.replace(/([?&]token=)[^&\s"]+/g, `$1${REDACTED}`);
  }
  if (typeof value !== 'object') return SECRET_KEY.test(key) ? REDACTED : value;
  if (Array.isArray(value)) return SECRET_KEY.test(key) ? REDACTED : value.map((item) => redact(item, key));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redact(v, k)]));
};
