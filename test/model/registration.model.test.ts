/**
 * Registration against a reference model of its rules, one random story at a time: numbers in
 * and out of region, blocked and already registered; right, wrong and late codes; resends at and
 * around the cooldown; a provider that drops a code; the send budget; handles taken meanwhile;
 * two identical requests at once; malformed events; host restarts. After every step the real
 * flow (state, notice, deadlines, tries, messages sent) must be what the model says.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import { currentCode, type FaultyHost, faultyHost, notTheCode } from '../support/faultyHost.ts';
import { Budget, ChallengeModel, deliver, LOCKED, type ModelNotice, NOTICE_FOR, P } from './challenge.ts';
import { applied, clockMoves, concurrently, type Expected, expectStep, human, MALFORMED, refused, step, weighted } from './kit.ts';

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

interface Real {
  readonly host: FaultyHost;
  readonly flowId: string;
}

const send = (real: Real, event: unknown) => real.host.runtime.send(real.flowId, event);

/** The model's own view of a step, checked against what the runtime shows. */
const agree = async (model: Model, real: Real): Promise<void> => {
  const read = await real.host.runtime.read(real.flowId);
  if (E.isLeft(read)) throw new Error(read.left.message);
  const { view, nextDeadline } = read.right;
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
    m.state = m.phonesTaken.has(m.phone ?? '') ? 'alreadyRegistered' : 'choosingHandle';
  } else if (outcome === 'wrong' && outOfTries) {
    m.state = 'locked';
    m.code.notice = LOCKED;
  } else {
    m.code.notice = NOTICE_FOR[outcome];
  }
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

const act = (label: string, apply: (m: Model) => Expected, event: (m: Model, r: Real) => unknown): Cmd =>
  step(label, async (m, r) => {
    const raw = event(m, r);
    await expectStep(r.host, r.flowId, apply(m), () => send(r, raw));
    await agree(m, r);
  });

const twice = (label: string, apply: (m: Model) => Expected, event: (m: Model, r: Real) => unknown): Cmd =>
  step(`${label}, twice at once`, async (m, r) => {
    const raw = event(m, r);
    await concurrently(r.host, r.flowId, apply(m), () => send(r, raw));
    await agree(m, r);
  });

const typeNumber = (phone: string): Cmd => act(`type the number ${phone}`, (m) => submitPhone(m, phone), () => ({ type: 'phone.submit', phone }));

/** `n` wrong codes in a row, each checked against the model. */
const wrongCodes = (n: number): Cmd =>
  step(`type ${n} wrong code${n === 1 ? '' : 's'}`, async (m, r) => {
    for (let i = 0; i < n; i++) {
      const raw = wrongCode(m, r);
      await expectStep(r.host, r.flowId, submitCode(m, false), () => send(r, raw));
      await agree(m, r);
    }
  });

/** The code from the last SMS the person received (or, if none came, whatever they guess). */
const lastSms = (m: Model, r: Real) => ({ type: 'code.submit', code: r.host.world.messenger.lastCodeTo(m.phone ?? '') ?? '000000' });
const rightSms = (m: Model) => m.code.delivered >= 0 && m.code.delivered === m.code.counter;
const wrongCode = (_m: Model, r: Real) => ({ type: 'code.submit', code: notTheCode(currentCode(r.host.world, r.flowId)) });

