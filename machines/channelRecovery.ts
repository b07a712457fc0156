/**
 * Password recovery through a bound channel — by SMS code to the bound phone (seed 000 "retrieve
 * by mobile number", seed 001 step one) or by e-mail with both a reset link and a code (seed
 * 000 "retrieve via email") — with the seeds' FAQ paths as transitions: the code never arrives
 * (resend after the real cooldown, switch to e-mail, go to support) and the bound number is
 * deactivated (straight to support).
 *
 * The entry never reveals whether the channel is bound: an unknown channel walks the same
 * states at the same times, spends the same budgets and answers the same; nothing is sent to
 * it and its codes never verify. Only a proven code or link moves on. An enrolled second
 * factor is always asked for before the new password; no path here can skip it.
 *
 * A failed delivery is never shown, nor even heard: an unbound channel is never sent anything, so
 * it can never fail, and "delivery failed" — or one more saved step to record it — would say the
 * channel is bound. The flow ignores `delivery.failed` as it ignores `delivery.sent`; the executor
 * writes the failure to the audit log, and the person waits out the cooldown and asks again, as
 * the FAQ says.
 *
 * The lifetime and a cancel end the flow from every state but `hardening.applying`, where the
 * password reset is already committed to the outbox and only its answer may end the state (see
 * `hardening.ts`).
 */
import * as t from 'io-ts';
import { assign, enqueueActions, setup } from 'xstate';
import type { RecoveryPath } from '../src/domain/effects.ts';
import type { Instant } from '../src/domain/time.ts';
import { type CodeOutcome, type CodePurpose, CodeState, issueCode } from '../src/domain/verificationCode.ts';
import {
  type ChallengeDeps,
  ChallengeContext,
  codeDelivery,
  codeExpiredAt,
  cooldownNotice,
  exhaustsFlow,
  issueNext,
  killCode,
  type Notice,
  noticeFor,
  resendAllowed,
  spentATry,
} from './codeChallenge.ts';
import { HardeningContext, type HardeningEvent, hardeningState, initialHardening } from './hardening.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export type RecoveryChannel = 'sms' | 'email';

export const Subject = t.union([t.readonly(t.type({ accountId: t.string, epoch: t.number })), t.null]);
export type Subject = t.TypeOf<typeof Subject>;

export const ChannelRecoveryContext = t.intersection([
  ChallengeContext,
  HardeningContext,
  t.type({
    startedAt: t.number,
    expiresAt: t.number,
    /** The channel as the user typed it, normalised where it parsed. */
    channel: t.union([t.string, t.null]),
    /** The account behind the channel, if any: never shown, and the same states either way. */
    subject: Subject,
    link: t.union([CodeState, t.null]),
    secondFactorWrong: t.number,
  }),
]);
export type ChannelRecoveryContext = t.TypeOf<typeof ChannelRecoveryContext>;

export interface ChannelRecoveryInput {
  readonly flowId: string;
  readonly nonce: string;
  readonly at: Instant;
}

/** Facts about the subject the runtime looks up when a code or link is presented. */
export interface SubjectFacts {
  readonly currentEpoch: number | null;
  readonly accountActive: boolean;
  readonly secondFactorEnrolled: boolean;
}

export type ChannelRecoveryEvent =
  | { readonly type: 'channel.submit'; readonly at: Instant; readonly channel: string; readonly subject: Subject }
  | ({ readonly type: 'code.submit'; readonly at: Instant; readonly code: string } & SubjectFacts)
  | ({ readonly type: 'link.open'; readonly at: Instant; readonly token: string } & SubjectFacts)
  | ({ readonly type: 'link.confirm'; readonly at: Instant; readonly token: string } & SubjectFacts)
  | { readonly type: 'code.resend'; readonly at: Instant }
  | { readonly type: 'secondFactor.submit'; readonly at: Instant; readonly result: 'ok' | 'wrong' | 'replayed' | 'not_enrolled' }
  | { readonly type: 'switch.toEmail'; readonly at: Instant }
  | { readonly type: 'support.request'; readonly at: Instant }
  | { readonly type: 'number.deactivated'; readonly at: Instant }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  | { readonly type: 'delivery.sent'; readonly at: Instant }
  | { readonly type: 'delivery.refused'; readonly at: Instant; readonly retryAfterMs: number }
  | { readonly type: 'delivery.failed'; readonly at: Instant; readonly retryable: boolean }
  | { readonly type: 'clock.tick'; readonly at: Instant }
  | HardeningEvent;

