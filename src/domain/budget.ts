/**
 * Rate limits as pure data: a sliding-window log per key. A log (not a counter per fixed
 * window) is exact in *every* window, which is what the invariant "never more than N sends in
 * any hour" demands; a fixed window lets 2N through across a boundary.
 */
import * as t from 'io-ts';
import type { RateRule } from './policy.ts';
import type { Duration, Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The instants of the events still inside the rule's longest window, oldest first. */
export const BudgetState = t.readonly(t.type({ events: t.readonlyArray(t.number) }));
export type BudgetState = t.TypeOf<typeof BudgetState>;

export type BudgetDecision =
  | { readonly allowed: true; readonly next: BudgetState }
  | { readonly allowed: false; readonly retryAfterMs: Duration; readonly reason: 'cooldown' | 'window' };

export const EMPTY_BUDGET: BudgetState = { events: [] };

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

const longestWindow = (rule: RateRule): Duration => Math.max(rule.cooldownMs, ...rule.windows.map((w) => w.windowMs));

/** Drops events that no window can see any more; keeps stored logs bounded. */
export const prune = (state: BudgetState, rule: RateRule, now: Instant): BudgetState => {
  const horizon = now - longestWindow(rule);
  const kept = state.events.filter((at) => at > horizon);
  return kept.length === state.events.length ? state : { events: kept };
};

/**
 * Whether one more event may happen at `now`, and the log after it if so.
 *
 * An event at time `a` stays inside a window of length `w` for `now < a + w`; the cooldown
 * likewise ends at `last + cooldownMs` exactly. When refused, `retryAfterMs` is the shortest
 * wait after which the same call is allowed.
 *
 * @example
 * const d = decide(EMPTY_BUDGET, DEFAULT_POLICY.sends, 0);
 * if (d.allowed) store(d.next); else reply(d.retryAfterMs);
 */
export const decide = (state: BudgetState, rule: RateRule, now: Instant): BudgetDecision => {
  const current = prune(state, rule, now);
  const last = current.events[current.events.length - 1];
  // Without a cooldown nothing waits on the last event: one another instance stamped a few ms
  // ahead of this one's clock must not refuse everyone until this clock catches up.
  const waitForCooldown = last === undefined || rule.cooldownMs === 0 ? 0 : Math.max(0, last + rule.cooldownMs - now);
  let waitForWindows = 0;
  for (const window of rule.windows) {
    const inside = current.events.filter((at) => at > now - window.windowMs);
    if (inside.length >= window.limit) {
      // The window has room again once its oldest counted event slides out.
      const freeing = inside[inside.length - window.limit] as Instant;
      waitForWindows = Math.max(waitForWindows, freeing + window.windowMs - now);
    }
  }
  // Events only ever leave windows, so waiting for the longest of the waits satisfies them all.
  const retryAfterMs = Math.max(waitForCooldown, waitForWindows);
  if (retryAfterMs > 0) {
    return { allowed: false, retryAfterMs, reason: waitForWindows >= waitForCooldown ? 'window' : 'cooldown' };
  }
  return { allowed: true, next: { events: [...current.events, now] } };
};

/** The earliest instant at which `decide` would allow an event, given no other events. */
export const nextAllowedAt = (state: BudgetState, rule: RateRule, now: Instant): Instant => {
  const d = decide(state, rule, now);
  return d.allowed ? now : now + d.retryAfterMs;
};

/** Counts events in `[now - windowMs, now]`'s open window; used by checks and reports. */
export const countInWindow = (state: BudgetState, windowMs: Duration, now: Instant): number =>
  state.events.filter((at) => at > now - windowMs && at <= now).length;

/**
 * The log without the unit a decision spent: the decision's own instant, the last of its `next`.
 * Its latest occurrence goes (later spends append after it); one already pruned leaves the log as it is.
 */
export const withoutSpend = (log: BudgetState, spent: BudgetState): BudgetState => {
  const at = spent.events[spent.events.length - 1];
  const index = at === undefined ? -1 : log.events.lastIndexOf(at);
  return index < 0 ? log : { events: [...log.events.slice(0, index), ...log.events.slice(index + 1)] };
};
