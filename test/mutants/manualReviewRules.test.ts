/**
 * Manual review, rule by rule: the machine stepped directly (as the runtime steps it, an event the
 * machine does not take changes nothing) with exact expectations on every effect, every field an
 * action sets or clears, and every deadline at its instant and one millisecond before. Written
 * against the mutants of machines/manualReview.ts that survived the snapshot and property tests;
 * test/manualReview.test.ts says the same rules through the runtime, in words.
 */
import type { AnyMachineSnapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  createManualReviewMachine,
  type ManualReviewContext,
  REVIEW_FINAL_STATES,
  reviewCaseState,
  reviewDue,
  reviewExpiresAt,
} from '../../machines/manualReview.ts';
import { hmacCodeSecrets } from '../../src/adapters/codeSecrets.ts';
import { DEFAULT_POLICY } from '../../src/domain/policy.ts';
import type { Evidence } from '../../src/domain/reviewTicket.ts';
import { DAY, HOUR, MINUTE } from '../../src/domain/time.ts';
import { type EmittedAction, pureTransition, step } from '../../src/runtime/transition.ts';

const POLICY = DEFAULT_POLICY;
const REVIEW = POLICY.review;
const SECRETS = hmacCodeSecrets(new Uint8Array(32).fill(7));
const machine = createManualReviewMachine({ policy: POLICY, secrets: SECRETS });

const T0 = Date.UTC(2026, 0, 1);
const FLOW = 'flow-1';
const NONCE = 'nonce-1';
const ACCOUNT_ID = 'acct-1';
const SUBJECT = { accountId: ACCOUNT_ID, epoch: 4 };
/** The account's epoch after the recovery bumped it: the binding code is bound to this one. */
const NEW_EPOCH = 5;
const AGENT = 'agent-7';
const NEW_PHONE = '+8613900139000';
const OLD_PHONE = '+8613800138000';
const NEW_EMAIL = 'fresh@example.com';
const EVIDENCE: Evidence = {
  nickname: 'Xiaoming',
  team: null,
  frequentContacts: ['Li Lei'],
  pastDevices: [],
  loginPlaces: [],
  formerPhone: null,
  contactEmail: 'me@example.com',
};

// ---------------------------------------------------------------------------------------------
// stepping
// ---------------------------------------------------------------------------------------------

type Snapshot = AnyMachineSnapshot;
type Event = { readonly type: string; readonly [key: string]: unknown };

interface Stepped {
  readonly snapshot: Snapshot;
  readonly effects: readonly EmittedAction[];
  /** False when the machine takes nothing for the event: the runtime would refuse it. */
  readonly accepted: boolean;
}

const start = (at = T0): Snapshot => pureTransition(machine, undefined, undefined, { flowId: FLOW, nonce: NONCE, at })[0];

/** One event at `at`, as the runtime applies it: a refused event leaves the snapshot as it was. */
const send = (snapshot: Snapshot, event: Event, at: number): Stepped => {
  const timed: Event = { ...event, at };
  const result = step(machine, snapshot, timed, false);
  return result.accepted ? { snapshot: result.next, effects: result.actions, accepted: true } : { snapshot, effects: [], accepted: false };
};

const ctx = (snapshot: Snapshot): ManualReviewContext => snapshot.context as ManualReviewContext;
const caseOf = (snapshot: Snapshot): string => reviewCaseState(snapshot.value);
const evidenceOf = (snapshot: Snapshot): unknown => (snapshot.value as { evidence?: unknown }).evidence;

// ---------------------------------------------------------------------------------------------
// events and expected effects
// ---------------------------------------------------------------------------------------------

const account = (subject: typeof SUBJECT | null = SUBJECT): Event => ({ type: 'account.submit', named: 'handle:wang_xiaoming', subject });
const EVIDENCE_SUBMIT: Event = { type: 'evidence.submit', evidence: EVIDENCE };
const askMore = (question: string): Event => ({ type: 'review.askMore', agentId: AGENT, question });
const answer = (text: string): Event => ({ type: 'evidence.answer', answer: text });
const approve = (resetSecondFactor = false): Event => ({ type: 'review.approve', agentId: AGENT, resetSecondFactor });
const REJECT: Event = { type: 'review.reject', agentId: AGENT, reason: 'The contacts do not match.' };
const OWNER_STOP: Event = { type: 'owner.stop' };
const CANCEL: Event = { type: 'flow.cancel' };
const TICK: Event = { type: 'clock.tick' };
const PASSWORD: Event = { type: 'password.submit', passwordHash: 'scrypt$new' };
const APPLIED: Event = { type: 'recovery.applied', revokedSessions: 2, offers: [], recentLogins: [] };
const SECURITY_DONE: Event = { type: 'security.done' };
const RESEND: Event = { type: 'code.resend' };
const channel = (kind: 'phone' | 'email', value: string, currentEpoch: number | null = NEW_EPOCH): Event => ({ type: 'channel.submit', kind, value, currentEpoch });
const codeSubmit = (code: string, current: string | null = null, currentEpoch: number | null = NEW_EPOCH): Event => ({ type: 'code.submit', code, currentEpoch, current });

/** An audit entry about the named account. */
const audit = (kind: string, detail?: Record<string, unknown>): EmittedAction => ({
  type: 'audit',
  params: { kind, accountId: ACCOUNT_ID, ...(detail === undefined ? {} : { detail }) },
});
const closeTicket = (outcome: string): EmittedAction => ({ type: 'closeTicket', params: { ticketId: FLOW, outcome } });
/** The audit entry every close writes, whether or not the queue hears of it. */
const closedAudit = (outcome: string, infoRequests = 0): EmittedAction => audit(`review.${outcome}`, { matched: true, infoRequests });

