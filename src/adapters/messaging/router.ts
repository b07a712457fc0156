/**
 * One messenger out of one per channel: a host pairs its SMS provider with its mail server
 * (or a dev outbox with either) and hands the pair to the flows as `messenger`.
 */
import type { Messenger } from '../../ports/messenger.ts';

export { devEmailOutbox, devOutbox } from './devOutbox.ts';

export interface ChannelRoutes {
  readonly sms: Messenger;
  readonly email: Messenger;
}

/**
 * @example
 * const messenger = routeByChannel({ sms: httpWebhookSms({ url, token, timeoutMs: 5_000 }), email: smtpMessenger({ url: smtpUrl, from }) });
 */
export const routeByChannel = (routes: ChannelRoutes): Messenger => {
  if (typeof routes?.sms?.send !== 'function' || typeof routes?.email?.send !== 'function') throw new TypeError('routeByChannel: both "sms" and "email" must be messengers.');
  return { send: (message, idempotencyKey) => routes[message.channel].send(message, idempotencyKey) };
};
