/**
 * TOTP enrollment against a reference model: the secret is shown for a limited time, the first
 * code from the app (one step of clock drift either way) turns the factor on, wrong codes are
 * counted to a limit, malformed ones are refused without spending a try, the backup codes are
 * shown once and then hidden by acknowledgement or time; only the session that started it acts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrollmentSecret } from '../../machines/totpEnrollment.ts';
import { totpAt } from '../../src/domain/hotp.ts';
import { MINUTE } from '../../src/domain/time.ts';
import { totpEnrollmentFlow } from '../../src/flows/totpEnrollment.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { seedAccount } from '../support/accounts.ts';
import { notTheCode } from '../support/faultyHost.ts';
import { enrollTotp } from '../support/friends.ts';
import { P } from './challenge.ts';
import { applied, type Expected, exit, hostWith, type Owned, ownerSignsOut, readFlow, type Replacement, refused, signIn, startFlow, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

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

interface Real extends Owned {
  readonly otherSession: HostSession;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(r);
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

/** The enrollment's end: a secret never confirmed times out; shown backup codes are taken as seen. */
const tick = (m: Model): void => {
  if (!FINAL.has(m.state) && m.now >= m.expiresAt) m.state = m.state === 'showingSecret' ? 'timedOut' : 'enrolled';
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

const { from, world, waits, wake, restart } = storyKit(agree);
const owner = from((_m, r) => r.owner);
const asOwner = owner.act;

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
    [4, fc.integer({ min: 2, max: P.code.maxWrongPerCode }).map((n) => owner.times(n, `type ${n} wrong codes`, (m) => confirm(m, 'wrong'), (m, r) => ({ type: 'totp.confirm', code: codeFor(r, 'wrong', m.now) })))],
    [4, fc.constant(asOwner('acknowledge the backup codes', exit('backupCodes.acknowledged', 'enrolled'), () => ({ type: 'backupCodes.acknowledged' })))],
    [1, fc.constant(asOwner('cancel', exit('flow.cancel', 'cancelled'), () => ({ type: 'flow.cancel' })))],
    [2, owner.malformed()],
    [5, waits([PERIOD, P.totp.enrollmentTtlMs, 2 * P.totp.enrollmentTtlMs, MINUTE])],
    [4, fc.constant(wake(tick))],
    [
      2,
      fc.constant(
        from((_m, r) => r.otherSession).act(
          "another of the owner's sessions types the app's code",
          (m) => (FINAL.has(m.state) ? refused('flow_finished') : refused('session_required')),
          (m, r) => ({ type: 'totp.confirm', code: codeFor(r, 'current', m.now) }),
        ),
      ),
    ],
    [1, fc.constant(world('the owner signs out', ownerSignsOut, (m) => m.sessionLive))],
    [
      1,
      fc.constant(
        world(
          'another enrollment turns TOTP on meanwhile',
          async (m, r) => {
            m.enrolledElsewhere = true;
            await enrollTotp(r.host.world, r.account.id);
          },
          (m) => !m.enrolledElsewhere && m.state === 'showingSecret',
        ),
      ),
    ],
    [2, fc.constant(owner.twice('type the code the app shows', (m) => confirm(m, 'current'), (m, r) => ({ type: 'totp.confirm', code: codeFor(r, 'current', m.now) })))],
    [1, fc.constant(restart())],
  ]);

const setup = async (replacement?: Replacement) => {
  const host = hostWith(replacement);
  const account = await seedAccount(host.world);
  const owner = signIn(host, account.id);
  const otherSession = signIn(host, account.id);
  const { flowId } = await startFlow(host, 'totpEnrollment', owner);
  const now = host.world.clock.now();
  return { model: new Model(now, now), real: { host, flowId, account, owner, otherSession } };
};

const followsTheModel = (replacement?: Replacement) => stories([], commands(), 25, () => setup(replacement));

describe('TOTP enrollment model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  itHasTeeth('should catch an enrollment that allows one wrong try too many (the model has teeth)', async () => {
    const generous = (ports: FlowPorts): FlowDefinition => {
      const real = totpEnrollmentFlow(ports);
      const machine = real.machine.provide({ guards: { lastTry: ({ context }) => context.wrongTries + 1 > ports.policy.code.maxWrongPerCode } });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(generous), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.counterexample)).toMatch(/wrong code|minute and a half/);
  });
});
