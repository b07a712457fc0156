/**
 * Hosting the TOTP enrollment machine for the signed-in account. The account comes from the
 * host's session, and every event needs that same session to be live still: signing out, a
 * password reset or a recovery (which moves the security epoch on) ends the enrollment.
 *
 * The view is the only place the secret and the backup codes ever exist outside the host key:
 * derived for the response, in the one state that shows them, and never saved.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import {
  createTotpEnrollmentMachine,
  enrollmentBackupCodes,
  enrollmentKey,
  TotpEnrollmentContext,
  type TotpEnrollmentMachine,
} from '../../machines/totpEnrollment.ts';
import type { AccountId } from '../domain/account.ts';
import { eventCodec } from '../domain/decode.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import type { CodeSecrets } from '../ports/codeSecrets.ts';
import type { FlowDefinition, FlowView, MachineEvent, TrustedFacts } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import { requireLiveSession } from './auth.ts';
import { handlesEventType, newNonce, stateName } from './common.ts';

// ---------------------------------------------------------------------------------------------
// codecs
// ---------------------------------------------------------------------------------------------

export const TotpEnrollmentClientEvent = eventCodec(
  'TotpEnrollmentClientEvent',
  {
    'totp.confirm': { code: t.string },
    'backupCodes.acknowledged': {},
    'flow.cancel': {},
  },
  t,
);
export type TotpEnrollmentClientEvent = t.TypeOf<typeof TotpEnrollmentClientEvent>;

type Snapshot = SnapshotFrom<TotpEnrollmentMachine>;

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/**
 * A session id may itself be a bearer token, so the flow keeps only a one-way fingerprint of it:
 * enough to tell "the session that started this" from any other, useless to sign in with.
 */
export const sessionFingerprint = (sessionId: string): string => bytesToHex(sha256(utf8ToBytes(`account-flows/session/v1\u0000${sessionId}`)));

/**
 * The typed code as the app shows it ("123 456" too), or why not. Malformed input is refused
 * before the machine sees it, so a slip of the keyboard does not spend one of the tries.
 */
export const parseTotpCode = (raw: string, digits: number): E.Either<FlowError, string> => {
  const code = raw.length > 32 ? '' : raw.replace(/\s/g, '');
  return code.length === digits && /^[0-9]+$/.test(code)
    ? E.right(code)
    : E.left(flowError('invalid_input', `code: expected the ${digits} digits your authenticator app shows`, { field: 'code' }));
};

// ---------------------------------------------------------------------------------------------
// view and deadline
// ---------------------------------------------------------------------------------------------

