/**
 * Manual review against a reference model of its rules: the person names the account and tells
 * support what they remember; support answers within its deadline (approve, reject, ask more up
 * to a limit) and the person within theirs; an approval opens a dispute window the owner can stop
 * it in; after the window the password, the security review and a new channel follow, each before
 * the person's deadline; the evidence is deleted a retention period after the ticket closed,
 * whatever the case's outcome. No deadline of the case lies past `flowMaxLifetimeMs` from its
 * start, and from then on anything that reaches the case ends it as the tick would. Each role is
 * told apart by the host's session only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/domain/account.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { manualReviewFlow } from '../../src/flows/manualReview.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { ChallengeModel, LOCKED, NOTICE_FOR, P, wrongCode } from './challenge.ts';
import { applied, type Expected, exit, type Hosted, hostWith, human, readFlow, type Replacement, refused, startFlow, step, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

const R = P.review;
const EMAIL = 'wang@example.com';
const NEW_EMAIL = 'fresh@example.com';
const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
const EVIDENCE = { type: 'evidence.submit', nickname: 'Xiaoming', team: 'Hangzhou sales', contactEmail: 'x@example.net' };

const FINAL = new Set(['recovered', 'rejected', 'timedOut', 'abandoned', 'stoppedByOwner', 'cancelled', 'refused', 'bindingLapsed', 'locked', 'expired']);
const RESULT: Record<string, string> = {
  recovered: 'recovered',
  rejected: 'rejected',
  timedOut: 'timed_out',
  abandoned: 'abandoned',
  stoppedByOwner: 'stopped_by_owner',
  cancelled: 'cancelled',
  refused: 'refused',
  bindingLapsed: 'binding_lapsed',
  locked: 'locked',
  expired: 'expired',
};
const TICKET: Record<string, string> = {
  enteringAccount: 'not_opened',
  enteringEvidence: 'not_opened',
  awaitingAgent: 'awaiting_support',
  awaitingUser: 'awaiting_you',
  rejected: 'rejected',
  timedOut: 'timed_out',
  abandoned: 'abandoned',
  stoppedByOwner: 'stopped_by_owner',
  cancelled: 'withdrawn',
};
const HANDLES: Record<string, readonly string[]> = {
  enteringAccount: ['account.submit', 'flow.cancel'],
  enteringEvidence: ['evidence.submit', 'flow.cancel'],
  awaitingAgent: ['review.approve', 'review.reject', 'review.askMore', 'owner.stop', 'flow.cancel'],
  awaitingUser: ['evidence.answer', 'review.approve', 'review.reject', 'owner.stop', 'flow.cancel'],
  disputeWindow: ['owner.stop', 'review.reject', 'flow.cancel'],
  'hardening.choosingPassword': ['password.submit', 'owner.stop', 'flow.cancel'],
  'hardening.reviewingSecurity': ['session.revoke', 'security.done', 'owner.stop', 'flow.cancel'],
  bindingRequired: ['channel.submit'],
  awaitingBindingCode: ['code.submit', 'code.resend', 'channel.submit'],
};

class Model {
  state = 'enteringAccount';
  known = false;
  infoRequests = 0;
  agentDueAt: number | null = null;
  userDueAt: number | null;
  approved: { reset: boolean } | null = null;
  windowEndsAt: number | null = null;
  closedAt: number | null = null;
  purgedAt: number | null = null;
  /** Evidence or a conversation exists to delete. */
  hasEvidence = false;
  applied = false;
  accountActive = true;
  epoch = 0;
  readonly code = new ChallengeModel();
  bindValue: string | null = null;
  /** The case's end: no deadline of its own goes past it. */
  readonly expiresAt: number;
  constructor(public now: number) {
    this.expiresAt = now + P.flowMaxLifetimeMs;
    this.userDueAt = this.due(now + R.userResponseMs);
  }

  due(own: number | null): number {
    return Math.min(own ?? Number.POSITIVE_INFINITY, this.expiresAt);
  }

  /** Open and past its end: whatever reaches the case now is taken as the tick. */
  get lapsed(): boolean {
    return !FINAL.has(this.top) && this.now >= this.expiresAt;
  }

  get top(): string {
    return this.state.split('.')[0] ?? this.state;
  }

  gate(type: string): Expected | undefined {
    if (FINAL.has(this.top)) return refused('flow_finished');
    if (this.lapsed) return (tick(this), applied);
    return (HANDLES[this.state] ?? []).includes(type) ? undefined : refused('event_not_accepted');
  }

  /** Closing the ticket (any outcome) starts the retention clock, once. */
  close(): void {
    this.closedAt ??= this.now;
    this.agentDueAt = null;
    if (!this.hasEvidence) this.purgedAt ??= this.now;
  }

  end(state: string, clearUser = true): void {
    this.state = state;
    this.close();
    if (clearUser) this.userDueAt = null;
  }

  deadline(): number | null {
    const caseDeadline = (() => {
      switch (this.top) {
        case 'awaitingAgent':
          return this.due(this.agentDueAt);
        case 'disputeWindow':
          return this.due(this.windowEndsAt);
        case 'hardening':
        case 'enteringAccount':
        case 'enteringEvidence':
        case 'awaitingUser':
        case 'bindingRequired':
        case 'awaitingBindingCode':
          return this.due(this.userDueAt);
        default:
          return null;
      }
    })();
    const purgeAt = this.closedAt !== null && this.purgedAt === null ? this.closedAt + R.evidenceRetentionMs : null;
    const due = [caseDeadline, purgeAt].filter((d): d is number => d !== null);
    const done = FINAL.has(this.top) && this.purgedAt !== null;
    return done || due.length === 0 ? null : Math.min(...due);
  }
}

