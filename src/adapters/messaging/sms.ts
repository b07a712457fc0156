/**
 * SMS through a provider's HTTP webhook: `POST {to, text, locale}` as JSON, the outbox key as
 * `Idempotency-Key`, answered by `{ id }`. Uses only `fetch`, so it runs in Node, Deno, Bun, a
 * worker or an edge function alike. Adapt the body to your provider; keep the failure mapping.
 */
import type { DeliveryResult, Messenger } from '../../ports/messenger.ts';

export { devSmsOutbox } from './devOutbox.ts';

export interface HttpWebhookSmsOptions {
  /** http(s) endpoint that sends one SMS per request. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly fetch?: typeof globalThis.fetch;
  /** How long one request may take, answer body included. */
  readonly timeoutMs: number;
}

const REFUSED: DeliveryResult = { ok: false, reason: 'rejected', retryable: false };
const UNREACHABLE: DeliveryResult = { ok: false, reason: 'unreachable', retryable: true };
const TIMEOUT: DeliveryResult = { ok: false, reason: 'timeout', retryable: true };

/** What an HTTP status says about trying the same message again. */
const failureFor = (status: number): DeliveryResult => {
  if (status === 408 || status === 504) return TIMEOUT;
  if (status === 429) return { ok: false, reason: 'rejected', retryable: true };
  if (status >= 500) return UNREACHABLE;
  return REFUSED;
};

const providerIdOf = (body: unknown): string | undefined => {
  const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : typeof id === 'number' && Number.isFinite(id) ? String(id) : undefined;
};

/**
 * @example
 * const sms = httpWebhookSms({ url: 'https://sms.example/v1/messages', token: process.env.SMS_TOKEN, timeoutMs: 5_000 });
 */
export const httpWebhookSms = (options: HttpWebhookSmsOptions): Messenger => {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError(`httpWebhookSms: "url" must be an absolute http(s) URL, got ${JSON.stringify(options.url)}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`httpWebhookSms: "url" must be http(s), got ${url.protocol}`);
  if (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs < 1) throw new RangeError(`httpWebhookSms: "timeoutMs" must be a positive whole number of ms, got ${options.timeoutMs}.`);
  if (options.token !== undefined && !/^[\x21-\x7e]+$/.test(options.token)) throw new TypeError('httpWebhookSms: "token" must be printable ASCII without spaces.');
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new TypeError('httpWebhookSms: no fetch in this runtime; pass one as "fetch".');

  return {
    send: async (message, idempotencyKey) => {
      if (message.channel !== 'sms') return REFUSED;
      const signal = AbortSignal.timeout(options.timeoutMs);
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': idempotencyKey };
      if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
      let response: Response;
      try {
        response = await fetchFn(url, { method: 'POST', headers, body: JSON.stringify({ to: message.to, text: message.text, locale: message.locale }), signal });
      } catch {
        return signal.aborted ? TIMEOUT : UNREACHABLE;
      }
      if (response.status < 200 || response.status > 299) {
        // Let the connection go back to the pool; the body of a refusal tells the flow nothing.
        await response.body?.cancel().catch(() => undefined);
        return failureFor(response.status);
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        // Cut off mid-answer: it may have been sent, and a retry under the same key is safe.
        if (signal.aborted) return TIMEOUT;
        body = undefined;
      }
      const id = providerIdOf(body);
      // A 2xx without an id is an endpoint that does not speak this protocol: a wiring error the
      // host must see in its audit log, not a delivery to trust.
      return id === undefined ? REFUSED : { ok: true, providerId: id };
    },
  };
};
