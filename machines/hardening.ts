/**
 * The hardening every recovery path ends in, as one state fragment each recovery machine embeds
 * (SMS, e-mail, friends, manual review), so the rules after a recovery cannot differ by path:
 *
 *   choosingPassword → applying → reviewingSecurity → completed
 *
 * The new password arrives hashed (checked against the policy and the old password at the
 * boundary). `completeRecovery` then bumps the security epoch with the new hash — which kills
 * every other session, code, link and request issued under the old epoch — revokes every
 * session, tells every bound channel, and reads recent logins for the review, where the user
 * can sign a device out and is offered a second channel and 2FA.
 *
 * `applying` takes no lifetime tick and no cancel: `completeRecovery` is already in the outbox
 * and runs whatever the flow says next (a failing port leaves it pending for `drain`), so only
 * its answer, `recovery.applied` or `recovery.refused`, may end the state. The embedding
 * machine's own lifetime and cancel apply again from `reviewingSecurity` on.
 */
import * as t from 'io-ts';
import { assign } from 'xstate';
import type { RecoveryPath } from '../src/domain/effects.ts';
import type { Instant } from '../src/domain/time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export const LoginSummary = t.readonly(t.type({ at: t.number, device: t.string, place: t.string, sessionId: t.string }));
export type LoginSummary = t.TypeOf<typeof LoginSummary>;

export const SecurityOffer = t.keyof({ bindPhone: null, bindEmail: null, enableTotp: null });
export type SecurityOffer = t.TypeOf<typeof SecurityOffer>;

export const HardeningContext = t.type({
  /** Held only between the password step and the epoch bump; cleared once applied. */
  passwordHash: t.union([t.string, t.null]),
  recentLogins: t.readonlyArray(LoginSummary),
  offers: t.readonlyArray(SecurityOffer),
  revokedSessions: t.number,
  /** How the last attempt to apply ended: null until then. */
  applied: t.union([t.literal('applied'), t.literal('refused'), t.null]),
  /** Sessions the user signed out from the review. */
  signedOut: t.readonlyArray(t.string),
});
export interface HardeningContext {
  readonly passwordHash: string | null;
  readonly recentLogins: readonly LoginSummary[];
  readonly offers: readonly SecurityOffer[];
  readonly revokedSessions: number;
  readonly applied: 'applied' | 'refused' | null;
  readonly signedOut: readonly string[];
}

export const initialHardening: HardeningContext = { passwordHash: null, recentLogins: [], offers: [], revokedSessions: 0, applied: null, signedOut: [] };

export type HardeningEvent =
  | { readonly type: 'password.submit'; readonly at: Instant; readonly passwordHash: string }
  | {
      readonly type: 'recovery.applied';
      readonly at: Instant;
      readonly revokedSessions: number;
      readonly offers: readonly SecurityOffer[];
      readonly recentLogins: readonly LoginSummary[];
    }
  | { readonly type: 'recovery.refused'; readonly at: Instant; readonly reason: string }
  | { readonly type: 'session.revoke'; readonly at: Instant; readonly sessionId: string }
  | { readonly type: 'security.done'; readonly at: Instant };

interface Subjected {
  readonly subject: { readonly accountId: string; readonly epoch: number } | null;
}

// ---------------------------------------------------------------------------------------------
// state fragment
// ---------------------------------------------------------------------------------------------

/**
 * The `hardening` compound state. Its parent routes `onDone` by `context.applied`: 'applied'
 * to the recovered state, anything else to a refusal (the epoch moved on, or the account was
 * deactivated, between the challenge and the new password).
 *
 * The fragment is typed loosely on purpose: XState infers a machine's types from one config
 * literal, and a fragment shared by four machines cannot be part of four literals.
 */
export const hardeningState = (
  path: RecoveryPath,
  /**
   * The embedding machine's guard for "the flow's lifetime is over", when the lifetime and a
   * cancel would otherwise end the whole flow from the review. The review is optional and the
   * password already reset, so walking away from it, or running out of time in it, finishes the
   * recovery: ending as `timedOut` or `cancelled` would tell the person a reset failed that did
   * not. Manual review handles the time after the password itself and passes none.
   */
  options: { readonly lifetimeGuard?: string } = {},
) =>
  ({
    initial: 'choosingPassword',
    states: {
      choosingPassword: {
        on: {
          'password.submit': {
            target: 'applying',
            actions: [
              assign(({ event }: { event: HardeningEvent }) => ({ passwordHash: event.type === 'password.submit' ? event.passwordHash : null, notice: null })),
              {
                type: 'completeRecovery',
                params: ({ context, event }: { context: Subjected; event: HardeningEvent }) => ({
                  accountId: context.subject?.accountId ?? '',
                  expectedEpoch: context.subject?.epoch ?? -1,
                  passwordHash: event.type === 'password.submit' ? event.passwordHash : '',
                  path,
                }),
              },
            ],
          },
        },
      },
      applying: {
        on: {
          'recovery.applied': {
            target: 'reviewingSecurity',
            actions: assign(({ event }: { event: HardeningEvent }) =>
              event.type === 'recovery.applied'
                ? { passwordHash: null, applied: 'applied' as const, offers: event.offers, recentLogins: event.recentLogins, revokedSessions: event.revokedSessions }
                : {},
            ),
          },
          'recovery.refused': { target: 'completed', actions: assign({ passwordHash: null, applied: 'refused' as const }) },
          // Forbidden here: xstate picks a state's own handler before an ancestor's, and these
          // take nothing, so the embedding machine's timeout and cancel end nothing while the
          // reset is committed (the runtime drops the step; a cancel is `event_not_accepted`).
          'clock.tick': {},
          'flow.cancel': {},
        },
      },
      reviewingSecurity: {
        on: {
          'session.revoke': {
            actions: [
              assign(({ context, event }: { context: HardeningContext; event: HardeningEvent }) => ({
                signedOut: event.type === 'session.revoke' ? [...context.signedOut, event.sessionId] : context.signedOut,
              })),
              {
                type: 'revokeSession',
                params: ({ context, event }: { context: Subjected; event: HardeningEvent }) => ({
                  accountId: context.subject?.accountId ?? '',
                  sessionId: event.type === 'session.revoke' ? event.sessionId : '',
                }),
              },
            ],
          },
          'security.done': { target: 'completed' },
          ...(options.lifetimeGuard === undefined
            ? {}
            : { 'clock.tick': { guard: options.lifetimeGuard, target: 'completed' }, 'flow.cancel': { target: 'completed' } }),
        },
      },
      completed: { type: 'final' },
    },
  }) as const;

export const HARDENING_RESULT = { applied: 'recovered', refused: 'refused' } as const;
