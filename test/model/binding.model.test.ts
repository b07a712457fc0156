/**
 * Binding a phone or e-mail against a reference model: the new channel proves itself with a
 * code (the challenge rules), only a redeemed code writes it, a channel that is someone else's
 * walks the same states until then, and the flow belongs to the session that started it — a
 * stranger is refused and changes nothing, an ended session ends the flow.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/domain/account.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { bindingFlow } from '../../src/flows/binding.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { seedAccount } from '../support/accounts.ts';
import { currentCode, type FaultyHost, faultyHost, notTheCode } from '../support/faultyHost.ts';
import { Budget, ChallengeModel, deliver, LOCKED, NOTICE_FOR, P } from './challenge.ts';
import { applied, clockMoves, concurrently, type Expected, expectStep, human, MALFORMED, refused, step, weighted } from './kit.ts';

const OWN_PHONE = '+8613800138000';
const OTHERS_PHONE = '+8613700137000';
const BLOCKED = '+8613600136000';

/** What the owner may type: new values, their own current one, someone else's, junk. */
const CHANNELS: readonly (readonly [kind: 'phone' | 'email', value: string])[] = [
  ['phone', '+8613900139000'],
  ['phone', '+85251234567'],
  ['email', 'new@example.com'],
  ['email', 'other@example.com'],
  ['phone', OWN_PHONE],
  ['phone', OTHERS_PHONE],
  ['phone', BLOCKED],
  ['phone', 'not a phone'],
  ['email', 'a@x.com,b@y.com'],
];

type State = 'enteringChannel' | 'awaitingCode' | 'codeExpired' | 'bound' | 'channelTaken' | 'sessionEnded' | 'locked' | 'cancelled' | 'timedOut';
const FINAL: ReadonlySet<State> = new Set(['bound', 'channelTaken', 'sessionEnded', 'locked', 'cancelled', 'timedOut']);
const HANDLES: Partial<Record<State, readonly string[]>> = {
  enteringChannel: ['channel.submit', 'flow.cancel'],
  awaitingCode: ['code.submit', 'code.resend', 'flow.cancel'],
  codeExpired: ['code.submit', 'code.resend', 'flow.cancel'],
};
const RESULT: Partial<Record<State, string>> = { bound: 'bound', channelTaken: 'channel_taken', sessionEnded: 'session_ended', locked: 'locked', cancelled: 'cancelled', timedOut: 'timed_out' };

class Model {
  state: State = 'enteringChannel';
  readonly code = new ChallengeModel();
  readonly budgets = new Map<string, Budget>();
  kind: 'phone' | 'email' | null = null;
  value: string | null = null;
  /** Values bound to some other account. */
  readonly taken = new Set<string>([OTHERS_PHONE]);
  sessionLive = true;
  squatted = false;
  providerDrops = false;
  sent = 0;
  constructor(
    public now: number,
    readonly expiresAt: number,
  ) {}

  /** What the owner's own session gets for an event, before the machine sees it. */
  gate(type: string): Expected | undefined {
    if (FINAL.has(this.state)) return refused('flow_finished');
    // An ended session ends the flow with its next event, whatever the event.
    if (!this.sessionLive) {
      this.state = 'sessionEnded';
      this.code.notice = null;
      return applied;
    }
    if (!(HANDLES[this.state] ?? []).includes(type)) return refused('event_not_accepted');
    return undefined;
  }

  send(): void {
    this.code.issue(this.now);
    const key = `${this.kind}:${this.value}`;
    const budget = this.budgets.get(key) ?? new Budget(P.sends);
    this.budgets.set(key, budget);
    const result = deliver(this.code, budget, this.now, { sends: true, providerDrops: this.providerDrops, failureVisible: true });
    if (result === 'failed') this.providerDrops = false;
    if (result === 'sent') this.sent += 1;
  }

  /** When a tick would next change something. */
  deadline(): number | null {
    if (FINAL.has(this.state)) return null;
    return Math.min(this.state === 'awaitingCode' && this.code.live ? this.code.expiresAt : Number.POSITIVE_INFINITY, this.expiresAt);
  }