/** Weighted so that stories often get far: mostly codes, waits and the next step; rarely an end. */
const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted([
    [4, fc.constantFrom(CN, CN, HK, TAKEN, US, BLOCKED).map(typeNumber)],
    [10, fc.constant(act('type the code from the last SMS', (m) => submitCode(m, rightSms(m)), lastSms))],
    [12, fc.integer({ min: 1, max: P.code.maxWrongPerCode }).map((n) => wrongCodes(n))],
    [10, fc.constant(act('ask for a new code', resend, () => ({ type: 'code.resend' })))],
    [8, fc.constantFrom('alice_01', 'alice_01', 'taken_x', 'TAKEN_X', '1bad').map((handle) => act(`choose the handle ${handle}`, (m) => submitHandle(m, handle), () => ({ type: 'handle.submit', handle })))],
    [8, fc.constantFrom(GOOD_PASSWORD, GOOD_PASSWORD, 'short', 'password123').map((password) => act(`choose the password "${password}"`, (m) => submitPassword(m, password), () => ({ type: 'password.submit', password })))],
    [1, fc.constant(act('cancel', (m) => m.gate('flow.cancel') ?? ((m.state = 'cancelled'), applied), () => ({ type: 'flow.cancel' })))],
    [3, fc.constantFrom(...MALFORMED).map(([label, raw]) => act(label, () => refused('invalid_input'), () => raw))],
    [
      10,
      clockMoves([P.sends.cooldownMs, P.code.ttlMs, HOUR, DAY, 30 * DAY]).map((ms) =>
        step<Model, Real>(`wait ${human(ms)}`, async (m, r) => {
          r.host.world.clock.advanceBy(ms);
          m.now += ms;
          await agree(m, r);
        }),
      ),
    ],
    [
      6,
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
        step<Model, Real>('the SMS provider will drop the next code', async (m, r) => {
          m.providerDrops = true;
          r.host.faults.dropNextCode = true;
          await agree(m, r);
        }),
      ),
    ],
    [
      1,
      fc.constant(
        step<Model, Real>(
          'someone else registers this number meanwhile',
          async (m, r) => {
            m.phonesTaken.add(m.phone ?? '');
            m.squatters += 1;
            expect(r.host.world.directory.createNow({ phone: m.phone as Phone, handle: `squatter_${m.squatters}` as Handle, passwordHash: 'x', at: m.now }).ok).toBe(true);
            await agree(m, r);
          },
          (m) => m.phone !== null && !m.phonesTaken.has(m.phone),
        ),
      ),
    ],
    [
      1,
      fc.constant(
        step<Model, Real>(
          'someone else takes the handle alice_01 meanwhile',
          async (m, r) => {
            m.handlesTaken.add('alice_01');
            expect(r.host.world.directory.createNow({ phone: '+8613600136000' as Phone, handle: 'alice_01' as Handle, passwordHash: 'x', at: m.now }).ok).toBe(true);
            await agree(m, r);
          },
          (m) => !m.handlesTaken.has('alice_01') && !m.phonesTaken.has('+8613600136000'),
        ),
      ),
    ],
    [
      4,
      fc.constantFrom(
        twice('type the code from the last SMS', (m) => submitCode(m, rightSms(m)), lastSms),
        twice('ask for a new code', resend, () => ({ type: 'code.resend' })),
        twice(`type the number ${CN}`, (m) => submitPhone(m, CN), () => ({ type: 'phone.submit', phone: CN })),
      ),
    ],
    [
      2,
      fc.constant(
        step<Model, Real>('the host restarts', async (m, r) => {
          r.host.restart();
          await agree(m, r);
        }),
      ),
    ],
  ]);

const setup = async (definitions?: (ports: FlowPorts) => FlowDefinition) => {
  const host = faultyHost({ blocked: [BLOCKED], ...(definitions === undefined ? {} : { definitions: (w) => [definitions(w)] }) });
  host.world.directory.createNow({ phone: TAKEN as Phone, handle: 'taken_x' as Handle, passwordHash: 'x', at: 0 });
  const started = await host.runtime.start('registration', {});
  if (E.isLeft(started)) throw new Error(started.left.message);
  const now = host.world.clock.now();
  return { model: new Model(now, now + P.flowMaxLifetimeMs), real: { host, flowId: started.right.flowId } };
};

/** Most stories begin with a number already typed, so their commands are spent further in. */
const followsTheModel = (definitions?: (ports: FlowPorts) => FlowDefinition) =>
  fc.asyncProperty(fc.option(fc.constantFrom(CN, HK, TAKEN), { freq: 4, nil: undefined }), fc.commands(commands(), { maxCommands: 40, size: 'max' }), async (first, cmds) => {
    const { model, real } = await setup(definitions);
    if (first !== undefined) await typeNumber(first).run(model, real);
    await fc.asyncModelRun(() => ({ model, real }), cmds);
  });

describe('registration model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  it('should catch a cooldown off by one millisecond, and tell the counterexample as a story', async () => {
    const lateCooldown = (ports: FlowPorts): FlowDefinition => {
      const real = registrationFlow(ports);
      const machine = real.machine.provide({
        guards: { resendAllowed: ({ context, event }) => context.resendAllowedAt === null || event.at > context.resendAllowedAt },
      });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(lateCooldown), { numRuns: 200 });
    expect(result.failed).toBe(true);
    // e.g. ["+8613800138000", wait 1m, ask for a new code]
    expect(String(result.counterexample)).toMatch(/ask for a new code/);
  });
});