interface Real extends Hosted {
  readonly account: Account;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(r);
  const binding = m.top === 'bindingRequired' || m.top === 'awaitingBindingCode';
  const approved = m.approved !== null;
  expect({
    state: view.state,
    done: view.done,
    ticket: view['ticket'],
    agentDueAt: view['agentDueAt'],
    answerBy: view['answerBy'],
    passwordAllowedAt: view['passwordAllowedAt'],
    actBy: view['actBy'],
    evidenceDeletedAt: view['evidenceDeletedAt'],
    notice: view.notice,
    result: view.result,
    nextDeadline,
    ...(binding ? { codeExpiresAt: view.codeExpiresAt, triesLeft: view['triesLeft'] } : {}),
  }).toEqual({
    state: m.state,
    done: FINAL.has(m.top),
    ticket: TICKET[m.top] ?? (approved ? 'approved' : null),
    agentDueAt: m.top === 'awaitingAgent' ? m.agentDueAt : null,
    answerBy: m.top === 'awaitingUser' ? m.userDueAt : null,
    passwordAllowedAt: approved && m.windowEndsAt !== null && m.top !== 'stoppedByOwner' ? m.windowEndsAt : null,
    actBy: ['enteringAccount', 'enteringEvidence', 'hardening', 'bindingRequired', 'awaitingBindingCode'].includes(m.top) ? m.userDueAt : null,
    evidenceDeletedAt: m.closedAt === null || m.purgedAt !== null ? null : m.closedAt + R.evidenceRetentionMs,
    notice: m.code.notice,
    result: RESULT[m.top] ?? null,
    nextDeadline: m.deadline(),
    ...(binding ? { codeExpiresAt: m.code.codeExpiresAt(), triesLeft: m.code.triesLeft() } : {}),
  });
};

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

const nameAccount = (m: Model, known: boolean): Expected => {
  const gated = m.gate('account.submit');
  if (gated !== undefined) return gated;
  m.known = known && m.accountActive;
  m.state = 'enteringEvidence';
  return applied;
};

const submitEvidence = (m: Model, substantial: boolean): Expected => {
  const gated = m.gate('evidence.submit');
  if (gated !== undefined) return gated;
  if (!substantial) return refused('invalid_input');
  m.hasEvidence = true;
  m.agentDueAt = m.due(m.now + R.agentActionMs);
  m.userDueAt = null;
  m.state = 'awaitingAgent';
  return applied;
};

