/**
 * Hosting the binding machine: the signed-in owner binds or changes a phone number or e-mail
 * address. The account and the session come from the host, never from the request; every
 * event is checked against the session that started the flow, which must still be live.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import { BindingChannelKind, BindingContext, type BindingMachine, createBindingMachine } from '../../machines/binding.ts';
import type { Account } from '../domain/account.ts';
import { eventCodec } from '../domain/decode.ts';
import { type Email, maskEmail, parseEmail } from '../domain/email.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { maskPhone, parsePhone, type Phone } from '../domain/phone.ts';
import type { Policy } from '../domain/policy.ts';
import { hasPassed, type Instant } from '../domain/time.ts';
import type { FlowDefinition, FlowView, MachineEvent, TrustedFacts } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import { requireLiveSession } from './auth.ts';
import { handlesEventType, newNonce, stateName } from './common.ts';

// ---------------------------------------------------------------------------------------------
// codecs
// ---------------------------------------------------------------------------------------------

export const BindingClientEvent = eventCodec(
  'BindingClientEvent',
  {
    /** `region` says how to read a phone number typed without `+`, as in registration. */
    'channel.submit': { kind: BindingChannelKind, value: t.string, region: t.union([t.string, t.undefined]) },
    'code.submit': { code: t.string },
    'code.resend': {},
    'flow.cancel': {},
  },
  t,
);
export type BindingClientEvent = t.TypeOf<typeof BindingClientEvent>;

type Snapshot = SnapshotFrom<BindingMachine>;

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/** The client's field is `value` whichever kind it names, so errors point there. */
const atValue = (error: FlowError): FlowError => ({ ...error, field: 'value' });

const parseChannel = (event: Extract<BindingClientEvent, { type: 'channel.submit' }>, policy: Policy): E.Either<FlowError, string> => {
  const parsed: E.Either<FlowError, string> = event.kind === 'phone' ? parsePhone(event.value, policy, event.region) : parseEmail(event.value);
  return E.mapLeft(atValue)(parsed);
};

const boundValue = (account: Account, kind: BindingChannelKind): string | null => (kind === 'phone' ? account.phone?.value ?? null : account.email?.value ?? null);

/**
 * After a recovery, replacing a channel waits: whoever just took the account over must not be
 * able to lock the owner out of it. Adding a channel the account lacks is allowed — hardening
 * offers exactly that right after a recovery.
 */
const holdRefusal = (account: Account, kind: BindingChannelKind, at: Instant): E.Either<FlowError, void> => {
  const hold = account.sensitiveHoldUntil;
  if (boundValue(account, kind) === null || hold === null || hasPassed(hold, at)) return E.right(undefined);
  return E.left(flowError('action_held', `After a recovery, changing your ${kind === 'phone' ? 'phone number' : 'e-mail address'} waits a while.`, { field: 'kind', retryAfterMs: hold - at }));
};

// ---------------------------------------------------------------------------------------------
// view and deadline
// ---------------------------------------------------------------------------------------------

