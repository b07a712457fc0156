/**
 * Hosting manual review. Three kinds of caller step one flow, and the boundary tells them apart
 * by the host's session only, never by the request:
 *
 * - the **person recovering** holds the flow id and no session (they lost their channels);
 * - a **support agent** acts from their own signed-in session that the host marks `role: 'agent'`;
 *   agents decide, and may not act for the person (no agent sets a password or binds a channel);
 * - the **owner** of the named account stops it from a live session of that very account.
 *
 * The person's view never shows the evidence back, nor whether the named account exists; the
 * agent's view (`manualReviewAgentView`) shows both and is never stored as a reply.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import { BindingChannelKind } from '../../machines/binding.ts';
import {
  createManualReviewMachine,
  ManualReviewContext,
  type ManualReviewMachine,
  REVIEW_FINAL_STATES,
  type ReviewSubject,
  reviewCaseState,
  reviewDue,
  reviewExpiresAt,
} from '../../machines/manualReview.ts';
import type { Account, AccountId } from '../domain/account.ts';
import { decodeWith, eventCodec } from '../domain/decode.ts';
import { type Email, maskEmail, parseEmail } from '../domain/email.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { type Handle, parseHandle } from '../domain/handle.ts';
import { maskPhone, parsePhone, type Phone } from '../domain/phone.ts';
import type { Policy } from '../domain/policy.ts';
import { boundedString, EVIDENCE_LIMITS, EvidenceInputProps, evidenceFromInput, evidenceRetainedUntil } from '../domain/reviewTicket.ts';
import { hasPassed, type Instant } from '../domain/time.ts';
import { FlowEnvelope } from '../runtime/envelope.ts';
import { type FlowDefinition, type FlowView, type MachineEvent, TICK, type TrustedFacts } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import type { HostSession } from '../runtime/runtime.ts';
import { requireLiveSession } from './auth.ts';
import { recoveryPasswordEvent } from './recoveryPassword.ts';
import { handlesEventType, newNonce } from './common.ts';

// ---------------------------------------------------------------------------------------------
// codecs
// ---------------------------------------------------------------------------------------------

const optional = <C extends t.Mixed>(codec: C) => t.union([codec, t.undefined]);

export const ManualReviewClientEvent = eventCodec(
  'ManualReviewClientEvent',
  {
    // the person recovering
    /** Exactly one of handle, phone or e-mail: whatever they remember the account by. */
    'account.submit': { handle: optional(boundedString(64)), phone: optional(boundedString(64)), email: optional(boundedString(320)), region: optional(boundedString(8)) },
    'evidence.submit': EvidenceInputProps,
    'evidence.answer': { answer: boundedString(EVIDENCE_LIMITS.answer) },
    'password.submit': { password: t.string },
    'session.revoke': { sessionId: boundedString(128) },
    'security.done': {},
    'channel.submit': { kind: BindingChannelKind, value: boundedString(320), region: optional(boundedString(8)) },
    'code.submit': { code: boundedString(64) },
    'code.resend': {},
    'flow.cancel': {},
    // support
    'review.approve': { resetSecondFactor: t.boolean },
    'review.reject': { reason: optional(boundedString(EVIDENCE_LIMITS.note)) },
    'review.askMore': { question: boundedString(EVIDENCE_LIMITS.note) },
    // the owner
    'owner.stop': {},
  },
  t,
);
export type ManualReviewClientEvent = t.TypeOf<typeof ManualReviewClientEvent>;

type Snapshot = SnapshotFrom<ManualReviewMachine>;

const AGENT_EVENTS: ReadonlySet<string> = new Set(['review.approve', 'review.reject', 'review.askMore']);
const OWNER_EVENTS: ReadonlySet<string> = new Set(['owner.stop']);

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

const isAgent = (facts: TrustedFacts): boolean => facts.role === 'agent' && facts.actor !== null && facts.sessionId !== null;

const notPermitted = (message: string): FlowError => flowError('not_permitted', message);