const agent = (m: Model, kind: 'approve' | 'reset' | 'reject' | 'askMore'): Expected => {
  const type = kind === 'approve' || kind === 'reset' ? 'review.approve' : `review.${kind}`;
  if (FINAL.has(m.top)) return refused('flow_finished');
  if (m.lapsed) return (tick(m), applied);
  if (!(HANDLES[m.state] ?? []).includes(type)) return refused('event_not_accepted');
  if (type === 'review.approve') {
    if (!m.known) return refused('not_permitted');
    m.approved = { reset: kind === 'reset' };
    m.windowEndsAt = m.now + R.disputeWindowMs;
    m.userDueAt = null;
    m.state = 'disputeWindow';
    m.close();
  } else if (kind === 'reject') {
    m.windowEndsAt = null;
    m.end('rejected');
  } else {
    if (m.infoRequests >= R.maxInfoRequests) return refused('not_permitted');
    m.infoRequests += 1;
    m.agentDueAt = null;
    m.userDueAt = m.due(m.now + R.userResponseMs);
    m.state = 'awaitingUser';
  }
  return applied;
};

const answer = (m: Model): Expected => {
  const gated = m.gate('evidence.answer');
  if (gated !== undefined) return gated;
  m.agentDueAt = m.due(m.now + R.agentActionMs);
  m.userDueAt = null;
  m.state = 'awaitingAgent';
  return applied;
};

/** Before a new password was submitted, the owner's stop and the person's cancel still win. */
const beforePassword = (m: Model) => !m.state.startsWith('hardening') || m.state === 'hardening.choosingPassword';

const ownerStop = (m: Model): Expected => {
  if (FINAL.has(m.top)) return refused('flow_finished');
  // A deactivated account has no live session to stop anything from.
  if (!m.accountActive) return refused('session_required');
  if (!m.known) return refused('not_permitted');
  if (m.lapsed) return (tick(m), applied);
  if (!(HANDLES[m.state] ?? []).includes('owner.stop') || !beforePassword(m)) return refused('event_not_accepted');
  m.windowEndsAt = null;
  m.end('stoppedByOwner');
  return applied;
};

const cancel = (m: Model): Expected => {
  const gated = m.gate('flow.cancel');
  if (gated !== undefined) return gated;
  if (!beforePassword(m)) return refused('event_not_accepted');
  m.end('cancelled');
  return applied;
};

const password = (m: Model, value: string): Expected => {
  const gated = m.gate('password.submit');
  if (gated !== undefined) return gated;
  if (value === OLD_PASSWORD) return refused('password_reused');
  if (m.accountActive && m.epoch === 0) {
    m.epoch += 1;
    m.applied = true;
    m.state = 'hardening.reviewingSecurity';
  } else m.end('refused', false);
  return applied;
};

const sendCode = (m: Model): void => {
  m.code.issue(m.now);
  m.code.delivered = m.code.counter;
  m.userDueAt = m.due(m.now + R.userResponseMs);
};

const bind = (m: Model): Expected => {
  const gated = m.gate('channel.submit');
  if (gated !== undefined) return gated;
  if (m.state === 'bindingRequired') {
    if (!m.accountActive) {
      m.end('refused', false);
      return applied;
    }
    m.bindValue = NEW_EMAIL;
    m.state = 'awaitingBindingCode';
    sendCode(m);
  } else if (m.code.resendAllowed(m.now)) sendCode(m);
  else m.code.notice = m.code.cooldownNotice(m.now);
  return applied;
};

const submitCode = (m: Model, right: boolean): Expected => {
  const gated = m.gate('code.submit');
  if (gated !== undefined) return gated;
  const outcome = m.code.outcome(m.now, right && m.accountActive);
  const outOfTries = m.code.spend(outcome);
  if (outcome === 'accepted') {
    m.code.notice = null;
    m.userDueAt = null;
    m.state = 'recovered';
  } else if (outcome === 'wrong' && outOfTries) {
    m.state = 'locked';
    m.code.notice = LOCKED;
  } else m.code.notice = NOTICE_FOR[outcome];
  return applied;
};

