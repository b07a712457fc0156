/**
 * Binding or changing the phone number or e-mail address of a signed-in account. The new
 * channel proves itself with a code sent to it; only a redeemed code writes the change, and
 * the directory writes it only while the account is still at the epoch the flow started under.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> enteringChannel
 *   enteringChannel --> awaitingCode: channel.submit / deliverCode (to the NEW channel)
 *   awaitingCode --> awaitingCode: code.submit [wrong] / code.resend [after cooldown]
 *   awaitingCode --> applying: code.submit [accepted] / bindChannel
 *   awaitingCode --> locked: code.submit [wrong, flow out of tries]
 *   awaitingCode --> codeExpired: clock.tick [codeExpired]
 *   codeExpired --> awaitingCode: code.resend [after cooldown]
 *   applying --> bound: binding.applied / notifyAddress (old value), notifyChannels
 *   applying --> channelTaken: binding.conflict [channel_taken]
 *   applying --> sessionEnded: binding.conflict [stale_epoch, deactivated, not_found]
 *   state "enteringChannel, awaitingCode, codeExpired" as open
 *   open --> sessionEnded: session.ended
 *   open --> cancelled: flow.cancel
 *   open --> timedOut: clock.tick [flow lifetime over]
 * ```
 *
 * A channel that belongs to another account walks the same states at the same times until its
 * code is redeemed: only possession, proven, earns the answer "this belongs to another account".
 *
 * `applying` takes no cancel, timeout or session end: its `bindChannel` effect is already in the
 * outbox and will run, so the flow waits for the directory's answer rather than claim an outcome
 * the directory might contradict.
 */