/** Normalised key of what the person named, and the account behind it if it parsed. */
const nameAccount = async (
  event: Extract<ManualReviewClientEvent, { type: 'account.submit' }>,
  policy: Policy,
  p: FlowPorts,
): Promise<E.Either<FlowError, { readonly named: string; readonly account: Account | undefined }>> => {
  const given = (['handle', 'phone', 'email'] as const).filter((k) => event[k] !== undefined && event[k].trim() !== '');
  const kind = given[0];
  if (given.length !== 1 || kind === undefined) return E.left(flowError('invalid_input', 'Name the account by one of: handle, phone number or e-mail address.', { field: 'account' }));
  const raw = (event[kind] ?? '').trim();
  // Whatever fails to parse is kept as typed and matches nothing: the same answer as an unknown account.
  const unparsed = { named: `unparsed:${kind}:${raw.toLowerCase().slice(0, 64)}`, account: undefined };
  switch (kind) {
    case 'handle': {
      const handle = parseHandle(raw, policy);
      return E.right(E.isLeft(handle) ? unparsed : { named: `handle:${handle.right}`, account: await p.directory.findByHandle(handle.right as Handle) });
    }
    case 'phone': {
      const phone = parsePhone(raw, policy, event.region);
      return E.right(E.isLeft(phone) ? unparsed : { named: `phone:${phone.right}`, account: await p.directory.findByPhone(phone.right) });
    }
    case 'email': {
      const email = parseEmail(raw);
      return E.right(E.isLeft(email) ? unparsed : { named: `email:${email.right}`, account: await p.directory.findByEmail(email.right) });
    }
  }
};

const boundValue = (account: Account | undefined, kind: BindingChannelKind): string | null =>
  account === undefined ? null : kind === 'phone' ? account.phone?.value ?? null : account.email?.value ?? null;

const trimmed = (s: string | undefined): string | null => {
  const out = s?.trim() ?? '';
  return out === '' ? null : out;
};

// ---------------------------------------------------------------------------------------------
// views and deadline
// ---------------------------------------------------------------------------------------------

/** A snapshot as the views need it: live from xstate or read back from storage. */
export interface ManualReviewSnapshotLike {
  readonly value: unknown;
  readonly context: ManualReviewContext;
}

const maskNamed = (named: string | null): string | null => {
  if (named === null) return null;
  const [kind, ...rest] = named.split(':');
  const value = rest.join(':');
  switch (kind) {
    case 'phone':
      return maskPhone(value as Phone);
    case 'email':
      return maskEmail(value as Email);
    case 'handle':
      return `${value.slice(0, 2)}***`;
    default:
      return `${value.slice(value.indexOf(':') + 1).slice(0, 2)}***`;
  }
};

