/**
 * Registration by phone, as seed 002 describes it: number with country code → region and
 * block checks (at the boundary) → SMS code → WeChat-ID-style handle → password → account.
 *
 * A number that already has an account walks the same states, at the same times, until its
 * code is verified; only then, with possession proven, does it learn "sign in or recover".
 *
 * The lifetime and a cancel end the flow from every state but `creatingAccount`: there the
 * `createAccount` effect is already in the outbox and runs whatever the flow says next (a
 * failing port leaves it pending for `drain`), so only the directory's answer may end it; a
 * conflict sends the flow back to a state the lifetime ends again.
 */
import * as t from 'io-ts';
import { assign, enqueueActions, setup } from 'xstate';
import type { Instant } from '../src/domain/time.ts';
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

export const RegistrationContext = t.intersection([
  ChallengeContext,
  t.type({
    startedAt: t.number,
    expiresAt: t.number,
    phone: t.union([t.string, t.null]),
    handle: t.union([t.string, t.null]),
    passwordHash: t.union([t.string, t.null]),
    accountId: t.union([t.string, t.null]),
  }),
]);
export type RegistrationContext = ChallengeContext & {
  readonly startedAt: Instant;
  /** The whole flow ends here at the latest. */
  readonly expiresAt: Instant;
  readonly phone: string | null;
  readonly handle: string | null;
  readonly passwordHash: string | null;
  readonly accountId: string | null;
};

export interface RegistrationInput {
  readonly flowId: string;
  readonly nonce: string;
  readonly at: Instant;
}

export type RegistrationEvent =
  | { readonly type: 'phone.submit'; readonly at: Instant; readonly phone: string }
  | { readonly type: 'code.submit'; readonly at: Instant; readonly code: string; readonly phoneTaken: boolean }
  | { readonly type: 'code.resend'; readonly at: Instant }
  | { readonly type: 'handle.submit'; readonly at: Instant; readonly handle: string; readonly taken: boolean }
  | { readonly type: 'password.submit'; readonly at: Instant; readonly passwordHash: string }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  | { readonly type: 'delivery.sent'; readonly at: Instant }
  | { readonly type: 'delivery.refused'; readonly at: Instant; readonly retryAfterMs: number }
  | { readonly type: 'delivery.failed'; readonly at: Instant; readonly retryable: boolean }
  | { readonly type: 'account.created'; readonly at: Instant; readonly accountId: string }
  | { readonly type: 'account.conflict'; readonly at: Instant; readonly conflict: 'phone_taken' | 'handle_taken' }
  | { readonly type: 'clock.tick'; readonly at: Instant };

const PURPOSE = 'registration' as const;
/** Registration codes belong to no account yet, so no security epoch. */
const EPOCH = 0;

const submitted = (event: RegistrationEvent): string => (event.type === 'code.submit' ? event.code : '');

/** The outbox entry for the context's current code: binding and counter, never the code. */
const deliverParams = (context: RegistrationContext) =>
  codeDelivery({
    channel: 'sms',
    to: context.phone ?? '',
    code: context.code,
    unissued: { flowId: context.flowId, purpose: PURPOSE, epoch: EPOCH, nonce: context.nonce },
    template: 'registration.code',
    deliver: true,
  });

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

/**
 * Builds the machine for one host. Create it once and share it: it holds only the policy and
 * the code-secret port, never per-flow state.
 *
 * @example
 * const machine = createRegistrationMachine({ policy, secrets: hmacCodeSecrets(key) });
 */
