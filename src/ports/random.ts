/** The only source of randomness: nonces, ids, TOTP secrets, backup codes. */
export interface RandomSource {
  bytes(length: number): Uint8Array;
}
