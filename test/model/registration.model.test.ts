/**
 * Registration against a reference model of its rules, one random story at a time: numbers in
 * and out of region, blocked and already registered; right, wrong and late codes; resends at and
 * around the cooldown; a provider that drops a code; the send budget; handles taken meanwhile;
 * two identical requests at once; malformed events; host restarts. After every step the real
 * flow (state, notice, deadlines, tries, messages sent) must be what the model says.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import { askResend, Budget, ChallengeModel, deliver, type ModelNotice, P, providerDropsNextCode, typeCode, wrongCode } from './challenge.ts';
import { applied, type Expected, type Hosted, hostWith, readFlow, type Replacement, refused, startFlow, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

const CN = '+8613800138000';
const HK = '+85251234567';
const US = '+12025550123';
const BLOCKED = '+8613900139000';
const TAKEN = '+8613700137000';
const GOOD_PASSWORD = 'correct horse battery staple';

type State = 'enteringPhone' | 'awaitingCode' | 'codeExpired' | 'choosingHandle' | 'choosingPassword' | 'registered' | 'alreadyRegistered' | 'locked' | 'cancelled' | 'timedOut';

const FINAL: ReadonlySet<State> = new Set(['registered', 'alreadyRegistered', 'locked', 'cancelled', 'timedOut']);
const HANDLES: Record<string, readonly string[]> = {
  enteringPhone: ['phone.submit', 'flow.cancel'],
  awaitingCode: ['code.submit', 'code.resend', 'flow.cancel'],
  codeExpired: ['code.submit', 'code.resend', 'flow.cancel'],
  choosingHandle: ['handle.submit', 'flow.cancel'],
  choosingPassword: ['password.submit', 'flow.cancel'],
};
const RESULT: Partial<Record<State, string>> = { registered: 'registered', alreadyRegistered: 'already_registered', locked: 'locked', cancelled: 'cancelled', timedOut: 'timed_out' };

class Model {
  state: State = 'enteringPhone';
  readonly code = new ChallengeModel();
  phone: string | null = null;
  handle: string | null = null;
  readonly budgets = new Map<string, Budget>();
  readonly handleChecks = new Budget(P.handle.checks);
  readonly phonesTaken = new Set<string>([TAKEN]);
  readonly handlesTaken = new Set<string>(['taken_x']);
  providerDrops = false;
  sent = 0;
  squatters = 0;
  constructor(
    public now: number,
    readonly expiresAt: number,
  ) {}

  get notice(): ModelNotice | null {
    return this.code.notice;
  }

  /** The answer for an event the state cannot take, if so. */
  gate(type: string): Expected | undefined {
    if (FINAL.has(this.state)) return refused('flow_finished');
    if (!(HANDLES[this.state] ?? []).includes(type)) return refused('event_not_accepted');
    return undefined;
  }

  budgetOf(phone: string): Budget {
    const found = this.budgets.get(phone);
    if (found !== undefined) return found;
    const made = new Budget(P.sends);
    this.budgets.set(phone, made);
    return made;
  }

  send(): void {
    this.code.issue(this.now);
    const result = deliver(this.code, this.budgetOf(this.phone ?? ''), this.now, { sends: true, providerDrops: this.providerDrops, failureVisible: true });
    if (result === 'failed') this.providerDrops = false;
    if (result === 'sent') this.sent += 1;
  }

  deadline(): number | null {
    if (FINAL.has(this.state)) return null;
    return Math.min(this.state === 'awaitingCode' && this.code.live ? this.code.expiresAt : Number.POSITIVE_INFINITY, this.expiresAt);
  }
}

type Real = Hosted;

/** The model's own view of a step, checked against what the runtime shows. */
const agree = async (model: Model, real: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(real);
  expect({
    state: view.state,
    notice: view.notice,
    codeExpiresAt: view.codeExpiresAt,
    resendAllowedAt: view.resendAllowedAt,
    triesLeft: view.triesLeft,
    handle: view.handle,
    result: view.result,
    nextDeadline,
    sent: model.phone === null ? 0 : real.host.world.messenger.sent.filter((m) => m.message.to === model.phone).length,
  }).toEqual({
    state: model.state,
    notice: model.notice,
    codeExpiresAt: model.code.codeExpiresAt(),
    resendAllowedAt: model.code.resendAllowedAt,
    triesLeft: model.code.triesLeft(),
    handle: model.handle,
    result: RESULT[model.state] ?? null,
    nextDeadline: model.deadline(),
    sent: model.sent,
  });
};