import * as t from 'io-ts';
import { assign, enqueueActions, setup } from 'xstate';
import type { MessageTemplate } from '../src/domain/effects.ts';
import { hasPassed, type Instant } from '../src/domain/time.ts';
import type { CodePurpose } from '../src/domain/verificationCode.ts';
import {
  type ChallengeDeps,
  ChallengeContext,
  afterDeliveryFailure,
  codeDelivery,
  codeExpiredAt,
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

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export const BindingChannelKind = t.keyof({ phone: null, email: null }, 'BindingChannelKind');
export type BindingChannelKind = t.TypeOf<typeof BindingChannelKind>;

/** Why the directory would not write the change; everything but `channel_taken` means the session is over. */
export const BindingConflict = t.keyof({ channel_taken: null, stale_epoch: null, not_found: null, deactivated: null }, 'BindingConflict');
export type BindingConflict = t.TypeOf<typeof BindingConflict>;

export const BindingContext = t.intersection([
  ChallengeContext,
  t.type({
    accountId: t.string,
    sessionId: t.string,
    epoch: t.number,
    startedAt: t.number,
    expiresAt: t.number,
    kind: t.union([BindingChannelKind, t.null]),
    value: t.union([t.string, t.null]),
    previous: t.union([t.string, t.null]),
    verifiedAt: t.union([t.number, t.null]),
    conflict: t.union([BindingConflict, t.null]),
  }),
]);
export type BindingContext = ChallengeContext & {
  /** Fixed at start from the host's session, never from a request body. */
  readonly accountId: string;
  /** The session that started the flow: the flow dies with it, and no other session may act on it. */
  readonly sessionId: string;
  /** The account's security epoch at start: codes are bound to it, and the write requires it. */
  readonly epoch: number;
  readonly startedAt: Instant;
  /** The whole flow ends here at the latest. */
  readonly expiresAt: Instant;
  readonly kind: BindingChannelKind | null;
  /** The new phone (E.164) or e-mail address, normalised at the boundary. */
  readonly value: string | null;
  /** The value this change replaces, as the account had it when the code was redeemed; told after the change. */
  readonly previous: string | null;
  /** When the directory recorded the new channel as verified. */
  readonly verifiedAt: Instant | null;
  readonly conflict: BindingConflict | null;
};

export interface BindingInput {
  readonly flowId: string;
  readonly nonce: string;
  readonly at: Instant;
  readonly accountId: string;
  readonly sessionId: string;
  readonly epoch: number;
}

export type BindingEvent =
  | { readonly type: 'channel.submit'; readonly at: Instant; readonly kind: BindingChannelKind; readonly value: string }
  /** `current`: the account's value of this kind right now, looked up at the boundary. */
  | { readonly type: 'code.submit'; readonly at: Instant; readonly code: string; readonly current: string | null }
  | { readonly type: 'code.resend'; readonly at: Instant }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  /** Attached by the boundary when the starting session acts after it was revoked or outlived its epoch. */
  | { readonly type: 'session.ended'; readonly at: Instant }
  | { readonly type: 'delivery.sent'; readonly at: Instant }
  | { readonly type: 'delivery.refused'; readonly at: Instant; readonly retryAfterMs: number }
  | { readonly type: 'delivery.failed'; readonly at: Instant; readonly retryable: boolean }
  | { readonly type: 'binding.applied'; readonly at: Instant; readonly verifiedAt: Instant }
  | { readonly type: 'binding.conflict'; readonly at: Instant; readonly reason: BindingConflict }
  | { readonly type: 'clock.tick'; readonly at: Instant };

const CHANGED: MessageTemplate = 'channel.changed';

export const bindingPurpose = (kind: BindingChannelKind): CodePurpose => (kind === 'phone' ? 'binding.phone' : 'binding.email');

const messageChannel = (kind: BindingChannelKind): 'sms' | 'email' => (kind === 'phone' ? 'sms' : 'email');

const submitted = (event: BindingEvent): string => (event.type === 'code.submit' ? event.code : '');

/** The outbox entry for the context's current code: binding and counter, never the code. */
const deliverParams = (context: BindingContext) => {
  const kind = context.kind ?? 'phone';
  return codeDelivery({
    channel: messageChannel(kind),
    to: context.value ?? '',
    code: context.code,
    unissued: { flowId: context.flowId, purpose: bindingPurpose(kind), epoch: context.epoch, nonce: context.nonce },
    template: 'binding.code',
    deliver: true,
  });
};

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

/**
 * Builds the machine for one host. Create it once and share it: it holds only the policy and
 * the code-secret port, never per-flow state.
 *
 * @example
 * const machine = createBindingMachine({ policy, secrets: hmacCodeSecrets(key) });
 * const [s0] = initialTransition(machine, { flowId: 'f1', nonce: 'n1', at: 0, accountId: 'acct-1', sessionId: 'sess-1', epoch: 0 });
 * const [s1, actions] = transition(machine, s0, { type: 'channel.submit', at: 1, kind: 'email', value: 'a@example.com' });
 * // s1.value === 'awaitingCode'; actions name deliverCode to a@example.com with purpose binding.email
 */
export const createBindingMachine = (deps: ChallengeDeps) => {
  const { policy } = deps;
  const outcome = (context: BindingContext, event: BindingEvent) =>
    outcomeOf(deps, context, submitted(event), event.at, { purpose: bindingPurpose(context.kind ?? 'phone'), epoch: context.epoch });

  return setup({
    types: {
      context: {} as BindingContext,
      events: {} as BindingEvent,
      input: {} as BindingInput,
      output: {} as { readonly accountId: string; readonly verifiedAt: Instant | null },
    },
    actions: {
      // Effects: declared by name here, run by the host's executor from the outbox.
      deliverCode: (_, _params: ReturnType<typeof deliverParams>) => {},
      recordFailure: (_, _params: { key: string }) => {},
      bindChannel: (_, _params: { accountId: string; expectedEpoch: number; channel: { kind: BindingChannelKind; value: string } }) => {},
      notifyAddress: (_, _params: { channel: 'sms' | 'email'; to: string; template: MessageTemplate }) => {},
      notifyChannels: (_, _params: { accountId: string; template: MessageTemplate }) => {},
      audit: (_, _params: { kind: string; accountId?: string; detail?: Record<string, string | number | boolean | null> }) => {},
      // Steps of the code challenge, composed from the shared rules in codeChallenge.ts.
      sendCode: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'channel.submit' && event.type !== 'code.resend') return;
        const chosen = event.type === 'channel.submit' ? { ...context, kind: event.kind, value: event.value } : context;
        const next = { ...chosen, ...issueNext(chosen, bindingPurpose(chosen.kind ?? 'phone'), context.epoch, event.at, policy) };
        enqueue.assign(next);
        enqueue({ type: 'deliverCode', params: deliverParams(next) } as never);
      }),
      redeem: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'code.submit' || context.kind === null || context.value === null) return;
        enqueue.assign({ code: outcome(context, event).next, notice: null, previous: event.current });
        enqueue({ type: 'bindChannel', params: { accountId: context.accountId, expectedEpoch: context.epoch, channel: { kind: context.kind, value: context.value } } } as never);
      }),
      refuseCode: assign(({ context, event }) => {
        const result = outcome(context, event);
        return { code: result.next, notice: result.outcome === 'accepted' ? null : noticeFor(result.outcome, policy) };
      }),
      // Keyed by account: guesses against one account count together across its binding flows.
      countFailure: enqueueActions(({ context, event, enqueue }) => {
        if (spentATry(outcome(context, event).outcome)) enqueue({ type: 'recordFailure', params: { key: `failures:account:${context.accountId}` } } as never);
      }),
      refuseResend: assign(({ context, event }) => ({ notice: cooldownNotice(context, event.at) })),
      refuseDelivery: assign(({ context, event }) => {
        const retryAfterMs = event.type === 'delivery.refused' ? event.retryAfterMs : 0;
        return { code: killCode(context.code, event.at), resendAllowedAt: event.at + retryAfterMs, notice: { code: 'rate_limited', retryAfterMs } satisfies Notice };
      }),
      // The FAQ "the code never arrives": told so, and when a new one may be asked for.
      noteDeliveryFailed: assign(({ context, event }) => afterDeliveryFailure(context, event.at, event.type === 'delivery.failed' && event.retryable)),
      noteApplied: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'binding.applied' || context.kind === null) return;
        enqueue.assign({ verifiedAt: event.verifiedAt });
        // The old value is no longer bound, so "every bound channel" would miss exactly the one
        // that most needs to hear it: whoever lost it may be the rightful owner.
        if (context.previous !== null && context.previous !== context.value) {
          enqueue({ type: 'notifyAddress', params: { channel: messageChannel(context.kind), to: context.previous, template: CHANGED } } as never);
        }
        enqueue({ type: 'notifyChannels', params: { accountId: context.accountId, template: CHANGED } } as never);
        enqueue({
          type: 'audit',
          params: { kind: 'binding.applied', accountId: context.accountId, detail: { channel: context.kind, replaced: context.previous !== null } },
        } as never);
      }),
      noteConflict: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'binding.conflict') return;
        enqueue.assign({ conflict: event.reason });
        enqueue({ type: 'audit', params: { kind: 'binding.refused', accountId: context.accountId, detail: { channel: context.kind, reason: event.reason } } } as never);
      }),
    },
    guards: {
      codeAccepted: ({ context, event }) => outcome(context, event).outcome === 'accepted',
      wrongCodeExhaustsFlow: ({ context, event }) => {
        const result = outcome(context, event);
        return spentATry(result.outcome) && exhaustsFlow(result.next, policy);
      },
      resendAllowed: ({ context, event }) => resendAllowed(context, event.at),
      codeExpired: ({ context, event }) => codeExpiredAt(context, event.at),
      flowExpired: ({ context, event }) => hasPassed(context.expiresAt, event.at),
      channelTaken: ({ event }) => event.type === 'binding.conflict' && event.reason === 'channel_taken',
    },
  }).createMachine({
    id: 'binding',
    context: ({ input }) => ({
      flowId: input.flowId,
      nonce: input.nonce,
      code: null,
      resendAllowedAt: null,
      sends: 0,
      notice: null,
      accountId: input.accountId,
      sessionId: input.sessionId,
      epoch: input.epoch,
      startedAt: input.at,
      expiresAt: input.at + policy.flowMaxLifetimeMs,
      kind: null,
      value: null,
      previous: null,
      verifiedAt: null,
      conflict: null,
    }),
    initial: 'enteringChannel',
    output: ({ context }) => ({ accountId: context.accountId, verifiedAt: context.verifiedAt }),
    states: {
      enteringChannel: {
        on: {
          'channel.submit': { target: 'awaitingCode', actions: 'sendCode' },
          'flow.cancel': { target: 'cancelled' },
          'session.ended': { target: 'sessionEnded' },
          'clock.tick': { guard: 'flowExpired', target: 'timedOut' },
        },
      },
      awaitingCode: {
        on: {
          'code.submit': [
            { guard: 'codeAccepted', target: 'applying', actions: 'redeem' },
            { guard: 'wrongCodeExhaustsFlow', target: 'locked', actions: ['refuseCode', 'countFailure'] },
            { actions: ['refuseCode', 'countFailure'] },
          ],
          'code.resend': [{ guard: 'resendAllowed', actions: 'sendCode' }, { actions: 'refuseResend' }],
          'delivery.refused': { actions: 'refuseDelivery' },
          'delivery.failed': { actions: 'noteDeliveryFailed' },
          'flow.cancel': { target: 'cancelled' },
          'session.ended': { target: 'sessionEnded' },
          // A code sent in the last minutes of the flow's lifetime outlives it: the flow still
          // ends at its deadline, which is the one its view reports.
          'clock.tick': [
            { guard: 'codeExpired', target: 'codeExpired' },
            { guard: 'flowExpired', target: 'timedOut' },
          ],
        },
      },
      codeExpired: {
        on: {
          'code.submit': { actions: assign({ notice: { code: 'code_expired' } satisfies Notice }) },
          'code.resend': [{ guard: 'resendAllowed', target: 'awaitingCode', actions: 'sendCode' }, { actions: 'refuseResend' }],
          'delivery.refused': { actions: 'refuseDelivery' },
          'delivery.failed': { actions: 'noteDeliveryFailed' },
          'flow.cancel': { target: 'cancelled' },
          'session.ended': { target: 'sessionEnded' },
          'clock.tick': { guard: 'flowExpired', target: 'timedOut' },
        },
      },
      applying: {
        on: {
          'binding.applied': { target: 'bound', actions: 'noteApplied' },
          'binding.conflict': [
            { guard: 'channelTaken', target: 'channelTaken', actions: 'noteConflict' },
            // The account moved to a new epoch (a recovery) or went away: the starting session is over.
            { target: 'sessionEnded', actions: 'noteConflict' },
          ],
        },
      },
      bound: { type: 'final' },
      /** Possession proven, so the user may now learn the channel is someone else's. */
      channelTaken: { type: 'final' },
      sessionEnded: { type: 'final', entry: assign({ notice: null }) },
      locked: { type: 'final', entry: assign({ notice: { code: 'flow_locked', retryAfterMs: policy.code.flowLockMs } satisfies Notice }) },
      cancelled: { type: 'final' },
      timedOut: { type: 'final' },
    },
  });
};

export type BindingMachine = ReturnType<typeof createBindingMachine>;
