/**
 * E-mail through any SMTP server, with nodemailer. The outbox key becomes a deterministic
 * Message-ID and an `X-Account-Flows-Key` header, so when a retry does reach the recipient's
 * side twice (the server took the message but the 250 never came back) mail systems and
 * people can see it is the same message.
 */
import { createHash } from 'node:crypto';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import type { DeliveryResult, Messenger, OutboundMessage } from '../../ports/messenger.ts';
import type { SentLog } from './sentLog.ts';
import { smtpFailure } from './smtpFailure.ts';

/** What the messenger needs of a nodemailer transporter (`nodemailer.createTransport(...)`). */
export interface SmtpSender {
  sendMail(mail: SendMailOptions): Promise<{ readonly messageId: string; readonly response: string; readonly accepted: readonly unknown[]; readonly rejected: readonly unknown[] }>;
  close?(): void;
}

export type SmtpMessengerOptions = {
  /** One sender address: `no-reply@example.com` or `"Accounts" <no-reply@example.com>`. */
  readonly from: string;
  /** Remembers accepted keys, so a retried outbox entry is not delivered twice. */
  readonly sentLog?: SentLog;
  /** The right-hand side of generated Message-IDs; the sender's domain by default. */
  readonly messageIdDomain?: string;
} & (
  | { readonly transport: SmtpSender; readonly url?: undefined }
  /** A nodemailer connection URL, e.g. `smtps://user:pass@smtp.example.com:465`. */
  | { readonly url: string; readonly transport?: undefined }
);

export interface SmtpMessenger extends Messenger {
  /** Releases the transport's connections (a pooled transport keeps some open). */
  close(): void;
}

export const KEY_HEADER = 'X-Account-Flows-Key';

const REFUSED: DeliveryResult = { ok: false, reason: 'rejected', retryable: false };
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The Message-ID an outbox key is always sent under: a hash, so the key's parts stay out of headers. */
export const messageIdFor = (idempotencyKey: string, domain: string): string =>
  `<${createHash('sha256').update(`account-flows\u0000${idempotencyKey}`).digest('hex').slice(0, 40)}@${domain}>`;

const senderDomain = (from: string): string => {
  const boxes = typeof from === 'string' ? addressparser(from, { flatten: true }) : [];
  const address = boxes.length === 1 ? (boxes[0]?.address ?? '') : '';
  const domain = address.slice(address.lastIndexOf('@') + 1);
  if (!address.includes('@') || !DOMAIN.test(domain)) throw new TypeError(`smtpMessenger: "from" must be one address such as "Accounts <no-reply@example.com>", got ${JSON.stringify(from)}.`);
  return domain;
};

/**
 * @example
 * const email = smtpMessenger({ url: 'smtp://mail.internal:25', from: 'Accounts <no-reply@example.com>', sentLog: memorySentLog() });
 * const ports = { ...memoryOrYourPorts, messenger: routeByChannel({ sms: yourSms, email }) };
 */
export const smtpMessenger = (options: SmtpMessengerOptions): SmtpMessenger => {
  if ((options.transport === undefined) === (options.url === undefined)) throw new TypeError('smtpMessenger: give exactly one of "transport" and "url".');
  const fromDomain = senderDomain(options.from);
  const domain = options.messageIdDomain ?? fromDomain;
  if (!DOMAIN.test(domain)) throw new TypeError(`smtpMessenger: "messageIdDomain" must be a domain name, got ${JSON.stringify(domain)}.`);
  const transport: SmtpSender = options.transport ?? nodemailer.createTransport(options.url as string);
  const { sentLog } = options;
  // Two concurrent runs of one entry in this process (two requests draining one flow) share one send.
  const inFlight = new Map<string, Promise<DeliveryResult>>();

  const deliver = async (message: Extract<OutboundMessage, { channel: 'email' }>, key: string): Promise<DeliveryResult> => {
    const recorded = await sentLog?.get(key);
    if (recorded !== undefined) return { ok: true, providerId: recorded };
    const messageId = messageIdFor(key, domain);
    let info: Awaited<ReturnType<SmtpSender['sendMail']>>;
    try {
      info = await transport.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId,
        headers: { [KEY_HEADER]: key, 'Content-Language': message.locale },
      });
    } catch (error) {
      return smtpFailure(error);
    }
    // Only the server's 250 to the message data means it took responsibility for the mail.
    if (info.rejected.length > 0 || info.accepted.length === 0) return REFUSED;
    if (!/^250(?:[ -]|$)/.test(info.response)) return { ok: false, reason: 'rejected', retryable: true };
    try {
      await sentLog?.record(key, messageId);
    } catch {
      // The mail went out: the flow must hear "sent". Losing the record only loses the dedupe
      // of a retry that, with the flow told, will not happen.
    }
    return { ok: true, providerId: messageId };
  };

  return {
    send: async (message, idempotencyKey) => {
      // An SMS handed to the e-mail adapter is the host's wiring error; it is never worth a retry.
      if (message.channel !== 'email') return REFUSED;
      const running = inFlight.get(idempotencyKey);
      if (running !== undefined) return running;
      const sending = deliver(message, idempotencyKey).finally(() => inFlight.delete(idempotencyKey));
      inFlight.set(idempotencyKey, sending);
      return sending;
    },
    // A transport the host passed in is the host's to close.
    close: () => {
      if (options.url !== undefined) transport.close?.();
    },
  };
};