const PURPOSE: Record<RecoveryChannel, CodePurpose> = { sms: 'recovery.sms', email: 'recovery.email' };
const PATH: Record<RecoveryChannel, RecoveryPath> = { sms: 'sms', email: 'email' };

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

type Presented = { readonly which: 'code' | 'link'; readonly value: string; readonly facts: SubjectFacts };

const presented = (event: ChannelRecoveryEvent): Presented | null => {
  switch (event.type) {
    case 'code.submit':
      return { which: 'code', value: event.code, facts: event };
    case 'link.open':
    case 'link.confirm':
      return { which: 'link', value: event.token, facts: event };
    default:
      return null;
  }
};

/**
 * The outcome of a presented code or link. For an unknown channel an "accepted" can only be a
 * guess that hit a code nobody was sent; it is counted as wrong, like any other guess.
 */
const challengeOutcome = (deps: ChallengeDeps, channel: RecoveryChannel, context: ChannelRecoveryContext, event: ChannelRecoveryEvent): { outcome: CodeOutcome; next: CodeState | null; which: 'code' | 'link' } => {
  const shown = presented(event);
  if (shown === null) return { outcome: 'wrong', next: null, which: 'code' };
  const state = shown.which === 'code' ? context.code : context.link;
  if (state === null) return { outcome: 'expired', next: null, which: shown.which };
  const expected = { flowId: context.flowId, purpose: PURPOSE[channel], epoch: shown.facts.currentEpoch ?? (context.subject === null ? 0 : -1) };
  const result = deps.secrets.check(state, { submitted: shown.value, now: event.at, expected, policy: deps.policy, kind: shown.which });
  if (context.subject === null && result.outcome === 'accepted') {
    return { outcome: 'wrong', next: { ...state, wrongForCode: state.wrongForCode + 1, wrongForFlow: state.wrongForFlow + 1 }, which: shown.which };
  }
  return { ...result, which: shown.which };
};

const facts = (event: ChannelRecoveryEvent): SubjectFacts => presented(event)?.facts ?? { currentEpoch: null, accountActive: false, secondFactorEnrolled: false };

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

/**
 * @example
 * const sms = createChannelRecoveryMachine({ policy, secrets }, 'sms');
 */
