/**
 * TOTP enrollment against a reference model: the secret is shown for a limited time, the first
 * code from the app (one step of clock drift either way) turns the factor on, wrong codes are
 * counted to a limit, malformed ones are refused without spending a try, the backup codes are
 * shown once and then hidden by acknowledgement or time; only the session that started it acts.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { enrollmentSecret } from '../../machines/totpEnrollment.ts';
import type { Account } from '../../src/domain/account.ts';
import { totpAt } from '../../src/domain/hotp.ts';
import { MINUTE } from '../../src/domain/time.ts';
import { totpEnrollmentFlow } from '../../src/flows/totpEnrollment.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { seedAccount } from '../support/accounts.ts';
import { type FaultyHost, faultyHost, notTheCode } from '../support/faultyHost.ts';
import { enrollTotp } from '../support/friends.ts';
import { P } from './challenge.ts';
import { applied, clockMoves, concurrently, type Expected, expectStep, human, MALFORMED, refused, step, weighted } from './kit.ts';

type State = 'showingSecret' | 'showingBackupCodes' | 'enrolled' | 'failed' | 'cancelled' | 'timedOut';
const FINAL: ReadonlySet<State> = new Set(['enrolled', 'failed', 'cancelled', 'timedOut']);
const RESULT: Partial<Record<State, string>> = { enrolled: 'enrolled', failed: 'failed', cancelled: 'cancelled', timedOut: 'timed_out' };
const PERIOD = P.totp.periodSeconds * 1000;

class Model {
  state: State = 'showingSecret';
  wrongTries = 0;
  notice: { code: string } | null = null;
  expiresAt: number;
  sessionLive = true;
  enrolledElsewhere = false;
  constructor(
    public now: number,
    readonly startedAt: number,
  ) {
    this.expiresAt = startedAt + P.totp.enrollmentTtlMs;
  }

  gate(type: string): Expected | undefined {
    if (FINAL.has(this.state)) return refused('flow_finished');
    if (!this.sessionLive) return refused('session_required');
    const handled = this.state === 'showingSecret' ? ['totp.confirm', 'flow.cancel'] : ['backupCodes.acknowledged'];
    return handled.includes(type) ? undefined : refused('event_not_accepted');
  }
}

interface Real {
  readonly host: FaultyHost;
  readonly flowId: string;
  readonly account: Account;
  readonly owner: HostSession;
  readonly otherSession: HostSession;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const read = await r.host.runtime.read(r.flowId);
  if (E.isLeft(read)) throw new Error(read.left.message);
  const { view, nextDeadline } = read.right;
  const done = FINAL.has(m.state);
  expect({
    state: view.state,
    triesLeft: view['triesLeft'],
    expiresAt: view['expiresAt'],
    notice: view.notice,
    result: view.result,
    nextDeadline,
    showsSecret: 'secret' in view,
    showsBackupCodes: Array.isArray(view['backupCodes']),
    factorOn: (await r.host.world.secondFactors.status(r.account.id)).totp,
  }).toEqual({
    state: m.state,
    triesLeft: m.state === 'showingSecret' ? Math.max(0, P.code.maxWrongPerCode - m.wrongTries) : null,
    expiresAt: done ? null : m.expiresAt,
    notice: m.notice,
    result: RESULT[m.state] ?? null,
    nextDeadline: done ? null : m.expiresAt,
    showsSecret: m.state === 'showingSecret',
    showsBackupCodes: m.state === 'showingBackupCodes',
    factorOn: m.enrolledElsewhere || m.state === 'showingBackupCodes' || m.state === 'enrolled',
  });
};

/** `kind` of code typed: the app's current code, one from two steps ago (outside the drift), a wrong one, or junk. */
type Typed = 'current' | 'drifted' | 'stale' | 'wrong' | 'spaced' | 'junk';