// ---------------------------------------------------------------------------------------------
// scenarios: each returns the step that reached it
// ---------------------------------------------------------------------------------------------

const APPROVED_AT = T0 + HOUR;
const WINDOW_END = APPROVED_AT + REVIEW.disputeWindowMs;
/** The person's deadline from the end of the window on: password, review and binding. */
const AFTER_WINDOW_DUE = WINDOW_END + REVIEW.userResponseMs;
const BIND_AT = WINDOW_END + 3 * MINUTE;

/** Account named and evidence filed at T0: the ticket waits for support. */
const opened = (subject: typeof SUBJECT | null = SUBJECT): Stepped => {
  const named = send(start(), account(subject), T0);
  return send(named.snapshot, EVIDENCE_SUBMIT, T0);
};

const ASKED_AT = T0 + 2 * HOUR;
/** Support asked one question at ASKED_AT: the ticket waits for the person. */
const asked = (subject: typeof SUBJECT | null = SUBJECT): Stepped => send(opened(subject).snapshot, askMore('Who is your team lead?'), ASKED_AT);

const approved = (resetSecondFactor = false): Stepped => send(opened().snapshot, approve(resetSecondFactor), APPROVED_AT);

const choosingPassword = (): Stepped => send(approved().snapshot, TICK, WINDOW_END);

const reviewingSecurity = (): Stepped => {
  const applying = send(choosingPassword().snapshot, PASSWORD, WINDOW_END + MINUTE);
  return send(applying.snapshot, APPLIED, WINDOW_END + MINUTE);
};

const bindingRequired = (): Stepped => send(reviewingSecurity().snapshot, SECURITY_DONE, WINDOW_END + 2 * MINUTE);

const awaitingCode = (kind: 'phone' | 'email' = 'phone', value = NEW_PHONE, currentEpoch = NEW_EPOCH): Stepped =>
  send(bindingRequired().snapshot, channel(kind, value, currentEpoch), BIND_AT);

/** The code the person received for the flow's current binding code. */
const codeIn = (snapshot: Snapshot): string => {
  const code = ctx(snapshot).code;
  if (code === null) throw new Error('no code issued');
  return SECRETS.code(code.binding, code.counter, POLICY.code.digits);
};
const wrongCodeIn = (snapshot: Snapshot): string => (codeIn(snapshot) === '000000' ? '111111' : '000000');

const deliverCode = (kind: 'phone' | 'email', to: string, counter: number, epoch = NEW_EPOCH): EmittedAction => ({
  type: 'deliverCode',
  params: {
    channel: kind === 'phone' ? 'sms' : 'email',
    to,
    binding: { flowId: FLOW, purpose: `binding.${kind}`, epoch, nonce: NONCE },
    counter,
    template: 'binding.code',
    budgetKeys: [`sends:${kind}:${to}`],
    deliver: true,
  },
});

// ---------------------------------------------------------------------------------------------
// exported helpers
// ---------------------------------------------------------------------------------------------

describe('manual review helpers', () => {
  it('should end a case flowMaxLifetimeMs after its start', () => {
    expect(reviewExpiresAt({ startedAt: 1_000 }, { flowMaxLifetimeMs: 500 })).toBe(1_500);
  });

  it('should cap a deadline at the end of the case, and give the end when there is none', () => {
    const lifetime = { flowMaxLifetimeMs: 500 };
    expect(reviewDue({ startedAt: 1_000 }, lifetime, 1_499)).toBe(1_499);
    expect(reviewDue({ startedAt: 1_000 }, lifetime, 1_500)).toBe(1_500);
    expect(reviewDue({ startedAt: 1_000 }, lifetime, 1_501)).toBe(1_500);
    expect(reviewDue({ startedAt: 1_000 }, lifetime, null)).toBe(1_500);
  });

  it('should name the case state as one dotted name, and nothing for a value without a case', () => {
    expect(reviewCaseState({ case: 'awaitingAgent', evidence: 'kept' })).toBe('awaitingAgent');
    expect(reviewCaseState({ case: { hardening: 'choosingPassword' }, evidence: 'kept' })).toBe('hardening.choosingPassword');
    // Only two levels are named: deeper nesting reads as its top state, never as "[object Object]".
    expect(reviewCaseState({ case: { hardening: { applying: 'waiting' } } })).toBe('hardening');
    expect(reviewCaseState({ evidence: 'kept' })).toBe('');
    expect(reviewCaseState({ case: null })).toBe('');
  });

  it('should list exactly the final states of the case region as final', () => {
    // The host ends a flow by this set; a state that stopped being final (or a new final one)
    // would leave flows open or end them early.
    const caseStates = Object.values((machine.root.states['case'] as { states: Record<string, { key: string; type: string }> }).states);
    expect(new Set(caseStates.filter((node) => node.type === 'final').map((node) => node.key))).toEqual(REVIEW_FINAL_STATES);
    // The diagrams and the transition records name every state under this id.
    expect(machine.id).toBe('manualReview');
  });
});

// ---------------------------------------------------------------------------------------------
// before the ticket
// ---------------------------------------------------------------------------------------------