export const createChannelRecoveryMachine = (deps: ChallengeDeps, channel: RecoveryChannel) => {
  const { policy } = deps;
  const outcome = (context: ChannelRecoveryContext, event: ChannelRecoveryEvent) => challengeOutcome(deps, channel, context, event);
  const accepted = (context: ChannelRecoveryContext, event: ChannelRecoveryEvent) => outcome(context, event).outcome === 'accepted';
  const deliverParams = (context: ChannelRecoveryContext) =>
    codeDelivery({
      channel,
      to: context.channel ?? '',
      code: context.code,
      unissued: { flowId: context.flowId, purpose: PURPOSE[channel], epoch: 0, nonce: context.nonce },
      template: channel === 'sms' ? 'recovery.code' : 'recovery.link',
      deliver: context.subject !== null,
      withLink: channel === 'email',
    });
  const failureKey = (context: ChannelRecoveryContext) =>
    context.subject === null ? `failures:channel:${context.channel ?? ''}` : `failures:account:${context.subject.accountId}`;

  const LINK_OPENED = {
    on: {
      'link.confirm': [
        { guard: 'needsSecondFactor', target: 'secondFactor', actions: 'useChallenge' },
        { guard: 'proven', target: 'hardening', actions: 'useChallenge' },
        { guard: 'provenButInactive', target: 'accountUnavailable', actions: 'useChallenge' },
        { guard: 'wrongExhaustsFlow', target: 'locked', actions: 'refuseChallenge' },
        { actions: 'refuseChallenge' },
      ],
      'clock.tick': { guard: 'codeExpired', target: 'codeExpired' },
    },
  } as const;

  return setup({
    types: {
      context: {} as ChannelRecoveryContext,
      events: {} as ChannelRecoveryEvent,
      input: {} as ChannelRecoveryInput,
    },
    actions: {
      deliverCode: (_, _params: ReturnType<typeof deliverParams>) => {},
      recordFailure: (_, _params: { key: string }) => {},
      completeRecovery: (_, _params: { accountId: string; expectedEpoch: number; passwordHash: string; path: RecoveryPath }) => {},
      revokeSession: (_, _params: { accountId: string; sessionId: string }) => {},
      sendCode: enqueueActions(({ context, event, enqueue }) => {
        const subject = event.type === 'channel.submit' ? event.subject : context.subject;
        const base = { ...context, subject, ...(event.type === 'channel.submit' ? { channel: event.channel } : {}) };
        const epoch = subject?.epoch ?? 0;
        const next = { ...base, ...issueNext(base, PURPOSE[channel], epoch, event.at, policy) };
        // The e-mail carries a link as well, alive for the longer link lifetime.
        const link = channel === 'email' ? issueCode(context.link ?? undefined, next.code.binding, event.at, policy.code.emailLinkTtlMs) : null;
        enqueue.assign({ ...next, link });
        enqueue({ type: 'deliverCode', params: deliverParams(next) } as never);
      }),
      useChallenge: assign(({ context, event }) => {
        const result = outcome(context, event);
        return result.which === 'code' ? { code: result.next, notice: null } : { link: result.next, notice: null };
      }),
      refuseChallenge: enqueueActions(({ context, event, enqueue }) => {
        const result = outcome(context, event);
        const notice = result.outcome === 'accepted' ? null : noticeFor(result.outcome, policy);
        enqueue.assign(result.which === 'code' ? { code: result.next, notice } : { link: result.next, notice });
        if (spentATry(result.outcome)) enqueue({ type: 'recordFailure', params: { key: failureKey(context) } } as never);
      }),
      refuseResend: assign(({ context, event }) => ({ notice: cooldownNotice(context, event.at) })),
      refuseDelivery: assign(({ context, event }) => {
        const retryAfterMs = event.type === 'delivery.refused' ? event.retryAfterMs : 0;
        return { code: killCode(context.code, event.at), link: killCode(context.link, event.at), resendAllowedAt: event.at + retryAfterMs, notice: { code: 'rate_limited', retryAfterMs } satisfies Notice };
      }),
      refuseSecondFactor: enqueueActions(({ context, event, enqueue }) => {
        const replayed = event.type === 'secondFactor.submit' && event.result === 'replayed';
        enqueue.assign({ secondFactorWrong: context.secondFactorWrong + 1, notice: { code: replayed ? 'code_used' : 'code_invalid' } satisfies Notice });
        enqueue({ type: 'recordFailure', params: { key: failureKey(context) } } as never);
      }),
      clearSecrets: assign({ passwordHash: null }),
    },
    guards: {
      needsSecondFactor: ({ context, event }) => accepted(context, event) && facts(event).accountActive && facts(event).secondFactorEnrolled,
      proven: ({ context, event }) => accepted(context, event) && facts(event).accountActive,
      provenButInactive: ({ context, event }) => accepted(context, event) && !facts(event).accountActive,
      linkValid: ({ context, event }) => {
        // Opening a link only looks: mail scanners open links, so nothing is used up here.
        const result = outcome(context, event);
        return result.outcome === 'accepted' && facts(event).accountActive;
      },
      wrongExhaustsFlow: ({ context, event }) => {
        const result = outcome(context, event);
        return spentATry(result.outcome) && exhaustsFlow(result.next, policy);
      },
      resendAllowed: ({ context, event }) => resendAllowed(context, event.at),
      codeExpired: ({ context, event }) => codeExpiredAt(context, event.at) && (context.link === null || event.at >= context.link.expiresAt),
      flowExpired: ({ context, event }) => event.at >= context.expiresAt,
      secondFactorOk: ({ event }) => event.type === 'secondFactor.submit' && event.result === 'ok',
      secondFactorExhausted: ({ context }) => context.secondFactorWrong + 1 >= policy.code.maxWrongPerCode,
      recoveryApplied: ({ context }) => context.applied === 'applied',
      isSms: () => channel === 'sms',
    },
  }).createMachine({
    id: channel === 'sms' ? 'smsRecovery' : 'emailRecovery',
    context: ({ input }) => ({
      flowId: input.flowId,
      nonce: input.nonce,
      code: null,
      resendAllowedAt: null,
      sends: 0,
      notice: null,
      ...initialHardening,
      startedAt: input.at,
      expiresAt: input.at + policy.flowMaxLifetimeMs,
      channel: null,
      subject: null,
      link: null,
      secondFactorWrong: 0,
    }),
    initial: 'enteringChannel',
    on: {
      'flow.cancel': { target: '.cancelled' },
      'clock.tick': { guard: 'flowExpired', target: '.timedOut' },
    },
    states: {
      enteringChannel: {
        on: {
          'channel.submit': { target: 'awaitingCode', actions: 'sendCode' },
          'support.request': { target: 'handedToSupport' },
          ...(channel === 'sms' ? { 'number.deactivated': { target: 'handedToSupport' } } : {}),
        },
      },
      awaitingCode: {
        on: {
          'code.submit': [
            { guard: 'needsSecondFactor', target: 'secondFactor', actions: 'useChallenge' },
            { guard: 'proven', target: 'hardening', actions: 'useChallenge' },
            { guard: 'provenButInactive', target: 'accountUnavailable', actions: 'useChallenge' },
            { guard: 'wrongExhaustsFlow', target: 'locked', actions: 'refuseChallenge' },
            { actions: 'refuseChallenge' },
          ],
          ...(channel === 'email'
            ? {
                'link.open': [{ guard: 'linkValid', target: 'linkOpened' }, { guard: 'provenButInactive', target: 'accountUnavailable' }, { actions: 'refuseChallenge' }],
              }
            : {}),
          'code.resend': [{ guard: 'resendAllowed', actions: 'sendCode' }, { actions: 'refuseResend' }],
          'clock.tick': { guard: 'codeExpired', target: 'codeExpired' },
          'delivery.refused': { actions: 'refuseDelivery' },
          'support.request': { target: 'handedToSupport' },
          ...(channel === 'sms' ? { 'switch.toEmail': { target: 'switchedToEmail' }, 'number.deactivated': { target: 'handedToSupport' } } : {}),
        },
      },
      codeExpired: {
        on: {
          'code.submit': { actions: assign({ notice: { code: 'code_expired' } satisfies Notice }) },
          'code.resend': [{ guard: 'resendAllowed', target: 'awaitingCode', actions: 'sendCode' }, { actions: 'refuseResend' }],
          'delivery.refused': { actions: 'refuseDelivery' },
          'support.request': { target: 'handedToSupport' },
          ...(channel === 'sms' ? { 'switch.toEmail': { target: 'switchedToEmail' }, 'number.deactivated': { target: 'handedToSupport' } } : {}),
        },
      },
      // E-mail only: the link was opened and looked valid; confirming it is what uses it up.
      ...(channel === 'email' ? { linkOpened: LINK_OPENED } : {}),
      secondFactor: {
        on: {
          'secondFactor.submit': [
            { guard: 'secondFactorOk', target: 'hardening', actions: assign({ notice: null }) },
            { guard: 'secondFactorExhausted', target: 'locked', actions: 'refuseSecondFactor' },
            { actions: 'refuseSecondFactor' },
          ],
        },
      },
      hardening: {
        ...(hardeningState(PATH[channel], { lifetimeGuard: 'flowExpired' }) as object),
        onDone: [{ guard: 'recoveryApplied', target: 'recovered' }, { target: 'refused' }],
      },
      recovered: { type: 'final' },
      refused: { type: 'final', entry: 'clearSecrets' },
      accountUnavailable: { type: 'final' },
      ...(channel === 'sms' ? { switchedToEmail: { type: 'final' as const } } : {}),
      handedToSupport: { type: 'final' },
      locked: { type: 'final', entry: assign({ notice: { code: 'flow_locked', retryAfterMs: policy.code.flowLockMs } satisfies Notice }) },
      cancelled: { type: 'final', entry: 'clearSecrets' },
      timedOut: { type: 'final', entry: 'clearSecrets' },
    },
  });
};

export type ChannelRecoveryMachine = ReturnType<typeof createChannelRecoveryMachine>;
