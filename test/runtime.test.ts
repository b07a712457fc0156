import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { MemoryFlowStore } from '../src/adapters/memory/flowStore.ts';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import { registrationFlow } from '../src/flows/registration.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { VirtualScheduler, trackResult } from '../src/runtime/scheduler.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';

const begin = async (host: TestHost) => {
  const started = ok(await host.runtime.start('registration', {}));
  ok(await host.runtime.send(started.flowId, { type: 'phone.submit', phone: PHONE }));
  return started.flowId;
};

/** A host restarted over the same storage and ports: nothing in memory survives but the store. */
const restart = (host: TestHost): TestHost => ({ world: host.world, runtime: createRuntime(host.world, [registrationFlow(host.world)]) });

describe('runtime', () => {
  it('should let exactly one of two concurrent submissions of the same code win', async () => {
    const host = testHost();
    const flowId = await begin(host);
    const code = host.world.messenger.lastCodeTo(PHONE);
    const results = await Promise.all([
      host.runtime.send(flowId, { type: 'code.submit', code }),
      host.runtime.send(flowId, { type: 'code.submit', code }),
    ]);
    const wins = results.filter(E.isRight);
    const losses = results.filter(E.isLeft);
    expect(wins).toHaveLength(1);
    expect(losses.map((l) => l.left.code)).toEqual(['stale_write']);
    expect(ok(await host.runtime.read(flowId)).view.state).toBe('choosingHandle');
  });

  it('should give a retried request that already succeeded the same answer, not "code already used"', async () => {
    const host = testHost();
    const flowId = await begin(host);
    const code = host.world.messenger.lastCodeTo(PHONE);
    const first = ok(await host.runtime.send(flowId, { type: 'code.submit', code }, undefined, 'req-1'));
    const retry = ok(await host.runtime.send(flowId, { type: 'code.submit', code }, undefined, 'req-1'));
    expect(first.replayed).toBe(false);
    expect(retry.replayed).toBe(true);
    expect(retry.view).toEqual(first.view);
    // Without the request id the same code is, correctly, spent.
    expect(fail(await host.runtime.send(flowId, { type: 'code.submit', code })).code).toBe('event_not_accepted');
  });

  it('should keep the step and run a pending effect exactly once after a crash between saving and sending', async () => {
    let crash = true;
    const messenger = new MemoryMessenger();
    const original = messenger.send.bind(messenger);
    // The provider accepts the message, then the process dies before the flow hears back.
    messenger.send = async (message, key) => {
      const result = await original(message, key);
      if (crash) {
        crash = false;
        throw new Error('process died');
      }
      return result;
    };
    const host = testHost({ messenger });
    const started = ok(await host.runtime.start('registration', {}));
    const step = ok(await host.runtime.send(started.flowId, { type: 'phone.submit', phone: PHONE }));
    expect(step.view.state).toBe('awaitingCode');
    expect(step.pendingEffects).toBe(1);
    const again = restart(host);
    const drained = ok(await again.runtime.drain(started.flowId));
    expect(drained.pendingEffects).toBe(0);
    expect(messenger.sent).toHaveLength(1);
    expect(ok(await again.runtime.drain(started.flowId)).pendingEffects).toBe(0);
    expect(messenger.sent).toHaveLength(1);
  });

  it('should keep every deadline to the millisecond across a restart', async () => {
    const host = testHost();
    const flowId = await begin(host);
    const before = ok(await host.runtime.read(flowId));
    host.world.clock.advanceBy(123_457);
    const after = restart(host);
    const restored = ok(await after.runtime.read(flowId));
    expect(restored.nextDeadline).toBe(before.nextDeadline);
    expect(restored.view.codeExpiresAt).toBe(before.view.codeExpiresAt);
    expect(restored.view.resendAllowedAt).toBe(before.view.resendAllowedAt);
    host.world.clock.advanceTo((before.nextDeadline as number) - 1);
    expect(ok(await after.runtime.tick(flowId)).view.state).toBe('awaitingCode');
    host.world.clock.advanceTo(before.nextDeadline as number);
    expect(ok(await after.runtime.tick(flowId)).view.state).toBe('codeExpired');
  });

  it('should wake flows at their deadlines in order through the virtual scheduler', async () => {
    const host = testHost();
    const scheduler = new VirtualScheduler(host.runtime, host.world.clock);
    const a = await begin(host);
    trackResult(scheduler, await host.runtime.read(a));
    host.world.clock.advanceBy(60_000);
    const b = await begin(host);
    trackResult(scheduler, await host.runtime.read(b));
    expect(scheduler.peek()?.flowId).toBe(a);
    const woken = await scheduler.runUntil(host.world.clock.now() + 10 * 60_000);
    expect(woken).toBe(2);
    expect(ok(await host.runtime.read(a)).view.state).toBe('codeExpired');
    expect(ok(await host.runtime.read(b)).view.state).toBe('codeExpired');
    // Both now wait for the flow's own end, 30 days after it started.
    expect(scheduler.size()).toBe(2);
  });

  it('should refuse tampered, truncated or foreign envelopes with a typed error and change nothing', async () => {
    const host = testHost();
    const flowId = await begin(host);
    const good = host.world.store.raw(flowId) as string;
    const envelope = JSON.parse(good);
    const cases: [string, string, string][] = [
      ['truncated', good.slice(0, good.length / 2), 'snapshot_corrupt'],
      ['another machine', JSON.stringify({ ...envelope, machine: 'payments' }), 'envelope_mismatch'],
      ['another version', JSON.stringify({ ...envelope, machineVersion: 99 }), 'envelope_mismatch'],
      ['unknown state', JSON.stringify({ ...envelope, snapshot: { ...envelope.snapshot, value: 'hacked' } }), 'snapshot_corrupt'],
      ['bad context', JSON.stringify({ ...envelope, snapshot: { ...envelope.snapshot, context: { ...envelope.snapshot.context, code: 'x' } } }), 'snapshot_corrupt'],
      ['done but active', JSON.stringify({ ...envelope, snapshot: { ...envelope.snapshot, status: 'done' } }), 'snapshot_corrupt'],
      ['another schema', JSON.stringify({ ...envelope, schemaVersion: 2 }), 'snapshot_corrupt'],
    ];
    for (const [name, raw, code] of cases) {
      host.world.store.overwriteRaw(flowId, raw);
      const error = fail(await host.runtime.send(flowId, { type: 'code.resend' }));
      expect(error.code, name).toBe(code);
      expect(error.visibility, name).toBe('internal');
      expect(host.world.store.raw(flowId), name).toBe(raw);
    }
    expect(fail(await host.runtime.read('no-such-flow')).code).toBe('flow_not_found');
  });

  it('should keep codes and passwords out of everything it stores', async () => {
    const host = testHost();
    const flowId = await begin(host);
    const code = host.world.messenger.lastCodeTo(PHONE) as string;
    ok(await host.runtime.send(flowId, { type: 'code.submit', code }));
    ok(await host.runtime.send(flowId, { type: 'handle.submit', handle: 'alice_01' }));
    const password = 'correct horse battery staple';
    ok(await host.runtime.send(flowId, { type: 'password.submit', password }));
    const stored = host.world.store.raw(flowId) as string;
    expect(stored).not.toContain(password);
    const context = JSON.parse(stored).snapshot.context;
    const values: unknown[] = [];
    JSON.stringify(context, (_k, v: unknown) => (values.push(v), v));
    expect(values).not.toContain(code);
  });

  it('should refuse an unknown flow name and a malformed start input', async () => {
    const host = testHost();
    expect(fail(await host.runtime.start('nope', {}))).toMatchObject({ code: 'invalid_input', field: 'flow' });
  });
});

