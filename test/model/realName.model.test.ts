/**
 * Real-name verification against a reference model: submissions counted up to the policy's
 * limit, each with a verdict deadline; a verdict counts only for the current attempt and before
 * its deadline, whenever the host happens to tick; a provider that cannot take a submission, a
 * deadline that passes, a cancel all close the pending status; only the signed-in owner acts.
 * The account's status in the directory follows along.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { providerVerdict, realNameFlow } from '../../src/flows/realName.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { seedAccount } from '../support/accounts.ts';
import { P } from './challenge.ts';
import { applied, type Expected, expectStep, hostWith, type Owned, readFlow, type Replacement, refused, signIn, startFlow, step, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

type State = 'notStarted' | 'submitted' | 'rejectedRetryable' | 'unavailable' | 'submissionExpired' | 'verified' | 'rejected' | 'expired' | 'cancelled' | 'timedOut';
const FINAL: ReadonlySet<State> = new Set(['verified', 'rejected', 'expired', 'cancelled', 'timedOut']);
const RESULT: Partial<Record<State, string>> = { verified: 'verified', rejected: 'rejected', expired: 'expired', cancelled: 'cancelled', timedOut: 'timed_out' };
const MAX = P.realName.maxSubmissions;

class Model {
  state: State = 'notStarted';
  submissions = 0;
  verdictDueAt: number | null = null;
  notice: { code: string; reason?: string } | null = null;
  status = 'not_started';
  providerDown = false;
  constructor(
    public now: number,
    readonly expiresAt: number,
  ) {}

  /** Closing a submission without a verdict: the directory must not keep saying "pending". */
  lapse(): void {
    if (this.verdictDueAt === null) return;
    this.verdictDueAt = null;
    this.status = 'expired';
  }
}

interface Real extends Owned {
  readonly stranger: HostSession;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(r);
  const done = FINAL.has(m.state);
  expect({ state: view.state, submissions: view['submissions'], attemptsLeft: view['attemptsLeft'], verdictDueAt: view['verdictDueAt'], notice: view.notice, result: view.result, nextDeadline, status: (await r.host.world.directory.get(r.account.id))?.realName }).toEqual({
    state: m.state,
    submissions: m.submissions,
    attemptsLeft: done ? 0 : Math.max(0, MAX - m.submissions),
    verdictDueAt: m.verdictDueAt,
    notice: m.notice,
    result: RESULT[m.state] ?? null,
    nextDeadline: done ? null : Math.min(m.verdictDueAt ?? Number.POSITIVE_INFINITY, m.expiresAt),
    status: m.status,
  });
};

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

const CAN_SUBMIT: ReadonlySet<State> = new Set(['notStarted', 'rejectedRetryable', 'unavailable', 'submissionExpired']);

const submit = (m: Model, reference: string): Expected => {
  if (FINAL.has(m.state)) return refused('flow_finished');
  if (!CAN_SUBMIT.has(m.state)) return refused('event_not_accepted');
  if (!/^[A-Za-z0-9_.:-]{8,128}$/.test(reference) || /\d{14}[\dXx]/.test(reference)) return refused('invalid_input');
  if (m.submissions >= MAX) return refused('event_not_accepted');
  m.submissions += 1;
  m.verdictDueAt = m.now + P.realName.providerTimeoutMs;
  m.notice = null;
  m.status = 'pending';
  if (m.providerDown) {
    m.providerDown = false;
    m.state = m.submissions < MAX ? 'unavailable' : 'expired';
    m.notice = { code: 'provider_unavailable' };
    m.lapse();
  } else m.state = 'submitted';
  return applied;
};

const verdict = (m: Model, kind: 'verified' | 'rejected', attempt: number): Expected => {
  if (FINAL.has(m.state)) return refused('flow_finished');
  const current = m.state === 'submitted' && m.verdictDueAt !== null && m.now < m.verdictDueAt && attempt === m.submissions;
  if (!current) return refused('event_not_accepted');
  m.verdictDueAt = null;
  if (kind === 'verified') {
    m.state = 'verified';
    m.notice = null;
    m.status = 'verified';
  } else {
    m.state = m.submissions < MAX ? 'rejectedRetryable' : 'rejected';
    m.notice = { code: 'real_name_rejected', reason: 'document_expired' };
    m.status = 'rejected';
  }
  return applied;
};

const tick = (m: Model): void => {
  if (FINAL.has(m.state)) return;
  if (m.state === 'submitted' && m.verdictDueAt !== null && m.now >= m.verdictDueAt) {
    m.state = m.submissions < MAX ? 'submissionExpired' : 'expired';
    m.notice = { code: 'submission_expired' };
    m.lapse();
  } else if (m.now >= m.expiresAt) {
    m.state = 'timedOut';
    m.lapse();
  }
};