  view() {
    return {
      state: this.state,
      notice: this.state === 'sessionEnded' ? { code: 'session_required' } : this.code.notice,
      kind: this.kind,
      codeExpiresAt: this.code.codeExpiresAt(),
      resendAllowedAt: this.code.resendAllowedAt,
      triesLeft: this.code.triesLeft(),
      result: RESULT[this.state] ?? null,
      nextDeadline: this.deadline(),
      sent: this.sent,
    };
  }
}

interface Real {
  readonly host: FaultyHost;
  readonly flowId: string;
  readonly account: Account;
  readonly owner: HostSession;
  readonly stranger: HostSession;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const read = await r.host.runtime.read(r.flowId);
  if (E.isLeft(read)) throw new Error(read.left.message);
  const { view, nextDeadline } = read.right;
  const sent = m.value === null ? 0 : r.host.world.messenger.sent.filter((s) => s.message.to === m.value && s.idempotencyKey.split(':').length === 3).length;
  expect({
    state: view.state,
    notice: view.notice,
    kind: view['kind'],
    codeExpiresAt: view.codeExpiresAt,
    resendAllowedAt: view.resendAllowedAt,
    triesLeft: view.triesLeft,
    result: view.result,
    nextDeadline,
    sent,
  }).toEqual(m.view());
};

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

const submitChannel = (m: Model, kind: 'phone' | 'email', value: string): Expected => {
  const gated = m.gate('channel.submit');
  if (gated !== undefined) return gated;
  if (value === 'not a phone') return refused('phone_invalid');
  if (value.includes(',')) return refused('email_invalid');
  if (value === OWN_PHONE) return refused('channel_unchanged');
  if (value === BLOCKED) return refused('phone_blocked');
  m.kind = kind;
  m.value = value;
  m.state = 'awaitingCode';
  m.send();
  return applied;
};

const submitCode = (m: Model, right: boolean): Expected => {
  const gated = m.gate('code.submit');
  if (gated !== undefined) return gated;
  if (m.state === 'codeExpired') {
    m.code.notice = { code: 'code_expired' };
    return applied;
  }
  const outcome = m.code.outcome(m.now, right);
  const outOfTries = m.code.spend(outcome);
  if (outcome === 'accepted') {
    m.code.notice = null;
    // The write happens in the same request: someone else's channel is told apart only now.
    m.state = m.taken.has(m.value ?? '') ? 'channelTaken' : 'bound';
  } else if (outcome === 'wrong' && outOfTries) {
    m.state = 'locked';
    m.code.notice = LOCKED;
  } else m.code.notice = NOTICE_FOR[outcome];
  return applied;
};

const resend = (m: Model): Expected => {
  const gated = m.gate('code.resend');
  if (gated !== undefined) return gated;
  if (!m.code.resendAllowed(m.now)) {
    m.code.notice = m.code.cooldownNotice(m.now);
    return applied;
  }
  m.state = 'awaitingCode';
  m.send();
  return applied;
};

const tick = (m: Model): void => {
  if (FINAL.has(m.state)) return;
  if (m.state === 'awaitingCode' && m.code.live && m.now >= m.code.expiresAt) m.state = 'codeExpired';
  // Every flow ends at its lifetime, a code still out included (a code resent near the end outlives it).
  else if (m.now >= m.expiresAt) m.state = 'timedOut';
};

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const act = (label: string, apply: (m: Model) => Expected, event: (m: Model, r: Real) => unknown): Cmd =>
  step(label, async (m, r) => {
    const raw = event(m, r);
    await expectStep(r.host, r.flowId, apply(m), () => r.host.runtime.send(r.flowId, raw, r.owner));
    await agree(m, r);
  });

const twice = (label: string, apply: (m: Model) => Expected, event: (m: Model, r: Real) => unknown): Cmd =>
  step(`${label}, twice at once`, async (m, r) => {
    const raw = event(m, r);
    await concurrently(r.host, r.flowId, apply(m), () => r.host.runtime.send(r.flowId, raw, r.owner));
    await agree(m, r);
  });

