/**
 * Answers that could tell a bound identifier from an unbound one take at least a fixed time: a
 * bound number costs a message to a provider, an unbound one nothing, and a stopwatch would see
 * the difference. The clock and the sleep are injected, so a test checks the pad was asked for
 * without waiting on the wall.
 */
import { setTimeout as wait } from 'node:timers/promises';

export interface Timing {
  /** A monotonic clock in ms. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTiming: Timing = {
  now: () => performance.now(),
  sleep: async (ms) => {
    await wait(ms);
  },
};

/** The default minimum for entry answers: above the slowest provider call a host expects. */
export const DEFAULT_MIN_ENTRY_MS = 300;

/**
 * Runs a handler and, if it called `pad()` by the time it is done (it may decide late, once it
 * knows who is calling), answers no sooner than `minMs` after it began, whether it succeeded or
 * threw.
 *
 * @example
 * const response = await padded(realTiming, 300, async (pad) => { pad(); return handle(request); });
 */
export const padded = async <T>(timing: Timing, minMs: number, handler: (pad: () => void) => Promise<T>): Promise<T> => {
  const began = timing.now();
  let pad = false;
  try {
    return await handler(() => {
      pad = true;
    });
  } finally {
    const left = minMs - (timing.now() - began);
    if (pad && left > 0) await timing.sleep(left);
  }
};