const TICKET_FOR_STATE: Readonly<Record<string, string>> = {
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

const RESULT_FOR_STATE: Readonly<Record<string, string>> = {
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

const MESSAGES: Readonly<Record<string, string>> = {
  enteringEvidence: 'Tell us what you remember about the account: its nickname, your company or team, people you often contact, devices or places you signed in from, a former phone number — and an e-mail address where support can reach you.',
  awaitingAgent: 'Thank you. Customer support will review your request; you will see their answer here.',
  awaitingUser: 'Customer support needs more information. Answer their question below.',
  disputeWindow: 'Support approved your request. For the account holder’s protection you can set a new password once the waiting period ends.',
  resettingSecondFactor: 'Support approved your request. Preparing your account…',
  bindingRequired: 'Your password is set. Now add a phone number or e-mail address you can reach, so you never need support again.',
  awaitingBindingCode: 'Enter the code we sent to your new phone number or e-mail address.',
  recovered: 'Your account is recovered.',
  rejected: 'Customer support could not confirm that the account is yours.',
  timedOut: 'Support did not answer in time. Start a new request; we apologise.',
  abandoned: 'This request ended because nobody answered in time.',
  stoppedByOwner: 'The account holder stopped this recovery.',
  refused: 'The account changed while you were recovering it. Start again.',
  bindingLapsed: 'Your password is set, but no new phone or e-mail was added in time. Sign in and add one.',
  expired: 'This request reached its time limit before the waiting period ended. Start a new request if you still need one.',
};

const caseTop = (value: unknown): string => reviewCaseState(value).split('.')[0] ?? '';

/**
 * What the person recovering sees. Built only from what they typed and what support said, so an
 * unknown account looks exactly like a known one until support decides; never the evidence.
 *
 * @example
 * manualReviewView(policy)(snapshot); // { state: 'awaitingAgent', ticket: 'awaiting_support', agentDueAt: …, question: null, … }
 */
export const manualReviewView =
  (policy: Policy) =>
  (snapshot: ManualReviewSnapshotLike): FlowView => {
    const c = snapshot.context;
    const state = reviewCaseState(snapshot.value);
    const top = caseTop(snapshot.value);
    const open = c.conversation[c.conversation.length - 1];
    const binding = top === 'bindingRequired' || top === 'awaitingBindingCode' || top === 'applyingBinding';
    const reviewing = state === 'hardening.reviewingSecurity';
    const approved = c.decision?.kind === 'approved';
    return {
      state,
      done: REVIEW_FINAL_STATES.has(top),
      account: maskNamed(c.named),
      ticket: TICKET_FOR_STATE[top] ?? (approved ? 'approved' : null),
      agentDueAt: top === 'awaitingAgent' ? c.agentDueAt : null,
      question: top === 'awaitingUser' && open !== undefined && open.answer === null ? open.question : null,
      answerBy: top === 'awaitingUser' ? c.userDueAt : null,
      passwordAllowedAt: approved && c.windowEndsAt !== null && top !== 'stoppedByOwner' ? c.windowEndsAt : null,
      actBy: top === 'enteringAccount' || top === 'enteringEvidence' || top === 'hardening' || binding ? c.userDueAt : null,
      reason: c.decision?.kind === 'rejected' ? c.decision.reason : null,
      evidenceDeletedAt: c.closedAt === null || c.purgedAt !== null ? null : evidenceRetainedUntil(c.closedAt, policy),
      notice: c.notice,
      message: MESSAGES[top] ?? null,
      result: RESULT_FOR_STATE[top] ?? null,
      ...(binding
        ? {
            kind: c.bindKind,
            channel: c.bindValue === null ? null : c.bindKind === 'email' ? maskEmail(c.bindValue as Email) : maskPhone(c.bindValue as Phone),
            codeExpiresAt: c.code !== null && !c.code.used ? c.code.expiresAt : null,
            resendAllowedAt: c.resendAllowedAt,
            triesLeft: c.code === null ? null : Math.max(0, Math.min(policy.code.maxWrongPerCode - c.code.wrongForCode, policy.code.maxWrongPerFlow - c.code.wrongForFlow)),
          }
        : {}),
      ...(reviewing ? { recentLogins: c.recentLogins, offers: c.offers, revokedSessions: c.revokedSessions, signedOut: c.signedOut } : {}),
    };
  };

/**
 * What a support agent sees: the person's view plus the match, the evidence, the whole
 * conversation and the limits. A host renders it only for a session it vouches is an agent's
 * (`readManualReviewAgentView` checks that), and never stores it: the evidence then lives only in
 * the flow, where the retention limit deletes it.
 */
export const manualReviewAgentView =
  (policy: Policy) =>
  (snapshot: ManualReviewSnapshotLike): FlowView => {
    const c = snapshot.context;
    return {
      ...manualReviewView(policy)(snapshot),
      accountId: c.subject?.accountId ?? null,
      matched: c.subject !== null,
      named: c.named,
      evidence: c.evidence,
      conversation: c.conversation,
      infoRequestsLeft: Math.max(0, policy.review.maxInfoRequests - c.infoRequests),
      agentDueAt: c.agentDueAt,
      // The case ends then whatever happens: an approval less than a dispute window before it can only expire.
      expiresAt: reviewExpiresAt(c, policy),
      decision: c.decision,
      ticketOpenedAt: c.ticketOpenedAt,
      closedAt: c.closedAt,
      evidencePurgedAt: c.purgedAt,
    };
  };

/**
 * The next instant the flow must be woken: the case's deadline, never after the case's end, or
 * the evidence's deletion, which may be later. States that wait for an effect's answer
 * (`hardening.applying`, `resettingSecondFactor`, `applyingBinding`) have none: the outbox moves them.
 */
export const manualReviewDeadline =
  (policy: Policy) =>
  (snapshot: ManualReviewSnapshotLike): number | null => {
    const c = snapshot.context;
    const top = caseTop(snapshot.value);
    const state = reviewCaseState(snapshot.value);
    const due = (own: Instant | null): Instant => reviewDue(c, policy, own);
    const caseDeadline: Instant | null = (() => {
      switch (top) {
        case 'awaitingAgent':
          return due(c.agentDueAt);
        case 'disputeWindow':
          return due(c.windowEndsAt);
        case 'hardening':
          return state === 'hardening.applying' ? null : due(c.userDueAt);
        case 'enteringAccount':
        case 'enteringEvidence':
        case 'awaitingUser':
        case 'bindingRequired':
        case 'awaitingBindingCode':
          return due(c.userDueAt);
        default:
          return null;
      }
    })();
    const purgeAt = c.closedAt !== null && c.purgedAt === null ? evidenceRetainedUntil(c.closedAt, policy) : null;
    const pending = [caseDeadline, purgeAt].filter((d): d is number => d !== null);
    return pending.length === 0 ? null : Math.min(...pending);
  };

/**
 * The agent view of a stored flow, for a session the host vouches is an agent's.
 *
 * @example
 * const view = await readManualReviewAgentView(ports, flowId, { actor: 'agent-7', sessionId: 's-9', role: 'agent' });
 */
export const readManualReviewAgentView = async (ports: Pick<FlowPorts, 'store' | 'policy'>, flowId: string, session: HostSession): Promise<E.Either<FlowError, FlowView>> => {
  if (!isAgent({ at: 0, actor: session.actor, sessionId: session.sessionId, ...(session.role === undefined ? {} : { role: session.role }) })) {
    return E.left(notPermitted('Only customer support can see a ticket’s evidence.'));
  }
  const raw = await ports.store.load(flowId);
  if (raw === undefined) return E.left(flowError('flow_not_found', 'No such flow.', { field: 'flowId' }));
  const envelope = decodeWith(FlowEnvelope, raw, 'snapshot_corrupt');
  if (E.isLeft(envelope)) return envelope;
  if (envelope.right.machine !== MANUAL_REVIEW) return E.left(flowError('envelope_mismatch', 'This flow is not a manual review.', { field: 'machine' }));
  const context = decodeWith(ManualReviewContext, envelope.right.snapshot.context, 'snapshot_corrupt');
  if (E.isLeft(context)) return context;
  return E.right(manualReviewAgentView(ports.policy)({ value: envelope.right.snapshot.value, context: context.right }));
};

// ---------------------------------------------------------------------------------------------
// definition
// ---------------------------------------------------------------------------------------------

export const MANUAL_REVIEW = 'manualReview';

/**
 * Manual review with customer support.
 *
 * @example
 * const runtime = createRuntime(ports, [manualReviewFlow(ports)]);
 * const { flowId } = (await runtime.start('manualReview', {})).right;
 * await runtime.send(flowId, { type: 'account.submit', handle: 'wang_xiaoming' });
 * await runtime.send(flowId, { type: 'evidence.submit', nickname: 'Xiaoming', team: 'Hangzhou sales', contactEmail: 'me@example.com' });
 * await runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, { actor: 'agent-7', sessionId: 's-9', role: 'agent' });
 */
export const manualReviewFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>): FlowDefinition<ManualReviewMachine, ManualReviewClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createManualReviewMachine({ policy, secrets: ports.codeSecrets });

  const subjectAccount = async (subject: ReviewSubject, p: FlowPorts): Promise<Account | undefined> =>
    subject === null ? undefined : p.directory.get(subject.accountId as AccountId);

  const enrich = async (event: ManualReviewClientEvent, snapshot: Snapshot, facts: TrustedFacts, p: FlowPorts): Promise<E.Either<FlowError, MachineEvent>> => {
    const context = snapshot.context;
    if (REVIEW_FINAL_STATES.has(caseTop(snapshot.value))) return E.left(flowError('flow_finished', 'This request has already ended.'));
    // Roles first, so a caller in the wrong role learns nothing about the step or the account.
    if (AGENT_EVENTS.has(event.type)) {
      if (!isAgent(facts)) return E.left(notPermitted('Only customer support can decide a review.'));
      if (context.subject !== null && facts.actor === context.subject.accountId) return E.left(notPermitted('Nobody reviews a request about their own account.'));
    } else if (OWNER_EVENTS.has(event.type)) {
      const signedIn = await requireLiveSession(facts, p);
      if (E.isLeft(signedIn)) return signedIn;
      if (context.subject === null || signedIn.right.account.id !== context.subject.accountId) return E.left(notPermitted('Only the account holder can stop this recovery.'));
    } else if (facts.role === 'agent') {
      // Separation of duties: support decides, the person acts; no agent sets a password or a channel.
      return E.left(notPermitted('Support cannot act for the person recovering the account.'));
    }
    // Past its end the case hears the time before anything else, so whatever arrives ends it (as
    // the tick the host is about to deliver would) instead of moving it on: a late answer, code or
    // decision cannot keep it open. States waiting for an effect's answer take no tick and go on.
    if (hasPassed(reviewExpiresAt(context, policy), facts.at) && snapshot.can({ type: 'clock.tick', at: facts.at })) return E.right({ type: TICK });
    if (!handlesEventType(snapshot, event.type)) return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));

    switch (event.type) {
      case 'account.submit': {
        const named = await nameAccount(event, policy, p);
        if (E.isLeft(named)) return named;
        const { account } = named.right;
        const subject: ReviewSubject = account !== undefined && account.status === 'active' ? { accountId: account.id, epoch: account.securityEpoch } : null;
        return E.right({ type: event.type, named: named.right.named, subject });
      }
      case 'evidence.submit': {
        const evidence = evidenceFromInput(event);
        return E.isLeft(evidence) ? evidence : E.right({ type: event.type, evidence: evidence.right });
      }
      case 'evidence.answer': {
        const answer = trimmed(event.answer);
        if (answer === null) return E.left(flowError('invalid_input', 'Write an answer.', { field: 'answer' }));
        return E.right({ type: event.type, answer });
      }
      case 'review.approve': {
        if (context.subject === null) return E.left(notPermitted('Nothing matched what the person named: reject the request instead.'));
        return E.right({ type: event.type, agentId: facts.actor ?? '', resetSecondFactor: event.resetSecondFactor });
      }
      case 'review.reject':
        return E.right({ type: event.type, agentId: facts.actor ?? '', reason: trimmed(event.reason) });
      case 'review.askMore': {
        if (context.infoRequests >= policy.review.maxInfoRequests) {
          return E.left(notPermitted(`At most ${policy.review.maxInfoRequests} questions per request: approve or reject it now.`));
        }
        const question = trimmed(event.question);
        if (question === null) return E.left(flowError('invalid_input', 'Write a question.', { field: 'question' }));
        return E.right({ type: event.type, agentId: facts.actor ?? '', question });
      }
      case 'password.submit': {
        return recoveryPasswordEvent(event.password, context.subject, p);
      }
      case 'channel.submit': {
        const parsed: E.Either<FlowError, string> = event.kind === 'phone' ? parsePhone(event.value, policy, event.region) : parseEmail(event.value);
        if (E.isLeft(parsed)) return E.left({ ...parsed.left, field: 'value' });
        if (event.kind === 'phone' && (await p.blockedNumbers.isBlocked(parsed.right as Phone))) {
          return E.left(flowError('phone_blocked', 'This number cannot be used.', { field: 'value' }));
        }
        // The epoch after the recovery: a code bound to it dies if anything changes the account again.
        const account = await subjectAccount(context.subject, p);
        return E.right({ type: event.type, kind: event.kind, value: parsed.right, currentEpoch: account?.status === 'active' ? account.securityEpoch : null });
      }
      case 'code.submit': {
        const account = await subjectAccount(context.subject, p);
        if (context.subject !== null) {
          const failures = await p.budgets.peek(`failures:account:${context.subject.accountId}`, policy.accountFailures, facts.at);
          if (!failures.allowed) return E.left(flowError('rate_limited', 'Too many wrong codes for this account; try again later.', { field: 'code', retryAfterMs: failures.retryAfterMs }));
        }
        return E.right({
          type: event.type,
          code: event.code,
          currentEpoch: account?.status === 'active' ? account.securityEpoch : null,
          current: boundValue(account, context.bindKind ?? 'phone'),
        });
      }
      case 'session.revoke':
        return E.right({ type: event.type, sessionId: event.sessionId });
      case 'owner.stop':
      case 'security.done':
      case 'code.resend':
      case 'flow.cancel':
        return E.right({ type: event.type });
    }
  };

  return {
    name: MANUAL_REVIEW,
    version: 1,
    machine,
    clientEvents: ManualReviewClientEvent,
    context: ManualReviewContext,
    input: t.exact(t.type({})) as unknown as t.Type<Record<string, never>, unknown, unknown>,
    prepareInput: async (_input, facts, p, flowId) => E.right({ flowId, nonce: newNonce(p), at: facts.at }),
    enrich,
    view: manualReviewView(policy),
    nextDeadline: manualReviewDeadline(policy),
  };
};