// ---------------------------------------------------------------------------------------------
// the rules, as the model applies them
// ---------------------------------------------------------------------------------------------

const submitPhone = (m: Model, phone: string): Expected => {
  const gated = m.gate('phone.submit');
  if (gated !== undefined) return gated;
  if (phone === US) return refused('phone_region_not_allowed');
  if (phone === BLOCKED) return refused('phone_blocked');
  m.phone = phone;
  m.state = 'awaitingCode';
  m.send();
  return applied;
};

const submitCode = (m: Model, right: boolean): Expected => typeCode(m, right, () => (m.phonesTaken.has(m.phone ?? '') ? 'alreadyRegistered' : 'choosingHandle'));

const submitHandle = (m: Model, handle: string): Expected => {
  const gated = m.gate('handle.submit');
  if (gated !== undefined) return gated;
  if (!/^[A-Za-z][A-Za-z0-9_-]{5,19}$/.test(handle)) return refused('handle_invalid');
  if (m.handleChecks.take(m.now) > 0) return refused('rate_limited');
  if (m.handlesTaken.has(handle.toLowerCase())) {
    m.code.notice = { code: 'handle_taken' };
    return applied;
  }
  m.handle = handle;
  m.code.notice = null;
  m.state = 'choosingPassword';
  return applied;
};

const submitPassword = (m: Model, password: string): Expected => {
  const gated = m.gate('password.submit');
  if (gated !== undefined) return gated;
  if (password.length < P.password.minLength) return refused('password_too_short');
  if (password === 'password123') return refused('password_blocklisted');
  m.code.notice = null;
  // The account is created within the same request: the outcome depends on who got there first.
  if (m.phonesTaken.has(m.phone ?? '')) {
    m.state = 'alreadyRegistered';
  } else if (m.handlesTaken.has((m.handle ?? '').toLowerCase())) {
    m.state = 'choosingHandle';
    m.handle = null;
    m.code.notice = { code: 'handle_taken' };
  } else {
    m.state = 'registered';
    m.phonesTaken.add(m.phone ?? '');
    m.handlesTaken.add((m.handle ?? '').toLowerCase());
  }
  return applied;
};

const tick = (m: Model): void => {
  if (FINAL.has(m.state)) return;
  if (m.state === 'awaitingCode' && m.code.live && m.now >= m.code.expiresAt) m.state = 'codeExpired';
  else if (m.now >= m.expiresAt) m.state = 'timedOut';
};

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const { act, twice, times, malformed, world, waits, wake, restart } = storyKit(agree);

const typeNumber = (phone: string): Cmd => act(`type the number ${phone}`, (m) => submitPhone(m, phone), () => ({ type: 'phone.submit', phone }));

/** `n` wrong codes in a row, each checked against the model. */
const wrongCodes = (n: number): Cmd => times(n, `type ${n} wrong code${n === 1 ? '' : 's'}`, (m) => submitCode(m, false), wrongCode);

/** The code from the last SMS the person received (or, if none came, whatever they guess). */
const lastSms = (m: Model, r: Real) => ({ type: 'code.submit', code: r.host.world.messenger.lastCodeTo(m.phone ?? '') ?? '000000' });