describe('manual review before the ticket', () => {
  it('should abandon at the person deadline exactly, close the case there and purge at once, telling no one', () => {
    const named = send(start(), account(), T0);
    const due = T0 + REVIEW.userResponseMs;
    expect(send(named.snapshot, TICK, due - 1).accepted).toBe(false);
    const { snapshot, effects } = send(named.snapshot, TICK, due);
    expect(caseOf(snapshot)).toBe('abandoned');
    expect(effects).toStrictEqual([]);
    // Nothing was filed, so nothing is kept: the evidence region ends with the case.
    expect(evidenceOf(snapshot)).toBe('purged');
    expect(ctx(snapshot)).toMatchObject({ closedAt: due, purgedAt: due, named: null });
    expect(snapshot.status).toBe('done');
  });

  it('should abandon from the first screen too at the person deadline', () => {
    const due = T0 + REVIEW.userResponseMs;
    expect(send(start(), TICK, due - 1).accepted).toBe(false);
    const { snapshot } = send(start(), TICK, due);
    expect(caseOf(snapshot)).toBe('abandoned');
    expect(ctx(snapshot)).toMatchObject({ closedAt: due, purgedAt: due });
  });

  it('should close a case cancelled before the ticket at the cancel, and purge without an audit entry', () => {
    const fromAccount = send(start(), CANCEL, T0 + MINUTE);
    expect(caseOf(fromAccount.snapshot)).toBe('cancelled');
    expect(fromAccount.effects).toStrictEqual([]);
    expect(ctx(fromAccount.snapshot)).toMatchObject({ closedAt: T0 + MINUTE, purgedAt: T0 + MINUTE });

    const named = send(start(), account(), T0);
    const fromEvidence = send(named.snapshot, CANCEL, T0 + 2 * MINUTE);
    expect(caseOf(fromEvidence.snapshot)).toBe('cancelled');
    expect(evidenceOf(fromEvidence.snapshot)).toBe('purged');
    expect(fromEvidence.effects).toStrictEqual([]);
    expect(ctx(fromEvidence.snapshot)).toMatchObject({ closedAt: T0 + 2 * MINUTE, purgedAt: T0 + 2 * MINUTE, named: null });
  });
});

// ---------------------------------------------------------------------------------------------
// the open ticket
// ---------------------------------------------------------------------------------------------

describe('manual review with the ticket open', () => {
  it('should open the ticket with the agent deadline, audited with the account when it matched', () => {
    const { snapshot, effects } = opened();
    const agentDueAt = T0 + REVIEW.agentActionMs;
    expect(effects).toStrictEqual([
      { type: 'openTicket', params: { ticketId: FLOW, accountId: ACCOUNT_ID, agentDueAt } },
      audit('review.opened', { matched: true }),
    ]);
    expect(ctx(snapshot)).toMatchObject({ evidence: EVIDENCE, ticketOpenedAt: T0, agentDueAt, userDueAt: null });
  });

  it('should audit a ticket about no account without an account id', () => {
    const { effects } = opened(null);
    expect(effects).toStrictEqual([
      { type: 'openTicket', params: { ticketId: FLOW, accountId: null, agentDueAt: T0 + REVIEW.agentActionMs } },
      { type: 'audit', params: { kind: 'review.opened', detail: { matched: false } } },
    ]);
  });

  it('should time out at the agent deadline exactly, not a millisecond before', () => {
    const open = opened().snapshot;
    const due = T0 + REVIEW.agentActionMs;
    expect(send(open, TICK, due - 1).accepted).toBe(false);
    const { snapshot, effects } = send(open, TICK, due);
    expect(caseOf(snapshot)).toBe('timedOut');
    expect(effects).toStrictEqual([closeTicket('timed_out'), closedAudit('timed_out')]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: due, agentDueAt: null, userDueAt: null });
  });

  it('should refuse an approval when the named account matched nothing, from either waiting state', () => {
    expect(send(opened(null).snapshot, approve(), APPROVED_AT).accepted).toBe(false);
    expect(send(asked(null).snapshot, approve(), APPROVED_AT).accepted).toBe(false);
  });

  it('should record a rejection of no account as unmatched, without an account id', () => {
    const { snapshot, effects } = send(opened(null).snapshot, REJECT, APPROVED_AT);
    expect(caseOf(snapshot)).toBe('rejected');
    expect(effects).toStrictEqual([
      closeTicket('rejected'),
      { type: 'audit', params: { kind: 'review.rejected', detail: { matched: false, infoRequests: 0 } } },
    ]);
  });

  it('should withdraw a waiting ticket on cancel, telling the queue', () => {
    const { snapshot, effects } = send(opened().snapshot, CANCEL, APPROVED_AT);
    expect(caseOf(snapshot)).toBe('cancelled');
    expect(effects).toStrictEqual([closeTicket('withdrawn'), closedAudit('withdrawn')]);
  });
});