function tick(m: Model): void {
  const overdue = (d: number | null) => m.now >= m.due(d);
  if (!FINAL.has(m.top)) {
    switch (m.top) {
      case 'enteringAccount':
      case 'enteringEvidence':
      case 'awaitingUser':
        if (overdue(m.userDueAt)) m.end('abandoned');
        break;
      case 'awaitingAgent':
        if (overdue(m.agentDueAt)) m.end('timedOut');
        break;
      case 'disputeWindow':
        // The window is never cut short: the case ends inside it instead.
        if (m.now >= m.expiresAt) {
          m.windowEndsAt = null;
          m.end('expired');
        } else if (m.now >= (m.windowEndsAt ?? Number.POSITIVE_INFINITY)) {
          m.userDueAt = m.due(m.now + R.userResponseMs);
          // The queued reset of the second factor runs in the same request; an account that moved on refuses it.
          m.state = m.approved?.reset === true && !(m.accountActive && m.epoch === 0) ? 'refused' : 'hardening.choosingPassword';
        }
        break;
      case 'hardening':
        if (m.state === 'hardening.choosingPassword' && overdue(m.userDueAt)) m.end('abandoned');
        else if (m.applied && overdue(m.userDueAt)) m.state = 'bindingLapsed';
        break;
      case 'bindingRequired':
      case 'awaitingBindingCode':
        if (overdue(m.userDueAt)) m.state = 'bindingLapsed';
        break;
    }
  }
  if (m.closedAt !== null && m.purgedAt === null && m.now >= m.closedAt + R.evidenceRetentionMs) m.purgedAt = m.now;
}

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const kit = storyKit(agree);
const { from, malformed, world, waits, wake, restart } = kit;
/** Each role is told apart by the host's session only: the person has none, the owner signs in afresh. */
const roles = {
  person: kit,
  agent: from(() => AGENT),
  owner: from((m, r) => ({ actor: r.account.id, sessionId: r.host.world.sessions.signIn(r.account.id, r.host.world.directory.peek(r.account.id)?.securityEpoch ?? 0, m.now).id })),
};
const as = (who: keyof typeof roles, label: string, apply: (m: Model) => Expected, event: (m: Model, r: Real) => unknown): Cmd => roles[who].act(label, apply, event);

const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [3, fc.constantFrom(true, false).map((known) => as('person', known ? 'name the account' : 'name an account nobody has', (m) => nameAccount(m, known), () => ({ type: 'account.submit', handle: known ? 'wang_xiaoming' : 'nobody_here' })))],
    [3, fc.constantFrom(true, false).map((full) => as('person', full ? 'tell support what you remember' : 'send only a contact address', (m) => submitEvidence(m, full), () => (full ? EVIDENCE : { type: 'evidence.submit', contactEmail: 'x@example.net' })))],
    [6, fc.constant(as('agent', 'support approves', (m) => agent(m, 'approve'), () => ({ type: 'review.approve', resetSecondFactor: false })))],
    [2, fc.constant(as('agent', 'support approves and resets the second factor', (m) => agent(m, 'reset'), () => ({ type: 'review.approve', resetSecondFactor: true })))],
    [1, fc.constant(as('agent', 'support rejects', (m) => agent(m, 'reject'), () => ({ type: 'review.reject', reason: 'does not match' })))],
    [3, fc.constant(as('agent', 'support asks for more', (m) => agent(m, 'askMore'), () => ({ type: 'review.askMore', question: 'Which city?' })))],
    [3, fc.constant(as('person', 'answer support', answer, () => ({ type: 'evidence.answer', answer: 'Hangzhou' })))],
    [1, fc.constant(as('owner', 'the owner stops it', ownerStop, () => ({ type: 'owner.stop' })))],
    [1, fc.constant(as('person', 'withdraw (cancel)', cancel, () => ({ type: 'flow.cancel' })))],
    [5, fc.constantFrom('a brand new long passphrase', OLD_PASSWORD).map((pw) => as('person', `choose the password "${pw}"`, (m) => password(m, pw), () => ({ type: 'password.submit', password: pw })))],
    [4, fc.constant(as('person', 'finish the security review', exit('security.done', 'bindingRequired'), () => ({ type: 'security.done' })))],
    [5, fc.constant(as('person', `bind ${NEW_EMAIL}`, bind, () => ({ type: 'channel.submit', kind: 'email', value: NEW_EMAIL })))],
    [5, fc.constant(as('person', 'type the code from the e-mail', (m) => submitCode(m, m.code.delivered === m.code.counter), (_m, r) => ({ type: 'code.submit', code: r.host.world.messenger.lastCodeTo(NEW_EMAIL) ?? '000000' })))],
    [3, fc.constant(as('person', 'type a wrong code', (m) => submitCode(m, false), wrongCode))],
    [
      2,
      fc.constantFrom('review.approve', 'password.submit').map((type) =>
        as(
          type === 'review.approve' ? 'person' : 'agent',
          type === 'review.approve' ? 'someone without the agent role approves' : 'an agent tries to set the password',
          (m) => (FINAL.has(m.top) ? refused('flow_finished') : refused('not_permitted')),
          () => (type === 'review.approve' ? { type, resetSecondFactor: false } : { type, password: 'a brand new long passphrase' }),
        ),
      ),
    ],
    [8, waits([HOUR, R.disputeWindowMs, R.agentActionMs, R.userResponseMs, R.evidenceRetentionMs])],
    [
      // Late decisions and answers land here: the case's end is the boundary every deadline meets.
      2,
      fc.constantFrom(-DAY, -HOUR, -1, 0, 1).map((offset) =>
        step<Model, Real>(
          `wait until ${offset === 0 ? '' : `${human(Math.abs(offset))} ${offset < 0 ? 'before' : 'after'} `}the case's end`,
          async (m, r) => {
            const ms = m.expiresAt + offset - m.now;
            r.host.world.clock.advanceBy(ms);
            m.now += ms;
            await agree(m, r);
          },
          (m) => m.now < m.expiresAt + offset,
        ),
      ),
    ],
    [6, fc.constant(wake(tick))],
    [1, fc.constant(world('the account is deactivated', (m, r) => ((m.accountActive = false), r.host.world.directory.deactivate(r.account.id)), (m) => m.accountActive))],
    [1, fc.constant(world("the owner's password is changed elsewhere", (m, r) => ((m.epoch += 1), r.host.world.directory.bumpEpoch(r.account.id)), (m) => m.epoch === 0 && !m.applied))],
    [1, malformed()],
    [1, fc.constant(restart())],
  ]);

