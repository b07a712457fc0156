/**
 * Edges the flows' own tests leave untried, found by the coverage report: ports that fail or
 * answer "no such thing", effects run again after the world changed, boundary refusals of the
 * rarer fields, schedulers at their limits, and the small pure helpers' corner cases.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { and, fromPromise, not, setup } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../src/adapters/clocks.ts';
import { MemoryFlowStore } from '../src/adapters/memory/flowStore.ts';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import { WallClockScheduler } from '../src/adapters/wallClockScheduler.ts';
import type { AccountId } from '../src/domain/account.ts';
import { decodeWith, eventCodec } from '../src/domain/decode.ts';
import type { Handle } from '../src/domain/handle.ts';
import { hotp, totpStep } from '../src/domain/hotp.ts';
import { decide, EMPTY_BUDGET } from '../src/domain/budget.ts';
import { maskPhone, type Phone, phoneNationalDigits } from '../src/domain/phone.ts';
import { boundedList, boundedString } from '../src/domain/reviewTicket.ts';
import { base64url, CodeState } from '../src/domain/verificationCode.ts';
import { readManualReviewAgentView } from '../src/flows/manualReview.ts';
import { machineDot } from '../src/graph/dot.ts';
import { edgeLabel, eventLabel, guardLabel, localName, machineGraph } from '../src/graph/machineGraph.ts';
import { machineMermaid } from '../src/graph/mermaid.ts';
import { transitionCount } from '../src/graph/overlay.ts';
import type { OutboxEntry } from '../src/runtime/envelope.ts';
import { runEffect } from '../src/runtime/executor.ts';
import { createRuntime, type HostSession, type StepResult } from '../src/runtime/runtime.ts';
import { trackResult, VirtualScheduler } from '../src/runtime/scheduler.ts';
import { seedAccount } from './support/accounts.ts';
import { allFlows } from './support/faultyHost.ts';
import { enrollTotp, OWNER_HANDLE, seedFriends, startFriendAssist } from './support/friends.ts';
import { fail, ok, testHost } from './support/world.ts';

const entry = (type: string, params: unknown): OutboxEntry => ({ key: `f:1:0`, effect: { type, params } });

// ---------------------------------------------------------------------------------------------
// the executor when the world moved on
// ---------------------------------------------------------------------------------------------

describe('executor edges', () => {
  it('should refuse a second-factor reset for a missing, deactivated or re-secured account, naming why', async () => {
    const { world } = testHost();
    const a = await seedAccount(world);
    const b = await seedAccount(world, { phone: '+8613900139000', handle: 'bob_0001' });
    world.directory.deactivate(b.id);
    const reset = (accountId: string, expectedEpoch: number) => runEffect(entry('resetSecondFactor', { accountId, expectedEpoch }), 'f', world, world.clock.now());
    expect(await reset('acct-nope', 0)).toEqual({ type: 'secondFactor.resetRefused', reason: 'not_found' });
    expect(await reset(b.id, 0)).toEqual({ type: 'secondFactor.resetRefused', reason: 'deactivated' });
    expect(await reset(a.id, 7)).toEqual({ type: 'secondFactor.resetRefused', reason: 'stale_epoch' });
    expect(await reset(a.id, 0)).toEqual({ type: 'secondFactor.reset' });
  });

  it('should tell nobody about an account or a friend that no longer exists', async () => {
    const { world } = testHost();
    const at = world.clock.now();
    expect(await runEffect(entry('notifyFriend', { friendId: 'acct-9', accountId: 'acct-nope', flowId: 'f' }), 'f', world, at)).toBeUndefined();
    expect(await runEffect(entry('notifyOwner', { accountId: 'acct-nope', notice: 'friendAssist.started', flowId: 'f' }), 'f', world, at)).toBeUndefined();
    expect(await runEffect(entry('notifyOwner', { accountId: null, notice: 'friendAssist.started', flowId: 'f' }), 'f', world, at)).toBeUndefined();
    expect(await runEffect(entry('notifyChannels', { accountId: 'acct-nope', template: 'channel.changed' }), 'f', world, at)).toBeUndefined();
    expect(world.messenger.sent).toHaveLength(0);
    expect(world.inApp.to('acct-9' as AccountId)).toHaveLength(0);
  });

  it('should count only the channels a recovery notice reached, and offer what the account lacks', async () => {
    const messenger = new MemoryMessenger((message) => (message.channel === 'sms' ? { ok: false, reason: 'unreachable', retryable: true } : undefined));
    const { world } = testHost({ messenger });
    const account = await seedAccount(world, { email: 'wang@example.com' });
    await enrollTotp(world, account.id);
    const feedback = await runEffect(entry('completeRecovery', { accountId: account.id, expectedEpoch: 0, passwordHash: 'h', path: 'sms' }), 'f', world, world.clock.now());
    expect(feedback).toMatchObject({ type: 'recovery.applied', channelsTold: 1, offers: [] });
  });

  it('should answer a binding the directory refuses with the reason, and one it writes with its own timestamp', async () => {
    const { world } = testHost();
    const a = await seedAccount(world);
    await seedAccount(world, { phone: '+8613900139000', handle: 'bob_0001' });
    const bind = (value: string, key: string) => runEffect({ key, effect: { type: 'bindChannel', params: { accountId: a.id, expectedEpoch: 0, channel: { kind: 'phone', value } } } }, 'f', world, world.clock.now());
    expect(await bind('+8613900139000', 'k1')).toEqual({ type: 'binding.conflict', reason: 'channel_taken' });
    expect(await bind('+8613700137000', 'k2')).toEqual({ type: 'binding.applied', verifiedAt: world.clock.now() });
  });
});

// ---------------------------------------------------------------------------------------------
// the runtime when its ports fail
// ---------------------------------------------------------------------------------------------

class FlakyStore extends MemoryFlowStore {
  failLoad = false;
  failReplace = false;
  refuseInsert = false;
  override async load(flowId: string): Promise<unknown> {
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

describe('runtime edges', () => {
  it('should turn a store that cannot be read or written into port_failure, and a taken id into flow_exists', async () => {
    const store = new FlakyStore();
    const { runtime } = testHost({ store });
    const started = ok(await runtime.start('registration', {}));
    store.failLoad = true;
    expect(fail(await runtime.read(started.flowId)).code).toBe('port_failure');
    store.failLoad = false;
    store.failReplace = true;
    expect(fail(await runtime.send(started.flowId, { type: 'phone.submit', phone: '+8613800138000' })).code).toBe('port_failure');
    store.failReplace = false;
    store.refuseInsert = true;
    expect(fail(await runtime.start('registration', {})).code).toBe('flow_exists');
  });

  it('should refuse a stored status that contradicts the stored state', async () => {
    const host = testHost();
    const started = ok(await host.runtime.start('registration', {}));
    const envelope = JSON.parse(host.world.store.raw(started.flowId) as string);
    host.world.store.overwriteRaw(started.flowId, JSON.stringify({ ...envelope, snapshot: { ...envelope.snapshot, status: 'done' } }));
    expect(fail(await host.runtime.read(started.flowId))).toMatchObject({ code: 'snapshot_corrupt', field: 'snapshot.status' });
  });

  it('should give a retried webhook delivery its first answer', async () => {
    const host = testHost();
    const account = await seedAccount(host.world);
    const session: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
    const { flowId } = ok(await host.runtime.start('realName', {}, session));
    ok(await host.runtime.send(flowId, { type: 'realName.submit', reference: 'kyc_ref_0001' }, session));
    const { providerVerdict } = await import('../src/flows/realName.ts');
    const first = ok(await providerVerdict(host.runtime, flowId, { type: 'provider.verified', attempt: 1 }, 'delivery-1'));
    const again = ok(await providerVerdict(host.runtime, flowId, { type: 'provider.verified', attempt: 1 }, 'delivery-1'));
    expect(again).toMatchObject({ replayed: true, view: { state: first.view.state } });
  });
});

// ---------------------------------------------------------------------------------------------
// schedulers
// ---------------------------------------------------------------------------------------------

describe('schedulers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('should wake a flow at its deadline on the wall clock, re-arm early wake-ups and forget cleared ones', async () => {
    vi.useFakeTimers();
    const clock = { now: () => Date.now() };
    const ticks: string[] = [];
    const errors: string[] = [];
    const runtime = {
      tick: async (flowId: string): Promise<StepResult> => {
        ticks.push(flowId);
        if (flowId === 'boom') throw new Error('down');
        return E.right({ flowId, version: 1, view: { state: 'x', done: true }, nextDeadline: null, replayed: false, pendingEffects: 0 });
      },
      read: async (flowId: string): Promise<StepResult> => E.right({ flowId, version: 1, view: { state: 'x', done: false }, nextDeadline: Date.now() + 1_000, replayed: false, pendingEffects: 0 }),
    };
    const scheduler = new WallClockScheduler(runtime as never, clock, (flowId) => errors.push(flowId));
    scheduler.track('a', Date.now() + 5_000);
    scheduler.track('cleared', Date.now() + 5_000);
    scheduler.track('cleared', null);
    scheduler.track('past', Date.now() - 1);
    scheduler.track('boom', Date.now() + 10);
    scheduler.track('never', Number.POSITIVE_INFINITY);
    expect(scheduler.pending()).toBe(3);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(ticks.sort()).toEqual(['a', 'boom', 'past']);
    expect(errors).toEqual(['boom']);
    // Longer than setTimeout can wait: re-armed in steps, and woken only at the deadline itself.
    scheduler.track('far', Date.now() + 2 ** 31 + 5_000);
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(ticks).not.toContain('far');
    await vi.advanceTimersByTimeAsync(6_000);
    expect(ticks).toContain('far');
    await scheduler.restore(['r1', 'r2']);
    expect(scheduler.pending()).toBe(2);
    scheduler.stop();
    expect(scheduler.pending()).toBe(0);
  });

  it('should wake ties in flow-id order on the virtual clock and forget a cleared deadline', async () => {
    const clock = new VirtualClock(0);
    const woken: string[] = [];
    const runtime = { tick: async (flowId: string): Promise<StepResult> => (woken.push(flowId), E.left({ _tag: 'FlowError', code: 'flow_not_found', visibility: 'internal', message: 'gone' })) };
    const scheduler = new VirtualScheduler(runtime as never, clock);
    scheduler.track('b', 10);
    scheduler.track('a', 10);
    scheduler.track('c', 5);
    scheduler.track('d', 7);
    scheduler.track('d', null);
    scheduler.track('e', Number.NaN);
    expect(await scheduler.runUntil(20)).toBe(3);
    expect(woken).toEqual(['c', 'a', 'b']);
    expect(trackResult(scheduler, E.left({ _tag: 'FlowError', code: 'flow_not_found', visibility: 'internal', message: 'x' }))._tag).toBe('Left');
    expect(scheduler.size()).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// the graph reader
// ---------------------------------------------------------------------------------------------

describe('machine graph', () => {
  it('should name guards of every kind, combined ones included', () => {
    expect(guardLabel(undefined)).toBeNull();
    expect(guardLabel(null)).toBeNull();
    expect(guardLabel('isReady')).toBe('isReady');
    expect(guardLabel({ type: 'isReady' })).toBe('isReady');
    expect(guardLabel({ params: 1 })).toBe('inline');
    expect(guardLabel(() => true)).toBe('inline');
    expect(guardLabel(function namedCheck() {
      return true;
    })).toBe('namedCheck');
    expect(guardLabel(and(['a', not('b')]))).toBe('and(a, not(b))');
    expect(guardLabel(42)).toBe('42');
  });

  it('should list every state and every (source, event, branch) of a machine, deadlines marked, blocking handlers apart', () => {
    const machine = setup({ guards: { ok: () => true } }).createMachine({
      id: 'm',
      initial: 'a',
      states: {
        a: { on: { go: [{ guard: 'ok', target: 'b' }, { target: 'c' }], 'clock.tick': { target: 'c' } } },
        b: { initial: 'inner', states: { inner: { on: { stay: {} } } } },
        c: { type: 'final' },
      },
    });
    const graph = machineGraph(machine);
    expect(graph.states.map((s) => s.id)).toEqual(['m.a', 'm.b', 'm.b.inner', 'm.c']);
    expect(graph.transitions.map((x) => [x.key, x.guard, x.deadline])).toEqual([
      ['m.a|go|0', 'ok', false],
      ['m.a|go|1', null, false],
      ['m.a|clock.tick|0', null, true],
    ]);
    // Takes nothing: it only stops a parent's `stay`, so it is never counted as taken.
    expect(graph.blocked?.map((x) => x.key)).toEqual(['m.b.inner|stay|0']);
  });
});

// ---------------------------------------------------------------------------------------------
// small pure helpers
// ---------------------------------------------------------------------------------------------

describe('domain helpers at their corners', () => {
  it('should encode base64url like Node for every length remainder', () => {
    for (const bytes of [[], [1], [1, 2], [1, 2, 3], [255, 254, 253, 252]]) {
      expect(base64url(new Uint8Array(bytes))).toBe(Buffer.from(bytes).toString('base64url'));
    }
  });

  it('should refuse code states with negative, fractional or infinite numbers', () => {
    const good = { binding: { flowId: 'f', purpose: 'registration', epoch: 0, nonce: 'n' }, counter: 0, issuedAt: 0, expiresAt: 1, wrongForCode: 0, wrongForFlow: 0, used: false };
    expect(CodeState.is(good)).toBe(true);
    expect(CodeState.is({ ...good, counter: -1 })).toBe(false);
    expect(CodeState.is({ ...good, counter: 1.5 })).toBe(false);
    expect(CodeState.is({ ...good, expiresAt: Number.POSITIVE_INFINITY })).toBe(false);
    expect(E.isLeft(CodeState.decode({ ...good, issuedAt: Number.NaN }))).toBe(true);
  });

  it('should accept the largest HOTP counter RFC 4226 allows and refuse one past it', () => {
    const key = new Uint8Array(20).fill(7);
    expect(hotp(key, (1n << 64n) - 1n)).toMatch(/^\d{6}$/);
    expect(() => hotp(key, 1n << 64n)).toThrow(RangeError);
  });

  it('should let an event leave a shorter window at its exact end while a longer window still holds it', () => {
    const rule = { windows: [{ limit: 1, windowMs: 1_000 }, { limit: 5, windowMs: 10_000 }], cooldownMs: 0 };
    const first = decide(EMPTY_BUDGET, rule, 0);
    if (!first.allowed) throw new Error('first event refused');
    expect(decide(first.next, rule, 999)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(decide(first.next, rule, 1_000).allowed).toBe(true);
  });

  it('should refuse a TOTP period that is not a positive whole number of seconds', () => {
    expect(() => totpStep(0, 0)).toThrow(RangeError);
    expect(() => totpStep(0, 1.5)).toThrow(RangeError);
  });

  it('should name no field when a codec fails without saying where, and tell events apart by type', () => {
    const silent = new t.Type<string, string, unknown>('Silent', (_u): _u is string => false, () => t.failures([]), (a) => a);
    expect(decodeWith(silent, 1)).toEqual(E.left(expect.objectContaining({ code: 'invalid_input', message: 'the input: expected Silent' })));
    const events = eventCodec('Events', { 'a.go': { n: t.number } }, t);
    expect(events.is({ type: 'a.go', n: 1 })).toBe(true);
    expect(events.is({ type: 'a.go', n: 'x' })).toBe(false);
    expect(events.is({ type: 'b.go' })).toBe(false);
  });

  it('should bound strings and lists of strings', () => {
    expect(boundedString(3).is('abc')).toBe(true);
    expect(boundedString(3).is('abcd')).toBe(false);
    expect(boundedList(2, 3).is(['a', 'b'])).toBe(true);
    expect(boundedList(2, 3).is(['a', 'b', 'c'])).toBe(false);
    expect(boundedList(2, 3).is(['abcd'])).toBe(false);
  });

  it('should mask and split a number libphonenumber cannot parse without throwing', () => {
    expect(phoneNationalDigits('+999' as Phone)).toBe('999');
    expect(typeof maskPhone('+999' as Phone)).toBe('string');
  });
});

// ---------------------------------------------------------------------------------------------
// boundary refusals of the rarer fields
// ---------------------------------------------------------------------------------------------

describe('boundary edges', () => {
  it('should stop guessing at the per-number failure budget in registration and recovery', async () => {
    const host = testHost();
    await seedAccount(host.world);
    const reg = ok(await host.runtime.start('registration', {}));
    ok(await host.runtime.send(reg.flowId, { type: 'phone.submit', phone: '+8613900139000' }));
    const sms = ok(await host.runtime.start('smsRecovery', {}));
    ok(await host.runtime.send(sms.flowId, { type: 'channel.submit', channel: '+8613700137000' }));
    const rule = host.world.policy.accountFailures;
    for (let i = 0; i < 100; i++) {
      host.world.budgets.consumeNow('failures:phone:+8613900139000', rule, host.world.clock.now());
      host.world.budgets.consumeNow('failures:channel:+8613700137000', rule, host.world.clock.now());
    }
    expect(fail(await host.runtime.send(reg.flowId, { type: 'code.submit', code: '123456' }))).toMatchObject({ code: 'rate_limited', field: 'code' });
    expect(fail(await host.runtime.send(sms.flowId, { type: 'code.submit', code: '123456' }))).toMatchObject({ code: 'rate_limited', field: 'code' });
  });

  it('should hold changing a bound e-mail after a recovery, naming the wait', async () => {
    const host = testHost();
    const account = await seedAccount(host.world, { email: 'wang@example.com' });
    await host.world.directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'h', holdSensitiveUntil: host.world.clock.now() + 1_000, idempotencyKey: 'r' });
    const session: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 1, host.world.clock.now()).id };
    const { flowId } = ok(await host.runtime.start('binding', {}, session));
    const held = fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 'new@example.com' }, session));
    expect(held).toMatchObject({ code: 'action_held', field: 'kind', retryAfterMs: 1_000 });
    expect(held.message).toContain('e-mail address');
  });

  it('should refuse malformed friend handles at every step that names one', async () => {
    const host = testHost();
    const { friends } = await seedFriends(host.world, 4);
    const requester = await startFriendAssist(host.runtime);
    expect(fail(await requester.send({ type: 'account.submit', handle: 'x'.repeat(300) })).code).toBe('handle_invalid');
    ok(await requester.send({ type: 'account.submit', handle: OWNER_HANDLE }));
    expect(fail(await requester.send({ type: 'friends.nominate', handles: ['friend_00', 'friend_01', '1nope'] })).code).toBe('handle_invalid');
    ok(await requester.send({ type: 'friends.nominate', handles: friends.slice(0, 3).map((f) => f.handle) }));
    expect(fail(await requester.send({ type: 'friends.replace', old: '1nope', new: 'friend_03' })).code).toBe('handle_invalid');
    expect(fail(await requester.send({ type: 'friends.replace', old: 'friend_00', new: '!' })).code).toBe('handle_invalid');
  });

  it('should refuse the rarer manual-review inputs and name the field', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: 'wang@example.com' });
    const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
    const { flowId } = ok(await host.runtime.start('manualReview', {}));
    expect(fail(await host.runtime.send(flowId, { type: 'account.submit', handle: 'wang_xiaoming', phone: '+8613800138000' })).code).toBe('invalid_input');
    expect(ok(await host.runtime.send(flowId, { type: 'account.submit', email: 'not an address' })).view['account']).toBe('no***');
    ok(await host.runtime.send(flowId, { type: 'evidence.submit', nickname: 'X', contactEmail: 'x@example.net' }));
    expect(fail(await host.runtime.send(flowId, { type: 'review.askMore', question: '   ' }, AGENT))).toMatchObject({ code: 'invalid_input', field: 'question' });
    ok(await host.runtime.send(flowId, { type: 'review.askMore', question: 'Which city?' }, AGENT));
    expect(fail(await host.runtime.send(flowId, { type: 'evidence.answer', answer: ' ' }))).toMatchObject({ code: 'invalid_input', field: 'answer' });
    expect(fail(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, AGENT)).code).toBe('not_permitted');

    const byPhone = ok(await host.runtime.start('manualReview', {}));
    expect(ok(await host.runtime.send(byPhone.flowId, { type: 'account.submit', phone: '+8613800138000' })).view['account']).toBe('+86 138****8000');
    const byEmail = ok(await host.runtime.start('manualReview', {}));
    expect(ok(await host.runtime.send(byEmail.flowId, { type: 'account.submit', email: 'wang@example.com' })).view['account']).toBe('w***@example.com');
  });

  it("should show support a ticket's evidence only from a readable manual review", async () => {
    const host = testHost();
    const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
    expect(await readManualReviewAgentView(host.world, 'nope', AGENT)).toEqual(E.left(expect.objectContaining({ code: 'flow_not_found' })));
    const reg = ok(await host.runtime.start('registration', {}));
    expect(await readManualReviewAgentView(host.world, reg.flowId, AGENT)).toEqual(E.left(expect.objectContaining({ code: 'envelope_mismatch' })));
    const review = ok(await host.runtime.start('manualReview', {}));
    const envelope = JSON.parse(host.world.store.raw(review.flowId) as string);
    host.world.store.overwriteRaw(review.flowId, JSON.stringify({ ...envelope, snapshot: { ...envelope.snapshot, context: { ...envelope.snapshot.context, infoRequests: 'many' } } }));
    expect(await readManualReviewAgentView(host.world, review.flowId, AGENT)).toEqual(E.left(expect.objectContaining({ code: 'snapshot_corrupt' })));
    host.world.store.overwriteRaw(review.flowId, '{"truncated":');
    expect(await readManualReviewAgentView(host.world, review.flowId, AGENT)).toEqual(E.left(expect.objectContaining({ code: 'snapshot_corrupt' })));
  });

  it('should hold one runtime per host: two hosts with different policies keep their own tries', async () => {
    const strict = testHost({ policy: { code: { maxWrongPerCode: 2, maxWrongPerFlow: 3 } } });
    const lenient = testHost();
    const a = ok(await strict.runtime.start('registration', {}));
    const b = ok(await lenient.runtime.start('registration', {}));
    expect(ok(await strict.runtime.send(a.flowId, { type: 'phone.submit', phone: '+8613800138000' })).view.triesLeft).toBe(2);
    expect(ok(await lenient.runtime.send(b.flowId, { type: 'phone.submit', phone: '+8613800138000' })).view.triesLeft).toBe(5);
    // The same host built again from the same world: the definitions are independent of each other.
    const again = createRuntime(strict.world, allFlows(strict.world));
    expect(ok(await again.read(a.flowId)).view.triesLeft).toBe(2);
    void (strict.world.directory.createNow({ phone: '+8613500135000' as Phone, handle: 'someone' as Handle, passwordHash: 'x', at: 0 }));
  });
});

// ---------------------------------------------------------------------------------------------
// memory adapters: idempotency keys and unknown ids
// ---------------------------------------------------------------------------------------------

describe('memory adapters at their edges', () => {
  it('should open, update and close a support ticket once per key, and never touch a closed or unknown one', async () => {
    const { world } = testHost();
    const q = world.supportQueue;
    await q.open({ ticketId: 't1', accountId: null, at: 1, agentDueAt: 10 }, 'k-open');
    await q.open({ ticketId: 't1', accountId: null, at: 2, agentDueAt: 20 }, 'k-open-again');
    await q.open({ ticketId: 't2', accountId: null, at: 2, agentDueAt: 20 }, 'k-open');
    expect(q.all().map((t) => t.ticketId)).toEqual(['t1']);
    await q.update('t1', { awaiting: 'user', dueAt: 30 }, 'k-up');
    await q.update('t1', { awaiting: 'agent', dueAt: 40 }, 'k-up');
    await q.update('nope', { awaiting: 'agent', dueAt: 40 }, 'k-up-2');
    expect(q.get('t1')).toMatchObject({ awaiting: 'user', dueAt: 30 });
    await q.close('t1', 'rejected', 50, 'k-close');
    await q.close('t1', 'approved', 60, 'k-close-2');
    await q.update('t1', { awaiting: 'agent', dueAt: 70 }, 'k-up-3');
    await q.close('nope', 'approved', 60, 'k-close-3');
    expect(q.get('t1')).toMatchObject({ outcome: 'rejected', closedAt: 50, awaiting: 'user' });
    expect(q.pending()).toEqual([]);
  });

  it('should answer a repeated second-factor check by its key, and a missing factor as not enrolled', async () => {
    const { world } = testHost();
    const account = await seedAccount(world);
    expect(await world.secondFactors.verify(account.id, '123456', 0, 'k1')).toBe('not_enrolled');
    const app = await enrollTotp(world, account.id);
    const code = app();
    expect(await world.secondFactors.verify(account.id, code, world.clock.now(), 'k2')).toBe('ok');
    expect(await world.secondFactors.verify(account.id, code, world.clock.now(), 'k2')).toBe('ok');
    expect(await world.secondFactors.verify(account.id, code, world.clock.now(), 'k3')).toBe('replayed');
  });

  it('should know no friends of a stranger and change nothing for an unknown account', async () => {
    const { world } = testHost();
    expect(await world.directory.friendsOf('acct-nope' as AccountId)).toEqual([]);
    world.directory.deactivate('acct-nope' as AccountId);
    expect(world.directory.all()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// manual review's binding step at the boundary
// ---------------------------------------------------------------------------------------------

describe('manual review binding at the boundary', () => {
  const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };

  /** A review approved, its window passed, the password set and the review finished: a channel must be bound now. */
  const toBinding = async () => {
    const host = testHost({ blocked: ['+8613600136000'] });
    const account = await seedAccount(host.world, { email: 'wang@example.com' });
    const { flowId } = ok(await host.runtime.start('manualReview', {}));
    ok(await host.runtime.send(flowId, { type: 'account.submit', handle: '  wang_xiaoming ' }));
    ok(await host.runtime.send(flowId, { type: 'evidence.submit', nickname: 'X', contactEmail: 'x@example.net' }));
    ok(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, AGENT));
    host.world.clock.advanceTo(ok(await host.runtime.read(flowId)).nextDeadline as number);
    ok(await host.runtime.tick(flowId));
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: 'a brand new long passphrase' }));
    expect(ok(await host.runtime.send(flowId, { type: 'security.done' })).view.state).toBe('bindingRequired');
    return { host, flowId, account };
  };

  it('should refuse a malformed or blocked new channel on the value field, and rate-limit guessing its code', async () => {
    const { host, flowId, account } = await toBinding();
    expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'phone', value: 'not a phone' }))).toMatchObject({ code: 'phone_invalid', field: 'value' });
    expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 'a@x.com,b@y.com' }))).toMatchObject({ code: 'email_invalid', field: 'value' });
    expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'phone', value: '+8613600136000' }))).toMatchObject({ code: 'phone_blocked', field: 'value' });
    const bound = ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 'fresh@example.com' }));
    expect(bound.view).toMatchObject({ state: 'awaitingBindingCode', kind: 'email', channel: 'f***@example.com', triesLeft: 5 });
    for (let i = 0; i < 100; i++) host.world.budgets.consumeNow(`failures:account:${account.id}`, host.world.policy.accountFailures, host.world.clock.now());
    expect(fail(await host.runtime.send(flowId, { type: 'code.submit', code: '123456' }))).toMatchObject({ code: 'rate_limited', field: 'code' });
  });

  it('should name an account typed by an unparseable handle or phone without matching anything', async () => {
    const host = testHost();
    await seedAccount(host.world);
    for (const named of [{ handle: '1-not-a-handle' }, { phone: '12345' }]) {
      const { flowId } = ok(await host.runtime.start('manualReview', {}));
      const reply = ok(await host.runtime.send(flowId, { type: 'account.submit', ...named }));
      expect(reply.view).toMatchObject({ state: 'enteringEvidence' });
      expect(String(reply.view['account'])).toMatch(/\*\*\*$/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// diagrams of shapes our machines do not (yet) have
// ---------------------------------------------------------------------------------------------

describe('graph and diagrams of other shapes', () => {
  const machine = setup({ actors: { load: fromPromise(async () => 1) }, delays: { soon: 500 } }).createMachine({
    id: 'shape',
    type: 'parallel',
    states: {
      left: {
        initial: 'idle',
        states: {
          idle: { after: { soon: 'busy' }, always: { guard: () => false, target: 'done' } },
          busy: { invoke: { src: 'load', onDone: 'done', onError: 'idle' } },
          done: { type: 'final' },
        },
      },
      right: { initial: 'on', states: { on: { on: { flip: 'off' } }, off: { type: 'final' } } },
    },
  });
  const graph = machineGraph(machine);

  it('should spell out xstate internal events and fallbacks on edges', () => {
    expect(eventLabel('')).toBe('always');
    expect(eventLabel('xstate.after.500.shape.left.idle')).toBe('after 500 ms');
    expect(eventLabel('xstate.done.actor.0.shape.left.busy')).toBe('done(0.shape.left.busy)');
    expect(eventLabel('xstate.error.actor.x')).toBe('error(x)');
    expect(eventLabel('xstate.done.state.shape.left')).toBe('done');
    expect(edgeLabel({ event: 'go', guard: null, branch: 1 })).toBe('go [else]');
    expect(localName(graph, 'shape.left.idle')).toBe('idle');
    expect(localName(graph, 'elsewhere')).toBe('elsewhere');
  });

  it('should draw parallel regions, delays, invocations and eventless edges in both formats, with and without counts', () => {
    const mermaid = machineMermaid(graph);
    expect(mermaid).toContain('parallel');
    expect(mermaid).toMatch(/left_idle --> left_busy : after \w+ ms/);
    expect(mermaid).toContain('done(0.shape.left.busy)');
    const plain = machineDot(graph);
    const counted = machineDot(graph, { coverage: { states: { 'shape.left.idle': 3 }, transitions: {} }, subtitle: 'from a test' });
    expect(plain).toContain('digraph');
    expect(counted).toContain('from a test');
    expect(counted).not.toBe(plain);
    const eventless = graph.eventless[0];
    if (eventless !== undefined) expect(transitionCount(graph, eventless, { states: {}, transitions: {} })).toBe(0);
  });
});
