/**
 * Turning on TOTP two-step verification for the signed-in account: show a secret, let the user
 * prove their authenticator app holds it with a first code, show the backup codes once, done.
 *
 * No secret rests anywhere. The context holds only `secretRef`, built from the account, the flow
 * and a random nonce; the secret and the backup codes are derived from it with the host key each
 * time they are needed (`CodeSecrets.secretBytes`), by the view while they are on screen and by
 * the guard that checks the first code. What leaves the flow is the confirmed factor (reference,
 * parameters, the step already used) and the backup codes' hashes.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> showingSecret
 *   showingSecret --> showingBackupCodes: totp.confirm [code verifies] / enroll, notify channels, audit
 *   showingSecret --> showingSecret: totp.confirm [wrong, tries left]
 *   showingSecret --> failed: totp.confirm [wrong, last try]
 *   showingSecret --> cancelled: flow.cancel
 *   showingSecret --> timedOut: clock.tick [enrollment lifetime over]
 *   showingBackupCodes --> enrolled: backupCodes.acknowledged
 *   showingBackupCodes --> enrolled: clock.tick [display lifetime over]
 * ```
 *
 * Once the first code is accepted the factor is on, so `showingBackupCodes` has no way back:
 * cancelling is not possible there, and its deadline ends in `enrolled` with the codes hidden.
 */
import * as O from 'fp-ts/lib/Option.js';
import * as t from 'io-ts';
import { assign, enqueueActions, setup } from 'xstate';
import type { Policy } from '../src/domain/policy.ts';
import { hasPassed, type Instant } from '../src/domain/time.ts';
import {
  BACKUP_CODE_BYTES,
  backupCodeFromBytes,
  confirmTotpEnrollment,
  hashBackupCode,
  otpauthUri,
  startTotpEnrollment,
  TOTP_SECRET_BYTES,
  TotpEnrollment,
  type TotpFactor,
  totpSecretFromBytes,
} from '../src/domain/totp.ts';
import type { CodeSecrets } from '../src/ports/codeSecrets.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export const TotpEnrollmentNotice = t.readonly(t.type({ code: t.keyof({ code_invalid: null, code_attempts_exhausted: null }) }));
export type TotpEnrollmentNotice = t.TypeOf<typeof TotpEnrollmentNotice>;

export const TotpEnrollmentContext = t.readonly(
  t.type({
    flowId: t.string,
    accountId: t.string,
    accountLabel: t.string,
    sessionRef: t.string,
    secretRef: t.string,
    enrollment: TotpEnrollment,
    startedAt: t.number,
    expiresAt: t.number,
    wrongTries: t.number,
    confirmedAt: t.union([t.number, t.null]),
    notice: t.union([TotpEnrollmentNotice, t.null]),
  }),
);
export type TotpEnrollmentContext = {
  readonly flowId: string;
  /** Fixed at start from the host's session, never from a request body. */
  readonly accountId: string;
  /** What the authenticator app shows beside the issuer (the handle): public, never a secret. */
  readonly accountLabel: string;
  /** A one-way fingerprint of the session that started the flow: the flow dies with it. */
  readonly sessionRef: string;
  /** The only handle on the secret; the bytes are derived from it with the host key. */
  readonly secretRef: string;
  /** Digits, period and algorithm fixed at start: the app is configured with these. */
  readonly enrollment: TotpEnrollment;
  readonly startedAt: Instant;
  /** Showing the secret ends here; after confirmation, showing the backup codes does. */
  readonly expiresAt: Instant;
  readonly wrongTries: number;
  readonly confirmedAt: Instant | null;
  readonly notice: TotpEnrollmentNotice | null;
};

export interface TotpEnrollmentInput {
  readonly flowId: string;
  readonly accountId: string;
  readonly accountLabel: string;
  readonly sessionRef: string;
  /** From the host's random source: two enrollments of one account never share a secret. */
  readonly nonce: string;
  readonly at: Instant;
}