const setup = async (replacement?: Replacement) => {
  const host = hostWith(replacement);
  const account = await seedAccount(host.world, { email: EMAIL });
  const { flowId } = await startFlow(host, 'manualReview');
  return { model: new Model(host.world.clock.now()), real: { host, flowId, account } };
};

/** Most stories begin with a ticket open about a real account, many past its approval and dispute window. */
const followsTheModel = (replacement?: Replacement) =>
  stories([fc.constantFrom(0, 2, 3, 4, 4)], commands(), 35, async (prologue) => {
    const story = await setup(replacement);
    const { model, real } = story;
    if (prologue >= 2) {
      await as('person', 'name the account', (m) => nameAccount(m, true), () => ({ type: 'account.submit', handle: 'wang_xiaoming' })).run(model, real);
      await as('person', 'tell support what you remember', (m) => submitEvidence(m, true), () => EVIDENCE).run(model, real);
    }
    if (prologue >= 3) await as('agent', 'support approves', (m) => agent(m, 'approve'), () => ({ type: 'review.approve', resetSecondFactor: false })).run(model, real);
    if (prologue >= 4) {
      real.host.world.clock.advanceBy(R.disputeWindowMs);
      model.now += R.disputeWindowMs;
      tick(model);
      await real.host.runtime.tick(real.flowId);
      await agree(model, real);
    }
    return story;
  });

describe('manual review model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  itHasTeeth('should catch a dispute window that opens the password a millisecond early (the model has teeth)', async () => {
    const early = (ports: FlowPorts): FlowDefinition => {
      const real = manualReviewFlow(ports);
      const machine = real.machine.provide({
        guards: {
          windowPassed: ({ context, event }) => context.windowEndsAt !== null && (event as { at: number }).at >= context.windowEndsAt - 1,
          windowPassedWithReset: () => false,
        },
      });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(early), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
    // An approval, by the prologue (3 and 4 approve) or among the commands.
    expect(String(result.counterexample)).toMatch(/^[34],|support approves/);
  });

  itHasTeeth('should catch a review built without the lifetime cap (the model has teeth)', async () => {
    const uncapped = (ports: FlowPorts): FlowDefinition => manualReviewFlow({ ...ports, policy: { ...ports.policy, flowMaxLifetimeMs: 10 * 365 * DAY } }) as FlowDefinition;
    const result = await fc.check(followsTheModel(uncapped), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
  });
});


