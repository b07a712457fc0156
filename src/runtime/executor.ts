/**
 * Runs one outbox entry through the ports and says what the flow should hear back. Every call
 * passes the entry's idempotency key, so an entry run again after a crash has no second effect.
 */
import type { Account } from '../domain/account.ts';
import type { Effect, MessageTemplate } from '../domain/effects.ts';
import { type Email, maskEmail } from '../domain/email.ts';
import type { AccountId } from '../domain/account.ts';
import type { Handle } from '../domain/handle.ts';
import { maskPhone, type Phone } from '../domain/phone.ts';
import { friendBudgetRule } from '../domain/friendAssist.ts';
import { renderInAppNotice, renderMessage } from '../domain/messages.ts';
import type { Instant } from '../domain/time.ts';
import type { DeliveryResult, OutboundMessage } from '../ports/messenger.ts';
import type { OutboxEntry } from './envelope.ts';
import type { FlowPorts } from './ports.ts';

/** An event the runtime feeds back into the flow; `at` is added by the runtime. */
export type Feedback = { readonly type: string; readonly [key: string]: unknown };

const resetLink = (ports: FlowPorts, flowId: string, token: string): string =>
  `${ports.resetLinkBase}?flow=${encodeURIComponent(flowId)}&token=${encodeURIComponent(token)}`;

interface NoticeContext {
  readonly flowId: string;
  readonly at: Instant;
  readonly template: MessageTemplate;
  readonly accountId?: AccountId;
}

/**
 * Sends a security notice. One that does not go out leaves an audit entry: the owner was not
 * told, and nothing else would show it (the flow goes on either way). The address is masked.
 */
const sendNotice = async (ports: FlowPorts, message: OutboundMessage, key: string, notice: NoticeContext): Promise<DeliveryResult> => {
  const result = await ports.messenger.send(message, key);
  if (!result.ok) await auditFailedSend(ports, 'notice.failed', message, result, key, notice);
  return result;
};

/**
 * The audit entry for a message the messenger did not take, under `${key}:failed`: the address
 * masked, and never the text (a code's message holds the code).
 */
const auditFailedSend = async (
  ports: FlowPorts,
  kind: 'notice.failed' | 'delivery.failed',
  message: OutboundMessage,
  result: Extract<DeliveryResult, { ok: false }>,
  key: string,
  context: NoticeContext,
): Promise<void> => {
  const to = message.channel === 'sms' ? maskPhone(message.to) : maskEmail(message.to);
  await ports.audit.record(
    {
      at: context.at,
      flowId: context.flowId,
      kind,
      ...(context.accountId === undefined ? {} : { accountId: context.accountId }),
      detail: { template: context.template, channel: message.channel, to, reason: result.reason, retryable: result.retryable },
    },
    `${key}:failed`,
  );
};

/** Sends a template to every channel bound to the account, each under its own key. */
const notifyAccount = async (ports: FlowPorts, accountId: AccountId, template: MessageTemplate, key: string, flowId: string, at: Instant): Promise<number> => {
  const account = await ports.directory.get(accountId);
  if (account === undefined) return 0;
  let told = 0;
  for (const message of messagesFor(ports, account, template)) {
    const result = await sendNotice(ports, message, `${key}:${message.channel}`, { flowId, at, template, accountId });
    if (result.ok) told++;
  }
  return told;
};

const messagesFor = (ports: FlowPorts, account: Account, template: MessageTemplate): OutboundMessage[] => {
  const rendered = renderMessage(template, ports.locale, {});
  return [
    ...(account.phone === null ? [] : [{ channel: 'sms' as const, to: account.phone.value, text: rendered.text, locale: ports.locale }]),
    ...(account.email === null ? [] : [{ channel: 'email' as const, to: account.email.value, subject: rendered.subject, text: rendered.text, locale: ports.locale }]),
  ];
};

/**
 * Codes whose failed delivery the flow never shows: recovery, where "not delivered" would say the
 * channel is bound. An unbound channel spends the same budgets and sends nothing, so giving a
 * bound one's units back after a failure would let the budget tell the two apart.
 */
const FAILURE_HIDDEN: ReadonlySet<MessageTemplate> = new Set<MessageTemplate>(['recovery.code', 'recovery.link']);

