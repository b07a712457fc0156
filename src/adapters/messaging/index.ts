/**
 * Messengers for real hosts. `smtp.ts` needs Node (sockets); everything else here uses only
 * `fetch` and runs anywhere, so a browser or edge build imports those files directly.
 */
export { DevOutbox, type DevOutboxEntry, type DevOutboxOptions, devEmailOutbox, devOutbox, devSmsOutbox } from './devOutbox.ts';
export { type ChannelRoutes, routeByChannel } from './router.ts';
export { type SentLog, memorySentLog } from './sentLog.ts';
export { httpWebhookSms, type HttpWebhookSmsOptions } from './sms.ts';
export { KEY_HEADER, messageIdFor, type SmtpMessenger, type SmtpMessengerOptions, type SmtpSender, smtpMessenger } from './smtp.ts';
export { type DeliveryFailure, smtpFailure } from './smtpFailure.ts';
