/**
 * Real-name verification, which seed 002 says payments and red envelopes will eventually need.
 * The identity documents are the provider's business: the user hands them to the provider and
 * this flow only forwards the provider's opaque reference, so no ID number ever rests here.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> notStarted
 *   notStarted --> submitted: realName.submit
 *   submitted --> verified: provider.verified [current attempt, before its deadline]
 *   submitted --> rejectedRetryable: provider.rejected [current attempt, submissions left]
 *   submitted --> rejected: provider.rejected [current attempt, none left]
 *   submitted --> unavailable: provider.unavailable [submissions left]
 *   submitted --> submissionExpired: clock.tick [verdict overdue, submissions left]
 *   submitted --> expired: provider.unavailable or clock.tick [verdict overdue] [none left]
 *   rejectedRetryable --> submitted: realName.submit
 *   unavailable --> submitted: realName.submit
 *   submissionExpired --> submitted: realName.submit
 *   state "any active state" as any
 *   any --> cancelled: flow.cancel
 *   any --> timedOut: clock.tick [flow lifetime over]
 * ```
 *
 * The directory's status for the account follows the latest submission: `pending` while a
 * verdict is awaited, then `verified`, `rejected` or `expired` (no verdict came: the provider
 * timed out, refused the submission, or the user withdrew it).
 */
import * as t from 'io-ts';
import { and, enqueueActions, setup } from 'xstate';
import type { Policy } from '../src/domain/policy.ts';
import { hasPassed, type Instant } from '../src/domain/time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Why a provider refused a submission: a closed list, so a webhook cannot inject free text into a view. */
export const RejectionReason = t.keyof({
  document_unreadable: null,
  document_expired: null,
  data_mismatch: null,
  liveness_failed: null,
  not_eligible: null,
  other: null,
});
export type RejectionReason = t.TypeOf<typeof RejectionReason>;

export const RealNameNotice = t.readonly(
  t.intersection([
    t.type({ code: t.keyof({ real_name_rejected: null, provider_unavailable: null, submission_expired: null }) }),
    t.partial({ reason: RejectionReason }),
  ]),
);
export type RealNameNotice = t.TypeOf<typeof RealNameNotice>;

export const RealNameContext = t.readonly(
  t.type({
    flowId: t.string,
    accountId: t.string,
    startedAt: t.number,
    expiresAt: t.number,
    submissions: t.number,
    verdictDueAt: t.union([t.number, t.null]),
    notice: t.union([RealNameNotice, t.null]),
  }),
);
export type RealNameContext = {
  readonly flowId: string;
  /** Fixed at start from the host's session, never from a request body. */
  readonly accountId: string;
  readonly startedAt: Instant;
  /** The whole flow ends here at the latest, so an abandoned flow cannot hang forever. */
  readonly expiresAt: Instant;
  /** Submissions made so far, including refused and expired ones; also the current attempt number. */
  readonly submissions: number;
  /** Set while a verdict is awaited: when the current submission expires without one. */
  readonly verdictDueAt: Instant | null;
  readonly notice: RealNameNotice | null;
};

export interface RealNameInput {
  readonly flowId: string;
  readonly accountId: string;
  readonly at: Instant;
}

export type RealNameEvent =
  | { readonly type: 'realName.submit'; readonly at: Instant; readonly reference: string }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  | { readonly type: 'provider.verified'; readonly at: Instant; readonly attempt: number }
  | { readonly type: 'provider.rejected'; readonly at: Instant; readonly attempt: number; readonly reason: RejectionReason }
  | { readonly type: 'provider.unavailable'; readonly at: Instant }
  | { readonly type: 'clock.tick'; readonly at: Instant };

export interface RealNameDeps {
  readonly policy: Policy;
}

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

/**
 * Builds the machine for one host. Create it once and share it: it holds only the policy.
 *
 * @example
 * const machine = createRealNameMachine({ policy });
 * const [snapshot] = initialTransition(machine, { flowId: 'f1', accountId: 'acct-1', at: 0 });
 * const [next, actions] = transition(machine, snapshot, { type: 'realName.submit', at: 5, reference: 'doc_ref_1234' });
 * // next.value === 'submitted'; actions name setRealNameStatus 'pending' and submitRealName attempt 1
 */
