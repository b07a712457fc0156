import type { Instant } from '../domain/time.ts';
import type { Clock } from '../ports/clock.ts';

/**
 * A clock that moves only when told. Tests and the simulation jump it from deadline to
 * deadline; it never goes backwards, so budgets and expiries stay meaningful.
 */
export class VirtualClock implements Clock {
  #now: Instant;

  constructor(start: Instant = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): Instant {
    return this.#now;
  }

  advanceBy(ms: number): Instant {
    // The sum is checked too: two huge finite moves would otherwise leave the clock at Infinity.
    if (!Number.isFinite(ms) || ms < 0 || !Number.isFinite(this.#now + ms)) throw new RangeError(`A virtual clock cannot move by ${ms} ms.`);
    this.#now += ms;
    return this.#now;
  }

  /** Moves to `at` if it is later; an earlier instant leaves the clock where it is. */
  advanceTo(at: Instant): Instant {
    if (!Number.isFinite(at)) throw new RangeError(`A virtual clock cannot move to ${at}.`);
    if (at > this.#now) this.#now = at;
    return this.#now;
  }
}

/** The host's real clock, for production. */
export const systemClock: Clock = { now: () => Date.now() };
