/**
 * Development messengers that send nothing: they keep what would have been sent, newest first,
 * for a dev page ("your code is …") or a test to read. Bounded, so a long-running dev server
 * does not grow without end. Plain data only, so an entry goes to a page as JSON unchanged.
 */
import type { Clock } from '../../ports/clock.ts';
import type { DeliveryResult, Messenger, OutboundMessage } from '../../ports/messenger.ts';

export type Channel = OutboundMessage['channel'];

export interface DevOutboxEntry {
  readonly id: string;
  readonly idempotencyKey: string;
  /** When it was handed over, by the outbox's clock (ms since the epoch). */
  readonly at: number;
  readonly message: OutboundMessage;
}

export interface DevOutboxOptions {
  /** How many messages to keep; the oldest go first. Default 500. */
  readonly limit?: number;
  /** Default: the wall clock. */
  readonly clock?: Clock;
}

const REFUSED: DeliveryResult = { ok: false, reason: 'rejected', retryable: false };

export class DevOutbox implements Messenger {
  /** Oldest first; `list` turns it around. */
  readonly #entries: DevOutboxEntry[] = [];
  readonly #byKey = new Map<string, DevOutboxEntry>();
  readonly #limit: number;
  readonly #clock: Clock;
  #counter = 0;

  constructor(
    private readonly channels: readonly Channel[],
    options: DevOutboxOptions = {},
  ) {
    const limit = options.limit ?? 500;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`A dev outbox must keep at least one message, got limit ${limit}.`);
    this.#limit = limit;
    this.#clock = options.clock ?? { now: () => Date.now() };
  }

  async send(message: OutboundMessage, idempotencyKey: string): Promise<DeliveryResult> {
    if (!this.channels.includes(message.channel)) return REFUSED;
    const earlier = this.#byKey.get(idempotencyKey);
    if (earlier !== undefined) return { ok: true, providerId: earlier.id };
    const entry: DevOutboxEntry = { id: `dev-${message.channel}-${++this.#counter}`, idempotencyKey, at: this.#clock.now(), message };
    this.#entries.push(entry);
    this.#byKey.set(idempotencyKey, entry);
    if (this.#entries.length > this.#limit) {
      const dropped = this.#entries.shift() as DevOutboxEntry;
      this.#byKey.delete(dropped.idempotencyKey);
    }
    return { ok: true, providerId: entry.id };
  }

  /** Kept messages, newest first; only those to `to` (exactly as sent) when given. */
  list(to?: string): readonly DevOutboxEntry[] {
    const newestFirst = [...this.#entries].reverse();
    return to === undefined ? newestFirst : newestFirst.filter((e) => e.message.to === to);
  }
}

/** Keeps SMS; refuses e-mail (not retryable), so a miswired host shows up at once. */
export const devSmsOutbox = (options?: DevOutboxOptions): DevOutbox => new DevOutbox(['sms'], options);

/** Keeps e-mail; refuses SMS. */
export const devEmailOutbox = (options?: DevOutboxOptions): DevOutbox => new DevOutbox(['email'], options);

/** Keeps both channels: one messenger for a whole dev host. */
export const devOutbox = (options?: DevOutboxOptions): DevOutbox => new DevOutbox(['sms', 'email'], options);