describe('runtime: idempotent starts', () => {
  it('should land a start retried with the same request id on the same flow', async () => {
    const host = testHost();
    const first = ok(await host.runtime.start('registration', {}, undefined, 'start-1'));
    const again = ok(await host.runtime.start('registration', {}, undefined, 'start-1'));
    expect(again.flowId).toBe(first.flowId);
    expect(again.replayed).toBe(true);
    const other = ok(await host.runtime.start('registration', {}, undefined, 'start-2'));
    expect(other.flowId).not.toBe(first.flowId);
    expect(host.world.store.ids()).toHaveLength(2);
  });
});

describe('runtime: profiling', () => {
  const PHASES = ['store.load', 'envelope.decode', 'context.decode', 'resolveState', 'event.decode', 'enrich', 'transition', 'observe', 'view', 'store.save', 'outbox'];

  it('should time every phase with the profiler clock, and nothing else', async () => {
    const world = testHost().world;
    let clock = 0;
    const recorded: [string, number][] = [];
    const observed: string[] = [];
    const runtime = createRuntime(world, [registrationFlow(world)], {
      observe: (s) => observed.push(s.event),
      profile: { now: () => (clock += 1), record: (phase, ms) => recorded.push([phase, ms]) },
    });
    const { flowId } = ok(await runtime.start('registration', {}));
    ok(await runtime.send(flowId, { type: 'phone.submit', phone: PHONE }));
    ok(await runtime.tick(flowId));
    ok(await runtime.drain(flowId));
    ok(await runtime.read(flowId));
    expect([...new Set(recorded.map(([phase]) => phase))].sort()).toEqual([...PHASES].sort());
    // Each span reads the profiler clock once at its start and once at its end, a few ticks apart.
    for (const [phase, ms] of recorded) {
      expect(ms, phase).toBeGreaterThan(0);
      expect(ms, phase).toBeLessThan(20);
    }
    expect(observed.slice(0, 2)).toEqual(['xstate.init', 'phone.submit']);
  });
});

