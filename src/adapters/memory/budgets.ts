import { type BudgetDecision, type BudgetState, decide, EMPTY_BUDGET } from '../../domain/budget.ts';
import type { Budgets } from '../../ports/budgets.ts';

/**
 * Budgets in one process. JavaScript runs each `consume` to completion before the next, so
 * the read-decide-write below is atomic without a lock.
 */
export class MemoryBudgets implements Budgets {
  readonly #logs = new Map<string, BudgetState>();
  readonly #decisions = new Map<string, BudgetDecision>();

  async consume(key: string, rule: Parameters<Budgets['consume']>[1], now: number, idempotencyKey?: string): Promise<BudgetDecision> {
    return this.consumeNow(key, rule, now, idempotencyKey);
  }

  consumeNow(key: string, rule: Parameters<Budgets['consume']>[1], now: number, idempotencyKey?: string): BudgetDecision {
    if (idempotencyKey !== undefined) {
      const earlier = this.#decisions.get(idempotencyKey);
      if (earlier !== undefined) return earlier;
    }
    const decision = decide(this.#logs.get(key) ?? EMPTY_BUDGET, rule, now);
    if (decision.allowed) this.#logs.set(key, decision.next);
    if (idempotencyKey !== undefined) this.#decisions.set(idempotencyKey, decision);
    return decision;
  }

  async peek(key: string, rule: Parameters<Budgets['consume']>[1], now: number): Promise<BudgetDecision> {
    return decide(this.#logs.get(key) ?? EMPTY_BUDGET, rule, now);
  }

  /** Every instant at which a unit of `key` was spent (for invariant checks). */
  spent(key: string): readonly number[] {
    return this.#logs.get(key)?.events ?? [];
  }
}