const confirm = (m: Model, typed: Typed): Expected => {
  const gated = m.gate('totp.confirm');
  if (gated !== undefined) return gated;
  if (typed === 'junk') return refused('invalid_input');
  if (m.enrolledElsewhere) return refused('already_enrolled');
  const right = typed === 'current' || typed === 'drifted' || typed === 'spaced';
  // The boundary instant belongs to the expired side, but nothing ends until the flow is woken.
  if (right) {
    m.state = 'showingBackupCodes';
    m.notice = null;
    m.expiresAt = Math.min(m.now + P.totp.enrollmentTtlMs, m.startedAt + P.flowMaxLifetimeMs);
  } else if (m.wrongTries + 1 >= P.code.maxWrongPerCode) {
    m.wrongTries += 1;
    m.state = 'failed';
    m.notice = { code: 'code_attempts_exhausted' };
  } else {
    m.wrongTries += 1;
    m.notice = { code: 'code_invalid' };
  }
  return applied;
};

const codeFor = (r: Real, typed: Typed, now: number): string => {
  const secret = enrollmentSecret(r.host.world.codeSecrets, JSON.parse(r.host.world.store.raw(r.flowId) as string).snapshot.context.secretRef);
  const current = totpAt(secret, now);
  switch (typed) {
    case 'current':
      return current;
    case 'drifted':
      return totpAt(secret, now - PERIOD);
    case 'stale': {
      const stale = totpAt(secret, now - 3 * PERIOD);
      // Astronomically rare, but a stale code equal to an accepted one would be right.
      return [-1, 0, 1].some((s) => totpAt(secret, now + s * PERIOD) === stale) ? notTheCode(current) : stale;
    }
    case 'wrong':
      return notTheCode(current);
    case 'spaced':
      return `${current.slice(0, 3)} ${current.slice(3)}`;
    case 'junk':
      return 'twelve';
  }
};

type Cmd = fc.AsyncCommand<Model, Real>;

const asOwner = (label: string, apply: (m: Model) => Expected, event: (m: Model, r: Real) => unknown): Cmd =>
  step(label, async (m, r) => {
    const raw = event(m, r);
    await expectStep(r.host, r.flowId, apply(m), () => r.host.runtime.send(r.flowId, raw, r.owner));
    await agree(m, r);
  });

const LABEL: Record<Typed, string> = {
  current: 'type the code the app shows',
  drifted: "type the app's previous code (clock drift)",
  stale: 'type a code from a minute and a half ago',
  wrong: 'type a wrong code',
  spaced: 'type the code as the app groups it ("123 456")',
  junk: 'type letters',
};