export const createRegistrationMachine = (deps: ChallengeDeps) => {
  const { policy } = deps;
  const outcome = (context: RegistrationContext, event: RegistrationEvent) =>
    outcomeOf(deps, context, submitted(event), event.at, { purpose: PURPOSE, epoch: EPOCH });

  return setup({
    types: {
      context: {} as RegistrationContext,
      events: {} as RegistrationEvent,
      input: {} as RegistrationInput,
      output: {} as { readonly accountId: string | null },
    },
    actions: {
      // Effects: declared by name here, run by the host's executor from the outbox.
      deliverCode: (_, _params: ReturnType<typeof deliverParams>) => {},
      recordFailure: (_, _params: { key: string }) => {},
      createAccount: (_, _params: { phone: string; handle: string; passwordHash: string }) => {},
      audit: (_, _params: { kind: string; accountId?: string }) => {},
      // Steps of the code challenge, composed from the shared rules in codeChallenge.ts.
      sendCode: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'phone.submit' && event.type !== 'code.resend') return;
        const next = { ...context, ...(event.type === 'phone.submit' ? { phone: event.phone } : {}), ...issueNext(context, PURPOSE, EPOCH, event.at, policy) };
        enqueue.assign(next);
        enqueue({ type: 'deliverCode', params: deliverParams(next) } as never);
      }),
      useCode: assign(({ context, event }) => ({ code: outcome(context, event).next, notice: null })),
      refuseCode: assign(({ context, event }) => {
        const result = outcome(context, event);
        return { code: result.next, notice: result.outcome === 'accepted' ? null : noticeFor(result.outcome, policy) };
      }),
      countFailure: enqueueActions(({ context, event, enqueue }) => {
        if (spentATry(outcome(context, event).outcome)) enqueue({ type: 'recordFailure', params: { key: `failures:phone:${context.phone ?? ''}` } } as never);
      }),
      refuseResend: assign(({ context, event }) => ({ notice: cooldownNotice(context, event.at) })),
      refuseDelivery: assign(({ context, event }) => {
        const retryAfterMs = event.type === 'delivery.refused' ? event.retryAfterMs : 0;
        return { code: killCode(context.code, event.at), resendAllowedAt: event.at + retryAfterMs, notice: { code: 'rate_limited', retryAfterMs } satisfies Notice };
      }),
      // The FAQ "the code never arrives": told so, and when a new one may be asked for.
      noteDeliveryFailed: assign(({ context, event }) => afterDeliveryFailure(context, event.at, event.type === 'delivery.failed' && event.retryable)),
    },
    guards: {
      codeAcceptedForTakenPhone: ({ context, event }) => event.type === 'code.submit' && event.phoneTaken && outcome(context, event).outcome === 'accepted',
      codeAccepted: ({ context, event }) => outcome(context, event).outcome === 'accepted',
      wrongCodeExhaustsFlow: ({ context, event }) => {
        const result = outcome(context, event);
        return spentATry(result.outcome) && exhaustsFlow(result.next, policy);
      },
      resendAllowed: ({ context, event }) => resendAllowed(context, event.at),
      codeExpired: ({ context, event }) => codeExpiredAt(context, event.at),
      flowExpired: ({ context, event }) => event.at >= context.expiresAt,
      handleTaken: ({ event }) => event.type === 'handle.submit' && event.taken,
      handleConflict: ({ event }) => event.type === 'account.conflict' && event.conflict === 'handle_taken',
    },
  }).createMachine({
    id: 'registration',
    context: ({ input }) => ({
      flowId: input.flowId,
      nonce: input.nonce,
      code: null,
      resendAllowedAt: null,
      sends: 0,
      notice: null,
      startedAt: input.at,
      expiresAt: input.at + policy.flowMaxLifetimeMs,
      phone: null,
      handle: null,
      passwordHash: null,
      accountId: null,
    }),
    initial: 'enteringPhone',
    output: ({ context }) => ({ accountId: context.accountId }),
    on: {
      'flow.cancel': { target: '.cancelled' },
      'clock.tick': { guard: 'flowExpired', target: '.timedOut' },
    },
    states: {
      enteringPhone: {
        on: {
          'phone.submit': {
            target: 'awaitingCode',
            actions: 'sendCode',
          },
        },
      },
      awaitingCode: {
        on: {
          'code.submit': [
            { guard: 'codeAcceptedForTakenPhone', target: 'alreadyRegistered', actions: 'useCode' },
            { guard: 'codeAccepted', target: 'choosingHandle', actions: 'useCode' },
            { guard: 'wrongCodeExhaustsFlow', target: 'locked', actions: ['refuseCode', 'countFailure'] },
            { actions: ['refuseCode', 'countFailure'] },
          ],
          'code.resend': [{ guard: 'resendAllowed', actions: 'sendCode' }, { actions: 'refuseResend' }],
          'clock.tick': { guard: 'codeExpired', target: 'codeExpired' },
          'delivery.refused': { actions: 'refuseDelivery' },
          'delivery.failed': { actions: 'noteDeliveryFailed' },
        },
      },
      codeExpired: {
        on: {
          'code.submit': { actions: assign({ notice: { code: 'code_expired' } satisfies Notice }) },
          'code.resend': [{ guard: 'resendAllowed', target: 'awaitingCode', actions: 'sendCode' }, { actions: 'refuseResend' }],
          'delivery.refused': { actions: 'refuseDelivery' },
          'delivery.failed': { actions: 'noteDeliveryFailed' },
        },
      },
      choosingHandle: {
        on: {
          'handle.submit': [
            { guard: 'handleTaken', actions: assign({ notice: { code: 'handle_taken' } satisfies Notice }) },
            { target: 'choosingPassword', actions: assign(({ event }) => ({ handle: event.handle, notice: null })) },
          ],
        },
      },
      choosingPassword: {
        on: {
          'password.submit': {
            target: 'creatingAccount',
            actions: [
              assign(({ event }) => ({ passwordHash: event.passwordHash, notice: null })),
              {
                type: 'createAccount',
                params: ({ context, event }) => ({ phone: context.phone ?? '', handle: context.handle ?? '', passwordHash: event.passwordHash }),
              },
            ],
          },
        },
      },
      creatingAccount: {
        on: {
          'account.created': {
            target: 'registered',
            actions: [
              assign(({ event }) => ({ accountId: event.accountId, passwordHash: null })),
              { type: 'audit', params: ({ event }) => ({ kind: 'account.registered', accountId: event.accountId }) },
            ],
          },
          'account.conflict': [
            { guard: 'handleConflict', target: 'choosingHandle', actions: assign({ handle: null, passwordHash: null, notice: { code: 'handle_taken' } satisfies Notice }) },
            // The number was registered by another flow meanwhile: possession is proven, so say so.
            { target: 'alreadyRegistered', actions: assign({ passwordHash: null }) },
          ],
          // Forbidden here: xstate picks a state's own handler before the root's, and these take
          // nothing, so neither ends the flow while an account may still be created (the
          // runtime drops the step; a cancel is `event_not_accepted`).
          'clock.tick': {},
          'flow.cancel': {},
        },
      },
      registered: { type: 'final' },
      alreadyRegistered: { type: 'final' },
      locked: { type: 'final', entry: assign({ notice: { code: 'flow_locked', retryAfterMs: policy.code.flowLockMs } satisfies Notice }) },
      cancelled: { type: 'final', entry: assign({ passwordHash: null }) },
      timedOut: { type: 'final', entry: assign({ passwordHash: null }) },
    },
  });
};

export type RegistrationMachine = ReturnType<typeof createRegistrationMachine>;
