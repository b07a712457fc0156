/**
 * Hashes a password the moment it arrives (scrypt or argon2id behind it). The input is the
 * NFKC-normalised password; only the returned string ever enters a flow's context.
 */
export interface PasswordHasher {
  hash(normalisedPassword: string): Promise<string>;
  verify(normalisedPassword: string, hash: string): Promise<boolean>;
}
