import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BudgetDecision, type BudgetState, countInWindow, decide, EMPTY_BUDGET, nextAllowedAt, prune, withoutSpend } from '../src/domain/budget.ts';
import { DEFAULT_POLICY, type RateRule } from '../src/domain/policy.ts';
import { DAY, HOUR, MINUTE, SECOND, type Instant } from '../src/domain/time.ts';
import { TEETH_SEED } from './setup/fastCheck.ts';

const T0: Instant = Date.UTC(2026, 0, 1);
const SENDS = DEFAULT_POLICY.sends;

type Decide = (state: BudgetState, rule: RateRule, now: Instant) => BudgetDecision;

/** Spends one unit at each instant, failing the test if any is refused. */
const spendAt = (rule: RateRule, instants: readonly Instant[], decideImpl: Decide = decide): BudgetState =>
  instants.reduce<BudgetState>((state, at) => {
    const d = decideImpl(state, rule, at);
    if (!d.allowed) expect.fail(`expected a send at ${at - T0} ms to be allowed, refused for ${d.retryAfterMs} ms (${d.reason})`);
    return d.next;
  }, EMPTY_BUDGET);

const refused = (d: BudgetDecision): Extract<BudgetDecision, { allowed: false }> => {
  if (d.allowed) return expect.fail('expected a refusal, got an allowed decision');
  return d;
};

// ---------------------------------------------------------------------------------------------
// exact boundaries with the default send rule
// ---------------------------------------------------------------------------------------------