describe('manual review questions', () => {
  it('should ask with a person deadline, then hand the ticket back to support with an agent deadline', () => {
    const question = asked();
    const userDueAt = ASKED_AT + REVIEW.userResponseMs;
    expect(question.effects).toStrictEqual([
      { type: 'updateTicket', params: { ticketId: FLOW, awaiting: 'user', dueAt: userDueAt } },
      audit('review.askedMore', { agent: AGENT, round: 1 }),
    ]);
    expect(ctx(question.snapshot)).toMatchObject({ infoRequests: 1, agentDueAt: null, userDueAt });

    const answeredAt = ASKED_AT + HOUR;
    const reply = send(question.snapshot, answer('Zhang Wei.'), answeredAt);
    const agentDueAt = answeredAt + REVIEW.agentActionMs;
    expect(caseOf(reply.snapshot)).toBe('awaitingAgent');
    expect(reply.effects).toStrictEqual([{ type: 'updateTicket', params: { ticketId: FLOW, awaiting: 'agent', dueAt: agentDueAt } }]);
    expect(ctx(reply.snapshot)).toMatchObject({ agentDueAt, userDueAt: null });
  });

  it('should put each answer on the last question only', () => {
    let snapshot = asked().snapshot;
    snapshot = send(snapshot, answer('Zhang Wei.'), ASKED_AT + 1).snapshot;
    snapshot = send(snapshot, askMore('Which city last spring?'), ASKED_AT + 2).snapshot;
    snapshot = send(snapshot, answer('Suzhou.'), ASKED_AT + 3).snapshot;
    expect(ctx(snapshot).conversation).toStrictEqual([
      { question: 'Who is your team lead?', askedAt: ASKED_AT, askedBy: AGENT, answer: 'Zhang Wei.', answeredAt: ASKED_AT + 1 },
      { question: 'Which city last spring?', askedAt: ASKED_AT + 2, askedBy: AGENT, answer: 'Suzhou.', answeredAt: ASKED_AT + 3 },
    ]);
  });

  it('should allow exactly maxInfoRequests questions', () => {
    let snapshot = opened().snapshot;
    for (let round = 1; round <= REVIEW.maxInfoRequests; round++) {
      const question = send(snapshot, askMore(`Question ${round}?`), T0 + round);
      expect(question.accepted).toBe(true);
      snapshot = send(question.snapshot, answer(`Answer ${round}.`), T0 + round).snapshot;
    }
    expect(ctx(snapshot).infoRequests).toBe(REVIEW.maxInfoRequests);
    expect(send(snapshot, askMore('One more?'), T0 + HOUR).accepted).toBe(false);
  });

  it('should abandon at the deadline of the question exactly, clearing it', () => {
    const question = asked().snapshot;
    const due = ASKED_AT + REVIEW.userResponseMs;
    expect(send(question, TICK, due - 1).accepted).toBe(false);
    const { snapshot, effects } = send(question, TICK, due);
    expect(caseOf(snapshot)).toBe('abandoned');
    expect(effects).toStrictEqual([closeTicket('abandoned'), closedAudit('abandoned', 1)]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: due, userDueAt: null, agentDueAt: null });
  });

  it('should take an approval while a question is open, and end the person deadline', () => {
    const { snapshot, effects } = send(asked().snapshot, approve(true), APPROVED_AT);
    expect(caseOf(snapshot)).toBe('disputeWindow');
    expect(effects).toStrictEqual([
      closeTicket('approved'),
      closedAudit('approved', 1),
      { type: 'notifyChannels', params: { accountId: ACCOUNT_ID, template: 'review.approved' } },
      audit('review.windowOpened', { agent: AGENT, resetSecondFactor: true, windowEndsAt: WINDOW_END }),
    ]);
    expect(ctx(snapshot)).toMatchObject({
      decision: { kind: 'approved', by: AGENT, at: APPROVED_AT, resetSecondFactor: true },
      windowEndsAt: WINDOW_END,
      closedAt: APPROVED_AT,
      agentDueAt: null,
      userDueAt: null,
    });
  });

  it('should take a rejection, a withdrawal and an owner stop while a question is open, each ending the person deadline', () => {
    const rejected = send(asked().snapshot, REJECT, APPROVED_AT);
    expect(caseOf(rejected.snapshot)).toBe('rejected');
    expect(rejected.effects).toStrictEqual([closeTicket('rejected'), closedAudit('rejected', 1)]);
    expect(ctx(rejected.snapshot)).toMatchObject({
      decision: { kind: 'rejected', by: AGENT, at: APPROVED_AT, reason: 'The contacts do not match.' },
      closedAt: APPROVED_AT,
      userDueAt: null,
      windowEndsAt: null,
    });

    const withdrawn = send(asked().snapshot, CANCEL, APPROVED_AT);
    expect(caseOf(withdrawn.snapshot)).toBe('cancelled');
    expect(withdrawn.effects).toStrictEqual([closeTicket('withdrawn'), closedAudit('withdrawn', 1)]);
    expect(ctx(withdrawn.snapshot)).toMatchObject({ closedAt: APPROVED_AT, userDueAt: null });

    const stopped = send(asked().snapshot, OWNER_STOP, APPROVED_AT);
    expect(caseOf(stopped.snapshot)).toBe('stoppedByOwner');
    expect(stopped.effects).toStrictEqual([closeTicket('stopped_by_owner'), closedAudit('stopped_by_owner', 1)]);
    expect(ctx(stopped.snapshot)).toMatchObject({ closedAt: APPROVED_AT, userDueAt: null });
  });
});

// ---------------------------------------------------------------------------------------------
// after the approval: the ticket is closed, the audit log still hears everything
// ---------------------------------------------------------------------------------------------

