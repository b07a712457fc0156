/**
 * Hosting the real-name machine. Two doors lead in, and they are kept apart on purpose:
 * the signed-in user's client sends `realName.submit` and `flow.cancel` through
 * `runtime.send`; the provider's verdicts arrive through the host's webhook and
 * `providerVerdict`, decoded with their own codec. A client that sends a verdict through
 * `send` is refused at decoding, because the client codec does not know it.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import { createRealNameMachine, RealNameContext, type RealNameMachine, RejectionReason } from '../../machines/realName.ts';
import { type AccountId, isActive } from '../domain/account.ts';
import { eventCodec } from '../domain/decode.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import { hasPassed } from '../domain/time.ts';
import type { FlowDefinition, FlowView, MachineEvent, TrustedFacts } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import type { FlowRuntime, StepResult } from '../runtime/runtime.ts';
import { handlesEventType, stateName } from './common.ts';

// ---------------------------------------------------------------------------------------------
// codecs
// ---------------------------------------------------------------------------------------------

export const RealNameClientEvent = eventCodec(
  'RealNameClientEvent',
  {
    'realName.submit': { reference: t.string },
    'flow.cancel': {},
  },
  t,
);
export type RealNameClientEvent = t.TypeOf<typeof RealNameClientEvent>;

/**
 * What the provider's webhook may say. Never part of the client codec: only the host, after
 * authenticating the webhook, hands these to `providerVerdict`.
 */
export const RealNameProviderEvent = eventCodec(
  'RealNameProviderEvent',
  {
    'provider.verified': { attempt: t.Int },
    'provider.rejected': { attempt: t.Int, reason: RejectionReason },
  },
  t,
);
export type RealNameProviderEvent = t.TypeOf<typeof RealNameProviderEvent>;

type Snapshot = SnapshotFrom<RealNameMachine>;

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

const REFERENCE = /^[A-Za-z0-9_.:-]{8,128}$/;
/** Resident identity card numbers have 15 or 18 digits (the last may be X). */
const LOOKS_LIKE_ID_NUMBER = /\d{14}[\dXx]/;

/**
 * The provider's reference for the documents the user gave it. Something shaped like an
 * identity number is refused, so a confused client cannot make the flow store one.
 */
export const parseReference = (raw: string): E.Either<FlowError, string> => {
  if (LOOKS_LIKE_ID_NUMBER.test(raw)) {
    return E.left(flowError('invalid_input', 'This looks like an identity number. Give your documents to the verification provider and send only the reference it returns.', { field: 'reference' }));
  }
  if (!REFERENCE.test(raw)) {
    return E.left(flowError('invalid_input', 'reference: expected 8-128 letters, digits or _.:-', { field: 'reference' }));
  }
  return E.right(raw);
};

// ---------------------------------------------------------------------------------------------
// view and deadline
// ---------------------------------------------------------------------------------------------