const RESULT_FOR_STATE: Readonly<Record<string, string | undefined>> = {
  bound: 'bound',
  channelTaken: 'channel_taken',
  sessionEnded: 'session_ended',
  locked: 'locked',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

const masked = (c: BindingContext): string | null => {
  if (c.value === null) return null;
  return c.kind === 'email' ? maskEmail(c.value as Email) : maskPhone(c.value as Phone);
};

/**
 * What the signed-in owner sees. Until the code is redeemed, a channel that belongs to another
 * account looks exactly like a free one.
 *
 * @example
 * bindingView(policy)(snapshot); // { state: 'awaitingCode', kind: 'email', channel: 'a***@example.com', triesLeft: 5, … }
 */
export const bindingView =
  (policy: Policy) =>
  (snapshot: Snapshot): FlowView => {
    const c = snapshot.context;
    const state = stateName(snapshot.value);
    const codeLive = c.code !== null && !c.code.used;
    const triesLeft = c.code === null ? null : Math.max(0, Math.min(policy.code.maxWrongPerCode - c.code.wrongForCode, policy.code.maxWrongPerFlow - c.code.wrongForFlow));
    return {
      state,
      done: snapshot.status === 'done',
      kind: c.kind,
      channel: masked(c),
      codeExpiresAt: codeLive ? c.code?.expiresAt ?? null : null,
      resendAllowedAt: c.resendAllowedAt,
      triesLeft,
      // The flow ended because its session did: say so in the terms the host already uses.
      notice: state === 'sessionEnded' ? { code: 'session_required' } : c.notice,
      result: RESULT_FOR_STATE[state] ?? null,
      ...(state === 'bound' ? { verifiedAt: c.verifiedAt } : {}),
      ...(state === 'channelTaken'
        ? { message: `This ${c.kind === 'email' ? 'e-mail address' : 'phone number'} already belongs to another account. Sign in to that account, or recover it.` }
        : {}),
    };
  };

/** Code expiry while a code is out, and the flow's lifetime; none while the change is being written. */
export const bindingDeadline = (snapshot: Snapshot): number | null => {
  if (snapshot.matches('applying')) return null;
  const c = snapshot.context;
  const codeDeadline = snapshot.matches('awaitingCode') && c.code !== null && !c.code.used ? c.code.expiresAt : Number.POSITIVE_INFINITY;
  return Math.min(codeDeadline, c.expiresAt);
};

// ---------------------------------------------------------------------------------------------
// definition
// ---------------------------------------------------------------------------------------------

const SESSION_ENDED = 'session.ended';

/**
 * Binding or changing the signed-in account's phone number or e-mail address.
 *
 * Only the session that started the flow may act on it. When that session has ended (signed
 * out, revoked, or outlived by a recovery's epoch bump), its next event ends the flow in
 * `sessionEnded` — the view's notice says `session_required` — and nothing it carried is
 * applied. Any other caller is refused with `session_required` and changes nothing.
 *
 * @example
 * const runtime = createRuntime(ports, [bindingFlow(ports)]);
 * const { flowId } = (await runtime.start('binding', {}, { actor: accountId, sessionId })).right;
 * await runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 'me@example.com' }, { actor: accountId, sessionId });
 * await runtime.send(flowId, { type: 'code.submit', code: '123456' }, { actor: accountId, sessionId });
 */
export const bindingFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>): FlowDefinition<BindingMachine, BindingClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createBindingMachine({ policy, secrets: ports.codeSecrets });

  const prepareInput = async (_input: Record<string, never>, facts: TrustedFacts, p: FlowPorts, flowId: string): Promise<E.Either<FlowError, unknown>> => {
    const signedIn = await requireLiveSession(facts, p);
    if (E.isLeft(signedIn)) return signedIn;
    const { account, sessionId } = signedIn.right;
    return E.right({ flowId, nonce: newNonce(p), at: facts.at, accountId: account.id, sessionId, epoch: account.securityEpoch });
  };

  const enrich = async (event: BindingClientEvent, snapshot: Snapshot, facts: TrustedFacts, p: FlowPorts): Promise<E.Either<FlowError, MachineEvent>> => {
    const context = snapshot.context;
    // Ownership first, so a stranger holding a flow id learns nothing about its step and cannot end it.
    if (facts.actor !== context.accountId || facts.sessionId !== context.sessionId) {
      return E.left(flowError('session_required', 'This change belongs to another session; sign in and start again.'));
    }
    const signedIn = await requireLiveSession(facts, p);
    if (E.isLeft(signedIn)) {
      return handlesEventType(snapshot, SESSION_ENDED) ? E.right({ type: SESSION_ENDED }) : signedIn;
    }
    const { account } = signedIn.right;
    if (!handlesEventType(snapshot, event.type)) {
      return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
    }
    switch (event.type) {
      case 'channel.submit': {
        const value = parseChannel(event, policy);
        if (E.isLeft(value)) return value;
        if (boundValue(account, event.kind) === value.right) {
          return E.left(flowError('channel_unchanged', `This is already your ${event.kind === 'phone' ? 'phone number' : 'e-mail address'}.`, { field: 'value' }));
        }
        const held = holdRefusal(account, event.kind, facts.at);
        if (E.isLeft(held)) return held;
        if (event.kind === 'phone' && (await p.blockedNumbers.isBlocked(value.right as Phone))) {
          return E.left(flowError('phone_blocked', 'This number cannot be used.', { field: 'value' }));
        }
        return E.right({ type: event.type, kind: event.kind, value: value.right });
      }
      case 'code.submit': {
        const kind = context.kind ?? 'phone';
        // Checked again here: redeeming the code is what writes the change.
        const held = holdRefusal(account, kind, facts.at);
        if (E.isLeft(held)) return held;
        const failures = await p.budgets.peek(`failures:account:${account.id}`, policy.accountFailures, facts.at);
        if (!failures.allowed) return E.left(flowError('rate_limited', 'Too many wrong codes for this account; try again later.', { field: 'code', retryAfterMs: failures.retryAfterMs }));
        return E.right({ type: event.type, code: event.code, current: boundValue(account, kind) });
      }
      case 'code.resend':
      case 'flow.cancel':
        return E.right({ type: event.type });
    }
  };

  return {
    name: 'binding',
    version: 1,
    machine,
    clientEvents: BindingClientEvent,
    context: BindingContext,
    // Exact: an `accountId` in the body is dropped, the session names the account.
    input: t.exact(t.type({})) as unknown as t.Type<Record<string, never>, unknown, unknown>,
    prepareInput,
    enrich,
    view: bindingView(policy),
    nextDeadline: bindingDeadline,
  };
};