describe('decide with the default send rule (5/h, 10/day, 60 s cooldown)', () => {
  it('should not make a rule without a cooldown wait on an event another instance stamped a few ms ahead', () => {
    // Two hosts share one budget; the other host's clock runs 2 ms ahead of this one's.
    const rule = { windows: [{ limit: 10, windowMs: 60_000 }], cooldownMs: 0 };
    const ahead = decide(EMPTY_BUDGET, rule, 1_002);
    if (!ahead.allowed) throw new Error('first event refused');
    expect(decide(ahead.next, rule, 1_000).allowed).toBe(true);
    // With a cooldown the skew is part of the wait, as it must be.
    expect(decide(ahead.next, { ...rule, cooldownMs: 10 }, 1_000)).toMatchObject({ allowed: false, retryAfterMs: 12 });
  });

  it('should be the documented rule', () => {
    expect(SENDS).toEqual({
      windows: [
        { limit: 5, windowMs: HOUR },
        { limit: 10, windowMs: DAY },
      ],
      cooldownMs: 60 * SECOND,
    });
  });

  it('should allow the first send and record it', () => {
    const d = decide(EMPTY_BUDGET, SENDS, T0);
    expect(d).toEqual({ allowed: true, next: { events: [T0] } });
  });

  it('should refuse a send 1 ms before the cooldown ends with retryAfterMs 1, and allow it at the cooldown exactly', () => {
    const state = spendAt(SENDS, [T0]);
    expect(decide(state, SENDS, T0 + SENDS.cooldownMs - 1)).toEqual({ allowed: false, retryAfterMs: 1, reason: 'cooldown' });
    const at = decide(state, SENDS, T0 + SENDS.cooldownMs);
    expect(at.allowed).toBe(true);
  });

  it('should refuse a send at the same instant for the whole cooldown', () => {
    const state = spendAt(SENDS, [T0]);
    expect(decide(state, SENDS, T0)).toEqual({ allowed: false, retryAfterMs: SENDS.cooldownMs, reason: 'cooldown' });
  });

  it('should refuse the 6th send in an hour until the oldest slides out', () => {
    const five = [0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE);
    const state = spendAt(SENDS, five);
    const now = T0 + 5 * MINUTE;
    // The event at T0 counts while now < T0 + HOUR.
    const d = refused(decide(state, SENDS, now));
    expect(d).toEqual({ allowed: false, retryAfterMs: T0 + HOUR - now, reason: 'window' });
    expect(decide(state, SENDS, T0 + HOUR - 1)).toEqual({ allowed: false, retryAfterMs: 1, reason: 'window' });
    expect(decide(state, SENDS, now + d.retryAfterMs).allowed).toBe(true);
    expect(decide(state, SENDS, T0 + HOUR)).toEqual({ allowed: true, next: { events: [...five, T0 + HOUR] } });
  });

  it('should refuse the 11th send in a day until the first of the day slides out', () => {
    const firstHour = [0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE);
    const secondHour = [0, 1, 2, 3, 4].map((i) => T0 + HOUR + i * MINUTE);
    const state = spendAt(SENDS, [...firstHour, ...secondHour]);
    const now = T0 + 3 * HOUR;
    // The hourly window is empty again; only the daily one refuses.
    expect(countInWindow(state, HOUR, now)).toBe(0);
    expect(countInWindow(state, DAY, now)).toBe(10);
    const d = refused(decide(state, SENDS, now));
    expect(d).toEqual({ allowed: false, retryAfterMs: T0 + DAY - now, reason: 'window' });
    expect(refused(decide(state, SENDS, T0 + DAY - 1)).retryAfterMs).toBe(1);
    expect(decide(state, SENDS, now + d.retryAfterMs).allowed).toBe(true);
  });

  it('should free the daily window one event at a time', () => {
    const firstHour = [0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE);
    const secondHour = [0, 1, 2, 3, 4].map((i) => T0 + HOUR + i * MINUTE);
    let state = spendAt(SENDS, [...firstHour, ...secondHour, T0 + DAY]);
    // The 12th waits for the second event of the first day to slide out, not the first.
    const d = refused(decide(state, SENDS, T0 + DAY + MINUTE - 1));
    expect(d.retryAfterMs).toBe(1);
    expect(d.reason).toBe('window');
    state = spendAt(SENDS, [...firstHour, ...secondHour, T0 + DAY, T0 + DAY + MINUTE]);
    expect(state.events).toHaveLength(10);
  });

  it('should report the longer wait, as a window refusal, when the window outlasts the cooldown', () => {
    const five = [0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE);
    const state = spendAt(SENDS, five);
    const now = T0 + 4 * MINUTE + 1;
    const cooldownWait = T0 + 4 * MINUTE + SENDS.cooldownMs - now;
    const windowWait = T0 + HOUR - now;
    expect(windowWait).toBeGreaterThan(cooldownWait);
    expect(decide(state, SENDS, now)).toEqual({ allowed: false, retryAfterMs: windowWait, reason: 'window' });
    expect(decide(state, SENDS, now + windowWait).allowed).toBe(true);
  });

  it('should report the longer wait, as a cooldown refusal, when the cooldown outlasts the window', () => {
    const rule: RateRule = { windows: [{ limit: 2, windowMs: 10 * SECOND }], cooldownMs: 8 * SECOND };
    const state = spendAt(rule, [T0, T0 + 8 * SECOND]);
    const now = T0 + 9 * SECOND;
    // Window: T0 leaves at T0 + 10 s (1 s); cooldown: T0 + 8 s + 8 s (7 s).
    expect(decide(state, rule, now)).toEqual({ allowed: false, retryAfterMs: 7 * SECOND, reason: 'cooldown' });
    expect(decide(state, rule, now + 7 * SECOND - 1)).toEqual({ allowed: false, retryAfterMs: 1, reason: 'cooldown' });
    expect(decide(state, rule, now + 7 * SECOND).allowed).toBe(true);
  });

  it('should let a send happen after waiting exactly retryAfterMs, for every refusal of a busy day', () => {
    let state = EMPTY_BUDGET;
    let now = T0;
    let accepted = 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = decide(state, SENDS, now);
      if (d.allowed) {
        state = d.next;
        accepted++;
        now += 7 * SECOND;
        continue;
      }
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(decide(state, SENDS, now + d.retryAfterMs - 1).allowed).toBe(false);
      now += d.retryAfterMs;
      expect(decide(state, SENDS, now).allowed).toBe(true);
    }
    expect(accepted).toBe(20);
  });

  it('should not change the state it was given', () => {
    const state = spendAt(SENDS, [T0]);
    const frozen: BudgetState = Object.freeze({ events: Object.freeze([...state.events]) });
    decide(frozen, SENDS, T0 + HOUR);
    expect(frozen.events).toEqual([T0]);
  });
});

// ---------------------------------------------------------------------------------------------
// prune, nextAllowedAt, countInWindow
// ---------------------------------------------------------------------------------------------

describe('prune', () => {
  it('should drop events at or before now minus the longest window and keep later ones', () => {
    const state: BudgetState = { events: [T0, T0 + 1, T0 + 2] };
    expect(prune(state, SENDS, T0 + DAY).events).toEqual([T0 + 1, T0 + 2]);
    expect(prune(state, SENDS, T0 + DAY + 1).events).toEqual([T0 + 2]);
    expect(prune(state, SENDS, T0 + DAY + 2).events).toEqual([]);
  });

  it('should return the same state when nothing drops out', () => {
    const state: BudgetState = { events: [T0, T0 + HOUR] };
    expect(prune(state, SENDS, T0 + DAY - 1)).toBe(state);
  });

  it('should keep an event while the cooldown can still see it, when the cooldown outlasts every window', () => {
    const rule: RateRule = { windows: [{ limit: 1, windowMs: SECOND }], cooldownMs: MINUTE };
    const state: BudgetState = { events: [T0] };
    expect(prune(state, rule, T0 + MINUTE - 1).events).toEqual([T0]);
    expect(prune(state, rule, T0 + MINUTE).events).toEqual([]);
    expect(refused(decide(state, rule, T0 + MINUTE - 1)).retryAfterMs).toBe(1);
  });
});

