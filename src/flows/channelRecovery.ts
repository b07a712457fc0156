/**
 * Hosting SMS and e-mail recovery. The entry (`channel.submit`) is where enumeration safety is
 * won or lost: whatever is typed — a bound number, an unknown one, a malformed list of
 * addresses — gets the same answer, the same states, the same budgets; the account behind it
 * is looked up here and kept out of every view.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import { ChannelRecoveryContext, type ChannelRecoveryMachine, createChannelRecoveryMachine, type RecoveryChannel, type Subject } from '../../machines/channelRecovery.ts';
import type { Account, AccountId } from '../domain/account.ts';
import { eventCodec } from '../domain/decode.ts';
import { type Email, maskEmail, parseEmail } from '../domain/email.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { maskPhone, parsePhone, type Phone } from '../domain/phone.ts';
import type { Policy } from '../domain/policy.ts';
import type { FlowDefinition, FlowView, MachineEvent, TrustedFacts } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import { recoveryPasswordEvent } from './recoveryPassword.ts';
import { handlesEventType, newNonce, stateName } from './common.ts';

const common = {
  'channel.submit': { channel: t.string },
  'code.submit': { code: t.string },
  'code.resend': {},
  'secondFactor.submit': { code: t.string },
  'support.request': {},
  'password.submit': { password: t.string },
  'session.revoke': { sessionId: t.string },
  'security.done': {},
  'flow.cancel': {},
};

export const SmsRecoveryClientEvent = eventCodec('SmsRecoveryClientEvent', { ...common, 'switch.toEmail': {}, 'number.deactivated': {} }, t);
export const EmailRecoveryClientEvent = eventCodec('EmailRecoveryClientEvent', { ...common, 'link.open': { token: t.string }, 'link.confirm': { token: t.string } }, t);
type ClientEvent = t.TypeOf<typeof SmsRecoveryClientEvent> | t.TypeOf<typeof EmailRecoveryClientEvent>;

type Snapshot = SnapshotFrom<ChannelRecoveryMachine>;

/** What was typed, normalised when it parses; anything else is kept (capped) as its own key. */
const normaliseChannel = (kind: RecoveryChannel, raw: string, policy: Policy): { readonly key: string; readonly parsed: Phone | Email | null } => {
  const parsed: E.Either<FlowError, Phone | Email> = kind === 'sms' ? parsePhone(raw, policy) : parseEmail(raw);
  if (E.isRight(parsed)) return { key: parsed.right, parsed: parsed.right };
  return { key: `unparsed:${raw.trim().toLowerCase().slice(0, 64)}`, parsed: null };
};

const lookup = async (kind: RecoveryChannel, parsed: Phone | Email | null, ports: FlowPorts): Promise<Account | undefined> => {
  if (parsed === null) return undefined;
  return kind === 'sms' ? ports.directory.findByPhone(parsed as Phone) : ports.directory.findByEmail(parsed as Email);
};

const maskTyped = (kind: RecoveryChannel, channel: string | null): string | null => {
  if (channel === null) return null;
  if (channel.startsWith('unparsed:')) return `${channel.slice(9, 12)}***`;
  return kind === 'sms' ? maskPhone(channel as Phone) : maskEmail(channel as Email);
};