const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [10, fc.constantFrom<Typed>('current', 'drifted', 'stale', 'wrong', 'wrong', 'spaced', 'junk').map((typed) => asOwner(LABEL[typed], (m) => confirm(m, typed), (m, r) => ({ type: 'totp.confirm', code: codeFor(r, typed, m.now) })))],
    [
      4,
      fc.integer({ min: 2, max: P.code.maxWrongPerCode }).map((n) =>
        step<Model, Real>(`type ${n} wrong codes`, async (m, r) => {
          for (let i = 0; i < n; i++) {
            const raw = { type: 'totp.confirm', code: codeFor(r, 'wrong', m.now) };
            await expectStep(r.host, r.flowId, confirm(m, 'wrong'), () => r.host.runtime.send(r.flowId, raw, r.owner));
            await agree(m, r);
          }
        }),
      ),
    ],
    [4, fc.constant(asOwner('acknowledge the backup codes', (m) => m.gate('backupCodes.acknowledged') ?? ((m.state = 'enrolled'), applied), () => ({ type: 'backupCodes.acknowledged' })))],
    [1, fc.constant(asOwner('cancel', (m) => m.gate('flow.cancel') ?? ((m.state = 'cancelled'), applied), () => ({ type: 'flow.cancel' })))],
    [2, fc.constantFrom(...MALFORMED).map(([label, raw]) => asOwner(label, () => refused('invalid_input'), () => raw))],
    [
      5,
      clockMoves([PERIOD, P.totp.enrollmentTtlMs, 2 * P.totp.enrollmentTtlMs, MINUTE]).map((ms) =>
        step<Model, Real>(`wait ${human(ms)}`, async (m, r) => {
          r.host.world.clock.advanceBy(ms);
          m.now += ms;
          await agree(m, r);
        }),
      ),
    ],
    [
      4,
      fc.constant(
        step<Model, Real>('the host wakes the flow (clock.tick)', async (m, r) => {
          if (!FINAL.has(m.state) && m.now >= m.expiresAt) m.state = m.state === 'showingSecret' ? 'timedOut' : 'enrolled';
          expect(E.isRight(await r.host.runtime.tick(r.flowId))).toBe(true);
          await agree(m, r);
        }),
      ),
    ],
    [
      2,
      fc.constant(
        step<Model, Real>("another of the owner's sessions types the app's code", async (m, r) => {
          const expected = FINAL.has(m.state) ? refused('flow_finished') : refused('session_required');
          await expectStep(r.host, r.flowId, expected, () => r.host.runtime.send(r.flowId, { type: 'totp.confirm', code: codeFor(r, 'current', m.now) }, r.otherSession));
          await agree(m, r);
        }),
      ),
    ],
    [
      1,
      fc.constant(
        step<Model, Real>(
          'the owner signs out',
          async (m, r) => {
            m.sessionLive = false;
            await r.host.world.sessions.revoke(r.owner.sessionId as string, m.now);
            await agree(m, r);
          },
          (m) => m.sessionLive,
        ),
      ),
    ],
    [
      1,
      fc.constant(
        step<Model, Real>(
          'another enrollment turns TOTP on meanwhile',
          async (m, r) => {
            m.enrolledElsewhere = true;
            await enrollTotp(r.host.world, r.account.id);
            await agree(m, r);
          },
          (m) => !m.enrolledElsewhere && m.state === 'showingSecret',
        ),
      ),
    ],
    [
      2,
      fc.constant(
        step<Model, Real>('type the code the app shows, twice at once', async (m, r) => {
          const code = codeFor(r, 'current', m.now);
          await concurrently(r.host, r.flowId, confirm(m, 'current'), () => r.host.runtime.send(r.flowId, { type: 'totp.confirm', code }, r.owner));
          await agree(m, r);
        }),
      ),
    ],
    [1, fc.constant(step<Model, Real>('the host restarts', async (m, r) => (r.host.restart(), agree(m, r))))],
  ]);

const setup = async (definition?: (ports: FlowPorts) => FlowDefinition) => {
  const host = faultyHost(definition === undefined ? {} : { definitions: (w) => [definition(w)] });
  const account = await seedAccount(host.world);
  const owner: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
  const otherSession: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
  const started = await host.runtime.start('totpEnrollment', {}, owner);
  if (E.isLeft(started)) throw new Error(started.left.message);
  const now = host.world.clock.now();
  return { model: new Model(now, now), real: { host, flowId: started.right.flowId, account, owner, otherSession } };
};

const followsTheModel = (definition?: (ports: FlowPorts) => FlowDefinition) =>
  fc.asyncProperty(fc.commands(commands(), { maxCommands: 25, size: 'max' }), async (cmds) => {
    const { model, real } = await setup(definition);
    await fc.asyncModelRun(() => ({ model, real }), cmds);
  });

describe('TOTP enrollment model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  it('should catch an enrollment that allows one wrong try too many (the model has teeth)', async () => {
    const generous = (ports: FlowPorts): FlowDefinition => {
      const real = totpEnrollmentFlow(ports);
      const machine = real.machine.provide({ guards: { lastTry: ({ context }) => context.wrongTries + 1 > ports.policy.code.maxWrongPerCode } });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(generous), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.counterexample)).toMatch(/wrong code|minute and a half/);
  });
});
