import { type BudgetDecision, type BudgetState, decide, EMPTY_BUDGET, withoutSpend } from '../../domain/budget.ts';
import type { Budgets } from '../../ports/budgets.ts';

/**
 * Budgets in one process. JavaScript runs each `consume` to completion before the next, so
 * the read-decide-write below is atomic without a lock.
 */
export class MemoryBudgets implements Budgets {
  readonly #logs = new Map<string, BudgetState>();
  /** Each idempotency key's decision, and the budget it was made on (only that one may release it). */
  readonly #decisions = new Map<string, { readonly key: string; readonly decision: BudgetDecision }>();

  async consume(key: string, rule: Parameters<Budgets['consume']>[1], now: number, idempotencyKey?: string): Promise<BudgetDecision> {
    return this.consumeNow(key, rule, now, idempotencyKey);
  }

  consumeNow(key: string, rule: Parameters<Budgets['consume']>[1], now: number, idempotencyKey?: string): BudgetDecision {
    if (idempotencyKey !== undefined) {
      const earlier = this.#decisions.get(idempotencyKey);
      if (earlier !== undefined) return earlier.decision;
    }
    const decision = decide(this.#logs.get(key) ?? EMPTY_BUDGET, rule, now);
    if (decision.allowed) this.#logs.set(key, decision.next);
    if (idempotencyKey !== undefined) this.#decisions.set(idempotencyKey, { key, decision });
    return decision;
  }

  async peek(key: string, rule: Parameters<Budgets['consume']>[1], now: number): Promise<BudgetDecision> {
    return decide(this.#logs.get(key) ?? EMPTY_BUDGET, rule, now);
  }

  async release(key: string, idempotencyKey: string): Promise<void> {
    const earlier = this.#decisions.get(idempotencyKey);
    if (earlier === undefined || earlier.key !== key || !earlier.decision.allowed) return;
    this.#decisions.delete(idempotencyKey);
    const log = this.#logs.get(key);
    if (log !== undefined) this.#logs.set(key, withoutSpend(log, earlier.decision.next));
  }

  /** Every instant at which a unit of `key` was spent (for invariant checks). */
  spent(key: string): readonly number[] {
    return this.#logs.get(key)?.events ?? [];
  }
}
