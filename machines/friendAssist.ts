/**
 * Password recovery with help from friends (seed 000 "retrieve through friend assistance"), for
 * people whose bound phone and e-mail are gone:
 *
 *   enteringAccount → nominating → checkingNominations → awaitingFriends → disputeWait
 *     → [secondFactor] → hardening → recovered
 *
 * The requester names the account by its handle and 3–5 friends by theirs. The entry never
 * reveals whether the account exists: an unknown or inactive handle walks the same states at the
 * same times, spends a nominations budget of its own and emits the same effects, which tell
 * nobody anything. Every bound channel and every live session of a real account hear at once
 * that a recovery started, and each nominated friend is asked inside the app.
 *
 * Each friend confirms or refuses from their own signed-in session; the host's session names
 * the friend, never the request, and no code ever passes through a friend. A confirmation counts
 * once, only from a current nominee, only inside the window `[t0, t0 + windowMs)` of the
 * nomination at `t0` (a confirmation at the window's last millisecond counts, one a millisecond
 * later is late), and only if the friend is eligible by the rule in `src/domain/friendAssist.ts`
 * — judged on the facts at nomination and again on fresh facts at confirmation:
 *
 *   a friend of the account, active, friends for at least `minFriendshipMs` before `t0`, not
 *   recently recovered (`sensitiveHoldUntil > at`), not under friend-assisted recovery
 *   themselves, and no counted vouch for anyone within `vouchCooldownMs`.
 *
 * A counted confirmation spends the friend's vouch mark through the Budgets port, and counts only
 * once the port allowed it, so two flows cannot both win a friend's one vouch. Why a confirmation
 * did not count goes to that friend (their own `answer`) and to the audit log; the requester
 * only ever sees "k of n confirmed".
 *
 * After `required` counted confirmations the password still waits `disputeWaitMs` from the
 * quorum (the password cannot be set a millisecond earlier). The owner stops the flow from any
 * live session of the account, and any nominated friend can refuse ("this is not my friend's
 * request"), which stops it and alerts the owner. A stop or refusal wins in every state up to
 * the new password: the only step it cannot enter is the one where the epoch-guarded reset is
 * already committed to the outbox (`hardening.applying`), which the flow's lifetime does not end
 * either: the reset's answer does. Then an enrolled second factor, then the shared hardening.
 *
 * Time comes only from events' `at`; deadlines (`windowEndsAt`, `disputeEndsAt`, `expiresAt`)
 * are context data and `clock.tick` moves past them.
 */
import * as t from 'io-ts';
import { assign, enqueueActions, setup } from 'xstate';
import type { MessageTemplate, OwnerNotice, RecoveryPath } from '../src/domain/effects.ts';
import {
  eligibility,
  type FriendBudgetRule,
  FriendFacts,
  FriendOutcome,
  Ineligibility,
  insideWindow,
  nominationKey,
  recoveringKey,
  vouchKey,
  windowEnd,
} from '../src/domain/friendAssist.ts';
import type { Policy } from '../src/domain/policy.ts';
import { hasPassed, type Instant } from '../src/domain/time.ts';
import { Subject } from './channelRecovery.ts';
import { Notice } from './codeChallenge.ts';
import { HardeningContext, type HardeningEvent, hardeningState, initialHardening } from './hardening.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** A nominee's vouch: spending the mark is asked for (`pending`) before the confirmation counts. */
export const Vouch = t.keyof({ none: null, pending: null, counted: null }, 'Vouch');
export type Vouch = t.TypeOf<typeof Vouch>;

export const Nominee = t.readonly(
  t.type({
    /** The handle as named, case-folded. */
    handle: t.string,
    /** The account behind the handle; null when there is none. Never shown to the requester. */
    friendId: t.union([t.string, t.null]),
    nominatedAt: t.number,
    /** Why the nominee could not vouch on the facts at nomination; null when they could. */
    ineligible: t.union([Ineligibility, t.null]),
    replaced: t.boolean,
    vouch: Vouch,
    confirmedAt: t.union([t.number, t.null]),
    /** The last thing this friend was told about their own confirmation or refusal. */
    answer: t.union([FriendOutcome, t.null]),
  }),
  'Nominee',
);
export type Nominee = t.TypeOf<typeof Nominee>;

