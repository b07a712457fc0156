/**
 * Wakes flows at their deadlines on a real host. A timer is only a reminder: the deadline
 * itself lives in the stored snapshot, so after a restart `track` is called again with the
 * same instants (from `runtime.read`) and nothing is extended. A deadline already past fires
 * at once.
 */
import type { Instant } from '../domain/time.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeadlineScheduler } from '../runtime/scheduler.ts';
import type { FlowRuntime } from '../runtime/runtime.ts';
import { trackResult } from '../runtime/scheduler.ts';

/** setTimeout cannot wait longer than 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class WallClockScheduler implements DeadlineScheduler {
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly runtime: FlowRuntime,
    private readonly clock: Clock,
    private readonly onError: (flowId: string, error: unknown) => void = () => {},
  ) {}

  track(flowId: string, deadline: Instant | null): void {
    const existing = this.#timers.get(flowId);
    if (existing !== undefined) clearTimeout(existing);
    this.#timers.delete(flowId);
    if (deadline === null || !Number.isFinite(deadline)) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, deadline - this.clock.now()));
    const timer = setTimeout(() => {
      this.#timers.delete(flowId);
      if (this.clock.now() < deadline) return this.track(flowId, deadline);
      this.runtime.tick(flowId).then(
        (result) => trackResult(this, result),
        (error: unknown) => this.onError(flowId, error),
      );
    }, wait);
    // A pending reminder must not keep a host process alive on its own.
    (timer as { unref?: () => void }).unref?.();
    this.#timers.set(flowId, timer);
  }

  /** Re-arms reminders for stored flows after a restart, from their own stored deadlines. */
  async restore(flowIds: Iterable<string>): Promise<void> {
    for (const flowId of flowIds) trackResult(this, await this.runtime.read(flowId));
  }

  stop(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  pending(): number {
    return this.#timers.size;
  }
}