describe('manual review during the dispute window', () => {
  const LATER = APPROVED_AT + 2 * HOUR;

  it('should uphold a dispute without closing the ticket twice, keeping the first close time', () => {
    const { snapshot, effects } = send(approved().snapshot, REJECT, LATER);
    expect(caseOf(snapshot)).toBe('rejected');
    expect(effects).toStrictEqual([closedAudit('rejected')]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: APPROVED_AT, windowEndsAt: null, passwordHash: null });
  });

  it('should let the owner stop the window, which then has no end', () => {
    const { snapshot, effects } = send(approved().snapshot, OWNER_STOP, LATER);
    expect(caseOf(snapshot)).toBe('stoppedByOwner');
    expect(effects).toStrictEqual([closedAudit('stopped_by_owner')]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: APPROVED_AT, windowEndsAt: null, passwordHash: null });
  });

  it('should let the person withdraw during the window', () => {
    const { snapshot, effects } = send(approved().snapshot, CANCEL, LATER);
    expect(caseOf(snapshot)).toBe('cancelled');
    expect(effects).toStrictEqual([closedAudit('withdrawn')]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: APPROVED_AT });
  });

  it('should open the password at the end of the window exactly, with a fresh person deadline', () => {
    const window = approved().snapshot;
    expect(send(window, TICK, WINDOW_END - 1).accepted).toBe(false);
    const { snapshot, effects } = choosingPassword();
    expect(caseOf(snapshot)).toBe('hardening.choosingPassword');
    expect(effects).toStrictEqual([audit('review.windowPassed')]);
    expect(ctx(snapshot).userDueAt).toBe(AFTER_WINDOW_DUE);
  });

  it('should ask for the second-factor reset at the end of the window, only while the reset state lasts', () => {
    const window = approved(true).snapshot;
    expect(send(window, TICK, WINDOW_END - 1).accepted).toBe(false);
    const { snapshot, effects } = send(window, TICK, WINDOW_END);
    expect(caseOf(snapshot)).toBe('resettingSecondFactor');
    expect(effects).toStrictEqual([
      audit('review.windowPassed'),
      { type: 'resetSecondFactor', params: { accountId: ACCOUNT_ID, expectedEpoch: SUBJECT.epoch, onlyWhile: 'case.resettingSecondFactor' } },
    ]);
    expect(ctx(snapshot).userDueAt).toBe(AFTER_WINDOW_DUE);
  });

  it('should let the owner stop a queued second-factor reset', () => {
    const resetting = send(approved(true).snapshot, TICK, WINDOW_END).snapshot;
    const { snapshot, effects } = send(resetting, OWNER_STOP, WINDOW_END + 1);
    expect(caseOf(snapshot)).toBe('stoppedByOwner');
    expect(effects).toStrictEqual([closedAudit('stopped_by_owner')]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: APPROVED_AT, windowEndsAt: null, userDueAt: null });
  });
});

describe('manual review at the end of its lifetime', () => {
  const END = T0 + POLICY.flowMaxLifetimeMs;
  const LATE_APPROVAL = END - DAY + HOUR;

  /** Three rounds of questions, each answered late, stretch the case to an approval a day before its end. */
  const lateApproval = (): { readonly answered: Stepped; readonly approval: Stepped } => {
    let snapshot = opened().snapshot;
    const rounds: readonly (readonly [number, number])[] = [
      [T0 + 3 * DAY - 1, T0 + 10 * DAY - 2],
      [T0 + 13 * DAY - 3, T0 + 20 * DAY - 4],
      [T0 + 23 * DAY - 5, END - DAY],
    ];
    let answered: Stepped | null = null;
    for (const [askAt, answerAt] of rounds) {
      snapshot = send(snapshot, askMore('And?'), askAt).snapshot;
      answered = send(snapshot, answer('This.'), answerAt);
      snapshot = answered.snapshot;
    }
    if (answered === null) throw new Error('no rounds');
    return { answered, approval: send(snapshot, approve(), LATE_APPROVAL) };
  };

  it('should cap the agent deadline of a late answer at the end of the case', () => {
    const { answered } = lateApproval();
    expect(answered.effects).toStrictEqual([{ type: 'updateTicket', params: { ticketId: FLOW, awaiting: 'agent', dueAt: END } }]);
    expect(ctx(answered.snapshot).agentDueAt).toBe(END);
  });

  it('should expire a window that outlives the case at the end exactly, keeping the close time of the approval', () => {
    const window = lateApproval().approval.snapshot;
    expect(ctx(window).windowEndsAt).toBe(LATE_APPROVAL + REVIEW.disputeWindowMs);
    expect(send(window, TICK, END - 1).accepted).toBe(false);
    const { snapshot, effects } = send(window, TICK, END);
    expect(caseOf(snapshot)).toBe('expired');
    expect(effects).toStrictEqual([audit('review.expired', { matched: true, infoRequests: REVIEW.maxInfoRequests })]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: LATE_APPROVAL, agentDueAt: null, userDueAt: null, windowEndsAt: null });
  });
});

