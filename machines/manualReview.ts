/**
 * Manual review by customer support — the last resort of seed 001 for someone whose bound phone
 * and e-mail are both gone: they name the account, tell support what they remember about it
 * (nickname, company or team, frequent contacts, past devices or login places, the former
 * phone), and an agent approves, rejects or asks for more.
 *
 * An approval is not a recovery yet. It opens a dispute window during which every channel still
 * bound to the account is told, and the real owner — who may well still be signed in somewhere —
 * can stop it; an owner's stop wins whenever it arrives before a new password has been submitted.
 * Only after the window has passed undisputed does the shared hardening run (new password, epoch
 * bump, every session out), and then the person must bind a phone or e-mail they can reach, with
 * a code bound to the account's new epoch. This is the only path that may reset an enrolled
 * second factor, and only when the approving agent says so: the factor is what stops every
 * self-service path, and a human who looked at the evidence is the one check it yields to.
 *
 * The machine has two orthogonal regions: `case` is the process above; `evidence` is the
 * lifecycle of the personal data the ticket holds, deleted `review.evidenceRetentionMs` after
 * the ticket closes, whatever the case's outcome and wherever the case is by then.
 *
 * Like every flow, the case lives at most `flowMaxLifetimeMs` from its start (`reviewExpiresAt`).
 * Each deadline it sets — the person's, support's, the binding's — is the earlier of its own and
 * that end, so neither late answers nor resent codes carry the case past it: at the end the case
 * closes as it would at that deadline (abandoned, timed out, binding lapsed). Only the dispute
 * window is never cut short, because the owner is owed all of it; a case whose window would end
 * after the end is `expired` then. Purging the evidence is clean-up, not the case, and may come
 * later.
 *
 * ```mermaid
 * stateDiagram-v2
 *   state case {
 *     [*] --> enteringAccount
 *     enteringAccount --> enteringEvidence: account.submit (subject looked up, never shown)
 *     enteringEvidence --> awaitingAgent: evidence.submit / openTicket, audit
 *     awaitingAgent --> awaitingUser: review.askMore [infoRequests < max]
 *     awaitingUser --> awaitingAgent: evidence.answer
 *     awaitingAgent --> disputeWindow: review.approve [subject] / notifyChannels, closeTicket
 *     awaitingUser --> disputeWindow: review.approve [subject]
 *     awaitingAgent --> rejected: review.reject
 *     awaitingUser --> rejected: review.reject
 *     disputeWindow --> rejected: review.reject (support upholds a dispute)
 *     awaitingAgent --> timedOut: clock.tick [agentActionMs passed]
 *     awaitingUser --> abandoned: clock.tick [userResponseMs passed]
 *     disputeWindow --> expired: clock.tick [flowMaxLifetimeMs passed]
 *     disputeWindow --> resettingSecondFactor: clock.tick [window passed, reset approved] / resetSecondFactor
 *     disputeWindow --> hardening: clock.tick [window passed]
 *     resettingSecondFactor --> hardening: secondFactor.reset
 *     hardening --> bindingRequired: done [applied]
 *     bindingRequired --> awaitingBindingCode: channel.submit / deliverCode (NEW channel, NEW epoch)
 *     awaitingBindingCode --> applyingBinding: code.submit [accepted] / bindChannel
 *     applyingBinding --> recovered: binding.applied / notifyAddress (old value), notifyChannels
 *     applyingBinding --> bindingRequired: binding.conflict [channel_taken]
 *     note right of disputeWindow: owner.stop → stoppedByOwner from every open state until a password is submitted
 *     note left of awaitingAgent: every deadline but the window's is capped at startedAt + flowMaxLifetimeMs
 *   }
 *   state evidence {
 *     [*] --> kept
 *     kept --> purged: clock.tick [closedAt + evidenceRetentionMs reached] / purge
 *     kept --> purged: [closed before any evidence]
 *   }
 * ```
 *
 * Enumeration: the account the person names is looked up at the boundary into a hidden
 * `subject`; an unknown or deactivated account walks the same states at the same times, opens
 * the same ticket (support sees "no match") and sends nothing. Only an agent's decision, or the
 * real owner's stop, can tell the two apart — never the entry.
 */