describe('nextAllowedAt', () => {
  it('should be now when a send is allowed', () => {
    expect(nextAllowedAt(EMPTY_BUDGET, SENDS, T0)).toBe(T0);
  });

  it('should be the end of the cooldown right after a send', () => {
    const state = spendAt(SENDS, [T0]);
    expect(nextAllowedAt(state, SENDS, T0 + 1)).toBe(T0 + SENDS.cooldownMs);
  });

  it('should be the instant the oldest event of a full window slides out', () => {
    const state = spendAt(SENDS, [0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE));
    expect(nextAllowedAt(state, SENDS, T0 + 10 * MINUTE)).toBe(T0 + HOUR);
  });
});

describe('countInWindow', () => {
  it('should count an event at a while now < a + windowMs', () => {
    const state: BudgetState = { events: [T0] };
    expect(countInWindow(state, HOUR, T0)).toBe(1);
    expect(countInWindow(state, HOUR, T0 + HOUR - 1)).toBe(1);
    expect(countInWindow(state, HOUR, T0 + HOUR)).toBe(0);
  });

  it('should not count events after now', () => {
    const state: BudgetState = { events: [T0, T0 + 10] };
    expect(countInWindow(state, HOUR, T0 + 9)).toBe(1);
  });

  it('should count every event inside the window', () => {
    const state: BudgetState = { events: [T0, T0 + 1, T0 + 2, T0 + 3] };
    expect(countInWindow(state, 2, T0 + 3)).toBe(2);
    expect(countInWindow(state, 4, T0 + 3)).toBe(4);
  });
});

// ---------------------------------------------------------------------------------------------
// properties over arbitrary rules and histories
// ---------------------------------------------------------------------------------------------

type Step =
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'consume' }
  /** Waits for the last refusal's retryAfterMs plus `delta` (−1, 0), then consumes. */
  | { readonly kind: 'retry'; readonly delta: number };

interface Scenario {
  readonly rule: RateRule;
  readonly start: Instant;
  readonly steps: readonly Step[];
}

const windowArb = fc.record({
  limit: fc.integer({ min: 1, max: 10 }),
  // Short windows let a run slide them many times; long ones exercise the day-sized rules.
  windowMs: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: DAY })),
});

const ruleArb: fc.Arbitrary<RateRule> = fc
  .array(windowArb, { minLength: 1, maxLength: 3 })
  .chain((windows) =>
    fc.record({
      windows: fc.constant(windows),
      cooldownMs: fc.integer({ min: 0, max: Math.min(...windows.map((w) => w.windowMs)) }),
    }),
  );

/** Clock moves sized to the rule: 0–2 ms, around the cooldown, around a window, anything. */
const advanceArb = (rule: RateRule): fc.Arbitrary<number> => {
  const durations = [rule.cooldownMs, ...rule.windows.map((w) => w.windowMs)];
  const longest = Math.max(...durations);
  return fc.oneof(
    fc.integer({ min: 0, max: 2 }),
    fc.tuple(fc.constantFrom(...durations), fc.integer({ min: -1, max: 1 })).map(([d, delta]) => Math.max(0, d + delta)),
    fc.constantFrom(...durations).chain((d) => fc.integer({ min: 0, max: d })),
    fc.integer({ min: 0, max: longest * 2 }),
  );
};

const scenarioArb: fc.Arbitrary<Scenario> = ruleArb.chain((rule) =>
  fc.record({
    rule: fc.constant(rule),
    start: fc.integer({ min: 0, max: 2 * DAY }).map((offset) => T0 + offset),
    steps: fc.array(
      fc.oneof(
        { arbitrary: advanceArb(rule).map((ms): Step => ({ kind: 'advance', ms })), weight: 3 },
        { arbitrary: fc.constant<Step>({ kind: 'consume' }), weight: 4 },
        { arbitrary: fc.constantFrom(-1, 0).map((delta): Step => ({ kind: 'retry', delta })), weight: 2 },
      ),
      { maxLength: 120, size: 'max' },
    ),
  }),
);

