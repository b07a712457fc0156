/**
 * Hosting the registration machine: which events a client may send, what the runtime checks
 * and looks up before the machine sees them, and what the caller sees back.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import { createRegistrationMachine, RegistrationContext, type RegistrationMachine } from '../../machines/registration.ts';
import { eventCodec } from '../domain/decode.ts';
import { flowError } from '../domain/errors.ts';
import { parseHandle } from '../domain/handle.ts';
import { checkPassword } from '../domain/password.ts';
import { maskPhone, parsePhone, type Phone } from '../domain/phone.ts';
import type { Policy } from '../domain/policy.ts';
import type { Handle } from '../domain/handle.ts';
import type { FlowDefinition, FlowView, MachineEvent } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import { handlesEventType, newNonce, stateName } from './common.ts';

export const RegistrationClientEvent = eventCodec(
  'RegistrationClientEvent',
  {
    'phone.submit': { phone: t.string, region: t.union([t.string, t.undefined]) },
    'code.submit': { code: t.string },
    'code.resend': {},
    'handle.submit': { handle: t.string },
    'password.submit': { password: t.string },
    'flow.cancel': {},
  },
  t,
);
export type RegistrationClientEvent = t.TypeOf<typeof RegistrationClientEvent>;

type Snapshot = SnapshotFrom<RegistrationMachine>;

const RESULT_FOR_STATE: Record<string, string | undefined> = {
  registered: 'registered',
  alreadyRegistered: 'already_registered',
  locked: 'locked',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

/**
 * What the caller sees, under the host's policy (tries left depend on it).
 *
 * @example
 * registrationView(policy)(snapshot); // { state: 'awaitingCode', phone: '+86 138****8000', triesLeft: 5, … }
 */
export const registrationView = (policy: Pick<Policy, 'code'>) => (snapshot: Snapshot): FlowView => {
  const c = snapshot.context;
  const codeTries = policy.code.maxWrongPerCode - (c.code?.wrongForCode ?? 0);
  const flowTries = policy.code.maxWrongPerFlow - (c.code?.wrongForFlow ?? 0);
  const state = stateName(snapshot.value);
  const codeLive = c.code !== null && !c.code.used;
  return {
    state,
    done: snapshot.status === 'done',
    phone: c.phone === null ? null : maskPhone(c.phone as Phone),
    codeExpiresAt: codeLive ? c.code?.expiresAt ?? null : null,
    resendAllowedAt: c.resendAllowedAt,
    triesLeft: c.code === null ? null : Math.max(0, Math.min(codeTries, flowTries)),
    handle: c.handle,
    notice: c.notice,
    result: RESULT_FOR_STATE[state] ?? null,
    // Said only after the code proved possession of the number.
    ...(state === 'alreadyRegistered' ? { message: 'This number already has an account. Sign in, or recover your password.' } : {}),
    ...(state === 'registered' ? { accountId: c.accountId } : {}),
  };
};

export const registrationDeadline = (snapshot: Snapshot): number | null => {
  // The directory's answer ends `creatingAccount`, not the clock: nothing to wake it for.
  if (snapshot.matches('creatingAccount')) return null;
  const c = snapshot.context;
  const codeDeadline = snapshot.matches('awaitingCode') && c.code !== null && !c.code.used ? c.code.expiresAt : Number.POSITIVE_INFINITY;
  return Math.min(codeDeadline, c.expiresAt);
};

/**
 * @example
 * const runtime = createRuntime(ports, [registrationFlow(ports)]);
 */
export const registrationFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>): FlowDefinition<RegistrationMachine, RegistrationClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createRegistrationMachine({ policy, secrets: ports.codeSecrets });

  const enrich = async (event: RegistrationClientEvent, snapshot: Snapshot, facts: { at: number }, p: FlowPorts): Promise<E.Either<ReturnType<typeof flowError>, MachineEvent>> => {
    if (!handlesEventType(snapshot, event.type)) {
      return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
    }
    const context = snapshot.context;
    switch (event.type) {
      case 'phone.submit': {
        const phone = parsePhone(event.phone, policy, event.region);
        if (E.isLeft(phone)) return phone;
        if (await p.blockedNumbers.isBlocked(phone.right)) {
          return E.left(flowError('phone_blocked', 'This number cannot be used to sign up.', { field: 'phone' }));
        }
        return E.right({ type: event.type, phone: phone.right });
      }
      case 'code.submit': {
        const failures = await p.budgets.peek(`failures:phone:${context.phone ?? ''}`, policy.accountFailures, facts.at);
        if (!failures.allowed) return E.left(flowError('rate_limited', 'Too many wrong codes for this number; try again later.', { field: 'code', retryAfterMs: failures.retryAfterMs }));
        const taken = (await p.directory.findByPhone(context.phone as Phone)) !== undefined;
        return E.right({ type: event.type, code: event.code, phoneTaken: taken });
      }
      case 'handle.submit': {
        const handle = parseHandle(event.handle, policy);
        if (E.isLeft(handle)) return handle;
        const budget = await p.budgets.consume(`handle-checks:${context.flowId}`, policy.handle.checks, facts.at);
        if (!budget.allowed) return E.left(flowError('rate_limited', 'Too many handle checks; try again later.', { field: 'handle', retryAfterMs: budget.retryAfterMs }));
        return E.right({ type: event.type, handle: handle.right, taken: await p.directory.isHandleTaken(handle.right) });
      }
      case 'password.submit': {
        const password = checkPassword(event.password, {
          policy,
          blocklist: p.passwordBlocklist,
          ...(context.phone === null ? {} : { phone: context.phone as Phone }),
          ...(context.handle === null ? {} : { handle: context.handle as Handle }),
        });
        if (E.isLeft(password)) return password;
        return E.right({ type: event.type, passwordHash: await p.hasher.hash(password.right) });
      }
      case 'code.resend':
      case 'flow.cancel':
        return E.right({ type: event.type });
    }
  };

  return {
    name: 'registration',
    version: 1,
    machine,
    clientEvents: RegistrationClientEvent,
    context: RegistrationContext,
    input: t.exact(t.type({})) as unknown as t.Type<Record<string, never>, unknown, unknown>,
    prepareInput: async (_input, facts, p, flowId) => E.right({ flowId, nonce: newNonce(p), at: facts.at }),
    enrich,
    view: registrationView(policy),
    nextDeadline: registrationDeadline,
  };
};