const RESULT_FOR_STATE: Readonly<Record<string, string | undefined>> = {
  verified: 'verified',
  rejected: 'rejected',
  expired: 'expired',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

/**
 * What the signed-in user sees: where the flow is, how many submissions remain, when the
 * current one lapses, and why the last one did not pass.
 *
 * @example
 * realNameView(policy)(snapshot); // { state: 'submitted', attemptsLeft: 2, verdictDueAt: …, notice: null, … }
 */
export const realNameView =
  (policy: Policy) =>
  (snapshot: Snapshot): FlowView => {
    const c = snapshot.context;
    const state = stateName(snapshot.value);
    const done = snapshot.status === 'done';
    return {
      state,
      done,
      submissions: c.submissions,
      attemptsLeft: done ? 0 : Math.max(0, policy.realName.maxSubmissions - c.submissions),
      verdictDueAt: c.verdictDueAt,
      notice: c.notice,
      result: RESULT_FOR_STATE[state] ?? null,
    };
  };

export const realNameDeadline = (snapshot: Snapshot): number | null => Math.min(snapshot.context.verdictDueAt ?? Number.POSITIVE_INFINITY, snapshot.context.expiresAt);

// ---------------------------------------------------------------------------------------------
// definition
// ---------------------------------------------------------------------------------------------

/** Only the account the flow was started for may act on it, and only while signed in. */
const ownerOnly = (facts: TrustedFacts, accountId: string): E.Either<FlowError, void> => {
  if (facts.actor === null) return E.left(flowError('session_required', 'Sign in to verify your real name.'));
  if (facts.actor !== accountId) return E.left(flowError('session_required', 'This verification belongs to another account.'));
  return E.right(undefined);
};

/**
 * Real-name verification for the signed-in account. The account comes from the host's session
 * (`facts.actor`), never from the request body; nobody signed in is refused with
 * `session_required`.
 *
 * @example
 * const runtime = createRuntime(ports, [registrationFlow(ports), realNameFlow(ports)]);
 * const started = await runtime.start('realName', {}, { actor: accountId, sessionId });
 * await runtime.send(flowId, { type: 'realName.submit', reference: 'kyc_7f3a9c2e' }, { actor: accountId, sessionId });
 * // later, from the provider's authenticated webhook:
 * await providerVerdict(runtime, flowId, { type: 'provider.verified', attempt: 1 });
 */
export const realNameFlow = (ports: Pick<FlowPorts, 'policy'>): FlowDefinition<RealNameMachine, RealNameClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createRealNameMachine({ policy });

  const prepareInput = async (_input: Record<string, never>, facts: TrustedFacts, p: FlowPorts, flowId: string): Promise<E.Either<FlowError, unknown>> => {
    if (facts.actor === null) return E.left(flowError('session_required', 'Sign in to verify your real name.'));
    const account = await p.directory.get(facts.actor as AccountId);
    if (!isActive(account)) return E.left(flowError('session_required', 'The signed-in account cannot be used.'));
    // A hold after recovery covers binding an identity too: whoever just took the account over must not bind theirs.
    if (account.sensitiveHoldUntil !== null && !hasPassed(account.sensitiveHoldUntil, facts.at)) {
      return E.left(flowError('action_held', 'After a recovery, real-name verification waits a while.', { retryAfterMs: account.sensitiveHoldUntil - facts.at }));
    }
    if (account.realName === 'verified') return E.left(flowError('already_verified', 'Your real name is already verified.'));
    return E.right({ flowId, accountId: account.id, at: facts.at });
  };

  const enrich = async (event: RealNameClientEvent, snapshot: Snapshot, facts: TrustedFacts): Promise<E.Either<FlowError, MachineEvent>> => {
    // The owner check comes first, so a stranger holding a flow id learns nothing about its step.
    const owner = ownerOnly(facts, snapshot.context.accountId);
    if (E.isLeft(owner)) return owner;
    if (!handlesEventType(snapshot, event.type)) {
      return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
    }
    switch (event.type) {
      case 'realName.submit': {
        const reference = parseReference(event.reference);
        return E.isLeft(reference) ? reference : E.right({ type: event.type, reference: reference.right });
      }
      case 'flow.cancel':
        return E.right({ type: event.type });
    }
  };

  return {
    name: 'realName',
    version: 1,
    machine,
    clientEvents: RealNameClientEvent,
    context: RealNameContext,
    // Exact: an `accountId` in the body is dropped, the session names the account.
    input: t.exact(t.type({})) as unknown as t.Type<Record<string, never>, unknown, unknown>,
    prepareInput,
    enrich,
    view: realNameView(policy),
    nextDeadline: realNameDeadline,
  };
};

/**
 * Feeds the provider's verdict, as its webhook delivered it, into the flow. The host must have
 * authenticated the webhook (signature, source) before calling this; a payload that does not
 * decode is a typed error naming the field, and nothing changes. Pass the provider's delivery
 * id as `deliveryId` so a retried webhook gets the first answer again instead of an error.
 * `event_not_accepted` (a verdict for an older attempt, or after its deadline) and
 * `flow_finished` are final answers: acknowledge the webhook so the provider stops retrying.
 *
 * @example
 * app.post('/webhooks/kyc', async (req) => {
 *   if (!verifySignature(req)) return forbidden();
 *   const result = await providerVerdict(runtime, req.body.flowId, req.body.verdict, req.headers['delivery-id']);
 * });
 */
export const providerVerdict = (runtime: FlowRuntime, flowId: string, raw: unknown, deliveryId?: string): Promise<StepResult> =>
  runtime.deliver(flowId, raw, RealNameProviderEvent, deliveryId);