const cancel = (m: Model): Expected => {
  if (FINAL.has(m.state)) return refused('flow_finished');
  m.state = 'cancelled';
  m.lapse();
  return applied;
};

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const { from, world, waits, wake, restart } = storyKit(agree);
const asOwner = from((_m, r) => r.owner);
const owner = (label: string, apply: (m: Model) => Expected, event: unknown): Cmd => asOwner.act(label, apply, () => event);

const webhook = (label: string, kind: 'verified' | 'rejected', offset: number): Cmd =>
  step(label, async (m, r) => {
    const attempt = m.submissions + offset;
    const raw = kind === 'verified' ? { type: 'provider.verified', attempt } : { type: 'provider.rejected', attempt, reason: 'document_expired' };
    await expectStep(r.host, r.flowId, verdict(m, kind, attempt), () => providerVerdict(r.host.runtime, r.flowId, raw));
    await agree(m, r);
  });

const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [8, fc.constantFrom('kyc_ref_0001', 'kyc_ref_0002', '110101199003071234', 'short').map((reference) => owner(`submit the reference "${reference}"`, (m) => submit(m, reference), { type: 'realName.submit', reference }))],
    [6, fc.constantFrom(['the provider verifies the current attempt', 'verified', 0] as const, ['the provider rejects the current attempt', 'rejected', 0] as const, ['the provider verifies the previous attempt', 'verified', -1] as const, ['the provider rejects a future attempt', 'rejected', 1] as const).map(([label, kind, offset]) => webhook(label, kind, offset))],
    [
      2,
      fc.constant(
        world(
          'the provider will refuse the next submission',
          (m, r) => {
            m.providerDown = true;
            const provider = r.host.world.realNameProvider;
            const submitOnce = provider.submit.bind(provider);
            provider.submit = async (...args) => {
              provider.submit = submitOnce;
              void args;
              return { accepted: false };
            };
          },
          (m) => !m.providerDown,
        ),
      ),
    ],
    [6, waits([P.realName.providerTimeoutMs, HOUR, DAY, P.flowMaxLifetimeMs])],
    [4, fc.constant(wake(tick))],
    [1, fc.constant(owner('cancel', cancel, { type: 'flow.cancel' }))],
    [
      2,
      fc.constantFrom('anonymous', 'stranger').map((who) =>
        from((_m, r): HostSession => (who === 'anonymous' ? { actor: null, sessionId: null } : r.stranger)).act(
          `${who === 'anonymous' ? 'someone signed out' : "another account's session"} submits a reference`,
          (m) => (FINAL.has(m.state) ? refused('flow_finished') : refused('session_required')),
          () => ({ type: 'realName.submit', reference: 'kyc_ref_9999' }),
        ),
      ),
    ],
    [1, fc.constant(owner('forge a verdict through the client door', () => refused('invalid_input'), { type: 'provider.verified', attempt: 1 }))],
    [2, asOwner.malformed()],
    [2, fc.constant(asOwner.twice('submit the reference "kyc_ref_0001"', (m) => submit(m, 'kyc_ref_0001'), () => ({ type: 'realName.submit', reference: 'kyc_ref_0001' })))],
    [1, fc.constant(restart())],
  ]);

const setup = async (replacement?: Replacement) => {
  const host = hostWith(replacement);
  const account = await seedAccount(host.world);
  const other = await seedAccount(host.world, { phone: '+8613700137000', handle: 'bob_0001' });
  const ownerSession = signIn(host, account.id);
  const stranger = signIn(host, other.id);
  const { flowId } = await startFlow(host, 'realName', ownerSession);
  const now = host.world.clock.now();
  return { model: new Model(now, now + P.flowMaxLifetimeMs), real: { host, flowId, account, owner: ownerSession, stranger } };
};

const followsTheModel = (replacement?: Replacement) => stories([], commands(), 30, () => setup(replacement));

describe('real-name model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  itHasTeeth('should catch a verdict that still counts after its deadline (the model has teeth)', async () => {
    const lenient = (ports: FlowPorts): FlowDefinition => {
      const real = realNameFlow(ports);
      const machine = real.machine.provide({
        guards: { answersCurrent: ({ context, event }) => (event.type === 'provider.verified' || event.type === 'provider.rejected') && context.verdictDueAt !== null && event.attempt === context.submissions },
      });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(lenient), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.counterexample)).toMatch(/wait/);
  });
});