export const FriendAssistContext = t.intersection([
  HardeningContext,
  t.type({
    flowId: t.string,
    nonce: t.string,
    startedAt: t.number,
    expiresAt: t.number,
    /** The account's handle as typed, case-folded. */
    handle: t.union([t.string, t.null]),
    /** The account behind the handle, if active: never shown, and the same states either way. */
    subject: Subject,
    /** Last looked up at the entry and at each confirmation; the password step checks it again. */
    secondFactorEnrolled: t.boolean,
    secondFactorPassed: t.boolean,
    secondFactorWrong: t.number,
    nominees: t.readonlyArray(Nominee),
    /** Exclusive: a confirmation at `windowEndsAt - 1` counts, at `windowEndsAt` it is late. */
    windowEndsAt: t.union([t.number, t.null]),
    quorumAt: t.union([t.number, t.null]),
    /** The password may be set from this instant on, not a millisecond earlier. */
    disputeEndsAt: t.union([t.number, t.null]),
    replacements: t.number,
    notice: t.union([Notice, t.null]),
  }),
]);
export type FriendAssistContext = t.TypeOf<typeof FriendAssistContext>;

export interface FriendAssistInput {
  readonly flowId: string;
  readonly nonce: string;
  readonly at: Instant;
}

/** A nominee as the runtime resolved them: the handle, its account, and the facts about it. */
export interface NomineeFacts {
  readonly handle: string;
  readonly friendId: string | null;
  readonly facts: FriendFacts;
}

export type FriendAssistEvent =
  | { readonly type: 'account.submit'; readonly at: Instant; readonly handle: string; readonly subject: Subject; readonly secondFactorEnrolled: boolean }
  | { readonly type: 'friends.nominate'; readonly at: Instant; readonly nominees: readonly NomineeFacts[] }
  | { readonly type: 'friends.replace'; readonly at: Instant; readonly old: string; readonly nominee: NomineeFacts }
  | { readonly type: 'friend.confirm'; readonly at: Instant; readonly friendId: string; readonly facts: FriendFacts; readonly secondFactorEnrolled: boolean }
  | { readonly type: 'friend.refuse'; readonly at: Instant; readonly friendId: string; readonly facts: FriendFacts }
  | { readonly type: 'owner.stop'; readonly at: Instant; readonly accountId: string }
  | { readonly type: 'budget.allowed'; readonly at: Instant; readonly key: string }
  | { readonly type: 'budget.refused'; readonly at: Instant; readonly key: string; readonly retryAfterMs: number }
  | { readonly type: 'secondFactor.submit'; readonly at: Instant; readonly result: 'ok' | 'wrong' | 'replayed' | 'not_enrolled' }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  | { readonly type: 'clock.tick'; readonly at: Instant }
  | HardeningEvent;

const PATH: RecoveryPath = 'friends';

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

export const currentNominees = (context: Pick<FriendAssistContext, 'nominees'>): readonly Nominee[] => context.nominees.filter((n) => !n.replaced);

export const countedConfirmations = (context: Pick<FriendAssistContext, 'nominees'>): number => context.nominees.filter((n) => n.vouch === 'counted').length;

/** The entry a friend is judged by: their current nomination, else an earlier replaced one. */
export const nomineeEntry = (context: Pick<FriendAssistContext, 'nominees'>, friendId: string | null): Nominee | undefined =>
  friendId === null ? undefined : (context.nominees.find((n) => n.friendId === friendId && !n.replaced) ?? context.nominees.find((n) => n.friendId === friendId));

/**
 * What one confirmation amounts to, first match wins: not a current nominee, already confirmed,
 * outside the window, ineligible (at nomination or now), else it counts (once the vouch mark is
 * spent).
 */
export const judgeConfirmation = (
  context: FriendAssistContext,
  friendId: string,
  facts: FriendFacts,
  at: Instant,
  policy: Policy,
): { readonly outcome: FriendOutcome; readonly reason: Ineligibility | null } => {
  const nominee = context.nominees.find((n) => n.friendId === friendId && !n.replaced);
  if (nominee === undefined || context.windowEndsAt === null) return { outcome: 'not_nominated', reason: null };
  if (nominee.vouch !== 'none') return { outcome: 'duplicate', reason: null };
  if (!insideWindow(context.windowEndsAt, at)) return { outcome: 'late', reason: null };
  const reason = context.subject === null ? 'not_a_friend' : (nominee.ineligible ?? eligibility(facts, nominee.nominatedAt, policy));
  return reason === null ? { outcome: 'counted', reason: null } : { outcome: 'not_eligible', reason };
};

