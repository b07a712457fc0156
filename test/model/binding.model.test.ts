/**
 * Binding a phone or e-mail against a reference model: the new channel proves itself with a
 * code (the challenge rules), only a redeemed code writes it, a channel that is someone else's
 * walks the same states until then, and the flow belongs to the session that started it — a
 * stranger is refused and changes nothing, an ended session ends the flow.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { bindingFlow } from '../../src/flows/binding.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { seedAccount } from '../support/accounts.ts';
import { askResend, Budget, ChallengeModel, deliver, P, providerDropsNextCode, typeCode, wrongCode } from './challenge.ts';
import { applied, type Expected, exit, hostWith, type Owned, ownerSignsOut, readFlow, type Replacement, refused, signIn, startFlow, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

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

interface Real extends Owned {
  readonly stranger: HostSession;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(r);
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

// The write happens in the same request: someone else's channel is told apart only now.
const submitCode = (m: Model, right: boolean): Expected => typeCode(m, right, () => (m.taken.has(m.value ?? '') ? 'channelTaken' : 'bound'));

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

const { world, waits, wake, restart, from } = storyKit(agree);
const { act, twice, times, malformed } = from((_m, r) => r.owner);
const stranger = from((_m, r) => r.stranger);

const typeChannel = ([kind, value]: readonly ['phone' | 'email', string]): Cmd =>
  act(`bind the ${kind} ${value}`, (m) => submitChannel(m, kind, value), () => ({ type: 'channel.submit', kind, value }));

const deliveredCode = (m: Model, r: Real) => ({ type: 'code.submit', code: r.host.world.messenger.lastCodeTo(m.value ?? '') ?? '000000' });

const wrongCodes = (n: number): Cmd =>
  times(n, `type ${n} wrong code${n === 1 ? '' : 's'}`, (m) => submitCode(m, false), wrongCode);

const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [3, fc.constantFrom(...CHANNELS).map(typeChannel)],
    [10, fc.constant(act('type the code from the last message', (m) => submitCode(m, m.code.reached), deliveredCode))],
    [8, fc.integer({ min: 1, max: P.code.maxWrongPerCode }).map(wrongCodes)],
    [8, fc.constant(act('ask for a new code', askResend, () => ({ type: 'code.resend' })))],
    [1, fc.constant(act('cancel', exit('flow.cancel', 'cancelled'), () => ({ type: 'flow.cancel' })))],
    [2, malformed()],
    [
      3,
      fc.constantFrom({ type: 'code.resend' }, { type: 'flow.cancel' }, { type: 'code.submit', code: '123456' }).map((event) =>
        // Ownership comes first: the stranger learns nothing and changes nothing (only a finished flow says so).
        stranger.act(`a stranger's session sends ${event.type}`, (m) => (FINAL.has(m.state) ? refused('flow_finished') : refused('session_required')), () => event),
      ),
    ],
    [8, waits([P.sends.cooldownMs, P.code.ttlMs, HOUR, DAY, 30 * DAY])],
    [5, fc.constant(wake(tick))],
    [2, fc.constant(world('the provider will drop the next code', providerDropsNextCode))],
    [1, fc.constant(world('the owner signs out', ownerSignsOut, (m) => m.sessionLive))],
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
        twice('type the code from the last message', (m) => submitCode(m, m.code.reached), deliveredCode),
        twice('ask for a new code', askResend, () => ({ type: 'code.resend' })),
        twice('bind the e-mail new@example.com', (m) => submitChannel(m, 'email', 'new@example.com'), () => ({ type: 'channel.submit', kind: 'email', value: 'new@example.com' })),
      ),
    ],
    [1, fc.constant(restart())],
  ]);

const setup = async (replacement?: Replacement) => {
  const host = hostWith(replacement, { blocked: [BLOCKED] });
  const account = await seedAccount(host.world, { phone: OWN_PHONE });
  await seedAccount(host.world, { phone: OTHERS_PHONE, handle: 'bob_0001' });
  const owner = signIn(host, account.id);
  const stranger = signIn(host, host.world.directory.all().find((a) => a.id !== account.id)?.id as string);
  const { flowId } = await startFlow(host, 'binding', owner);
  const now = host.world.clock.now();
  const model = new Model(now, now + P.flowMaxLifetimeMs);
  return { model, real: { host, flowId, account, owner, stranger } };
};

const followsTheModel = (replacement?: Replacement) =>
  stories([fc.option(fc.constantFrom(...CHANNELS.slice(0, 4), CHANNELS[5] as (typeof CHANNELS)[number]), { freq: 4, nil: undefined })], commands(), 40, async (first) => {
    const story = await setup(replacement);
    if (first !== undefined) await typeChannel(first).run(story.model, story.real);
    return story;
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

  itHasTeeth('should catch a flow that lets the per-flow tries reset on resend (the model has teeth)', async () => {
    const forgetful = (ports: FlowPorts): FlowDefinition => {
      const real = bindingFlow(ports);
      // Resending forgets the flow's wrong tries: guessing across resends is then unbounded.
      const codeSecrets = { ...ports.codeSecrets, check: (state: never, check: never) => ports.codeSecrets.check({ ...(state as object), wrongForFlow: (state as { wrongForCode: number }).wrongForCode } as never, check) };
      return { ...bindingFlow({ ...ports, codeSecrets } as FlowPorts), name: real.name } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(forgetful), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.counterexample)).toMatch(/wrong code/);
  });
});