const world = (label: string, change: (m: Model, r: Real) => void, check: (m: Readonly<Model>) => boolean = () => true): Cmd =>
  step(
    label,
    async (m, r) => {
      change(m, r);
      await agree(m, r);
    },
    check,
  );

const typeChannel = ([kind, value]: readonly ['phone' | 'email', string]): Cmd =>
  act(`bind the ${kind} ${value}`, (m) => submitChannel(m, kind, value), () => ({ type: 'channel.submit', kind, value }));

const deliveredCode = (m: Model, r: Real) => ({ type: 'code.submit', code: r.host.world.messenger.lastCodeTo(m.value ?? '') ?? '000000' });
const fresh = (m: Model) => m.code.delivered >= 0 && m.code.delivered === m.code.counter;

const wrongCodes = (n: number): Cmd =>
  step(`type ${n} wrong code${n === 1 ? '' : 's'}`, async (m, r) => {
    for (let i = 0; i < n; i++) {
      const raw = { type: 'code.submit', code: notTheCode(currentCode(r.host.world, r.flowId)) };
      await expectStep(r.host, r.flowId, submitCode(m, false), () => r.host.runtime.send(r.flowId, raw, r.owner));
      await agree(m, r);
    }
  });

const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [3, fc.constantFrom(...CHANNELS).map(typeChannel)],
    [10, fc.constant(act('type the code from the last message', (m) => submitCode(m, fresh(m)), deliveredCode))],
    [8, fc.integer({ min: 1, max: P.code.maxWrongPerCode }).map(wrongCodes)],
    [8, fc.constant(act('ask for a new code', resend, () => ({ type: 'code.resend' })))],
    [1, fc.constant(act('cancel', (m) => m.gate('flow.cancel') ?? ((m.state = 'cancelled'), applied), () => ({ type: 'flow.cancel' })))],
    [2, fc.constantFrom(...MALFORMED).map(([label, raw]) => act(label, () => refused('invalid_input'), () => raw))],
    [
      3,
      fc.constantFrom({ type: 'code.resend' }, { type: 'flow.cancel' }, { type: 'code.submit', code: '123456' }).map((event) =>
        step<Model, Real>(`a stranger's session sends ${event.type}`, async (m, r) => {
          // Ownership comes first: the stranger learns nothing and changes nothing (only a finished flow says so).
          await expectStep(r.host, r.flowId, FINAL.has(m.state) ? refused('flow_finished') : refused('session_required'), () => r.host.runtime.send(r.flowId, event, r.stranger));
          await agree(m, r);
        }),
      ),
    ],
    [
      8,
      clockMoves([P.sends.cooldownMs, P.code.ttlMs, HOUR, DAY, 30 * DAY]).map((ms) =>
        step<Model, Real>(`wait ${human(ms)}`, async (m, r) => {
          r.host.world.clock.advanceBy(ms);
          m.now += ms;
          await agree(m, r);
        }),
      ),
    ],
    [
      5,
      fc.constant(
        step<Model, Real>('the host wakes the flow (clock.tick)', async (m, r) => {
          tick(m);
          expect(E.isRight(await r.host.runtime.tick(r.flowId))).toBe(true);
          await agree(m, r);
        }),
      ),
    ],
    [
      2,
      fc.constant(
        world('the provider will drop the next code', (m, r) => {
          m.providerDrops = true;
          r.host.faults.dropNextCode = true;
        }),
      ),
    ],
    [
      1,
      fc.constant(
        world(
          'the owner signs out',
          (m, r) => {
            m.sessionLive = false;
            void r.host.world.sessions.revoke(r.owner.sessionId as string, m.now);
          },
          (m) => m.sessionLive,
        ),
      ),
    ],
    [
      1,
      fc.constant(
        world(
          'a recovery elsewhere moves the account to a new epoch',
          (m, r) => {
            m.sessionLive = false;
            r.host.world.directory.bumpEpoch(r.account.id);
          },
          (m) => m.sessionLive,
        ),
      ),
    ],
    [
      1,
      fc.constant(
        world(
          'someone else binds that value meanwhile',
          (m, r) => {
            m.taken.add(m.value as string);
            m.squatted = true;
            const value = m.value as never;
            const other = r.host.world.directory.createNow(
              m.kind === 'phone' ? { phone: value, handle: 'someone_else' as never, passwordHash: 'x', at: m.now } : { phone: '+8613500135000' as never, email: value, handle: 'someone_else' as never, passwordHash: 'x', at: m.now },
            );
            expect(other.ok).toBe(true);
          },
          (m) => m.value !== null && !m.taken.has(m.value) && !m.squatted && m.state !== 'bound',
        ),
      ),
    ],
    [
      3,
      fc.constantFrom(
        twice('type the code from the last message', (m) => submitCode(m, fresh(m)), deliveredCode),
        twice('ask for a new code', resend, () => ({ type: 'code.resend' })),
        twice('bind the e-mail new@example.com', (m) => submitChannel(m, 'email', 'new@example.com'), () => ({ type: 'channel.submit', kind: 'email', value: 'new@example.com' })),
      ),
    ],
    [1, fc.constant(world('the host restarts', (_m, r) => void r.host.restart()))],
  ]);

