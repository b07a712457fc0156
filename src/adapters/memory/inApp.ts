import type { AccountId } from '../../domain/account.ts';
import type { InAppNotice, InAppNotifier } from '../../ports/inApp.ts';

export interface DeliveredNotice {
  readonly to: AccountId;
  readonly notice: InAppNotice;
  readonly idempotencyKey: string;
}

/** Records in-app notices instead of showing them. */
export class MemoryInAppNotifier implements InAppNotifier {
  readonly delivered: DeliveredNotice[] = [];
  readonly #seen = new Set<string>();

  async notify(to: AccountId, notice: InAppNotice, idempotencyKey: string): Promise<void> {
    if (this.#seen.has(idempotencyKey)) return;
    this.#seen.add(idempotencyKey);
    this.delivered.push({ to, notice, idempotencyKey });
  }

  /** Every notice shown to one account, oldest first. */
  to(accountId: AccountId): readonly InAppNotice[] {
    return this.delivered.filter((d) => d.to === accountId).map((d) => d.notice);
  }
}
