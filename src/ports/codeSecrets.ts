import type { CodeBinding, CodeCheck, CodeOutcome, CodeState } from '../domain/verificationCode.ts';

/**
 * Derives and checks codes and link tokens with a key only the host holds. Pure and
 * synchronous, so guards may call it: the same binding and counter always give the same code,
 * and nothing derived ever needs to be stored.
 */
export interface CodeSecrets {
  code(binding: CodeBinding, counter: number, digits: number): string;
  linkToken(binding: CodeBinding, counter: number): string;
  check(state: CodeState, check: Omit<CodeCheck, 'hostKey'>): { readonly outcome: CodeOutcome; readonly next: CodeState };
  /**
   * Key material derived for a labelled purpose (a TOTP secret, backup codes, the requester's
   * token of a friend-assisted recovery): re-derivable from the same fields, so it never has to
   * be stored in plain text.
   */
  secretBytes(label: 'totp' | 'backup-codes' | 'friend-requester', fields: readonly string[], length: number): Uint8Array;
}
