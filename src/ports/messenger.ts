import type { Email } from '../domain/email.ts';
import type { Phone } from '../domain/phone.ts';

import type { Locale } from '../domain/messages.ts';

export type { Locale };

export type OutboundMessage =
  | { readonly channel: 'sms'; readonly to: Phone; readonly text: string; readonly locale: Locale }
  | { readonly channel: 'email'; readonly to: Email; readonly subject: string; readonly text: string; readonly locale: Locale };

export type DeliveryResult =
  | { readonly ok: true; readonly providerId: string }
  | { readonly ok: false; readonly reason: 'unreachable' | 'rejected' | 'timeout'; readonly retryable: boolean };

/**
 * Hands a rendered message to a provider. The idempotency key is stable across retries of the
 * same outbox entry, so an adapter that honours it never delivers twice.
 */
export interface Messenger {
  send(message: OutboundMessage, idempotencyKey: string): Promise<DeliveryResult>;
}
