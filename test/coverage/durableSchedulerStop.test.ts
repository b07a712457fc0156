/**
 * A durable scheduler stopped while a pass is still waiting on the store: whatever the store
 * answers afterwards, nothing is armed and no further pass runs.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/clocks.ts';
import { DurableScheduler, type Timers } from '../../src/adapters/durableScheduler.ts';
import type { FlowQueries } from '../../src/ports/flowStore.ts';
import type { FlowRuntime } from '../../src/runtime/runtime.ts';

/** Timers that keep every callback, cleared or not, so a test can fire one that was already queued. */
class KeptTimers implements Timers {
  readonly set: { run: () => void; ms: number }[] = [];
  readonly cleared: unknown[] = [];
  setTimeout(run: () => void, ms: number): unknown {
    this.set.push({ run, ms });
    return this.set.length - 1;
  }
  clearTimeout(handle: unknown): void {
    this.cleared.push(handle);
  }
}

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** A store whose every answer the test gives by hand, counting the questions. */
const handStore = () => {
  const asked = { due: 0, next: 0, pending: 0 };
  const answers = { due: deferred<readonly { flowId: string; at: number }[]>(), next: deferred<number | null>() };
  const store: FlowQueries = {
    withPendingEffects: async () => {
      asked.pending++;
      return [];
    },
    due: () => {
      asked.due++;
      return answers.due.promise;
    },
    nextDeadlineAfter: () => {
      asked.next++;
      return answers.next.promise;
    },
    sweep: async () => 0,
  };
  return { store, asked, answers };
};

// No flow is ever due here, so the runtime is never asked anything.
const noRuntime = {} as FlowRuntime;

/** Lets every promise callback that is ready run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('DurableScheduler stopped mid-pass', () => {
  it('should arm nothing when stopped while the pass waits for the next deadline', async () => {
    const { store, asked, answers } = handStore();
    const timers = new KeptTimers();
    const scheduler = new DurableScheduler({ runtime: noRuntime, store, clock: new VirtualClock(1_000), timers });
    const pass = scheduler.start();
    answers.due.resolve([]);
    await settle();
    expect(asked.next).toBe(1);
    scheduler.stop();
    answers.next.resolve(5_000);
    expect(await pass).toBe(0);
    expect(timers.set).toEqual([]);
  });

  it('should not even ask for the next deadline when stopped while the pass waits for due flows', async () => {
    const { store, asked, answers } = handStore();
    const timers = new KeptTimers();
    const scheduler = new DurableScheduler({ runtime: noRuntime, store, clock: new VirtualClock(1_000), timers });
    const pass = scheduler.start();
    await settle();
    expect(asked.due).toBe(1);
    scheduler.stop();
    answers.due.resolve([]);
    expect(await pass).toBe(0);
    expect(asked.next).toBe(0);
    expect(timers.set).toEqual([]);
  });

  it('should report a store failure but not re-arm the poll when stopped meanwhile; without onError the pass still resolves', async () => {
    const { store, answers } = handStore();
    const timers = new KeptTimers();
    // No onError: the default swallows, so start() itself never rejects.
    const scheduler = new DurableScheduler({ runtime: noRuntime, store, clock: new VirtualClock(1_000), timers, pollMs: 10_000 });
    const pass = scheduler.start();
    await settle();
    scheduler.stop();
    answers.due.reject(new Error('connection lost'));
    await expect(pass).resolves.toBe(0);
    expect(timers.set).toEqual([]);
  });

  it('should re-arm the poll after a store failure while running', async () => {
    const { store, answers } = handStore();
    const timers = new KeptTimers();
    const errors: unknown[] = [];
    const scheduler = new DurableScheduler({ runtime: noRuntime, store, clock: new VirtualClock(1_000), timers, pollMs: 10_000, onError: (id, e) => errors.push([id, e]) });
    const failure = new Error('connection lost');
    answers.due.reject(failure);
    expect(await scheduler.start()).toBe(0);
    expect(errors).toEqual([['*', failure]]);
    expect(timers.set.map((t) => t.ms)).toEqual([10_000]);
    scheduler.stop();
  });

  it('should run no pass when a timer that was already due fires after stop', async () => {
    const { store, asked, answers } = handStore();
    const timers = new KeptTimers();
    const scheduler = new DurableScheduler({ runtime: noRuntime, store, clock: new VirtualClock(1_000), timers, pollMs: 10_000 });
    answers.due.resolve([]);
    answers.next.resolve(null);
    await scheduler.start();
    expect(timers.set.map((t) => t.ms)).toEqual([10_000]);
    const dueBefore = asked.due;
    scheduler.stop();
    expect(timers.cleared).toEqual([0]);
    timers.set[0]?.run();
    await settle();
    expect(asked.due).toBe(dueBefore);
  });
});