/** The largest number of accepted events in any window of length `windowMs` over the whole log. */
const busiestWindow = (log: readonly Instant[], windowMs: number): number => {
  // A busiest window can always be slid to end on an event, so checking those suffices.
  let most = 0;
  for (const end of log) {
    const inside = log.filter((at) => at <= end && at > end - windowMs).length;
    most = Math.max(most, inside);
  }
  return most;
};

/**
 * Runs a scenario against `decideImpl` and throws on the first broken rule:
 * (a) no window of any rule length ever holds more than its limit, over the whole accepted log;
 * (b) no two accepted events are closer than the cooldown;
 * (c) a refusal's retryAfterMs is positive and exact: retryAfterMs − 1 later is still refused,
 *     retryAfterMs later is allowed;
 * (d) the same inputs give the same output, and the input state is not changed;
 * (e) a refusal is justified by the accepted log itself: the cooldown since the last accepted
 *     event has not passed, or some window already holds its limit. Without (e) a limiter that
 *     is consistently one ms too strict passes (a)–(d).
 */
const checkScenario = (decideImpl: Decide, { rule, start, steps }: Scenario): void => {
  let state: BudgetState = EMPTY_BUDGET;
  let now = start;
  let lastRetry: number | undefined;
  const accepted: Instant[] = [];

  const consume = (): void => {
    const before = JSON.stringify(state);
    const frozen: BudgetState = Object.freeze({ events: Object.freeze([...state.events]) });
    const d = decideImpl(frozen, rule, now);
    // (d) purity
    expect(decideImpl(frozen, rule, now)).toEqual(d);
    expect(JSON.stringify(frozen)).toBe(before);
    if (d.allowed) {
      accepted.push(now);
      state = d.next;
      lastRetry = undefined;
      return;
    }
    // (e) justified refusal
    const last = accepted[accepted.length - 1];
    const coolingDown = last !== undefined && now - last < rule.cooldownMs;
    const fullWindow = rule.windows.some((w) => accepted.filter((at) => at > now - w.windowMs && at <= now).length >= w.limit);
    expect(coolingDown || fullWindow).toBe(true);
    // (c) exact, positive retry-after
    expect(Number.isFinite(d.retryAfterMs)).toBe(true);
    expect(d.retryAfterMs).toBeGreaterThan(0);
    expect(decideImpl(frozen, rule, now + d.retryAfterMs - 1).allowed).toBe(false);
    expect(decideImpl(frozen, rule, now + d.retryAfterMs).allowed).toBe(true);
    lastRetry = d.retryAfterMs;
  };

  for (const step of steps) {
    if (step.kind === 'advance') {
      now += step.ms;
    } else if (step.kind === 'consume') {
      consume();
    } else if (lastRetry !== undefined) {
      now += Math.max(0, lastRetry + step.delta);
      consume();
    }
  }

  // (a) every window, not only the current one
  for (const window of rule.windows) {
    expect(busiestWindow(accepted, window.windowMs)).toBeLessThanOrEqual(window.limit);
  }
  // (b) cooldown between consecutive accepted events (the log is in time order)
  for (let i = 1; i < accepted.length; i++) {
    expect((accepted[i] as number) - (accepted[i - 1] as number)).toBeGreaterThanOrEqual(rule.cooldownMs);
  }
};

const budgetProperty = (decideImpl: Decide) => fc.property(scenarioArb, (scenario) => checkScenario(decideImpl, scenario));

