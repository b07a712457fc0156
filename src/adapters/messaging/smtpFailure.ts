/**
 * What a failed SMTP send means for the flow: whether the same message may go through later.
 * Nodemailer tags its errors with a code (`ECONNECTION`, `ETIMEDOUT`, `EDNS`, …) and, where the
 * server answered, the SMTP reply code; RFC 5321 makes 4yz transient and 5yz permanent.
 */
import { isPermanentResponseCode } from 'nodemailer/lib/errors';
import type { DeliveryResult } from '../../ports/messenger.ts';

export type DeliveryFailure = Extract<DeliveryResult, { ok: false }>;

const UNREACHABLE: DeliveryFailure = { ok: false, reason: 'unreachable', retryable: true };
const TIMEOUT: DeliveryFailure = { ok: false, reason: 'timeout', retryable: true };
const REFUSED_FOR_NOW: DeliveryFailure = { ok: false, reason: 'rejected', retryable: true };
const REFUSED: DeliveryFailure = { ok: false, reason: 'rejected', retryable: false };

/** The host's configuration or the message itself is wrong: sending it again changes nothing. */
const NOT_WORTH_RETRYING: ReadonlySet<string> = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EREQUIRETLS', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS']);

/** Waits that end before any server spoke to us: the server was not reached at all. */
const BEFORE_GREETING: ReadonlySet<string> = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT']);

interface SmtpErrorShape {
  readonly code?: unknown;
  readonly responseCode?: unknown;
  readonly timeoutType?: unknown;
}

export const smtpFailure = (error: unknown): DeliveryFailure => {
  const e: SmtpErrorShape = typeof error === 'object' && error !== null ? error : {};
  if (typeof e.responseCode === 'number' && e.responseCode >= 400) {
    // 421: the service is closing the channel, the same as not reaching it.
    if (e.responseCode === 421) return UNREACHABLE;
    return isPermanentResponseCode(e.responseCode) ? REFUSED : REFUSED_FOR_NOW;
  }
  if (e.code === 'ETIMEDOUT') return typeof e.timeoutType === 'string' && BEFORE_GREETING.has(e.timeoutType) ? UNREACHABLE : TIMEOUT;
  if (typeof e.code === 'string' && NOT_WORTH_RETRYING.has(e.code)) return REFUSED;
  // Sockets, DNS, TLS, proxies, protocol garbage, anything unknown: the message is safe to try
  // again (same Message-ID), so an unknown failure must not throw away the user's code.
  return UNREACHABLE;
};