const setup = async (definition?: (ports: FlowPorts) => FlowDefinition) => {
  const host = faultyHost({ blocked: [BLOCKED], ...(definition === undefined ? {} : { definitions: (w) => [definition(w)] }) });
  const account = await seedAccount(host.world, { phone: OWN_PHONE });
  await seedAccount(host.world, { phone: OTHERS_PHONE, handle: 'bob_0001' });
  const owner: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
  const strangerId = host.world.directory.all().find((a) => a.id !== account.id)?.id as string;
  const stranger: HostSession = { actor: strangerId, sessionId: host.world.sessions.signIn(strangerId as never, 0, host.world.clock.now()).id };
  const started = await host.runtime.start('binding', {}, owner);
  if (E.isLeft(started)) throw new Error(started.left.message);
  const now = host.world.clock.now();
  const model = new Model(now, now + P.flowMaxLifetimeMs);
  return { model, real: { host, flowId: started.right.flowId, account, owner, stranger } };
};

const followsTheModel = (definition?: (ports: FlowPorts) => FlowDefinition) =>
  fc.asyncProperty(fc.option(fc.constantFrom(...CHANNELS.slice(0, 4), CHANNELS[5] as (typeof CHANNELS)[number]), { freq: 4, nil: undefined }), fc.commands(commands(), { maxCommands: 40, size: 'max' }), async (first, cmds) => {
    const { model, real } = await setup(definition);
    if (first !== undefined) await typeChannel(first).run(model, real);
    await fc.asyncModelRun(() => ({ model, real }), cmds);
  });

describe('binding model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  it('should end at the flow deadline even with a code sent in its last minute (found by this model)', async () => {
    const { real } = await setup();
    const { host, flowId, owner } = real;
    const end = (E.isRight(await host.runtime.read(flowId)) ? ((await host.runtime.read(flowId)) as E.Right<{ nextDeadline: number }>).right.nextDeadline : 0) as number;
    host.world.clock.advanceTo(end - 60_000);
    expect(E.isRight(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 'new@example.com' }, owner))).toBe(true);
    host.world.clock.advanceTo(end);
    const ticked = await host.runtime.tick(flowId);
    expect(E.isRight(ticked) && ticked.right.view.state).toBe('timedOut');
  });

  it('should catch a flow that lets the per-flow tries reset on resend (the model has teeth)', async () => {
    const forgetful = (ports: FlowPorts): FlowDefinition => {
      const real = bindingFlow(ports);
      // Resending forgets the flow's wrong tries: guessing across resends is then unbounded.
      const codeSecrets = { ...ports.codeSecrets, check: (state: never, check: never) => ports.codeSecrets.check({ ...(state as object), wrongForFlow: (state as { wrongForCode: number }).wrongForCode } as never, check) };
      return { ...bindingFlow({ ...ports, codeSecrets } as FlowPorts), name: real.name } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(forgetful), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.counterexample)).toMatch(/wrong code/);
  });
});