describe('decide properties', () => {
  it('should never exceed a window, never break the cooldown, give exact retry-afters and be pure', () => {
    fc.assert(budgetProperty(decide));
  });

  it('should be pure on arbitrary states (same inputs, same output)', () => {
    fc.assert(
      fc.property(
        ruleArb,
        fc.array(fc.integer({ min: 0, max: 3 * DAY }), { maxLength: 30 }).map((xs) => xs.sort((a, b) => a - b)),
        fc.integer({ min: 0, max: 4 * DAY }),
        (rule, events, now) => {
          const state: BudgetState = { events };
          const copy = JSON.parse(JSON.stringify(state)) as BudgetState;
          expect(decide(state, rule, now)).toEqual(decide(copy, rule, now));
          expect(state).toEqual(copy);
        },
      ),
    );
  });

  it('should agree with nextAllowedAt and countInWindow', () => {
    fc.assert(
      fc.property(scenarioArb, ({ rule, start, steps }) => {
        let state: BudgetState = EMPTY_BUDGET;
        let now = start;
        for (const step of steps) {
          if (step.kind === 'advance') now += step.ms;
          else {
            const at = nextAllowedAt(state, rule, now);
            expect(at).toBeGreaterThanOrEqual(now);
            const d = decide(state, rule, at);
            expect(d.allowed).toBe(true);
            if (d.allowed) state = d.next;
            now = at;
            for (const window of rule.windows) expect(countInWindow(state, window.windowMs, now)).toBeLessThanOrEqual(window.limit);
          }
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// the property has teeth: deliberately broken decides are caught
// ---------------------------------------------------------------------------------------------

interface Mutation {
  readonly ignoreCooldown?: boolean;
  /** How many ms too long (positive) or too short (negative) an event stays in every window. */
  readonly windowSkewMs?: number;
}

/**
 * A straightforward re-implementation of `decide`, with an optional planted bug.
 *
 * The skew moves the whole window (what is counted and when it frees up). Changing only the
 * filter to `at >= now - windowMs` would be an equivalent mutant: at `now = a + windowMs` the
 * wait `a + windowMs - now` is 0, so the extra event never changes a decision.
 */
const mutantDecide =
  ({ ignoreCooldown = false, windowSkewMs = 0 }: Mutation): Decide =>
  (state, rule, now) => {
    const last = state.events[state.events.length - 1];
    const waitForCooldown = ignoreCooldown || last === undefined ? 0 : Math.max(0, last + rule.cooldownMs - now);
    let waitForWindows = 0;
    for (const w of rule.windows) {
      const windowMs = w.windowMs + windowSkewMs;
      const inside = state.events.filter((at) => at > now - windowMs);
      if (inside.length >= w.limit) {
        const freeing = inside[inside.length - w.limit] as Instant;
        waitForWindows = Math.max(waitForWindows, freeing + windowMs - now);
      }
    }
    const retryAfterMs = Math.max(waitForCooldown, waitForWindows);
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs, reason: waitForWindows >= waitForCooldown ? 'window' : 'cooldown' };
    return { allowed: true, next: { events: [...state.events, now] } };
  };

const TEETH_RUNS = 1000;

describe('the budget property has teeth', () => {
  it('should pass the unmutated re-implementation (so the mutants below fail for their bug alone)', () => {
    const result = fc.check(budgetProperty(mutantDecide({})), { seed: TEETH_SEED, numRuns: 200 });
    expect(result.failed).toBe(false);
  });

  it('should find a counterexample for a decide that ignores the cooldown', () => {
    const result = fc.check(budgetProperty(mutantDecide({ ignoreCooldown: true })), { seed: TEETH_SEED, numRuns: TEETH_RUNS, endOnFailure: true });
    expect(result.failed).toBe(true);
  });

  it('should find a counterexample for a decide that counts an event one ms too long (a window of windowMs + 1)', () => {
    const result = fc.check(budgetProperty(mutantDecide({ windowSkewMs: 1 })), { seed: TEETH_SEED, numRuns: TEETH_RUNS, endOnFailure: true });
    expect(result.failed).toBe(true);
  });

  it('should find a counterexample for a decide that counts an event one ms too short (a window of windowMs - 1)', () => {
    const result = fc.check(budgetProperty(mutantDecide({ windowSkewMs: -1 })), { seed: TEETH_SEED, numRuns: TEETH_RUNS, endOnFailure: true });
    expect(result.failed).toBe(true);
  });
});

describe('decide after the clock stepped back', () => {
  // A host clock corrected backwards leaves the log out of order: windows still count by time.
  const rule: RateRule = { windows: [{ limit: 1, windowMs: 10 }, { limit: 100, windowMs: 1_000 }], cooldownMs: 0 };

  it('should count only the events inside each window, wherever they sit in the log', () => {
    expect(decide({ events: [45, 20] }, rule, 50)).toEqual({ allowed: false, retryAfterMs: 5, reason: 'window' });
    expect(decide({ events: [45, 40] }, rule, 50)).toEqual({ allowed: false, retryAfterMs: 5, reason: 'window' });
    expect(decide({ events: [20] }, rule, 50)).toEqual({ allowed: true, next: { events: [20, 50] } });
  });
});

describe('withoutSpend', () => {
  it('should take back exactly the unit a decision spent, its latest occurrence', () => {
    const log = { events: [10, 20, 20, 30] };
    expect(withoutSpend(log, { events: [5, 20] })).toEqual({ events: [10, 20, 30] });
    expect(withoutSpend(log, { events: [30] })).toEqual({ events: [10, 20, 20] });
    expect(withoutSpend(log, { events: [10] })).toEqual({ events: [20, 20, 30] });
  });

  it('should leave the log as it is when the unit is gone already or nothing was spent', () => {
    const log = { events: [10, 20] };
    expect(withoutSpend(log, { events: [15] })).toBe(log);
    expect(withoutSpend(log, { events: [] })).toBe(log);
  });
});