import * as t from 'io-ts';
import { assign, enqueueActions, setup } from 'xstate';
import type { MessageTemplate } from '../src/domain/effects.ts';
import type { Policy } from '../src/domain/policy.ts';
import { Evidence, Exchange, retentionOver } from '../src/domain/reviewTicket.ts';
import { hasPassed, type Instant } from '../src/domain/time.ts';
import { BindingChannelKind, type BindingConflict, bindingPurpose } from './binding.ts';
import {
  type ChallengeDeps,
  ChallengeContext,
  afterDeliveryFailure,
  codeDelivery,
  cooldownNotice,
  exhaustsFlow,
  issueNext,
  killCode,
  type Notice,
  noticeFor,
  outcomeOf,
  resendAllowed,
  spentATry,
} from './codeChallenge.ts';
import { HardeningContext, type HardeningEvent, hardeningState, initialHardening } from './hardening.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The account behind what the person named: never shown to them, and the same states either way. */
export const ReviewSubject = t.union([t.readonly(t.type({ accountId: t.string, epoch: t.number })), t.null], 'ReviewSubject');
export type ReviewSubject = t.TypeOf<typeof ReviewSubject>;

export const ReviewDecision = t.union(
  [
    t.readonly(t.type({ kind: t.literal('approved'), by: t.string, at: t.number, resetSecondFactor: t.boolean })),
    t.readonly(t.type({ kind: t.literal('rejected'), by: t.string, at: t.number, reason: t.union([t.string, t.null]) })),
    t.null,
  ],
  'ReviewDecision',
);
export type ReviewDecision = t.TypeOf<typeof ReviewDecision>;

/** How a ticket closed, as the support queue and the audit log record it. */
export type TicketOutcome = 'approved' | 'rejected' | 'timed_out' | 'abandoned' | 'stopped_by_owner' | 'withdrawn';

const nullable = <C extends t.Mixed>(codec: C) => t.union([codec, t.null]);

export const ManualReviewContext = t.intersection([
  ChallengeContext,
  HardeningContext,
  t.type({
    startedAt: t.number,
    /** What the person typed to name the account, normalised; personal data, purged with the evidence. */
    named: nullable(t.string),
    subject: ReviewSubject,
    evidence: nullable(Evidence),
    conversation: t.readonlyArray(Exchange),
    infoRequests: t.number,
    /** Support must act by then, or the ticket times out. Never after `reviewExpiresAt`. */
    agentDueAt: nullable(t.number),
    /** The person must act by then, or the flow is abandoned. Never after `reviewExpiresAt`. */
    userDueAt: nullable(t.number),
    decision: ReviewDecision,
    /** The dispute window's end: a new password is possible from this instant on, not before. */
    windowEndsAt: nullable(t.number),
    ticketOpenedAt: nullable(t.number),
    /** When the ticket closed (any outcome): the evidence retention clock starts here. */
    closedAt: nullable(t.number),
    purgedAt: nullable(t.number),
    bindKind: nullable(BindingChannelKind),
    bindValue: nullable(t.string),
    /** The account's epoch when the binding channel was chosen: after the recovery, not before. */
    bindEpoch: nullable(t.number),
    /** The value the binding replaces, as the account had it when the code was redeemed. */
    previous: nullable(t.string),
  }),
]);
export type ManualReviewContext = t.TypeOf<typeof ManualReviewContext>;

export interface ManualReviewInput {
  readonly flowId: string;
  readonly nonce: string;
  readonly at: Instant;
}