describe('runtime: refusals, exactly', () => {
  class CountingStore extends MemoryFlowStore {
    loads: string[] = [];
    failLoad = false;
    failReplace = false;
    refuseInsert = false;
    override async load(flowId: string): Promise<unknown> {
      this.loads.push(flowId);
      if (this.failLoad) throw new Error('disk on fire');
      return super.load(flowId);
    }
    override async replace(...args: Parameters<MemoryFlowStore['replace']>): Promise<boolean> {
      if (this.failReplace) throw new Error('disk full');
      return super.replace(...args);
    }
    override async insert(...args: Parameters<MemoryFlowStore['insert']>): Promise<boolean> {
      return this.refuseInsert ? false : super.insert(...args);
    }
  }

  const error = (code: string, message: string, field?: string, visibility: 'public' | 'internal' = 'internal') => ({
    _tag: 'FlowError',
    code,
    visibility,
    message,
    ...(field === undefined ? {} : { field }),
  });

  it('should refuse a flow id that cannot be one without asking the store, and ask it up to 128 characters', async () => {
    const store = new CountingStore();
    const { runtime } = testHost({ store });
    const notFound = { code: 'flow_not_found', message: 'No such flow.', field: 'flowId' };
    for (const flowId of ['', 'x'.repeat(129), 42 as unknown as string]) expect(fail(await runtime.read(flowId))).toMatchObject(notFound);
    expect(store.loads).toEqual([]);
    expect(fail(await runtime.read('x'.repeat(128)))).toMatchObject(notFound);
    expect(store.loads).toEqual(['x'.repeat(128)]);
  });

  it('should name each way a stored flow cannot be used', async () => {
    const store = new CountingStore();
    const host = testHost({ store });
    const { flowId } = ok(await host.runtime.start('registration', {}));
    const envelope = JSON.parse(host.world.store.raw(flowId) as string);
    const rewrite = (change: Record<string, unknown>) => host.world.store.overwriteRaw(flowId, JSON.stringify({ ...envelope, ...change }));
    const read = async () => fail(await host.runtime.read(flowId));

    rewrite({ machine: 'm'.repeat(70) });
    expect(await read()).toEqual(error('envelope_mismatch', `The stored flow belongs to machine "${'m'.repeat(64)}", which this host does not run.`, 'machine'));
    rewrite({ machineVersion: 99 });
    expect(await read()).toEqual(error('envelope_mismatch', `The stored flow was written by registration v99; this host runs v${envelope.machineVersion}.`, 'machineVersion'));
    rewrite({ snapshot: { ...envelope.snapshot, status: 'done' } });
    expect(await read()).toEqual(error('snapshot_corrupt', 'The stored status does not match the stored state.', 'snapshot.status'));
    rewrite({ snapshot: { ...envelope.snapshot, value: 'noSuchState' } });
    expect(await read()).toEqual(error('snapshot_corrupt', 'The stored state does not exist in this machine.', 'snapshot.value'));
    rewrite({});
    store.failLoad = true;
    expect(await read()).toEqual(error('port_failure', 'The flow store could not be read.'));
    store.failLoad = false;
    store.failReplace = true;
    expect(fail(await host.runtime.send(flowId, { type: 'phone.submit', phone: PHONE }))).toEqual(error('port_failure', 'The flow store could not be written.'));
    store.failReplace = false;
    store.refuseInsert = true;
    expect(fail(await host.runtime.start('registration', {}))).toEqual(error('flow_exists', 'A flow with this id already exists.'));
  });

  it('should name the flow it does not know, quoting at most 64 characters of a name', async () => {
    const { runtime } = testHost();
    expect(fail(await runtime.start('n'.repeat(70), {}))).toEqual(error('invalid_input', `There is no flow named "${'n'.repeat(64)}".`, 'flow', 'public'));
    expect(fail(await runtime.start(Object.create(null) as string, {}))).toEqual(error('invalid_input', 'The flow name must be a string.', 'flow', 'public'));
  });

  it('should say an event is not possible now, and that a finished flow takes none', async () => {
    const host = testHost();
    const { flowId } = ok(await host.runtime.start('registration', {}));
    expect(fail(await host.runtime.send(flowId, { type: 'code.resend' }))).toEqual(error('event_not_accepted', '"code.resend" is not possible in this step.', 'type', 'public'));
    ok(await host.runtime.send(flowId, { type: 'flow.cancel' }));
    expect(fail(await host.runtime.send(flowId, { type: 'flow.cancel' }))).toEqual(error('flow_finished', 'This flow has already ended.', undefined, 'public'));
  });

  it('should say a lookup failed and that nothing changed or was created', async () => {
    const host = testHost();
    const { flowId } = ok(await host.runtime.start('registration', {}));
    host.world.blockedNumbers.isBlocked = async () => {
      throw new Error('lookup down');
    };
    expect(fail(await host.runtime.send(flowId, { type: 'phone.submit', phone: PHONE }))).toEqual(error('port_failure', 'A lookup needed for this step failed; nothing changed.'));
    host.world.directory.get = async () => {
      throw new Error('directory down');
    };
    const session = { actor: 'acct-1', sessionId: 'sess-1' };
    expect(fail(await host.runtime.start('realName', {}, session))).toEqual(error('port_failure', 'A lookup needed to start this flow failed; nothing was created.'));
  });
});