const RESULTS: Record<string, string> = {
  recovered: 'recovered',
  refused: 'refused',
  accountUnavailable: 'account_unavailable',
  switchedToEmail: 'switch_to_email',
  handedToSupport: 'support',
  locked: 'locked',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

const MESSAGES: Record<string, string> = {
  awaitingCode: 'If this is bound to an account, a code is on its way.',
  codeExpired: 'The code has expired. Ask for a new one.',
  accountUnavailable: 'This account cannot be recovered here. Contact customer support.',
  switchedToEmail: 'Start recovery by e-mail instead.',
  handedToSupport: 'Contact customer support for manual verification.',
  refused: 'The account changed while you were recovering it. Start again.',
};

export const channelRecoveryView = (kind: RecoveryChannel, policy: Policy) => (snapshot: Snapshot): FlowView => {
  const c = snapshot.context;
  const state = stateName(snapshot.value);
  const top = state.split('.')[0] ?? state;
  const live = c.code !== null && !c.code.used;
  const reviewing = state === 'hardening.reviewingSecurity' || top === 'recovered';
  return {
    state,
    done: snapshot.status === 'done',
    channel: maskTyped(kind, c.channel),
    codeExpiresAt: live ? c.code?.expiresAt ?? null : null,
    ...(kind === 'email' ? { linkExpiresAt: c.link !== null && !c.link.used ? c.link.expiresAt : null } : {}),
    resendAllowedAt: c.resendAllowedAt,
    triesLeft: c.code === null ? null : Math.max(0, Math.min(policy.code.maxWrongPerCode - c.code.wrongForCode, policy.code.maxWrongPerFlow - c.code.wrongForFlow)),
    notice: c.notice,
    message: MESSAGES[top] ?? null,
    // The FAQ "the code never arrives", with the policy's real wait rather than a fixed one.
    ...(top === 'awaitingCode' || top === 'codeExpired'
      ? { help: { resendAllowedAt: c.resendAllowedAt, cooldownSeconds: policy.sends.cooldownMs / 1000, switchToEmail: kind === 'sms', contactSupport: true } }
      : {}),
    ...(reviewing ? { recentLogins: c.recentLogins, offers: c.offers, revokedSessions: c.revokedSessions, signedOut: c.signedOut } : {}),
    result: RESULTS[top] ?? null,
  };
};

export const channelRecoveryDeadline = (snapshot: Snapshot): number | null => {
  // The password reset's answer ends `hardening.applying`, not the clock: nothing to wake it for.
  if (stateName(snapshot.value) === 'hardening.applying') return null;
  const c = snapshot.context;
  // The state value is typed loosely: the e-mail machine has states the SMS one lacks.
  const top = stateName(snapshot.value).split('.')[0];
  const waiting = top === 'awaitingCode' || top === 'linkOpened';
  const codeDeadline = waiting && c.code !== null && !c.code.used ? Math.max(c.code.expiresAt, c.link !== null && !c.link.used ? c.link.expiresAt : 0) : Number.POSITIVE_INFINITY;
  return Math.min(codeDeadline, c.expiresAt);
};

const subjectFacts = async (subject: Subject, ports: FlowPorts) => {
  if (subject === null) return { currentEpoch: null, accountActive: false, secondFactorEnrolled: false };
  const account = await ports.directory.get(subject.accountId as AccountId);
  const factors = await ports.secondFactors.status(subject.accountId as AccountId);
  return { currentEpoch: account?.securityEpoch ?? null, accountActive: account?.status === 'active', secondFactorEnrolled: factors.totp || factors.backupCodesLeft > 0 };
};

/**
 * @example
 * const runtime = createRuntime(ports, [smsRecoveryFlow(ports), emailRecoveryFlow(ports)]);
 * await runtime.send(flowId, { type: 'channel.submit', channel: '+8613800138000' });
 */
export const channelRecoveryFlow = (kind: RecoveryChannel, ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>): FlowDefinition<ChannelRecoveryMachine, ClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createChannelRecoveryMachine({ policy, secrets: ports.codeSecrets }, kind);

  const enrich = async (event: ClientEvent, snapshot: Snapshot, facts: TrustedFacts, p: FlowPorts): Promise<E.Either<FlowError, MachineEvent>> => {
    if (!handlesEventType(snapshot, event.type)) return E.left(flowError('event_not_accepted', `"${event.type}" is not possible in this step.`, { field: 'type' }));
    const context = snapshot.context;
    switch (event.type) {
      case 'channel.submit': {
        const { key, parsed } = normaliseChannel(kind, event.channel, policy);
        const account = await lookup(kind, parsed, p);
        const subject: Subject = account !== undefined && account.status === 'active' ? { accountId: account.id, epoch: account.securityEpoch } : null;
        return E.right({ type: event.type, channel: key, subject });
      }
      case 'code.submit':
      case 'link.open':
      case 'link.confirm': {
        const key = context.subject === null ? `failures:channel:${context.channel ?? ''}` : `failures:account:${context.subject.accountId}`;
        const failures = await p.budgets.peek(key, policy.accountFailures, facts.at);
        if (!failures.allowed) return E.left(flowError('rate_limited', 'Too many wrong codes; try again later.', { field: 'code', retryAfterMs: failures.retryAfterMs }));
        const presented = event.type === 'code.submit' ? { code: event.code } : { token: event.token };
        return E.right({ type: event.type, ...presented, ...(await subjectFacts(context.subject, p)) });
      }
      case 'secondFactor.submit': {
        const result = context.subject === null ? 'wrong' : await p.secondFactors.verify(context.subject.accountId as AccountId, event.code, facts.at, `${context.flowId}:2fa:${context.secondFactorWrong}:${event.code.slice(0, 32)}`);
        return E.right({ type: event.type, result });
      }
      case 'password.submit': {
        return recoveryPasswordEvent(event.password, context.subject, p);
      }
      case 'session.revoke':
        return E.right({ type: event.type, sessionId: event.sessionId });
      default:
        return E.right({ type: event.type });
    }
  };

  return {
    name: kind === 'sms' ? 'smsRecovery' : 'emailRecovery',
    version: 1,
    machine,
    clientEvents: kind === 'sms' ? SmsRecoveryClientEvent : EmailRecoveryClientEvent,
    context: ChannelRecoveryContext,
    input: t.exact(t.type({})) as unknown as t.Decoder<unknown, Record<string, never>>,
    prepareInput: async (_input, facts, p, flowId) => E.right({ flowId, nonce: newNonce(p), at: facts.at }),
    enrich,
    view: channelRecoveryView(kind, policy),
    nextDeadline: channelRecoveryDeadline,
  };
};

export const smsRecoveryFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>) => channelRecoveryFlow('sms', ports);
export const emailRecoveryFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>) => channelRecoveryFlow('email', ports);