/** Weighted so that stories often get far: mostly codes, waits and the next step; rarely an end. */
const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted([
    [4, fc.constantFrom(CN, CN, HK, TAKEN, US, BLOCKED).map(typeNumber)],
    [10, fc.constant(act('type the code from the last SMS', (m) => submitCode(m, m.code.reached), lastSms))],
    [12, fc.integer({ min: 1, max: P.code.maxWrongPerCode }).map((n) => wrongCodes(n))],
    [10, fc.constant(act('ask for a new code', askResend, () => ({ type: 'code.resend' })))],
    [8, fc.constantFrom('alice_01', 'alice_01', 'taken_x', 'TAKEN_X', '1bad').map((handle) => act(`choose the handle ${handle}`, (m) => submitHandle(m, handle), () => ({ type: 'handle.submit', handle })))],
    [8, fc.constantFrom(GOOD_PASSWORD, GOOD_PASSWORD, 'short', 'password123').map((password) => act(`choose the password "${password}"`, (m) => submitPassword(m, password), () => ({ type: 'password.submit', password })))],
    [1, fc.constant(act('cancel', (m) => m.gate('flow.cancel') ?? ((m.state = 'cancelled'), applied), () => ({ type: 'flow.cancel' })))],
    [3, malformed()],
    [10, waits([P.sends.cooldownMs, P.code.ttlMs, HOUR, DAY, 30 * DAY])],
    [6, fc.constant(wake(tick))],
    [2, fc.constant(world('the SMS provider will drop the next code', providerDropsNextCode))],
    [
      1,
      fc.constant(
        world(
          'someone else registers this number meanwhile',
          (m, r) => {
            m.phonesTaken.add(m.phone ?? '');
            m.squatters += 1;
            expect(r.host.world.directory.createNow({ phone: m.phone as Phone, handle: `squatter_${m.squatters}` as Handle, passwordHash: 'x', at: m.now }).ok).toBe(true);
          },
          (m) => m.phone !== null && !m.phonesTaken.has(m.phone),
        ),
      ),
    ],
    [
      1,
      fc.constant(
        world(
          'someone else takes the handle alice_01 meanwhile',
          (m, r) => {
            m.handlesTaken.add('alice_01');
            expect(r.host.world.directory.createNow({ phone: '+8613600136000' as Phone, handle: 'alice_01' as Handle, passwordHash: 'x', at: m.now }).ok).toBe(true);
          },
          (m) => !m.handlesTaken.has('alice_01') && !m.phonesTaken.has('+8613600136000'),
        ),
      ),
    ],
    [
      4,
      fc.constantFrom(
        twice('type the code from the last SMS', (m) => submitCode(m, m.code.reached), lastSms),
        twice('ask for a new code', askResend, () => ({ type: 'code.resend' })),
        twice(`type the number ${CN}`, (m) => submitPhone(m, CN), () => ({ type: 'phone.submit', phone: CN })),
      ),
    ],
    [2, fc.constant(restart())],
  ]);

const setup = async (replacement?: Replacement) => {
  const host = hostWith(replacement, { blocked: [BLOCKED] });
  host.world.directory.createNow({ phone: TAKEN as Phone, handle: 'taken_x' as Handle, passwordHash: 'x', at: 0 });
  const { flowId } = await startFlow(host, 'registration');
  const now = host.world.clock.now();
  return { model: new Model(now, now + P.flowMaxLifetimeMs), real: { host, flowId } };
};

/** Most stories begin with a number already typed, so their commands are spent further in. */
const followsTheModel = (replacement?: Replacement) =>
  stories([fc.option(fc.constantFrom(CN, HK, TAKEN), { freq: 4, nil: undefined })], commands(), 40, async (first) => {
    const story = await setup(replacement);
    if (first !== undefined) await typeNumber(first).run(story.model, story.real);
    return story;
  });

describe('registration model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  itHasTeeth('should catch a cooldown off by one millisecond, and tell the counterexample as a story (the model has teeth)', async () => {
    const lateCooldown = (ports: FlowPorts): FlowDefinition => {
      const real = registrationFlow(ports);
      const machine = real.machine.provide({
        guards: { resendAllowed: ({ context, event }) => context.resendAllowedAt === null || event.at > context.resendAllowedAt },
      });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(lateCooldown), { seed: TEETH_SEED, numRuns: 200 });
    expect(result.failed).toBe(true);
    // e.g. ["+8613800138000", wait 1m, ask for a new code]
    expect(String(result.counterexample)).toMatch(/ask for a new code/);
  });
});