export type ManualReviewEvent =
  | { readonly type: 'account.submit'; readonly at: Instant; readonly named: string; readonly subject: ReviewSubject }
  | { readonly type: 'evidence.submit'; readonly at: Instant; readonly evidence: Evidence }
  | { readonly type: 'evidence.answer'; readonly at: Instant; readonly answer: string }
  | { readonly type: 'review.approve'; readonly at: Instant; readonly agentId: string; readonly resetSecondFactor: boolean }
  | { readonly type: 'review.reject'; readonly at: Instant; readonly agentId: string; readonly reason: string | null }
  | { readonly type: 'review.askMore'; readonly at: Instant; readonly agentId: string; readonly question: string }
  /** Attached by the boundary only for a live session of the subject account itself. */
  | { readonly type: 'owner.stop'; readonly at: Instant }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  | { readonly type: 'clock.tick'; readonly at: Instant }
  | { readonly type: 'secondFactor.reset'; readonly at: Instant }
  | { readonly type: 'secondFactor.resetRefused'; readonly at: Instant; readonly reason: string }
  /** `currentEpoch`: the account's epoch now, read at the boundary (null when it is gone). */
  | { readonly type: 'channel.submit'; readonly at: Instant; readonly kind: BindingChannelKind; readonly value: string; readonly currentEpoch: number | null }
  | { readonly type: 'code.submit'; readonly at: Instant; readonly code: string; readonly currentEpoch: number | null; readonly current: string | null }
  | { readonly type: 'code.resend'; readonly at: Instant }
  | { readonly type: 'delivery.sent'; readonly at: Instant }
  | { readonly type: 'delivery.refused'; readonly at: Instant; readonly retryAfterMs: number }
  | { readonly type: 'delivery.failed'; readonly at: Instant; readonly retryable: boolean }
  | { readonly type: 'binding.applied'; readonly at: Instant; readonly verifiedAt: Instant }
  | { readonly type: 'binding.conflict'; readonly at: Instant; readonly reason: BindingConflict }
  | HardeningEvent;

export const REVIEW_APPROVED: MessageTemplate = 'review.approved';
export const REVIEW_SECOND_FACTOR_RESET: MessageTemplate = 'review.secondFactorReset';
const CHANGED: MessageTemplate = 'channel.changed';

type Ctx = ManualReviewContext;
type Ev = ManualReviewEvent;

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

const atOf = (event: Ev): Instant => ('at' in event ? event.at : 0);

/**
 * The instant the case ends at the latest. Derived from `startedAt`, which every stored review
 * has, rather than kept as a field of its own: reviews saved before the cap existed restore as
 * they are and get it at their next tick.
 */
export const reviewExpiresAt = (c: Pick<Ctx, 'startedAt'>, policy: Pick<Policy, 'flowMaxLifetimeMs'>): Instant => c.startedAt + policy.flowMaxLifetimeMs;

/** A deadline of the case: its own, never after the case's end (no deadline of its own: the end). */
export const reviewDue = (c: Pick<Ctx, 'startedAt'>, policy: Pick<Policy, 'flowMaxLifetimeMs'>, own: Instant | null): Instant =>
  Math.min(own ?? Number.POSITIVE_INFINITY, reviewExpiresAt(c, policy));

/** Before a new password was submitted: the owner can still stop it, the person can still walk away. */
const beforePassword = (c: Ctx): boolean => c.passwordHash === null && c.applied === null;

const overdue = (deadline: Instant | null, at: Instant): boolean => deadline !== null && hasPassed(deadline, at);

const messageChannel = (kind: BindingChannelKind): 'sms' | 'email' => (kind === 'phone' ? 'sms' : 'email');

const accountDetail = (c: Ctx): { accountId?: string } => (c.subject === null ? {} : { accountId: c.subject.accountId });

/** The outbox entry for the binding code: binding and counter, never the code. */
const bindingDeliverParams = (c: Ctx) => {
  const kind = c.bindKind ?? 'phone';
  return codeDelivery({
    channel: messageChannel(kind),
    to: c.bindValue ?? '',
    code: c.code,
    unissued: { flowId: c.flowId, purpose: bindingPurpose(kind), epoch: c.bindEpoch ?? 0, nonce: c.nonce },
    template: 'binding.code',
    deliver: true,
  });
};

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

/**
 * Builds the machine for one host; create it once and share it.
 *
 * @example
 * const machine = createManualReviewMachine({ policy, secrets: hmacCodeSecrets(key) });
 * const [s0] = initialTransition(machine, { flowId: 'f1', nonce: 'n1', at: 0 });
 * const [s1] = transition(machine, s0, { type: 'account.submit', at: 1, named: 'wang_xiaoming', subject: { accountId: 'acct-1', epoch: 0 } });
 * // s1.value.case === 'enteringEvidence'
 */