/** Friends of the account are told they were named, eligible or not: any of them may refuse. */
const toldAtNomination = (subject: Subject, nominee: Nominee): boolean =>
  subject !== null && nominee.friendId !== null && nominee.ineligible !== 'not_a_friend' && nominee.ineligible !== 'inactive';

const toNominee = (n: NomineeFacts, at: Instant, subject: Subject, policy: Policy): Nominee => ({
  handle: n.handle,
  friendId: n.friendId,
  nominatedAt: at,
  ineligible: subject === null ? 'not_a_friend' : eligibility(n.facts, at, policy),
  replaced: false,
  vouch: 'none',
  confirmedAt: null,
  answer: null,
});

const setNominee = (context: FriendAssistContext, target: Nominee, change: Partial<Nominee>): readonly Nominee[] =>
  context.nominees.map((n) => (n === target ? { ...n, ...change } : n));

const pendingFor = (context: FriendAssistContext, key: string): Nominee | undefined =>
  context.nominees.find((n) => n.vouch === 'pending' && n.friendId !== null && vouchKey(n.friendId) === key);

/** A new password is in flight or applied: a stop could no longer undo it, so none is taken. */
const beforePassword = (context: FriendAssistContext): boolean => context.passwordHash === null && context.applied === null;

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

type AuditParams = { kind: string; accountId?: string; detail?: Record<string, string | number | boolean | null> };

const auditOf = (context: FriendAssistContext, kind: string, detail?: AuditParams['detail']): AuditParams => ({
  kind,
  ...(context.subject === null ? {} : { accountId: context.subject.accountId }),
  ...(detail === undefined ? {} : { detail }),
});

/**
 * @example
 * const machine = createFriendAssistMachine({ policy: DEFAULT_POLICY });
 */
