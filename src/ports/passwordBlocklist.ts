/**
 * Passwords too common to accept (NIST SP 800-63B-4 §3.1.1.2: compare against values known to be
 * commonly used, expected or compromised). Synchronous because it is a lookup in data the host
 * loaded at start-up, not a call out; a host that checks a remote breach corpus does so before
 * the flow, not through this port.
 */
export interface PasswordBlocklist {
  /** The argument is the NFKC-normalised password, lowercased; the answer ignores case. */
  has(normalisedLowercase: string): boolean;
}