export const createManualReviewMachine = (deps: ChallengeDeps) => {
  const { policy } = deps;
  const review = policy.review;
  const due = (c: Pick<Ctx, 'startedAt'>, own: Instant | null): Instant => reviewDue(c, policy, own);
  const codeOutcome = (c: Ctx, event: Ev) =>
    outcomeOf(deps, c, event.type === 'code.submit' ? event.code : '', atOf(event), {
      purpose: bindingPurpose(c.bindKind ?? 'phone'),
      epoch: event.type === 'code.submit' ? event.currentEpoch ?? -1 : -1,
    });

  /** Closing the ticket, once: the retention clock starts at the first close, and the queue hears it once. */
  const closing = (c: Ctx, at: Instant, outcome: TicketOutcome): { readonly patch: Partial<Ctx>; readonly effects: readonly { type: string; params: unknown }[] } => ({
    patch: { closedAt: c.closedAt ?? at, agentDueAt: null, ...(outcome === 'approved' ? {} : { userDueAt: null }) },
    effects: [
      ...(c.ticketOpenedAt !== null && c.closedAt === null ? [{ type: 'closeTicket', params: { ticketId: c.flowId, outcome } }] : []),
      { type: 'audit', params: { kind: `review.${outcome}`, ...accountDetail(c), detail: { matched: c.subject !== null, infoRequests: c.infoRequests } } },
    ],
  });

  const close = (enqueue: { assign: (patch: Partial<Ctx>) => void } & ((action: never) => void), c: Ctx, at: Instant, outcome: TicketOutcome) => {
    const { patch, effects } = closing(c, at, outcome);
    enqueue.assign(patch);
    for (const effect of effects) enqueue(effect as never);
  };

  return setup({
    types: {
      context: {} as Ctx,
      events: {} as Ev,
      input: {} as ManualReviewInput,
    },
    actions: {
      // Effects: declared by name here, run by the host's executor from the outbox.
      openTicket: (_, _params: { ticketId: string; accountId: string | null; agentDueAt: Instant }) => {},
      updateTicket: (_, _params: { ticketId: string; awaiting: 'agent' | 'user'; dueAt: Instant }) => {},
      closeTicket: (_, _params: { ticketId: string; outcome: TicketOutcome }) => {},
      resetSecondFactor: (_, _params: { accountId: string; expectedEpoch: number }) => {},
      notifyChannels: (_, _params: { accountId: string; template: MessageTemplate }) => {},
      notifyAddress: (_, _params: { channel: 'sms' | 'email'; to: string; template: MessageTemplate }) => {},
      audit: (_, _params: { kind: string; accountId?: string; detail?: Record<string, string | number | boolean | null> }) => {},
      deliverCode: (_, _params: ReturnType<typeof bindingDeliverParams>) => {},
      recordFailure: (_, _params: { key: string }) => {},
      bindChannel: (_, _params: { accountId: string; expectedEpoch: number; channel: { kind: BindingChannelKind; value: string } }) => {},
      completeRecovery: (_, _params: { accountId: string; expectedEpoch: number; passwordHash: string; path: 'review' }) => {},
      revokeSession: (_, _params: { accountId: string; sessionId: string }) => {},

      // The ticket.
      nameAccount: assign(({ event }) => (event.type === 'account.submit' ? { named: event.named, subject: event.subject } : {})),
      fileTicket: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'evidence.submit') return;
        const agentDueAt = due(context, event.at + review.agentActionMs);
        enqueue.assign({ evidence: event.evidence, ticketOpenedAt: event.at, agentDueAt, userDueAt: null });
        enqueue({ type: 'openTicket', params: { ticketId: context.flowId, accountId: context.subject?.accountId ?? null, agentDueAt } } as never);
        enqueue({ type: 'audit', params: { kind: 'review.opened', ...accountDetail(context), detail: { matched: context.subject !== null } } } as never);
      }),
      askMore: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'review.askMore') return;
        const userDueAt = due(context, event.at + review.userResponseMs);
        const exchange: Exchange = { question: event.question, askedAt: event.at, askedBy: event.agentId, answer: null, answeredAt: null };
        enqueue.assign({ conversation: [...context.conversation, exchange], infoRequests: context.infoRequests + 1, agentDueAt: null, userDueAt });
        enqueue({ type: 'updateTicket', params: { ticketId: context.flowId, awaiting: 'user', dueAt: userDueAt } } as never);
        enqueue({ type: 'audit', params: { kind: 'review.askedMore', ...accountDetail(context), detail: { agent: event.agentId, round: context.infoRequests + 1 } } } as never);
      }),
      answer: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'evidence.answer') return;
        const agentDueAt = due(context, event.at + review.agentActionMs);
        const last = context.conversation.length - 1;
        const conversation = context.conversation.map((x, i) => (i === last ? { ...x, answer: event.answer, answeredAt: event.at } : x));
        enqueue.assign({ conversation, agentDueAt, userDueAt: null });
        enqueue({ type: 'updateTicket', params: { ticketId: context.flowId, awaiting: 'agent', dueAt: agentDueAt } } as never);
      }),
      approve: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'review.approve' || context.subject === null) return;
        const windowEndsAt = event.at + review.disputeWindowMs;
        enqueue.assign({ decision: { kind: 'approved', by: event.agentId, at: event.at, resetSecondFactor: event.resetSecondFactor }, windowEndsAt, userDueAt: null });
        close(enqueue, context, event.at, 'approved');
        // Told at once, so the owner has the whole window to stop it.
        enqueue({ type: 'notifyChannels', params: { accountId: context.subject.accountId, template: REVIEW_APPROVED } } as never);
        enqueue({
          type: 'audit',
          params: { kind: 'review.windowOpened', accountId: context.subject.accountId, detail: { agent: event.agentId, resetSecondFactor: event.resetSecondFactor, windowEndsAt } },
        } as never);
      }),
      reject: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'review.reject') return;
        enqueue.assign({ decision: { kind: 'rejected', by: event.agentId, at: event.at, reason: event.reason }, windowEndsAt: null, passwordHash: null });
        close(enqueue, context, event.at, 'rejected');
      }),
      timeOut: enqueueActions(({ context, event, enqueue }) => close(enqueue, context, atOf(event), 'timed_out')),
      abandon: enqueueActions(({ context, event, enqueue }) => {
        close(enqueue, context, atOf(event), 'abandoned');
        enqueue.assign({ passwordHash: null });
      }),
      withdraw: enqueueActions(({ context, event, enqueue }) => {
        close(enqueue, context, atOf(event), 'withdrawn');
        enqueue.assign({ passwordHash: null });
      }),
      stopByOwner: enqueueActions(({ context, event, enqueue }) => {
        close(enqueue, context, atOf(event), 'stopped_by_owner');
        enqueue.assign({ passwordHash: null, windowEndsAt: null });
      }),
      // The ticket closed with the approval, so the queue has nothing more to hear; the audit log does.
      expire: enqueueActions(({ context, event, enqueue }) => {
        enqueue.assign({ closedAt: context.closedAt ?? atOf(event), agentDueAt: null, userDueAt: null, windowEndsAt: null });
        enqueue({ type: 'audit', params: { kind: 'review.expired', ...accountDetail(context), detail: { matched: context.subject !== null, infoRequests: context.infoRequests } } } as never);
      }),

      // The window.
      passWindow: enqueueActions(({ context, event, enqueue }) => {
        // The rest — password, review, binding — must follow while the person is still there.
        enqueue.assign({ userDueAt: due(context, atOf(event) + review.userResponseMs) });
        enqueue({ type: 'audit', params: { kind: 'review.windowPassed', ...accountDetail(context) } } as never);
      }),
      requestReset: enqueueActions(({ context, enqueue }) => {
        if (context.subject === null) return;
        enqueue({ type: 'resetSecondFactor', params: { accountId: context.subject.accountId, expectedEpoch: context.subject.epoch, onlyWhile: 'case.resettingSecondFactor' } } as never);
      }),

      // The mandatory binding, on the shared code-challenge rules.
      sendBindingCode: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'channel.submit' && event.type !== 'code.resend') return;
        const chosen =
          event.type === 'channel.submit' ? { ...context, bindKind: event.kind, bindValue: event.value, bindEpoch: event.currentEpoch ?? context.bindEpoch } : context;
        const next = { ...chosen, ...issueNext(chosen, bindingPurpose(chosen.bindKind ?? 'phone'), chosen.bindEpoch ?? 0, event.at, policy), userDueAt: due(context, event.at + review.userResponseMs) };
        enqueue.assign(next);
        enqueue({ type: 'deliverCode', params: bindingDeliverParams(next) } as never);
      }),
      redeem: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'code.submit' || context.subject === null || context.bindKind === null || context.bindValue === null) return;
        enqueue.assign({ code: codeOutcome(context, event).next, notice: null, previous: event.current });
        enqueue({
          type: 'bindChannel',
          params: { accountId: context.subject.accountId, expectedEpoch: context.bindEpoch ?? -1, channel: { kind: context.bindKind, value: context.bindValue } },
        } as never);
      }),
      refuseCode: enqueueActions(({ context, event, enqueue }) => {
        const result = codeOutcome(context, event);
        enqueue.assign({ code: result.next, notice: result.outcome === 'accepted' ? null : noticeFor(result.outcome, policy) });
        if (spentATry(result.outcome) && context.subject !== null) enqueue({ type: 'recordFailure', params: { key: `failures:account:${context.subject.accountId}` } } as never);
      }),
      refuseResend: assign(({ context, event }) => ({ notice: cooldownNotice(context, atOf(event)) })),
      refuseDelivery: assign(({ context, event }) => {
        const retryAfterMs = event.type === 'delivery.refused' ? event.retryAfterMs : 0;
        return { code: killCode(context.code, atOf(event)), resendAllowedAt: atOf(event) + retryAfterMs, notice: { code: 'rate_limited', retryAfterMs } satisfies Notice };
      }),
      noteDeliveryFailed: assign(({ context, event }) => afterDeliveryFailure(context, atOf(event), event.type === 'delivery.failed' && event.retryable)),
      noteBound: enqueueActions(({ context, enqueue }) => {
        if (context.subject === null || context.bindKind === null) return;
        // The replaced value is no longer bound, so "every bound channel" would miss it.
        if (context.previous !== null && context.previous !== context.bindValue) {
          enqueue({ type: 'notifyAddress', params: { channel: messageChannel(context.bindKind), to: context.previous, template: CHANGED } } as never);
        }
        enqueue({ type: 'notifyChannels', params: { accountId: context.subject.accountId, template: CHANGED } } as never);
        enqueue({ type: 'audit', params: { kind: 'review.bound', accountId: context.subject.accountId, detail: { channel: context.bindKind, replaced: context.previous !== null } } } as never);
        enqueue.assign({ userDueAt: null });
      }),
      noteChannelTaken: assign({ notice: { code: 'channel_taken' } satisfies Notice, code: null }),

      // The evidence region.
      purgeEvidence: enqueueActions(({ context, event, enqueue }) => {
        const had = context.evidence !== null || context.conversation.length > 0;
        enqueue.assign({
          evidence: null,
          conversation: [],
          named: null,
          purgedAt: 'at' in event ? event.at : context.closedAt,
          decision: context.decision?.kind === 'rejected' ? { ...context.decision, reason: null } : context.decision,
        });
        if (had) enqueue({ type: 'audit', params: { kind: 'review.evidencePurged', ...accountDetail(context) } } as never);
      }),
      closeBeforeTicket: assign(({ context, event }) => ({ closedAt: context.closedAt ?? atOf(event) })),
      clearSecrets: assign({ passwordHash: null }),
    },
    guards: {
      hasSubject: ({ context }) => context.subject !== null,
      mayAskMore: ({ context }) => context.infoRequests < review.maxInfoRequests,
      // Capped again here, not only where they are set: a review stored before the cap had none.
      agentOverdue: ({ context, event }) => overdue(due(context, context.agentDueAt), atOf(event)),
      userOverdue: ({ context, event }) => overdue(due(context, context.userDueAt), atOf(event)),
      lifetimeOver: ({ context, event }) => hasPassed(reviewExpiresAt(context, policy), atOf(event)),
      windowPassedWithReset: ({ context, event }) => overdue(context.windowEndsAt, atOf(event)) && context.decision?.kind === 'approved' && context.decision.resetSecondFactor,
      windowPassed: ({ context, event }) => overdue(context.windowEndsAt, atOf(event)),
      beforePassword: ({ context }) => beforePassword(context),
      passwordOverdue: ({ context, event }) => beforePassword(context) && overdue(due(context, context.userDueAt), atOf(event)),
      reviewOverdue: ({ context, event }) => context.applied === 'applied' && overdue(due(context, context.userDueAt), atOf(event)),
      recoveryApplied: ({ context }) => context.applied === 'applied',
      accountPresent: ({ event }) => event.type === 'channel.submit' && event.currentEpoch !== null,
      codeAccepted: ({ context, event }) => codeOutcome(context, event).outcome === 'accepted',
      wrongCodeExhaustsFlow: ({ context, event }) => {
        const result = codeOutcome(context, event);
        return spentATry(result.outcome) && exhaustsFlow(result.next, policy);
      },
      resendAllowed: ({ context, event }) => resendAllowed(context, atOf(event)),
      channelTaken: ({ event }) => event.type === 'binding.conflict' && event.reason === 'channel_taken',
      retentionOver: ({ context, event }) => retentionOver(context.closedAt, atOf(event), policy),
      closedWithoutEvidence: ({ context }) => context.closedAt !== null && context.evidence === null && context.conversation.length === 0,
    },
  }).createMachine({
    id: 'manualReview',
    type: 'parallel',
    context: ({ input }) => ({
      flowId: input.flowId,
      nonce: input.nonce,
      code: null,
      resendAllowedAt: null,
      sends: 0,
      notice: null,
      ...initialHardening,
      startedAt: input.at,
      named: null,
      subject: null,
      evidence: null,
      conversation: [],
      infoRequests: 0,
      agentDueAt: null,
      userDueAt: due({ startedAt: input.at }, input.at + review.userResponseMs),
      decision: null,
      windowEndsAt: null,
      ticketOpenedAt: null,
      closedAt: null,
      purgedAt: null,
      bindKind: null,
      bindValue: null,
      bindEpoch: null,
      previous: null,
    }),
    states: {
      case: {
        initial: 'enteringAccount',
        states: {
          enteringAccount: {
            on: {
              'account.submit': { target: 'enteringEvidence', actions: 'nameAccount' },
              'flow.cancel': { target: 'cancelled', actions: 'closeBeforeTicket' },
              'clock.tick': { guard: 'userOverdue', target: 'abandoned', actions: 'closeBeforeTicket' },
            },
          },
          enteringEvidence: {
            on: {
              'evidence.submit': { target: 'awaitingAgent', actions: 'fileTicket' },
              'flow.cancel': { target: 'cancelled', actions: 'closeBeforeTicket' },
              'clock.tick': { guard: 'userOverdue', target: 'abandoned', actions: 'closeBeforeTicket' },
            },
          },
          awaitingAgent: {
            on: {
              'review.approve': { guard: 'hasSubject', target: 'disputeWindow', actions: 'approve' },
              'review.reject': { target: 'rejected', actions: 'reject' },
              'review.askMore': { guard: 'mayAskMore', target: 'awaitingUser', actions: 'askMore' },
              'owner.stop': { target: 'stoppedByOwner', actions: 'stopByOwner' },
              'flow.cancel': { target: 'cancelled', actions: 'withdraw' },
              'clock.tick': { guard: 'agentOverdue', target: 'timedOut', actions: 'timeOut' },
            },
          },
          awaitingUser: {
            on: {
              'evidence.answer': { target: 'awaitingAgent', actions: 'answer' },
              'review.approve': { guard: 'hasSubject', target: 'disputeWindow', actions: 'approve' },
              'review.reject': { target: 'rejected', actions: 'reject' },
              'owner.stop': { target: 'stoppedByOwner', actions: 'stopByOwner' },
              'flow.cancel': { target: 'cancelled', actions: 'withdraw' },
              'clock.tick': { guard: 'userOverdue', target: 'abandoned', actions: 'abandon' },
            },
          },
          disputeWindow: {
            on: {
              'owner.stop': { target: 'stoppedByOwner', actions: 'stopByOwner' },
              // Support upholds a dispute that reached it by another way (a call, a branch visit).
              'review.reject': { target: 'rejected', actions: 'reject' },
              'flow.cancel': { target: 'cancelled', actions: 'withdraw' },
              'clock.tick': [
                // First: a tick late enough for both ends the case rather than open the password.
                { guard: 'lifetimeOver', target: 'expired', actions: 'expire' },
                { guard: 'windowPassedWithReset', target: 'resettingSecondFactor', actions: ['passWindow', 'requestReset'] },
                { guard: 'windowPassed', target: 'hardening', actions: 'passWindow' },
              ],
            },
          },
          resettingSecondFactor: {
            on: {
              'secondFactor.reset': { target: 'hardening' },
              // The account moved on (a password change, a deactivation) during the window.
              'secondFactor.resetRefused': { target: 'refused' },
              // The owner's stop still wins here: the queued reset runs only while the flow is
              // in this state (`onlyWhile`), so a stop that lands first voids it.
              'owner.stop': { target: 'stoppedByOwner', actions: 'stopByOwner' },
            },
          },
          hardening: {
            ...(hardeningState('review') as object),
            on: {
              'owner.stop': { guard: 'beforePassword', target: 'stoppedByOwner', actions: 'stopByOwner' },
              'flow.cancel': { guard: 'beforePassword', target: 'cancelled', actions: 'withdraw' },
              'clock.tick': [
                { guard: 'passwordOverdue', target: 'abandoned', actions: 'abandon' },
                { guard: 'reviewOverdue', target: 'bindingLapsed' },
              ],
            },
            onDone: [{ guard: 'recoveryApplied', target: 'bindingRequired' }, { target: 'refused' }],
          },
          bindingRequired: {
            on: {
              'channel.submit': [{ guard: 'accountPresent', target: 'awaitingBindingCode', actions: 'sendBindingCode' }, { target: 'refused' }],
              'clock.tick': { guard: 'userOverdue', target: 'bindingLapsed' },
            },
          },
          awaitingBindingCode: {
            on: {
              'code.submit': [
                { guard: 'codeAccepted', target: 'applyingBinding', actions: 'redeem' },
                { guard: 'wrongCodeExhaustsFlow', target: 'locked', actions: 'refuseCode' },
                { actions: 'refuseCode' },
              ],
              'code.resend': [{ guard: 'resendAllowed', actions: 'sendBindingCode' }, { actions: 'refuseResend' }],
              // A typo in the new channel: another code to another address, after the same cooldown.
              'channel.submit': [
                { guard: 'resendAllowed', actions: 'sendBindingCode' },
                { actions: 'refuseResend' },
              ],
              'delivery.refused': { actions: 'refuseDelivery' },
              'delivery.failed': { actions: 'noteDeliveryFailed' },
              'clock.tick': { guard: 'userOverdue', target: 'bindingLapsed' },
            },
          },
          // The bindChannel effect is already in the outbox: wait for the directory's answer.
          applyingBinding: {
            on: {
              'binding.applied': { target: 'recovered', actions: 'noteBound' },
              'binding.conflict': [{ guard: 'channelTaken', target: 'bindingRequired', actions: 'noteChannelTaken' }, { target: 'refused' }],
            },
          },
          recovered: { type: 'final' },
          rejected: { type: 'final', entry: 'clearSecrets' },
          timedOut: { type: 'final' },
          abandoned: { type: 'final', entry: 'clearSecrets' },
          stoppedByOwner: { type: 'final', entry: 'clearSecrets' },
          cancelled: { type: 'final', entry: 'clearSecrets' },
          refused: { type: 'final', entry: 'clearSecrets' },
          /** The password stands; the account has no reachable channel until its holder binds one. */
          bindingLapsed: { type: 'final' },
          /** The case's lifetime ended inside the dispute window of a late approval. */
          expired: { type: 'final', entry: 'clearSecrets' },
          locked: { type: 'final', entry: assign({ notice: { code: 'flow_locked', retryAfterMs: policy.code.flowLockMs } satisfies Notice }) },
        },
      },
      evidence: {
        initial: 'kept',
        states: {
          kept: {
            always: { guard: 'closedWithoutEvidence', target: 'purged' },
            on: { 'clock.tick': { guard: 'retentionOver', target: 'purged' } },
          },
          purged: { type: 'final', entry: 'purgeEvidence' },
        },
      },
    },
  });
};

export type ManualReviewMachine = ReturnType<typeof createManualReviewMachine>;

/** The case region's state as one dotted name ('awaitingAgent', 'hardening.choosingPassword'). */
export const reviewCaseState = (value: unknown): string => {
  const node = (value as { case?: unknown }).case;
  if (typeof node === 'string') return node;
  if (typeof node === 'object' && node !== null) {
    const [key, child] = Object.entries(node)[0] ?? ['', ''];
    return typeof child === 'string' ? `${key}.${child}` : key;
  }
  return '';
};

export const REVIEW_FINAL_STATES: ReadonlySet<string> = new Set([
  'recovered',
  'rejected',
  'timedOut',
  'abandoned',
  'stoppedByOwner',
  'cancelled',
  'refused',
  'bindingLapsed',
  'locked',
  'expired',
]);