export const createFriendAssistMachine = (deps: { readonly policy: Policy }) => {
  const { policy } = deps;
  const nominationKeyOf = (context: FriendAssistContext) => nominationKey(context.subject?.accountId ?? null, context.handle ?? '');
  const failureKey = (context: FriendAssistContext) => (context.subject === null ? `failures:handle:${context.handle ?? ''}` : `failures:account:${context.subject.accountId}`);

  return setup({
    types: {
      context: {} as FriendAssistContext,
      events: {} as FriendAssistEvent,
      input: {} as FriendAssistInput,
    },
    actions: {
      notifyChannels: (_, _params: { accountId: string; template: MessageTemplate }) => {},
      notifyOwner: (_, _params: { accountId: string | null; notice: OwnerNotice; flowId: string }) => {},
      notifyFriend: (_, _params: { friendId: string | null; accountId: string | null; flowId: string }) => {},
      consumeBudget: (_, _params: { key: string; rule: FriendBudgetRule }) => {},
      audit: (_, _params: AuditParams) => {},
      recordFailure: (_, _params: { key: string }) => {},
      completeRecovery: (_, _params: { accountId: string; expectedEpoch: number; passwordHash: string; path: RecoveryPath }) => {},
      revokeSession: (_, _params: { accountId: string; sessionId: string }) => {},
      takeAccount: assign(({ event }) =>
        event.type === 'account.submit' ? { handle: event.handle, subject: event.subject, secondFactorEnrolled: event.secondFactorEnrolled, notice: null } : {},
      ),
      nominate: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'friends.nominate') return;
        const nominees = event.nominees.map((n) => toNominee(n, event.at, context.subject, policy));
        enqueue.assign({ nominees, windowEndsAt: windowEnd(event.at, policy), notice: null });
        enqueue({ type: 'consumeBudget', params: { key: nominationKeyOf(context), rule: 'friends.nominations' } } as never);
      }),
      refuseNomination: enqueueActions(({ context, event, enqueue }) => {
        const retryAfterMs = event.type === 'budget.refused' ? event.retryAfterMs : 0;
        enqueue.assign({ nominees: [], windowEndsAt: null, notice: { code: 'rate_limited', retryAfterMs } satisfies Notice });
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.nominationRefused', { retryAfterMs }) } as never);
      }),
      // The same effects for every nomination, known account or not; only their targets differ.
      announce: enqueueActions(({ context, enqueue }) => {
        const accountId = context.subject?.accountId ?? null;
        enqueue({ type: 'notifyChannels', params: { accountId: accountId ?? '', template: 'recovery.started' } } as never);
        enqueue({ type: 'notifyOwner', params: { accountId, notice: 'friendAssist.started', flowId: context.flowId } } as never);
        for (const nominee of context.nominees) {
          enqueue({ type: 'notifyFriend', params: { friendId: toldAtNomination(context.subject, nominee) ? nominee.friendId : null, accountId, flowId: context.flowId } } as never);
        }
        enqueue({ type: 'consumeBudget', params: { key: recoveringKey(accountId, context.handle ?? ''), rule: 'friends.recovering' } } as never);
        enqueue({
          type: 'audit',
          params: auditOf(context, 'friendAssist.nominated', { nominated: context.nominees.length, eligible: context.nominees.filter((n) => n.ineligible === null).length, windowEndsAt: context.windowEndsAt }),
        } as never);
      }),
      judge: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'friend.confirm') return;
        const { outcome, reason } = judgeConfirmation(context, event.friendId, event.facts, event.at, policy);
        const entry = nomineeEntry(context, event.friendId);
        enqueue.assign({ secondFactorEnrolled: event.secondFactorEnrolled });
        if (outcome === 'counted' && entry !== undefined) {
          enqueue.assign({ nominees: setNominee(context, entry, { vouch: 'pending', confirmedAt: event.at }) });
          enqueue({ type: 'consumeBudget', params: { key: vouchKey(event.friendId), rule: 'friends.vouches' } } as never);
          return;
        }
        // Only ever-nominated friends are remembered: a stranger's attempts go to the audit log alone.
        if (entry !== undefined) enqueue.assign({ nominees: setNominee(context, entry, { answer: outcome }) });
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.confirmation', { friendId: event.friendId, outcome, reason }) } as never);
      }),
      countVouch: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'budget.allowed') return;
        const entry = pendingFor(context, event.key);
        if (entry === undefined) return;
        enqueue.assign({ nominees: setNominee(context, entry, { vouch: 'counted', answer: 'counted' }) });
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.confirmation', { friendId: entry.friendId, outcome: 'counted', reason: null }) } as never);
      }),
      reachQuorum: assign(({ context, event }) => {
        const entry = event.type === 'budget.allowed' ? pendingFor(context, event.key) : undefined;
        const quorumAt = entry?.confirmedAt ?? event.at;
        return { quorumAt, disputeEndsAt: quorumAt + policy.friends.disputeWaitMs };
      }),
      // Another flow spent the friend's vouch between the look-up and now: the port decides.
      vouchRefused: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'budget.refused') return;
        const entry = pendingFor(context, event.key);
        if (entry === undefined) return;
        enqueue.assign({ nominees: setNominee(context, entry, { vouch: 'none', confirmedAt: null, answer: 'not_eligible' }) });
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.confirmation', { friendId: entry.friendId, outcome: 'not_eligible', reason: 'vouched_recently' }) } as never);
      }),
      replace: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'friends.replace') return;
        const added = toNominee(event.nominee, event.at, context.subject, policy);
        const nominees = [...context.nominees.map((n) => (n.handle === event.old && !n.replaced ? { ...n, replaced: true } : n)), added];
        enqueue.assign({ nominees, replacements: context.replacements + 1, notice: null });
        const accountId = context.subject?.accountId ?? null;
        enqueue({ type: 'notifyFriend', params: { friendId: toldAtNomination(context.subject, added) ? added.friendId : null, accountId, flowId: context.flowId } } as never);
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.replaced', { eligible: added.ineligible === null, replacements: context.replacements + 1 }) } as never);
      }),
      noteRefusal: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'friend.refuse' || context.subject === null) return;
        const entry = nomineeEntry(context, event.friendId);
        if (entry !== undefined) enqueue.assign({ nominees: setNominee(context, entry, { answer: 'refused' }) });
        enqueue({ type: 'notifyChannels', params: { accountId: context.subject.accountId, template: 'recovery.refusedByFriend' } } as never);
        enqueue({ type: 'notifyOwner', params: { accountId: context.subject.accountId, notice: 'friendAssist.refused', flowId: context.flowId } } as never);
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.refusedByFriend', { friendId: event.friendId }) } as never);
      }),
      ignoreRefusal: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'friend.refuse') return;
        const entry = nomineeEntry(context, event.friendId);
        const outcome: FriendOutcome = entry === undefined ? 'not_nominated' : 'not_eligible';
        if (entry !== undefined) enqueue.assign({ nominees: setNominee(context, entry, { answer: outcome }) });
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.refusalIgnored', { friendId: event.friendId, outcome }) } as never);
      }),
      auditStop: enqueueActions(({ context, enqueue }) => {
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.stoppedByOwner') } as never);
      }),
      auditFailed: enqueueActions(({ context, enqueue }) => {
        enqueue({ type: 'audit', params: auditOf(context, 'friendAssist.failed', { confirmed: countedConfirmations(context), required: policy.friends.required }) } as never);
      }),
      refuseSecondFactor: enqueueActions(({ context, event, enqueue }) => {
        const replayed = event.type === 'secondFactor.submit' && event.result === 'replayed';
        enqueue.assign({ secondFactorWrong: context.secondFactorWrong + 1, notice: { code: replayed ? 'code_used' : 'code_invalid' } satisfies Notice });
        enqueue({ type: 'recordFailure', params: { key: failureKey(context) } } as never);
      }),
      clearSecrets: assign({ passwordHash: null }),
    },
    guards: {
      isNominationKey: ({ context, event }) => (event.type === 'budget.allowed' || event.type === 'budget.refused') && event.key === nominationKeyOf(context),
      isPendingVouch: ({ context, event }) => (event.type === 'budget.allowed' || event.type === 'budget.refused') && pendingFor(context, event.key) !== undefined,
      completesQuorum: ({ context, event }) =>
        event.type === 'budget.allowed' && pendingFor(context, event.key) !== undefined && countedConfirmations(context) + 1 >= policy.friends.required,
      validNomination: ({ context, event }) => {
        if (event.type !== 'friends.nominate') return false;
        const keys = new Set(event.nominees.map((n) => n.handle));
        const { minNominated, maxNominated } = policy.friends;
        return event.nominees.length >= minNominated && event.nominees.length <= maxNominated && keys.size === event.nominees.length && !keys.has(context.handle ?? '');
      },
      canReplace: ({ context, event }) => {
        if (event.type !== 'friends.replace' || context.windowEndsAt === null) return false;
        const present = new Set(context.nominees.map((n) => n.handle));
        return (
          insideWindow(context.windowEndsAt, event.at) &&
          context.replacements < policy.friends.maxReplacements &&
          currentNominees(context).some((n) => n.handle === event.old) &&
          !present.has(event.nominee.handle) &&
          event.nominee.handle !== context.handle
        );
      },
      windowOver: ({ context, event }) => context.windowEndsAt !== null && hasPassed(context.windowEndsAt, event.at),
      disputeOver: ({ context, event }) => context.disputeEndsAt !== null && hasPassed(context.disputeEndsAt, event.at),
      disputeOverWithSecondFactor: ({ context, event }) => context.disputeEndsAt !== null && hasPassed(context.disputeEndsAt, event.at) && context.secondFactorEnrolled,
      flowExpired: ({ context, event }) => hasPassed(context.expiresAt, event.at),
      beforePassword: ({ context }) => beforePassword(context),
      ownerStops: ({ context, event }) => event.type === 'owner.stop' && context.subject !== null && event.accountId === context.subject.accountId && beforePassword(context),
      // Any friend ever named may raise the alarm, replaced or not, eligible or not: they were told.
      refusalHonoured: ({ context, event }) =>
        event.type === 'friend.refuse' &&
        context.subject !== null &&
        beforePassword(context) &&
        nomineeEntry(context, event.friendId) !== undefined &&
        event.facts.isFriend &&
        event.facts.active,
      secondFactorOk: ({ event }) => event.type === 'secondFactor.submit' && event.result === 'ok',
      secondFactorExhausted: ({ context }) => context.secondFactorWrong + 1 >= policy.code.maxWrongPerCode,
      recoveryApplied: ({ context }) => context.applied === 'applied',
    },
  }).createMachine({
    id: 'friendAssist',
    context: ({ input }) => ({
      ...initialHardening,
      flowId: input.flowId,
      nonce: input.nonce,
      startedAt: input.at,
      expiresAt: input.at + policy.flowMaxLifetimeMs,
      handle: null,
      subject: null,
      secondFactorEnrolled: false,
      secondFactorPassed: false,
      secondFactorWrong: 0,
      nominees: [],
      windowEndsAt: null,
      quorumAt: null,
      disputeEndsAt: null,
      replacements: 0,
      notice: null,
    }),
    initial: 'enteringAccount',
    on: {
      'owner.stop': { guard: 'ownerStops', target: '.stoppedByOwner', actions: 'auditStop' },
      'friend.refuse': [{ guard: 'refusalHonoured', target: '.refusedByFriend', actions: 'noteRefusal' }, { guard: 'beforePassword', actions: 'ignoreRefusal' }],
      'flow.cancel': { guard: 'beforePassword', target: '.cancelled' },
      'clock.tick': { guard: 'flowExpired', target: '.timedOut' },
    },
    states: {
      enteringAccount: {
        on: { 'account.submit': { target: 'nominating', actions: 'takeAccount' } },
      },
      nominating: {
        on: { 'friends.nominate': { guard: 'validNomination', target: 'checkingNominations', actions: 'nominate' } },
      },
      // Waiting for the nominations budget: nobody is told anything before it allowed the request.
      checkingNominations: {
        on: {
          'budget.allowed': { guard: 'isNominationKey', target: 'awaitingFriends', actions: 'announce' },
          'budget.refused': { guard: 'isNominationKey', target: 'nominating', actions: 'refuseNomination' },
        },
      },
      awaitingFriends: {
        on: {
          'friend.confirm': { actions: 'judge' },
          'budget.allowed': [
            { guard: 'completesQuorum', target: 'disputeWait', actions: ['reachQuorum', 'countVouch'] },
            { guard: 'isPendingVouch', actions: 'countVouch' },
          ],
          'budget.refused': { guard: 'isPendingVouch', actions: 'vouchRefused' },
          'friends.replace': { guard: 'canReplace', actions: 'replace' },
          'clock.tick': { guard: 'windowOver', target: 'failed' },
        },
      },
      // Enough friends confirmed; the owner has `disputeWaitMs` to notice and stop it.
      disputeWait: {
        on: {
          'friend.confirm': { actions: 'judge' },
          'budget.allowed': { guard: 'isPendingVouch', actions: 'countVouch' },
          'budget.refused': { guard: 'isPendingVouch', actions: 'vouchRefused' },
          'clock.tick': [
            { guard: 'disputeOverWithSecondFactor', target: 'secondFactor' },
            { guard: 'disputeOver', target: 'hardening' },
          ],
        },
      },
      secondFactor: {
        on: {
          'secondFactor.submit': [
            { guard: 'secondFactorOk', target: 'hardening', actions: assign({ notice: null, secondFactorPassed: true }) },
            { guard: 'secondFactorExhausted', target: 'locked', actions: 'refuseSecondFactor' },
            { actions: 'refuseSecondFactor' },
          ],
        },
      },
      hardening: {
        ...(hardeningState(PATH, { lifetimeGuard: 'flowExpired' }) as object),
        onDone: [{ guard: 'recoveryApplied', target: 'recovered' }, { target: 'refused' }],
      },
      recovered: { type: 'final' },
      refused: { type: 'final', entry: 'clearSecrets' },
      failed: { type: 'final', entry: 'auditFailed' },
      refusedByFriend: { type: 'final', entry: 'clearSecrets' },
      stoppedByOwner: { type: 'final', entry: 'clearSecrets' },
      locked: { type: 'final', entry: assign({ notice: { code: 'flow_locked', retryAfterMs: policy.code.flowLockMs } satisfies Notice }) },
      cancelled: { type: 'final', entry: 'clearSecrets' },
      timedOut: { type: 'final', entry: 'clearSecrets' },
    },
  });
};

export type FriendAssistMachine = ReturnType<typeof createFriendAssistMachine>;
