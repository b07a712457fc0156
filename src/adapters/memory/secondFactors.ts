import * as O from 'fp-ts/lib/Option.js';
import type { AccountId } from '../../domain/account.ts';
import type { Policy } from '../../domain/policy.ts';
import type { Instant } from '../../domain/time.ts';
import { hashBackupCode, normaliseBackupCode, TOTP_SECRET_BYTES, type TotpFactor, useTotpFactor } from '../../domain/totp.ts';
import type { CodeSecrets } from '../../ports/codeSecrets.ts';
import type { SecondFactorCheck, SecondFactors } from '../../ports/secondFactors.ts';

// The machine hashes at confirmation and this store compares: one function, from the domain.
export { hashBackupCode };

interface Enrolled {
  readonly factor: TotpFactor;
  readonly backupCodeHashes: ReadonlySet<string>;
}

/** Second factors in memory. The TOTP secret is re-derived from its reference on every check. */
export class MemorySecondFactors implements SecondFactors {
  readonly #byAccount = new Map<AccountId, Enrolled>();
  readonly #checks = new Map<string, SecondFactorCheck>();

  constructor(
    private readonly secrets: CodeSecrets,
    private readonly policy: Policy,
  ) {}

  async status(accountId: AccountId): Promise<{ readonly totp: boolean; readonly backupCodesLeft: number }> {
    const enrolled = this.#byAccount.get(accountId);
    return { totp: enrolled !== undefined, backupCodesLeft: enrolled?.backupCodeHashes.size ?? 0 };
  }

  async verify(accountId: AccountId, code: string, at: Instant, idempotencyKey: string): Promise<SecondFactorCheck> {
    const earlier = this.#checks.get(idempotencyKey);
    if (earlier !== undefined) return earlier;
    const result = this.#verifyNow(accountId, code, at);
    this.#checks.set(idempotencyKey, result);
    return result;
  }

  async enroll(accountId: AccountId, enrollment: { readonly factor: TotpFactor; readonly backupCodeHashes: readonly string[] }, _idempotencyKey: string): Promise<void> {
    this.#byAccount.set(accountId, { factor: enrollment.factor, backupCodeHashes: new Set(enrollment.backupCodeHashes) });
  }

  async reset(accountId: AccountId, _idempotencyKey: string): Promise<void> {
    this.#byAccount.delete(accountId);
  }

  /** The secret behind a factor reference, for tests that play the authenticator app. */
  secretFor(secretRef: string): Uint8Array {
    return this.secrets.secretBytes('totp', [secretRef], TOTP_SECRET_BYTES);
  }

  #verifyNow(accountId: AccountId, code: string, at: Instant): SecondFactorCheck {
    const enrolled = this.#byAccount.get(accountId);
    if (enrolled === undefined) return 'not_enrolled';
    const totp = useTotpFactor(enrolled.factor, this.secretFor(enrolled.factor.secretRef), code, at, this.policy.totp.skewSteps);
    if (totp.ok) {
      this.#byAccount.set(accountId, { ...enrolled, factor: totp.next });
      return 'ok';
    }
    const backup = normaliseBackupCode(code);
    if (O.isSome(backup)) {
      const hash = hashBackupCode(backup.value);
      if (enrolled.backupCodeHashes.has(hash)) {
        const left = new Set(enrolled.backupCodeHashes);
        left.delete(hash);
        this.#byAccount.set(accountId, { ...enrolled, backupCodeHashes: left });
        return 'ok';
      }
    }
    // A TOTP code from the window it was already used in reads as a replay, not a typo.
    const replay = useTotpFactor({ ...enrolled.factor, lastUsedStep: null }, this.secretFor(enrolled.factor.secretRef), code, at, this.policy.totp.skewSteps);
    return replay.ok ? 'replayed' : 'wrong';
  }
}
