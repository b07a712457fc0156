import type { BudgetDecision } from '../domain/budget.ts';
import type { RateRule } from '../domain/policy.ts';
import type { Instant } from '../domain/time.ts';

/**
 * Shared rate budgets (per phone, per e-mail, per account, per prefix, global). `consume` is
 * atomic: of two callers racing for the last unit, exactly one is allowed.
 */
export interface Budgets {
  /**
   * Spends one unit if the rule allows it. A repeated idempotency key returns the first
   * decision without spending again, so an effect retried after a crash is counted once.
   */
  consume(key: string, rule: RateRule, now: Instant, idempotencyKey?: string): Promise<BudgetDecision>;
  /** The decision `consume` would make, without spending anything. */
  peek(key: string, rule: RateRule, now: Instant): Promise<BudgetDecision>;
  /**
   * Gives back the unit `consume` spent on `key` under `idempotencyKey`. It exists for a code the
   * provider did not take and certainly did not send (an outage, a transient refusal): without it
   * the failed attempt's cooldown would refuse the resend the flow offers at once. The key's
   * decision is forgotten too, so a crashed effect run again spends afresh. Releasing twice, a refused or unknown key, or a key
   * spent on another budget changes nothing.
   */
  release(key: string, idempotencyKey: string): Promise<void>;
}