export const createRealNameMachine = ({ policy }: RealNameDeps) => {
  const { maxSubmissions, providerTimeoutMs } = policy.realName;

  /**
   * A verdict counts only for the submission it answers and only before that submission's
   * deadline, so whether the host ticked in time never changes the outcome.
   */
  const answersCurrent = (context: RealNameContext, event: RealNameEvent): boolean =>
    (event.type === 'provider.verified' || event.type === 'provider.rejected') &&
    context.verdictDueAt !== null &&
    !hasPassed(context.verdictDueAt, event.at) &&
    event.attempt === context.submissions;

  /** Closing a submission without a verdict: the directory must not keep saying "pending". */
  const lapsed = (context: RealNameContext) => ({ accountId: context.accountId, status: 'expired' as const });

  return setup({
    types: {
      context: {} as RealNameContext,
      events: {} as RealNameEvent,
      input: {} as RealNameInput,
    },
    actions: {
      // Effects: declared by name here, run by the host's executor from the outbox.
      submitRealName: (_, _params: { accountId: string; attempt: number; reference: string }) => {},
      setRealNameStatus: (_, _params: { accountId: string; status: 'pending' | 'verified' | 'rejected' | 'expired' }) => {},
      audit: (_, _params: { kind: string; accountId?: string; detail?: Record<string, string | number | boolean | null> }) => {},
      submit: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'realName.submit') return;
        const attempt = context.submissions + 1;
        enqueue.assign({ submissions: attempt, verdictDueAt: event.at + providerTimeoutMs, notice: null });
        // Pending first, so the status is right before the provider could possibly answer.
        enqueue({ type: 'setRealNameStatus', params: { accountId: context.accountId, status: 'pending' } } as never);
        enqueue({ type: 'submitRealName', params: { accountId: context.accountId, attempt, reference: event.reference } } as never);
      }),
      noteRejected: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'provider.rejected') return;
        enqueue.assign({ verdictDueAt: null, notice: { code: 'real_name_rejected', reason: event.reason } });
        enqueue({ type: 'setRealNameStatus', params: { accountId: context.accountId, status: 'rejected' } } as never);
        enqueue({ type: 'audit', params: { kind: 'realName.rejected', accountId: context.accountId, detail: { attempt: event.attempt, reason: event.reason } } } as never);
      }),
      noteUnavailable: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ verdictDueAt: null, notice: { code: 'provider_unavailable' } });
        enqueue({ type: 'setRealNameStatus', params: lapsed(context) } as never);
      }),
      noteExpired: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ verdictDueAt: null, notice: { code: 'submission_expired' } });
        enqueue({ type: 'setRealNameStatus', params: lapsed(context) } as never);
        enqueue({ type: 'audit', params: { kind: 'realName.expired', accountId: context.accountId, detail: { attempt: context.submissions } } } as never);
      }),
      noteVerified: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ verdictDueAt: null, notice: null });
        enqueue({ type: 'setRealNameStatus', params: { accountId: context.accountId, status: 'verified' } } as never);
        enqueue({ type: 'audit', params: { kind: 'realName.verified', accountId: context.accountId, detail: { attempt: context.submissions } } } as never);
      }),
      /** Leaving with a submission still out: the verdict can no longer land, so it lapses. */
      closePending: enqueueActions(({ context, enqueue }) => {
        if (context.verdictDueAt === null) return;
        enqueue.assign({ verdictDueAt: null });
        enqueue({ type: 'setRealNameStatus', params: lapsed(context) } as never);
      }),
    },
    guards: {
      submissionsLeft: ({ context }) => context.submissions < maxSubmissions,
      answersCurrent: ({ context, event }) => answersCurrent(context, event),
      verdictOverdue: ({ context, event }) => context.verdictDueAt !== null && hasPassed(context.verdictDueAt, event.at),
      flowExpired: ({ context, event }) => hasPassed(context.expiresAt, event.at),
    },
  }).createMachine({
    id: 'realName',
    context: ({ input }) => ({
      flowId: input.flowId,
      accountId: input.accountId,
      startedAt: input.at,
      expiresAt: input.at + policy.flowMaxLifetimeMs,
      submissions: 0,
      verdictDueAt: null,
      notice: null,
    }),
    initial: 'notStarted',
    on: {
      'flow.cancel': {
        target: '.cancelled',
        actions: ['closePending', { type: 'audit', params: ({ context }) => ({ kind: 'realName.cancelled', accountId: context.accountId }) }],
      },
      'clock.tick': { guard: 'flowExpired', target: '.timedOut', actions: 'closePending' },
    },
    states: {
      notStarted: {
        on: { 'realName.submit': { guard: 'submissionsLeft', target: 'submitted', actions: 'submit' } },
      },
      submitted: {
        on: {
          'provider.verified': { guard: 'answersCurrent', target: 'verified', actions: 'noteVerified' },
          'provider.rejected': [
            { guard: and(['answersCurrent', 'submissionsLeft']), target: 'rejectedRetryable', actions: 'noteRejected' },
            { guard: 'answersCurrent', target: 'rejected', actions: 'noteRejected' },
          ],
          // Fed back by the executor for the submission it just ran, so it needs no attempt number.
          'provider.unavailable': [
            { guard: 'submissionsLeft', target: 'unavailable', actions: 'noteUnavailable' },
            { target: 'expired', actions: 'noteUnavailable' },
          ],
          'clock.tick': [
            { guard: and(['verdictOverdue', 'submissionsLeft']), target: 'submissionExpired', actions: 'noteExpired' },
            { guard: 'verdictOverdue', target: 'expired', actions: 'noteExpired' },
          ],
        },
      },
      rejectedRetryable: {
        on: { 'realName.submit': { guard: 'submissionsLeft', target: 'submitted', actions: 'submit' } },
      },
      unavailable: {
        on: { 'realName.submit': { guard: 'submissionsLeft', target: 'submitted', actions: 'submit' } },
      },
      submissionExpired: {
        on: { 'realName.submit': { guard: 'submissionsLeft', target: 'submitted', actions: 'submit' } },
      },
      verified: { type: 'final' },
      /** Rejected with no submissions left: "for good" within this flow. */
      rejected: { type: 'final' },
      /** No submissions left and the last one got no verdict. */
      expired: { type: 'final' },
      cancelled: { type: 'final' },
      timedOut: { type: 'final' },
    },
  });
};

export type RealNameMachine = ReturnType<typeof createRealNameMachine>;
