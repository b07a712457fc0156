/**
 * Waking flows at their deadlines. Deadlines are data in each snapshot (`nextDeadline`), so a
 * scheduler only needs "flow → instant"; losing a scheduler loses nothing, because the next
 * one is rebuilt from the stored flows with their original instants.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Instant } from '../domain/time.ts';
import type { FlowRuntime, StepResult } from './runtime.ts';

export interface DeadlineScheduler {
  /** Records (or clears, with null) the instant at which a flow must be woken. */
  track(flowId: string, deadline: Instant | null): void;
}

/** Keeps a scheduler current from every step result. */
export const trackResult = (scheduler: DeadlineScheduler, result: StepResult): StepResult => {
  if (E.isRight(result)) scheduler.track(result.right.flowId, result.right.nextDeadline);
  return result;
};

/**
 * A discrete-event scheduler over a virtual clock: it jumps the clock straight to the next
 * deadline and ticks that flow, one deadline at a time (never one big jump: see DESIGN.md on
 * SimulatedClock). Ties are woken in flow-id order, so runs are reproducible.
 */
export class VirtualScheduler implements DeadlineScheduler {
  readonly #due = new Map<string, Instant>();

  constructor(
    private readonly runtime: FlowRuntime,
    private readonly clock: { now(): Instant; advanceTo(at: Instant): Instant },
  ) {}

  track(flowId: string, deadline: Instant | null): void {
    if (deadline === null || !Number.isFinite(deadline)) this.#due.delete(flowId);
    else this.#due.set(flowId, deadline);
  }

  /** The earliest tracked deadline, or null when nothing waits. */
  peek(): { readonly flowId: string; readonly at: Instant } | null {
    let best: { flowId: string; at: Instant } | null = null;
    for (const [flowId, at] of this.#due) {
      if (best === null || at < best.at || (at === best.at && flowId < best.flowId)) best = { flowId, at };
    }
    return best;
  }

  /** Wakes every flow whose deadline is at or before `until`, advancing the clock to each in turn. */
  async runUntil(until: Instant): Promise<number> {
    let woken = 0;
    for (let next = this.peek(); next !== null && next.at <= until; next = this.peek()) {
      this.clock.advanceTo(next.at);
      this.#due.delete(next.flowId);
      trackResult(this, await this.runtime.tick(next.flowId));
      woken++;
    }
    this.clock.advanceTo(until);
    return woken;
  }

  size(): number {
    return this.#due.size;
  }
}
