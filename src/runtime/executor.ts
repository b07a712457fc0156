/**
 * Runs one outbox entry through the ports and says what the flow should hear back. Every call
 * passes the entry's idempotency key, so an entry run again after a crash has no second effect.
 */
import type { Effect } from '../domain/effects.ts';
import type { Email } from '../domain/email.ts';
import type { AccountId } from '../domain/account.ts';
import type { Handle } from '../domain/handle.ts';
import type { Phone } from '../domain/phone.ts';
import { renderMessage } from '../domain/messages.ts';
import type { Instant } from '../domain/time.ts';
import type { OutboundMessage } from '../ports/messenger.ts';
import type { OutboxEntry } from './envelope.ts';
import type { FlowPorts } from './ports.ts';

/** An event the runtime feeds back into the flow; `at` is added by the runtime. */
export type Feedback = { readonly type: string; readonly [key: string]: unknown };

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
      const rendered = renderMessage(p.template, ports.locale, { code, minutes });
      const message: OutboundMessage =
        p.channel === 'sms'
          ? { channel: 'sms', to: p.to as Phone, text: rendered.text, locale: ports.locale }
          : { channel: 'email', to: p.to as Email, subject: rendered.subject, text: rendered.text, locale: ports.locale };
      const result = await ports.messenger.send(message, entry.key);
      return result.ok ? { type: 'delivery.sent' } : { type: 'delivery.failed', retryable: result.retryable };
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
    case 'setRealNameStatus': {
      await ports.directory.setRealName(effect.params.accountId as AccountId, effect.params.status, entry.key);
      return undefined;
    }
  }
};