export type TotpEnrollmentEvent =
  | { readonly type: 'totp.confirm'; readonly at: Instant; readonly code: string }
  | { readonly type: 'backupCodes.acknowledged'; readonly at: Instant }
  | { readonly type: 'flow.cancel'; readonly at: Instant }
  | { readonly type: 'clock.tick'; readonly at: Instant };

export interface TotpEnrollmentDeps {
  readonly policy: Policy;
  readonly secrets: CodeSecrets;
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * The reference a TOTP secret is derived from. Each part is percent-encoded, so no two
 * (account, flow, nonce) triples can give the same reference.
 *
 * @example
 * totpSecretRef('acct-1', 'flow-9', 'n0nce'); // 'totp/v1/acct-1/flow-9/n0nce'
 */
export const totpSecretRef = (accountId: string, flowId: string, nonce: string): string =>
  ['totp', 'v1', accountId, flowId, nonce].map(encodeURIComponent).join('/');

/**
 * The TOTP secret behind a reference, derived again with the host key.
 *
 * @example
 * const secret = enrollmentSecret(secrets, context.secretRef); // 20 bytes
 */
export const enrollmentSecret = (secrets: CodeSecrets, secretRef: string): Uint8Array => secrets.secretBytes('totp', [secretRef], TOTP_SECRET_BYTES);

/**
 * The backup codes of an enrollment, derived again with the host key, in canonical form.
 *
 * @example
 * enrollmentBackupCodes(secrets, context.secretRef, policy.totp.backupCodes); // ['7k2mq-x9d4c', …]
 */
export const enrollmentBackupCodes = (secrets: CodeSecrets, secretRef: string, count: number): readonly string[] =>
  Array.from({ length: count }, (_, i) => backupCodeFromBytes(secrets.secretBytes('backup-codes', [secretRef, String(i)], BACKUP_CODE_BYTES)));

/**
 * What the authenticator app needs, derived on the fly: the base32 secret and the `otpauth://` URI.
 * Call it only to render the view of `showingSecret`; never store the result.
 *
 * @example
 * const { secret, uri } = enrollmentKey(secrets, context, policy.totp.issuer);
 */
export const enrollmentKey = (secrets: CodeSecrets, context: TotpEnrollmentContext, issuer: string): { readonly secret: string; readonly uri: string } => {
  const secret = totpSecretFromBytes(enrollmentSecret(secrets, context.secretRef));
  const { digits, periodSeconds } = context.enrollment;
  return { secret, uri: otpauthUri({ issuer, account: context.accountLabel, secretBase32: secret, digits, periodSeconds }) };
};

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

/**
 * Builds the machine for one host. Create it once and share it: it holds only the policy and
 * the code-secret port.
 *
 * @example
 * const machine = createTotpEnrollmentMachine({ policy, secrets: hmacCodeSecrets(key) });
 * const [snapshot] = initialTransition(machine, { flowId: 'f1', accountId: 'acct-1', accountLabel: 'alice_01', sessionRef: 'ab12', nonce: 'n1', at: 0 });
 * const code = totpAt(enrollmentSecret(secrets, snapshot.context.secretRef), 5_000);
 * const [next, actions] = transition(machine, snapshot, { type: 'totp.confirm', at: 5_000, code });
 * // next.value === 'showingBackupCodes'; actions name enrollSecondFactor, notifyChannels and audit
 */
export const createTotpEnrollmentMachine = ({ policy, secrets }: TotpEnrollmentDeps) => {
  const { maxWrongPerCode } = policy.code;

  const confirmed = (context: TotpEnrollmentContext, event: TotpEnrollmentEvent): O.Option<TotpFactor> =>
    event.type === 'totp.confirm'
      ? confirmTotpEnrollment(context.enrollment, enrollmentSecret(secrets, context.secretRef), event.code, event.at, policy.totp.skewSteps)
      : O.none;

  /** No phase outlives the flow lifetime every flow is bound by, counted from the start. */
  const deadline = (context: Pick<TotpEnrollmentContext, 'startedAt'>, from: Instant): Instant =>
    Math.min(from + policy.totp.enrollmentTtlMs, context.startedAt + policy.flowMaxLifetimeMs);

  return setup({
    types: {
      context: {} as TotpEnrollmentContext,
      events: {} as TotpEnrollmentEvent,
      input: {} as TotpEnrollmentInput,
    },
    actions: {
      // Effects: declared by name here, run by the host's executor from the outbox.
      enrollSecondFactor: (_, _params: { accountId: string; factor: TotpFactor; backupCodeHashes: readonly string[] }) => {},
      notifyChannels: (_, _params: { accountId: string; template: 'secondFactor.enabled' }) => {},
      audit: (_, _params: { kind: string; accountId?: string; detail?: Record<string, string | number | boolean | null> }) => {},
      confirm: enqueueActions(({ context, event, enqueue }) => {
        const factor = confirmed(context, event);
        if (O.isNone(factor)) return;
        enqueue.assign({ confirmedAt: event.at, expiresAt: deadline(context, event.at), notice: null });
        const backupCodeHashes = enrollmentBackupCodes(secrets, context.secretRef, policy.totp.backupCodes).map(hashBackupCode);
        // The factor goes on before anyone is told it is on.
        enqueue({ type: 'enrollSecondFactor', params: { accountId: context.accountId, factor: factor.value, backupCodeHashes } } as never);
        enqueue({ type: 'notifyChannels', params: { accountId: context.accountId, template: 'secondFactor.enabled' } } as never);
        enqueue({ type: 'audit', params: { kind: 'totp.enrolled', accountId: context.accountId, detail: { wrongTries: context.wrongTries } } } as never);
      }),
      refuse: assign(({ context }) => ({ wrongTries: context.wrongTries + 1, notice: { code: 'code_invalid' } as const })),
      exhaust: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ wrongTries: context.wrongTries + 1, notice: { code: 'code_attempts_exhausted' } });
        enqueue({ type: 'audit', params: { kind: 'totp.enrollmentFailed', accountId: context.accountId, detail: { wrongTries: context.wrongTries + 1 } } } as never);
      }),
    },
    guards: {
      codeConfirms: ({ context, event }) => O.isSome(confirmed(context, event)),
      lastTry: ({ context }) => context.wrongTries + 1 >= maxWrongPerCode,
      expired: ({ context, event }) => hasPassed(context.expiresAt, event.at),
    },
  }).createMachine({
    id: 'totpEnrollment',
    context: ({ input }) => {
      const secretRef = totpSecretRef(input.accountId, input.flowId, input.nonce);
      return {
        flowId: input.flowId,
        accountId: input.accountId,
        accountLabel: input.accountLabel,
        sessionRef: input.sessionRef,
        secretRef,
        enrollment: startTotpEnrollment(secretRef, input.at, policy.totp),
        startedAt: input.at,
        expiresAt: deadline({ startedAt: input.at }, input.at),
        wrongTries: 0,
        confirmedAt: null,
        notice: null,
      };
    },
    initial: 'showingSecret',
    states: {
      showingSecret: {
        on: {
          'totp.confirm': [
            { guard: 'codeConfirms', target: 'showingBackupCodes', actions: 'confirm' },
            { guard: 'lastTry', target: 'failed', actions: 'exhaust' },
            { actions: 'refuse' },
          ],
          'flow.cancel': {
            target: 'cancelled',
            actions: { type: 'audit', params: ({ context }) => ({ kind: 'totp.enrollmentCancelled', accountId: context.accountId }) },
          },
          'clock.tick': { guard: 'expired', target: 'timedOut' },
        },
      },
      showingBackupCodes: {
        on: {
          'backupCodes.acknowledged': { target: 'enrolled' },
          // The codes leave the screen; the factor they belong to stays on.
          'clock.tick': { guard: 'expired', target: 'enrolled' },
        },
      },
      enrolled: { type: 'final' },
      /** Too many wrong first codes: the secret shown may have been mistyped into the app; start again. */
      failed: { type: 'final' },
      cancelled: { type: 'final' },
      timedOut: { type: 'final' },
    },
  });
};

export type TotpEnrollmentMachine = ReturnType<typeof createTotpEnrollmentMachine>;