const RESULT_FOR_STATE: Readonly<Record<string, string | undefined>> = {
  enrolled: 'enrolled',
  failed: 'failed',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

/**
 * What the signed-in user sees. `otpauthUri` and `secret` appear only while the secret is being
 * shown, `backupCodes` only in the one step that shows them; no other view carries either.
 *
 * @example
 * totpEnrollmentView(policy, secrets)(snapshot);
 * // { state: 'showingSecret', otpauthUri: 'otpauth://totp/account-flows:alice_01?secret=…', secret: 'JBSW…', triesLeft: 5, … }
 */
export const totpEnrollmentView =
  (policy: Policy, secrets: CodeSecrets) =>
  (snapshot: Snapshot): FlowView => {
    const c = snapshot.context;
    const state = stateName(snapshot.value);
    const done = snapshot.status === 'done';
    const key = state === 'showingSecret' ? enrollmentKey(secrets, c, policy.totp.issuer) : undefined;
    return {
      state,
      done,
      ...(key === undefined ? {} : { otpauthUri: key.uri, secret: key.secret, digits: c.enrollment.digits, periodSeconds: c.enrollment.periodSeconds }),
      ...(state === 'showingBackupCodes' ? { backupCodes: enrollmentBackupCodes(secrets, c.secretRef, policy.totp.backupCodes) } : {}),
      triesLeft: state === 'showingSecret' ? Math.max(0, policy.code.maxWrongPerCode - c.wrongTries) : null,
      expiresAt: done ? null : c.expiresAt,
      notice: c.notice,
      result: RESULT_FOR_STATE[state] ?? null,
    };
  };

export const totpEnrollmentDeadline = (snapshot: Snapshot): number | null => snapshot.context.expiresAt;

/**
 * View fields that carry a secret: a host must not log them, and the runtime leaves them out of
 * the replies it remembers for retried requests.
 */
export const TOTP_ENROLLMENT_SECRET_FIELDS = ['otpauthUri', 'secret', 'backupCodes'] as const;

// ---------------------------------------------------------------------------------------------
// definition
// ---------------------------------------------------------------------------------------------

/** The live session acting must be the very one that started the flow, for the same account. */
const sameSession = async (facts: TrustedFacts, context: TotpEnrollmentContext, p: FlowPorts): Promise<E.Either<FlowError, void>> => {
  const signedIn = await requireLiveSession(facts, p);
  if (E.isLeft(signedIn)) return signedIn;
  if (signedIn.right.account.id !== context.accountId || sessionFingerprint(signedIn.right.sessionId) !== context.sessionRef) {
    return E.left(flowError('session_required', 'This enrollment belongs to another session; start again.'));
  }
  return E.right(undefined);
};

/**
 * TOTP enrollment for the signed-in account: show the secret (as an `otpauth://` URI for a QR
 * code and as text), confirm it with a first code, show the backup codes once. Nobody signed in,
 * or a session that ended, is refused with `session_required`; an account that already has TOTP
 * with `already_enrolled`.
 *
 * @example
 * const runtime = createRuntime(ports, [totpEnrollmentFlow(ports)]);
 * const started = await runtime.start('totpEnrollment', {}, { actor: accountId, sessionId });
 * // render started.view.otpauthUri as a QR code; the user scans it and types the code shown
 * await runtime.send(flowId, { type: 'totp.confirm', code: '287082' }, { actor: accountId, sessionId });
 * // show view.backupCodes once, then
 * await runtime.send(flowId, { type: 'backupCodes.acknowledged' }, { actor: accountId, sessionId });
 */
export const totpEnrollmentFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>): FlowDefinition<TotpEnrollmentMachine, TotpEnrollmentClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createTotpEnrollmentMachine({ policy, secrets: ports.codeSecrets });

  const prepareInput = async (_input: Record<string, never>, facts: TrustedFacts, p: FlowPorts, flowId: string): Promise<E.Either<FlowError, unknown>> => {
    const signedIn = await requireLiveSession(facts, p);
    if (E.isLeft(signedIn)) return signedIn;
    const { account, sessionId } = signedIn.right;
    if ((await p.secondFactors.status(account.id)).totp) {
      return E.left(flowError('already_enrolled', 'Two-step verification is already on for this account.'));
    }
    return E.right({ flowId, accountId: account.id, accountLabel: account.handle, sessionRef: sessionFingerprint(sessionId), nonce: newNonce(p), at: facts.at });
  };

  const enrich = async (event: TotpEnrollmentClientEvent, snapshot: Snapshot, facts: TrustedFacts, p: FlowPorts): Promise<E.Either<FlowError, MachineEvent>> => {
    // The session check comes first, so a stranger holding a flow id learns nothing about its step.
    const session = await sameSession(facts, snapshot.context, p);
    if (E.isLeft(session)) return session;
    if (!handlesEventType(snapshot, event.type)) {
      return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
    }
    switch (event.type) {
      case 'totp.confirm': {
        const code = parseTotpCode(event.code, snapshot.context.enrollment.digits);
        if (E.isLeft(code)) return code;
        // Another enrollment finished meanwhile: turning this one on would silently replace it.
        if ((await p.secondFactors.status(snapshot.context.accountId as AccountId)).totp) {
          return E.left(flowError('already_enrolled', 'Two-step verification was turned on meanwhile.'));
        }
        return E.right({ type: event.type, code: code.right });
      }
      case 'backupCodes.acknowledged':
      case 'flow.cancel':
        return E.right({ type: event.type });
    }
  };

  return {
    name: 'totpEnrollment',
    version: 1,
    machine,
    clientEvents: TotpEnrollmentClientEvent,
    context: TotpEnrollmentContext,
    // Exact: an `accountId` in the body is dropped, the session names the account.
    input: t.exact(t.type({})) as unknown as t.Type<Record<string, never>, unknown, unknown>,
    prepareInput,
    enrich,
    view: totpEnrollmentView(policy, ports.codeSecrets),
    nextDeadline: totpEnrollmentDeadline,
    secretViewFields: TOTP_ENROLLMENT_SECRET_FIELDS,
  };
};
