import type { DeliveryResult, Messenger, OutboundMessage } from '../../ports/messenger.ts';

export interface SentMessage {
  readonly message: OutboundMessage;
  readonly idempotencyKey: string;
}

/**
 * Records messages instead of sending them. `fail` lets a test or the simulation make the
 * provider drop or refuse a message; a repeated idempotency key returns the first result and
 * delivers nothing new.
 */
export class MemoryMessenger implements Messenger {
  readonly sent: SentMessage[] = [];
  readonly #results = new Map<string, DeliveryResult>();
  #counter = 0;

  constructor(private readonly fail: (message: OutboundMessage, key: string) => DeliveryResult | undefined = () => undefined) {}

  async send(message: OutboundMessage, idempotencyKey: string): Promise<DeliveryResult> {
    const earlier = this.#results.get(idempotencyKey);
    if (earlier !== undefined) return earlier;
    const failure = this.fail(message, idempotencyKey);
    const result: DeliveryResult = failure ?? { ok: true, providerId: `mem-${++this.#counter}` };
    if (result.ok) this.sent.push({ message, idempotencyKey });
    this.#results.set(idempotencyKey, result);
    return result;
  }

  /** The last message delivered to an address. */
  lastTo(address: string): OutboundMessage | undefined {
    for (let i = this.sent.length - 1; i >= 0; i--) {
      const entry = this.sent[i];
      if (entry !== undefined && entry.message.to === address) return entry.message;
    }
    return undefined;
  }

  /** The last code delivered to an address: the first run of digits of the code length. */
  lastCodeTo(address: string, digits = 6): string | undefined {
    const text = this.lastTo(address)?.text;
    return text?.match(new RegExp(`\\b\\d{${digits}}\\b`))?.[0];
  }
}