describe('manual review around the new password', () => {
  it('should let the owner stop and the person withdraw before a password is submitted', () => {
    const stopped = send(choosingPassword().snapshot, OWNER_STOP, WINDOW_END + 1);
    expect(caseOf(stopped.snapshot)).toBe('stoppedByOwner');
    expect(stopped.effects).toStrictEqual([closedAudit('stopped_by_owner')]);
    expect(ctx(stopped.snapshot)).toMatchObject({ closedAt: APPROVED_AT, userDueAt: null, windowEndsAt: null });

    const withdrawn = send(choosingPassword().snapshot, CANCEL, WINDOW_END + 1);
    expect(caseOf(withdrawn.snapshot)).toBe('cancelled');
    expect(withdrawn.effects).toStrictEqual([closedAudit('withdrawn')]);
    expect(ctx(withdrawn.snapshot)).toMatchObject({ closedAt: APPROVED_AT, userDueAt: null });
  });

  it('should refuse the owner stop once a password is submitted, while it is applied and after', () => {
    const applying = send(choosingPassword().snapshot, PASSWORD, WINDOW_END + MINUTE).snapshot;
    expect(ctx(applying).passwordHash).toBe('scrypt$new');
    expect(send(applying, OWNER_STOP, WINDOW_END + 2 * MINUTE).accepted).toBe(false);
    const reviewing = reviewingSecurity().snapshot;
    expect(send(reviewing, OWNER_STOP, WINDOW_END + 2 * MINUTE).accepted).toBe(false);
    expect(send(reviewing, CANCEL, WINDOW_END + 2 * MINUTE).accepted).toBe(false);
  });

  it('should abandon at the person deadline exactly when no password came', () => {
    const choosing = choosingPassword().snapshot;
    expect(send(choosing, TICK, AFTER_WINDOW_DUE - 1).accepted).toBe(false);
    const { snapshot, effects } = send(choosing, TICK, AFTER_WINDOW_DUE);
    expect(caseOf(snapshot)).toBe('abandoned');
    expect(effects).toStrictEqual([closedAudit('abandoned')]);
    expect(ctx(snapshot)).toMatchObject({ closedAt: APPROVED_AT, userDueAt: null });
  });

  it('should lapse at the person deadline exactly when the password stands but the review was left open', () => {
    const reviewing = reviewingSecurity().snapshot;
    expect(send(reviewing, TICK, AFTER_WINDOW_DUE - 1).accepted).toBe(false);
    const { snapshot, effects } = send(reviewing, TICK, AFTER_WINDOW_DUE);
    expect(caseOf(snapshot)).toBe('bindingLapsed');
    expect(effects).toStrictEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// the binding
// ---------------------------------------------------------------------------------------------

describe('manual review binding a reachable channel', () => {
  it('should refuse a channel for an account that is gone', () => {
    const { snapshot, effects } = send(bindingRequired().snapshot, channel('phone', NEW_PHONE, null), BIND_AT);
    expect(caseOf(snapshot)).toBe('refused');
    expect(effects).toStrictEqual([]);
  });

  it('should lapse at the person deadline exactly when no channel came', () => {
    const required = bindingRequired().snapshot;
    expect(send(required, TICK, AFTER_WINDOW_DUE - 1).accepted).toBe(false);
    expect(caseOf(send(required, TICK, AFTER_WINDOW_DUE).snapshot)).toBe('bindingLapsed');
  });

  it('should send a phone code by SMS and an e-mail code by e-mail, bound to the new epoch', () => {
    const phone = awaitingCode('phone', NEW_PHONE);
    expect(caseOf(phone.snapshot)).toBe('awaitingBindingCode');
    expect(phone.effects).toStrictEqual([deliverCode('phone', NEW_PHONE, 0)]);
    expect(ctx(phone.snapshot)).toMatchObject({
      bindKind: 'phone',
      bindValue: NEW_PHONE,
      bindEpoch: NEW_EPOCH,
      resendAllowedAt: BIND_AT + POLICY.sends.cooldownMs,
      sends: 1,
      userDueAt: BIND_AT + REVIEW.userResponseMs,
    });

    const email = awaitingCode('email', NEW_EMAIL);
    expect(email.effects).toStrictEqual([deliverCode('email', NEW_EMAIL, 0)]);
  });

  it('should resend to the chosen channel after the cooldown exactly, and quote the wait before it', () => {
    const waiting = awaitingCode('email', NEW_EMAIL).snapshot;
    const allowedAt = BIND_AT + POLICY.sends.cooldownMs;
    const early = send(waiting, RESEND, allowedAt - 1);
    expect(early.effects).toStrictEqual([]);
    expect(ctx(early.snapshot)).toMatchObject({ notice: { code: 'cooldown', retryAfterMs: 1 }, sends: 1, resendAllowedAt: allowedAt });

    const resent = send(early.snapshot, RESEND, allowedAt);
    expect(resent.effects).toStrictEqual([deliverCode('email', NEW_EMAIL, 1)]);
    expect(ctx(resent.snapshot)).toMatchObject({
      notice: null,
      sends: 2,
      bindKind: 'email',
      bindValue: NEW_EMAIL,
      resendAllowedAt: allowedAt + POLICY.sends.cooldownMs,
      userDueAt: allowedAt + REVIEW.userResponseMs,
    });
  });

  it('should take a corrected channel after the cooldown exactly, and quote the wait before it', () => {
    const waiting = awaitingCode('phone', NEW_PHONE).snapshot;
    const allowedAt = BIND_AT + POLICY.sends.cooldownMs;
    const early = send(waiting, channel('email', NEW_EMAIL), allowedAt - 1);
    expect(early.effects).toStrictEqual([]);
    expect(ctx(early.snapshot)).toMatchObject({ notice: { code: 'cooldown', retryAfterMs: 1 }, bindKind: 'phone', bindValue: NEW_PHONE });

    const corrected = send(early.snapshot, channel('email', NEW_EMAIL), allowedAt);
    expect(corrected.effects).toStrictEqual([deliverCode('email', NEW_EMAIL, 1)]);
    expect(ctx(corrected.snapshot)).toMatchObject({ bindKind: 'email', bindValue: NEW_EMAIL, bindEpoch: NEW_EPOCH, notice: null });
  });

  it('should kill the code and wait as long as the messenger asks when it refuses the send', () => {
    const waiting = awaitingCode().snapshot;
    const at = BIND_AT + 5_000;
    const { snapshot, effects, accepted } = send(waiting, { type: 'delivery.refused', retryAfterMs: 7_000 }, at);
    expect(accepted).toBe(true);
    expect(effects).toStrictEqual([]);
    expect(ctx(snapshot)).toMatchObject({ resendAllowedAt: at + 7_000, notice: { code: 'rate_limited', retryAfterMs: 7_000 } });
    expect(ctx(snapshot).code?.expiresAt).toBe(at);
  });

  it('should kill the code on a failed send, and allow a resend at once only when the failure was retryable', () => {
    const waiting = awaitingCode().snapshot;
    const at = BIND_AT + 5_000;
    const lost = send(waiting, { type: 'delivery.failed', retryable: false }, at);
    expect(lost.accepted).toBe(true);
    expect(ctx(lost.snapshot)).toMatchObject({ resendAllowedAt: BIND_AT + POLICY.sends.cooldownMs, notice: { code: 'delivery_failed' } });
    expect(ctx(lost.snapshot).code?.expiresAt).toBe(at);

    const retryable = send(waiting, { type: 'delivery.failed', retryable: true }, at);
    expect(ctx(retryable.snapshot)).toMatchObject({ resendAllowedAt: at, notice: { code: 'delivery_failed' } });
  });

  it('should lapse at the person deadline exactly with a code out', () => {
    const waiting = awaitingCode().snapshot;
    const due = BIND_AT + REVIEW.userResponseMs;
    expect(send(waiting, TICK, due - 1).accepted).toBe(false);
    expect(caseOf(send(waiting, TICK, due).snapshot)).toBe('bindingLapsed');
  });

  it('should count a wrong code against the account and keep waiting', () => {
    const waiting = awaitingCode().snapshot;
    const { snapshot, effects } = send(waiting, codeSubmit(wrongCodeIn(waiting)), BIND_AT + 1);
    expect(caseOf(snapshot)).toBe('awaitingBindingCode');
    expect(effects).toStrictEqual([{ type: 'recordFailure', params: { key: `failures:account:${ACCOUNT_ID}` } }]);
    expect(ctx(snapshot)).toMatchObject({ notice: { code: 'code_invalid' } });
    expect(ctx(snapshot).code).toMatchObject({ wrongForCode: 1, wrongForFlow: 1 });
  });

  it('should not count a code submitted after it expired', () => {
    const waiting = awaitingCode().snapshot;
    const { snapshot, effects } = send(waiting, codeSubmit(codeIn(waiting)), BIND_AT + POLICY.code.ttlMs);
    expect(caseOf(snapshot)).toBe('awaitingBindingCode');
    expect(effects).toStrictEqual([]);
    expect(ctx(snapshot).notice).toStrictEqual({ code: 'code_expired' });
  });

  it('should refuse the right code once the account is gone, even when its old epoch would match', () => {
    // Bound under epoch 1: an account that vanished must not read as epoch 1 (nor as any epoch).
    const waiting = awaitingCode('phone', NEW_PHONE, 1).snapshot;
    const { snapshot, effects } = send(waiting, codeSubmit(codeIn(waiting), null, null), BIND_AT + 1);
    expect(caseOf(snapshot)).toBe('awaitingBindingCode');
    expect(effects).toStrictEqual([{ type: 'recordFailure', params: { key: `failures:account:${ACCOUNT_ID}` } }]);
  });

  it('should lock the flow on the wrong code that uses up its tries, with the lock notice', () => {
    let snapshot = awaitingCode().snapshot;
    let at = BIND_AT;
    const wrongs = (count: number) => {
      for (let i = 0; i < count; i++) {
        const wrong = send(snapshot, codeSubmit(wrongCodeIn(snapshot)), ++at);
        expect(caseOf(wrong.snapshot)).toBe('awaitingBindingCode');
        snapshot = wrong.snapshot;
      }
    };
    wrongs(POLICY.code.maxWrongPerCode);
    at = BIND_AT + POLICY.sends.cooldownMs;
    snapshot = send(snapshot, RESEND, at).snapshot;
    wrongs(POLICY.code.maxWrongPerFlow - POLICY.code.maxWrongPerCode - 1);
    const last = send(snapshot, codeSubmit(wrongCodeIn(snapshot)), ++at);
    expect(caseOf(last.snapshot)).toBe('locked');
    expect(last.effects).toStrictEqual([{ type: 'recordFailure', params: { key: `failures:account:${ACCOUNT_ID}` } }]);
    expect(ctx(last.snapshot).notice).toStrictEqual({ code: 'flow_locked', retryAfterMs: POLICY.code.flowLockMs });
  });

  it('should bind the channel under the new epoch on the right code, keeping the value it replaces', () => {
    const waiting = awaitingCode().snapshot;
    const { snapshot, effects } = send(waiting, codeSubmit(codeIn(waiting), OLD_PHONE), BIND_AT + 1);
    expect(caseOf(snapshot)).toBe('applyingBinding');
    expect(effects).toStrictEqual([
      { type: 'bindChannel', params: { accountId: ACCOUNT_ID, expectedEpoch: NEW_EPOCH, channel: { kind: 'phone', value: NEW_PHONE } } },
    ]);
    expect(ctx(snapshot)).toMatchObject({ previous: OLD_PHONE, notice: null });
    expect(ctx(snapshot).code?.used).toBe(true);
  });
});

describe('manual review once the binding is applied or refused', () => {
  /** The code redeemed with `current` as the account's value of that kind at the time. */
  const applying = (kind: 'phone' | 'email', value: string, current: string | null): Snapshot => {
    const waiting = awaitingCode(kind, value).snapshot;
    return send(waiting, codeSubmit(codeIn(waiting), current), BIND_AT + 1).snapshot;
  };
  const BOUND_AT = BIND_AT + 2;
  const changedEverywhere: EmittedAction = { type: 'notifyChannels', params: { accountId: ACCOUNT_ID, template: 'channel.changed' } };

  it('should tell the replaced number by SMS, and every bound channel, and end the person deadline', () => {
    const { snapshot, effects } = send(applying('phone', NEW_PHONE, OLD_PHONE), { type: 'binding.applied', verifiedAt: BOUND_AT }, BOUND_AT);
    expect(caseOf(snapshot)).toBe('recovered');
    expect(effects).toStrictEqual([
      { type: 'notifyAddress', params: { channel: 'sms', to: OLD_PHONE, template: 'channel.changed' } },
      changedEverywhere,
      audit('review.bound', { channel: 'phone', replaced: true }),
    ]);
    expect(ctx(snapshot).userDueAt).toBeNull();
  });

  it('should tell a replaced e-mail address by e-mail', () => {
    const { effects } = send(applying('email', NEW_EMAIL, 'old@example.com'), { type: 'binding.applied', verifiedAt: BOUND_AT }, BOUND_AT);
    expect(effects).toStrictEqual([
      { type: 'notifyAddress', params: { channel: 'email', to: 'old@example.com', template: 'channel.changed' } },
      changedEverywhere,
      audit('review.bound', { channel: 'email', replaced: true }),
    ]);
  });

  it('should tell no separate address when nothing was replaced, or the same value was bound again', () => {
    const fresh = send(applying('phone', NEW_PHONE, null), { type: 'binding.applied', verifiedAt: BOUND_AT }, BOUND_AT);
    expect(fresh.effects).toStrictEqual([changedEverywhere, audit('review.bound', { channel: 'phone', replaced: false })]);
    const same = send(applying('phone', NEW_PHONE, NEW_PHONE), { type: 'binding.applied', verifiedAt: BOUND_AT }, BOUND_AT);
    expect(same.effects).toStrictEqual([changedEverywhere, audit('review.bound', { channel: 'phone', replaced: true })]);
  });

  it('should ask for another channel when the chosen one is taken, and refuse on any other conflict', () => {
    const taken = send(applying('phone', NEW_PHONE, null), { type: 'binding.conflict', reason: 'channel_taken' }, BOUND_AT);
    expect(caseOf(taken.snapshot)).toBe('bindingRequired');
    expect(taken.effects).toStrictEqual([]);
    expect(ctx(taken.snapshot)).toMatchObject({ notice: { code: 'channel_taken' }, code: null });

    const stale = send(applying('phone', NEW_PHONE, null), { type: 'binding.conflict', reason: 'stale_epoch' }, BOUND_AT);
    expect(caseOf(stale.snapshot)).toBe('refused');
    expect(stale.effects).toStrictEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// the evidence region
// ---------------------------------------------------------------------------------------------

describe('manual review evidence retention', () => {
  it('should purge at the end of retention exactly, dropping the rejection reason and auditing it', () => {
    const rejected = send(opened().snapshot, REJECT, APPROVED_AT).snapshot;
    const purgeAt = APPROVED_AT + REVIEW.evidenceRetentionMs;
    expect(send(rejected, TICK, purgeAt - 1).accepted).toBe(false);
    const { snapshot, effects } = send(rejected, TICK, purgeAt);
    expect(evidenceOf(snapshot)).toBe('purged');
    expect(effects).toStrictEqual([audit('review.evidencePurged')]);
    expect(ctx(snapshot)).toMatchObject({
      evidence: null,
      conversation: [],
      named: null,
      purgedAt: purgeAt,
      decision: { kind: 'rejected', by: AGENT, at: APPROVED_AT, reason: null },
    });
    expect(snapshot.status).toBe('done');
  });

  it('should keep an approval as it was when purging, counting retention from the approval', () => {
    let snapshot = awaitingCode().snapshot;
    snapshot = send(snapshot, codeSubmit(codeIn(snapshot)), BIND_AT + 1).snapshot;
    snapshot = send(snapshot, { type: 'binding.applied', verifiedAt: BIND_AT + 2 }, BIND_AT + 2).snapshot;
    const purgeAt = APPROVED_AT + REVIEW.evidenceRetentionMs;
    expect(send(snapshot, TICK, purgeAt - 1).accepted).toBe(false);
    const purged = send(snapshot, TICK, purgeAt);
    expect(purged.effects).toStrictEqual([audit('review.evidencePurged')]);
    expect(ctx(purged.snapshot)).toMatchObject({
      purgedAt: purgeAt,
      evidence: null,
      decision: { kind: 'approved', by: AGENT, at: APPROVED_AT, resetSecondFactor: false },
    });
    // Both regions final: the flow is over.
    expect(caseOf(purged.snapshot)).toBe('recovered');
    expect(purged.snapshot.status).toBe('done');
  });

  it('should purge a conversation with its evidence, without an account id when none matched', () => {
    const withdrawn = send(asked(null).snapshot, CANCEL, APPROVED_AT).snapshot;
    const purgeAt = APPROVED_AT + REVIEW.evidenceRetentionMs;
    const { snapshot, effects } = send(withdrawn, TICK, purgeAt);
    expect(effects).toStrictEqual([{ type: 'audit', params: { kind: 'review.evidencePurged' } }]);
    expect(ctx(snapshot)).toMatchObject({ conversation: [], evidence: null, purgedAt: purgeAt, decision: null });
  });
});
