/**
 * Wakes flows at their deadlines from what the store indexes, so a host that restarts (or one
 * of several hosts sharing a database) finds every deadline and every unfinished outbox again
 * without remembering anything itself. One timer aims at the earliest known deadline; a poll
 * catches deadlines another host wrote. A late wake never extends anything: machines judge
 * expiry by the stored instants against the trusted clock, so waking late only delays the
 * notice, never the rule.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Instant } from '../domain/time.ts';
import type { Clock } from '../ports/clock.ts';
import type { FlowQueries } from '../ports/flowStore.ts';
import type { FlowRuntime, StepResult } from '../runtime/runtime.ts';
import type { DeadlineScheduler } from '../runtime/scheduler.ts';

/** The timer functions the scheduler arms; tests pass fakes that fire on command. */
export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DurableSchedulerOptions {
  readonly runtime: FlowRuntime;
  readonly store: FlowQueries;
  readonly clock: Clock;
  readonly timers?: Timers;
  /** How often to look for deadlines other hosts wrote. */
  readonly pollMs?: number;
  /** Flows woken per store query, so one pass never loads an unbounded list. */
  readonly batch?: number;
  /** Told of a wake or drain that failed; the flow stays indexed and is tried again next pass. */
  readonly onError?: (flowId: string, error: unknown) => void;
}

/** setTimeout cannot wait longer than 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const nodeTimers: Timers = {
  setTimeout: (run, ms) => {
    const handle = setTimeout(run, ms);
    // A pending reminder must not keep a host process alive on its own.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class DurableScheduler implements DeadlineScheduler {
  readonly #runtime: FlowRuntime;
  readonly #store: FlowQueries;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #pollMs: number;
  readonly #batch: number;
  readonly #onError: (flowId: string, error: unknown) => void;
  #timer: { readonly handle: unknown; readonly at: Instant } | null = null;
  #running = false;
  #pass: Promise<number> | null = null;
  #queued: Promise<number> | null = null;

  constructor(options: DurableSchedulerOptions) {
    this.#runtime = options.runtime;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#timers = options.timers ?? nodeTimers;
    this.#pollMs = options.pollMs ?? 30_000;
    this.#batch = options.batch ?? 100;
    this.#onError = options.onError ?? (() => {});
  }

  /** Resumes unfinished outboxes and overdue deadlines, then keeps waking flows until `stop`. */
  async start(): Promise<number> {
    this.#running = true;
    return this.runPass();
  }

  stop(): void {
    this.#running = false;
    this.#disarm();
  }

  /** A step just told us a flow's next deadline: aim the timer at it if it is the earliest. */
  track(_flowId: string, deadline: Instant | null): void {
    if (!this.#running || deadline === null || !Number.isFinite(deadline)) return;
    if (this.#timer === null || deadline < this.#timer.at) this.#arm(deadline);
  }

  /**
   * One pass: drain every pending outbox, wake every flow that is due, and aim the timer at the
   * next deadline. Passes never overlap.
   */
  runPass(): Promise<number> {
    if (this.#pass === null) {
      const pass = this.#runPass().finally(() => {
        this.#pass = null;
      });
      this.#pass = pass;
      return pass;
    }
    // A pass is under way and may have read the store before the caller's change: everyone who
    // asks meanwhile shares one more pass after it.
    this.#queued ??= this.#pass.then(() => {
      this.#queued = null;
      return this.runPass();
    });
    return this.#queued;
  }

  async #runPass(): Promise<number> {
    let woken = 0;
    try {
      for (const flowId of await this.#store.withPendingEffects(this.#batch)) {
        await this.#attempt(flowId, () => this.#runtime.drain(flowId));
      }
      // A woken flow normally leaves the due list or moves its deadline on. One that failed, or
      // that still reports the deadline it was just woken for, is left for the next pass, so a
      // pass always ends.
      const handled = new Map<string, Instant>();
      for (;;) {
        const due = (await this.#store.due(this.#clock.now(), this.#batch + handled.size)).filter((d) => handled.get(d.flowId) !== d.at);
        if (due.length === 0) break;
        for (const { flowId, at } of due) {
          handled.set(flowId, at);
          if (await this.#attempt(flowId, () => this.#runtime.tick(flowId))) woken++;
        }
      }
      await this.#aimAtNext();
    } catch (error) {
      this.#onError('*', error);
      this.#armIn(this.#pollMs);
    }
    return woken;
  }

  async #attempt(flowId: string, run: () => Promise<StepResult>): Promise<boolean> {
    try {
      const result = await run();
      // A stale write means another host moved the flow meanwhile: it has been handled.
      if (E.isLeft(result) && result.left.code !== 'stale_write') {
        this.#onError(flowId, result.left);
        return false;
      }
      return true;
    } catch (error) {
      this.#onError(flowId, error);
      return false;
    }
  }

  async #aimAtNext(): Promise<void> {
    if (!this.#running) return;
    const next = await this.#store.nextDeadlineAfter(this.#clock.now());
    if (!this.#running) return;
    const poll = this.#clock.now() + this.#pollMs;
    this.#disarm();
    this.#arm(next === null ? poll : Math.min(next, poll));
  }

  #armIn(ms: number): void {
    if (!this.#running) return;
    this.#disarm();
    this.#arm(this.#clock.now() + ms);
  }

  #arm(at: Instant): void {
    this.#disarm();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, at - this.#clock.now()));
    const handle = this.#timers.setTimeout(() => {
      this.#timer = null;
      if (this.#running) void this.runPass();
    }, wait);
    this.#timer = { handle, at };
  }

  #disarm(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer.handle);
    this.#timer = null;
  }
}
