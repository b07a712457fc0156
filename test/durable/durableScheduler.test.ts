import { describe, expect, it } from 'vitest';
import { DurableScheduler, type Timers } from '../../src/adapters/durableScheduler.ts';
import { createMemoryWorld, type MemoryWorld } from '../../src/adapters/memory/index.ts';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import type { OutboundMessage } from '../../src/ports/messenger.ts';
import { createRuntime, type FlowRuntime } from '../../src/runtime/runtime.ts';
import { ok } from '../support/world.ts';

const PHONE = '+8613800138000';

/** Timers that fire only when the test says so, and remember where they were aimed. */
class ManualTimers implements Timers {
  readonly armed = new Map<number, { run: () => void; ms: number }>();
  #next = 0;
  setTimeout(run: () => void, ms: number): unknown {
    const id = ++this.#next;
    // A timer that fires is spent, as a real one is.
    this.armed.set(id, { run: () => (this.armed.delete(id), run()), ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.armed.delete(handle as number);
  }
  only(): { run: () => void; ms: number } {
    expect(this.armed.size).toBe(1);
    return [...this.armed.values()][0]!;
  }
}

/** A host process: a runtime and a scheduler over the world's store. A "restart" is a new host. */
const host = (world: MemoryWorld, timers = new ManualTimers(), errors: unknown[] = []) => {
  const runtime: FlowRuntime = createRuntime(world, [registrationFlow(world)]);
  const scheduler = new DurableScheduler({ runtime, store: world.store, clock: world.clock, timers, pollMs: 60_000, onError: (_id, e) => errors.push(e) });
  return { runtime, scheduler, timers, errors };
};

const startRegistration = async (runtime: FlowRuntime) => {
  const started = ok(await runtime.start('registration', {}));
  return ok(await runtime.send(started.flowId, { type: 'phone.submit', phone: PHONE }));
};

describe('durable deadlines', () => {
  it('should wake a flow at its original deadline after a restart, not a moment later in its own terms', async () => {
    const world = createMemoryWorld({ seed: 3 });
    const first = host(world);
    const sent = await startRegistration(first.runtime);
    const deadline = sent.nextDeadline;
    expect(deadline).not.toBeNull();
    // The host dies; time passes beyond the deadline while nothing runs.
    world.clock.advanceTo(deadline! + 5 * 60_000);
    const second = host(world);
    expect(await second.scheduler.start()).toBe(1);
    const after = ok(await second.runtime.read(sent.flowId));
    // The code died at its stored instant: submitting it now is refused as expired.
    expect(after.nextDeadline === null || after.nextDeadline > deadline!).toBe(true);
    const code = world.messenger.lastCodeTo(PHONE)!;
    const late = await second.runtime.send(sent.flowId, { type: 'code.submit', code });
    expect(ok(late).view).toMatchObject({ state: 'codeExpired', codeExpiresAt: deadline, notice: { code: 'code_expired' } });
    second.scheduler.stop();
  });

  it('should aim its one timer at the earliest stored deadline and wake the flow when it fires', async () => {
    const world = createMemoryWorld({ seed: 4 });
    const h = host(world);
    const sent = await startRegistration(h.runtime);
    expect(await h.scheduler.start()).toBe(0);
    const timer = h.timers.only();
    expect(timer.ms).toBe(Math.min(sent.nextDeadline! - world.clock.now(), 60_000));
    world.clock.advanceTo(sent.nextDeadline!);
    const before = ok(await h.runtime.read(sent.flowId)).version;
    timer.run();
    await h.scheduler.runPass();
    expect(ok(await h.runtime.read(sent.flowId)).version).toBeGreaterThan(before);
    h.scheduler.stop();
    expect(h.timers.armed.size).toBe(0);
  });

  it('should pull the timer forward when a step reports an earlier deadline, and ignore later ones', async () => {
    const world = createMemoryWorld({ seed: 5 });
    const h = host(world);
    await h.scheduler.start();
    expect(h.timers.only().ms).toBe(60_000);
    h.scheduler.track('x', world.clock.now() + 1_000);
    expect(h.timers.only().ms).toBe(1_000);
    h.scheduler.track('y', world.clock.now() + 2_000);
    h.scheduler.track('z', null);
    expect(h.timers.only().ms).toBe(1_000);
    h.scheduler.stop();
    h.scheduler.track('x', world.clock.now() + 10);
    expect(h.timers.armed.size).toBe(0);
  });

  it('should run an outbox left behind by a crash exactly once after the restart', async () => {
    let dead = true;
    const delivered: OutboundMessage[] = [];
    const messenger = new MemoryMessenger((message) => {
      // The first host dies while handing the message over; nothing reached the provider.
      if (dead) throw new Error('host died');
      delivered.push(message);
      return undefined;
    });
    const world = createMemoryWorld({ seed: 6, messenger });
    const first = host(world);
    const sent = await startRegistration(first.runtime);
    expect(sent.pendingEffects).toBeGreaterThan(0);
    expect(await world.store.withPendingEffects(10)).toEqual([sent.flowId]);
    dead = false;
    const second = host(world);
    const third = host(world);
    // Two hosts come back at once over the same store: the message still goes out once.
    await Promise.all([second.scheduler.start(), third.scheduler.start()]);
    expect(delivered.filter((m) => m.to === PHONE)).toHaveLength(1);
    expect(await world.store.withPendingEffects(10)).toEqual([]);
    expect(ok(await second.runtime.read(sent.flowId)).pendingEffects).toBe(0);
  });

  it('should tell of a wake that fails and still finish its pass', async () => {
    const world = createMemoryWorld({ seed: 7 });
    const h = host(world);
    const sent = await startRegistration(h.runtime);
    world.store.overwriteRaw(sent.flowId, '{"not":"an envelope"}');
    // The index still says the flow is due; the broken row is reported, not spun on.
    world.clock.advanceTo(sent.nextDeadline! + 1);
    const fresh = host(world);
    expect(await fresh.scheduler.start()).toBe(0);
    expect(fresh.errors).toHaveLength(1);
    expect(fresh.errors[0]).toMatchObject({ code: 'snapshot_corrupt' });
    fresh.scheduler.stop();
  });

  it('should sweep finished flows after their grace and abandoned ones after theirs, and keep the rest', async () => {
    const world = createMemoryWorld({ seed: 8 });
    const h = host(world);
    const abandoned = await startRegistration(h.runtime);
    world.clock.advanceBy(10_000);
    const live = await startRegistration(h.runtime);
    const finished = ok(await h.runtime.start('registration', {}));
    ok(await h.runtime.send(finished.flowId, { type: 'flow.cancel' }));
    const t = world.clock.now();
    expect(await world.store.sweep(t - 1, t - 5_000)).toBe(1);
    expect(await world.store.sweep(t + 1, t - 5_000)).toBe(1);
    expect(world.store.ids()).toEqual([live.flowId]);
    expect(abandoned.flowId).not.toBe(live.flowId);
  });

  it('should report a store that cannot answer, and try again after a poll interval', async () => {
    const world = createMemoryWorld({ seed: 9 });
    const timers = new ManualTimers();
    const errors: [string, unknown][] = [];
    let broken = true;
    const store = {
      due: (now: number, limit: number) => (broken ? Promise.reject(new Error('database gone')) : world.store.due(now, limit)),
      nextDeadlineAfter: (now: number) => world.store.nextDeadlineAfter(now),
      withPendingEffects: (limit: number) => world.store.withPendingEffects(limit),
      sweep: (a: number, b: number) => world.store.sweep(a, b),
    };
    const runtime = createRuntime(world, [registrationFlow(world)]);
    const scheduler = new DurableScheduler({ runtime, store, clock: world.clock, timers, pollMs: 5_000, onError: (id, e) => errors.push([id, e]) });
    expect(await scheduler.start()).toBe(0);
    expect(errors).toEqual([['*', new Error('database gone')]]);
    expect(timers.only().ms).toBe(5_000);
    broken = false;
    timers.only().run();
    await scheduler.runPass();
    expect(errors).toHaveLength(1);
    scheduler.stop();
  });

  it('should count a wake another host won (stale write) as handled and report one that throws', async () => {
    const world = createMemoryWorld({ seed: 10 });
    const sent = await startRegistration(host(world).runtime);
    world.clock.advanceTo(sent.nextDeadline! + 1);
    const errors: unknown[] = [];
    const base = createRuntime(world, [registrationFlow(world)]);
    const stale: FlowRuntime = { ...base, tick: async () => ({ _tag: 'Left', left: { _tag: 'FlowError', code: 'stale_write', visibility: 'internal', message: 'moved' } }) as never };
    const won = new DurableScheduler({ runtime: stale, store: world.store, clock: world.clock, timers: new ManualTimers(), onError: (_id, e) => errors.push(e) });
    expect(await won.start()).toBe(1);
    expect(errors).toEqual([]);
    won.stop();
    const throwing: FlowRuntime = { ...base, tick: () => Promise.reject(new Error('boom')) };
    const lost = new DurableScheduler({ runtime: throwing, store: world.store, clock: world.clock, timers: new ManualTimers(), onError: (_id, e) => errors.push(e) });
    expect(await lost.start()).toBe(0);
    expect(errors).toEqual([new Error('boom')]);
    lost.stop();
  });
});