export const runEffect = async (entry: OutboxEntry, flowId: string, ports: FlowPorts, at: Instant): Promise<Feedback | undefined> => {
  const effect = entry.effect as Effect;
  switch (effect.type) {
    case 'deliverCode': {
      const p = effect.params;
      let refusedFor = 0;
      for (const key of p.budgetKeys) {
        const decision = await ports.budgets.consume(key, ports.policy.sends, at, `${entry.key}:${key}`);
        if (!decision.allowed) refusedFor = Math.max(refusedFor, decision.retryAfterMs);
      }
      if (refusedFor > 0) return { type: 'delivery.refused', retryAfterMs: refusedFor };
      // An unknown recovery channel spends the same budgets and answers the same; it just sends nothing.
      if (!p.deliver) return { type: 'delivery.sent' };
      const minutes = Math.round((p.template === 'recovery.link' ? ports.policy.code.emailLinkTtlMs : ports.policy.code.ttlMs) / 60_000);
      const code = ports.codeSecrets.code(p.binding, p.counter, ports.policy.code.digits);
      const link = p.withLink === true ? resetLink(ports, flowId, ports.codeSecrets.linkToken(p.binding, p.counter)) : undefined;
      const rendered = renderMessage(p.template, ports.locale, { code, minutes, ...(link === undefined ? {} : { link }) });
      const message: OutboundMessage =
        p.channel === 'sms'
          ? { channel: 'sms', to: p.to as Phone, text: rendered.text, locale: ports.locale }
          : { channel: 'email', to: p.to as Email, subject: rendered.subject, text: rendered.text, locale: ports.locale };
      const result = await ports.messenger.send(message, entry.key);
      if (result.ok) return { type: 'delivery.sent' };
      // Written here, not by the flow: a flow that wrote it would take one more saved step for a
      // bound recovery address than for an unbound one (which never sends, so never fails), and
      // its version would tell them apart.
      await auditFailedSend(ports, 'delivery.failed', message, result, entry.key, { flowId, at, template: p.template });
      // A timeout may have gone out after all (the provider took the message and never answered),
      // so it keeps its units like a permanent failure: giving them back would let a flaky
      // provider deliver past the budget. Only when nothing went out do the units go back, and
      // only then does the flow hear "retryable", which it shows as "ask again now".
      const nothingSent = result.retryable && result.reason !== 'timeout';
      if (nothingSent && !FAILURE_HIDDEN.has(p.template)) {
        for (const key of p.budgetKeys) await ports.budgets.release(key, `${entry.key}:${key}`);
      }
      return { type: 'delivery.failed', retryable: nothingSent };
    }
    case 'createAccount': {
      const result = await ports.directory.create({
        phone: effect.params.phone as Phone,
        handle: effect.params.handle as Handle,
        passwordHash: effect.params.passwordHash,
        at,
        idempotencyKey: entry.key,
      });
      return result.ok ? { type: 'account.created', accountId: result.account.id } : { type: 'account.conflict', conflict: result.conflict };
    }
    case 'recordFailure': {
      await ports.budgets.consume(effect.params.key, ports.policy.accountFailures, at, entry.key);
      return undefined;
    }
    case 'audit': {
      await ports.audit.record({ at, flowId, ...effect.params }, entry.key);
      return undefined;
    }
    case 'submitRealName': {
      const result = await ports.realNameProvider.submit(
        { accountId: effect.params.accountId as AccountId, flowId, attempt: effect.params.attempt, reference: effect.params.reference },
        entry.key,
      );
      return result.accepted ? undefined : { type: 'provider.unavailable' };
    }
    case 'notifyChannels': {
      await notifyAccount(ports, effect.params.accountId as AccountId, effect.params.template, entry.key, flowId, at);
      return undefined;
    }
    case 'completeRecovery': {
      const p = effect.params;
      const id = p.accountId as AccountId;
      const reset = await ports.directory.resetPassword({
        id,
        expectedEpoch: p.expectedEpoch,
        passwordHash: p.passwordHash,
        holdSensitiveUntil: at + ports.policy.recovery.sensitiveHoldMs,
        idempotencyKey: `${entry.key}:password`,
      });
      if (!reset.ok) return { type: 'recovery.refused', reason: reset.reason };
      const revokedSessions = await ports.sessions.revokeAllExcept(id, null, at, `${entry.key}:sessions`);
      const channelsTold = await notifyAccount(ports, id, 'recovery.completed', `${entry.key}:notify`, flowId, at);
      const logins = await ports.sessions.recentLogins(id, 5);
      const factors = await ports.secondFactors.status(id);
      await ports.audit.record({ at, flowId, kind: 'recovery.completed', accountId: id, detail: { path: p.path, revokedSessions, channelsTold } }, `${entry.key}:audit`);
      const offers = [
        ...(reset.account.phone === null ? ['bindPhone'] : []),
        ...(reset.account.email === null ? ['bindEmail'] : []),
        ...(factors.totp ? [] : ['enableTotp']),
      ];
      return {
        type: 'recovery.applied',
        revokedSessions,
        channelsTold,
        offers,
        recentLogins: logins.map((l) => ({ at: l.at, device: l.device, place: l.place, sessionId: l.sessionId })),
      };
    }
    case 'revokeSession': {
      const session = await ports.sessions.get(effect.params.sessionId);
      // Only the recovered account's own sessions: a flow is never a way to sign others out.
      if (session !== undefined && session.accountId === effect.params.accountId) await ports.sessions.revoke(session.id, at);
      return undefined;
    }
    case 'enrollSecondFactor': {
      const p = effect.params;
      await ports.secondFactors.enroll(p.accountId as AccountId, { factor: p.factor, backupCodeHashes: p.backupCodeHashes }, entry.key);
      return undefined;
    }
    case 'setRealNameStatus': {
      await ports.directory.setRealName(effect.params.accountId as AccountId, effect.params.status, entry.key);
      return undefined;
    }
    case 'bindChannel': {
      const p = effect.params;
      const channel = p.channel.kind === 'phone' ? { kind: 'phone' as const, value: p.channel.value as Phone } : { kind: 'email' as const, value: p.channel.value as Email };
      const result = await ports.directory.bindChannel({ id: p.accountId as AccountId, expectedEpoch: p.expectedEpoch, channel, at, idempotencyKey: entry.key });
      if (!result.ok) return { type: 'binding.conflict', reason: result.reason };
      // The directory's own timestamp: a re-run after a crash gets the first run's answer, not a new `at`.
      const bound = channel.kind === 'phone' ? result.account.phone : result.account.email;
      return { type: 'binding.applied', verifiedAt: bound?.verifiedAt ?? at };
    }
    case 'notifyAddress': {
      const p = effect.params;
      const rendered = renderMessage(p.template, ports.locale, {});
      const message: OutboundMessage =
        p.channel === 'sms'
          ? { channel: 'sms', to: p.to as Phone, text: rendered.text, locale: ports.locale }
          : { channel: 'email', to: p.to as Email, subject: rendered.subject, text: rendered.text, locale: ports.locale };
      await sendNotice(ports, message, entry.key, { flowId, at, template: p.template });
      return undefined;
    }
    case 'consumeBudget': {
      const decision = await ports.budgets.consume(effect.params.key, friendBudgetRule(ports.policy, effect.params.rule), at, entry.key);
      return decision.allowed
        ? { type: 'budget.allowed', key: effect.params.key }
        : { type: 'budget.refused', key: effect.params.key, retryAfterMs: decision.retryAfterMs };
    }
    case 'notifyFriend': {
      const p = effect.params;
      // Null targets are the padding that keeps an unknown account's flow step for step with a real one's.
      if (p.friendId === null || p.accountId === null) return undefined;
      const about = await ports.directory.get(p.accountId as AccountId);
      if (about === undefined) return undefined;
      const text = renderInAppNotice('friendAssist.asked', ports.locale, about.handle);
      await ports.inApp.notify(p.friendId as AccountId, { kind: 'friendAssist.asked', flowId: p.flowId, accountHandle: about.handle, text }, entry.key);
      return undefined;
    }
    case 'notifyOwner': {
      const p = effect.params;
      if (p.accountId === null) return undefined;
      const owner = await ports.directory.get(p.accountId as AccountId);
      if (owner === undefined) return undefined;
      const text = renderInAppNotice(p.notice, ports.locale, owner.handle);
      await ports.inApp.notify(owner.id, { kind: p.notice, flowId: p.flowId, accountHandle: owner.handle, text }, entry.key);
      return undefined;
    }
    case 'openTicket': {
      const p = effect.params;
      await ports.supportQueue.open({ ticketId: p.ticketId, accountId: p.accountId as AccountId | null, at, agentDueAt: p.agentDueAt }, entry.key);
      return undefined;
    }
    case 'updateTicket': {
      await ports.supportQueue.update(effect.params.ticketId, { awaiting: effect.params.awaiting, dueAt: effect.params.dueAt }, entry.key);
      return undefined;
    }
    case 'closeTicket': {
      await ports.supportQueue.close(effect.params.ticketId, effect.params.outcome, at, entry.key);
      return undefined;
    }
    case 'resetSecondFactor': {
      const id = effect.params.accountId as AccountId;
      const account = await ports.directory.get(id);
      // A password change or deactivation during the dispute window outranks the approval.
      if (account === undefined || account.status !== 'active' || account.securityEpoch !== effect.params.expectedEpoch) {
        return { type: 'secondFactor.resetRefused', reason: account === undefined ? 'not_found' : account.status !== 'active' ? 'deactivated' : 'stale_epoch' };
      }
      await ports.secondFactors.reset(id, `${entry.key}:reset`);
      const channelsTold = await notifyAccount(ports, id, 'review.secondFactorReset', `${entry.key}:notify`, flowId, at);
      await ports.audit.record({ at, flowId, kind: 'review.secondFactorReset', accountId: id, detail: { channelsTold } }, `${entry.key}:audit`);
      return { type: 'secondFactor.reset' };
    }
  }
};
