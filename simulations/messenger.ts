/**
 * The simulation's messenger: records every delivery with its virtual time and the code or link
 * in it (the invariants need both), and plays a provider that drops, delays and duplicates
 * messages, or dies right after accepting one (a crash between saving and running the outbox).
 */
import { MemoryFlowStore } from '../src/adapters/memory/flowStore.ts';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import type { FlowEnvelope } from '../src/runtime/envelope.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { DeliveryResult, OutboundMessage } from '../src/ports/messenger.ts';
import type { Rng } from './rng.ts';

export interface Delivery {
  readonly at: number;
  /** When the person can see it: later than `at` when the network is slow. */
  readonly seenAt: number;
  readonly to: string;
  readonly flowId: string;
  readonly key: string;
  readonly code: string | null;
  readonly token: string | null;
  readonly text: string;
  readonly duplicated: boolean;
}

export interface MessengerFaults {
  readonly dropRate: number;
  /**
   * Share of dropped sends the provider refuses for good (a dead number, a rejected address)
   * rather than failing for now: the flow must keep the send's cooldown after those.
   */
  readonly rejectedShare: number;
  readonly delayRate: number;
  readonly maxDelayMs: number;
  readonly duplicateRate: number;
  /** Share of sends after which the host process dies before recording the result. */
  readonly crashRate: number;
  /** Share of saves with pending effects after which the host dies before running them. */
  readonly crashAfterSaveRate: number;
  /** Share of restarts that take the host down for a long outage (minutes, not seconds). */
  readonly outageRate: number;
}

export class ProcessCrash extends Error {}

/**
 * Storage that sometimes outlives its host: the write lands, then the process dies before it
 * can run the outbox — the crash between saving and acting that the runtime contract covers.
 */
export class CrashingFlowStore extends MemoryFlowStore {
  /** Flows the faults leave alone: enumeration pairs compare logic, not luck. */
  readonly exempt = new Set<string>();
  /** Flows whose next save with pending effects is followed by a crash (a persona's planned outage). */
  readonly crashNext = new Set<string>();

  constructor(
    private readonly rng: Rng,
    private readonly crashAfterSaveRate: number,
  ) {
    super();
  }

  override async replace(envelope: FlowEnvelope, expectedVersion: number): Promise<boolean> {
    const saved = await super.replace(envelope, expectedVersion);
    if (saved && envelope.outbox.length > 0 && this.crashNext.delete(envelope.flowId)) throw new ProcessCrash('the host died right after saving (planned)');
    if (saved && envelope.outbox.length > 0 && !this.exempt.has(envelope.flowId) && this.rng.chance(this.crashAfterSaveRate)) throw new ProcessCrash('the host died right after saving');
    return saved;
  }
}

export class SimMessenger extends MemoryMessenger {
  readonly deliveries: Delivery[] = [];
  /** Flows whose next message the provider drops (a persona's planned failure). */
  readonly dropNext = new Set<string>();
  /** Every hand-over to the provider, delivered or not, by idempotency key. */
  readonly attempts = new Map<string, { readonly to: string; readonly at: number }>();
  readonly #byFlow = new Map<string, Delivery[]>();
  readonly #byAddress = new Map<string, Delivery[]>();

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly faults: MessengerFaults,
  ) {
    super((message, key) => this.#decideFailure(message, key));
  }

  #decideFailure(_message: OutboundMessage, key: string): DeliveryResult | undefined {
    if (this.dropNext.delete(key.split(':')[0] ?? '')) return { ok: false, reason: 'unreachable', retryable: true };
    if (!this.rng.chance(this.faults.dropRate)) return undefined;
    return this.rng.chance(this.faults.rejectedShare) ? { ok: false, reason: 'rejected', retryable: false } : { ok: false, reason: 'unreachable', retryable: true };
  }

  override async send(message: OutboundMessage, key: string): Promise<DeliveryResult> {
    if (!this.attempts.has(key)) this.attempts.set(key, { to: message.to, at: this.clock.now() });
    const before = this.sent.length;
    const result = await super.send(message, key);
    if (this.sent.length > before) {
      const at = this.clock.now();
      const delay = this.rng.chance(this.faults.delayRate) ? this.rng.int(1_000, this.faults.maxDelayMs) : 0;
      const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) this.#record(message, key, at, at + delay + copy * 5_000, copy > 0);
      if (this.rng.chance(this.faults.crashRate)) throw new ProcessCrash('the host died after the provider accepted the message');
    }
    return result;
  }

  #record(message: OutboundMessage, key: string, at: number, seenAt: number, duplicated: boolean): void {
    const delivery: Delivery = {
      at,
      seenAt,
      to: message.to,
      flowId: key.split(':')[0] ?? '',
      key,
      code: message.text.match(/\b\d{6}\b/)?.[0] ?? null,
      token: message.text.match(/[?&]token=([\w-]+)/)?.[1] ?? null,
      text: message.text,
      duplicated,
    };
    this.deliveries.push(delivery);
    push(this.#byFlow, delivery.flowId, delivery);
    push(this.#byAddress, delivery.to, delivery);
  }

  forFlow(flowId: string): readonly Delivery[] {
    return this.#byFlow.get(flowId) ?? [];
  }

  toAddress(address: string): readonly Delivery[] {
    return this.#byAddress.get(address) ?? [];
  }
}

const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
};
