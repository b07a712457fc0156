/**
 * A test host whose ports can be made to fail on demand: the SMS or e-mail provider drops the
 * next code, or the host dies right after saving a step (before running its outbox). Model and
 * path tests need both to reach the delivery branches and the "effect ran after the flow moved
 * on" branches, which no well-behaved world ever shows.
 */
import { commonPasswordBlocklist } from '../../src/adapters/commonPasswords.ts';
import { createMemoryWorld, type MemoryWorld, type MemoryWorldOptions } from '../../src/adapters/memory/index.ts';
import { MemoryFlowStore } from '../../src/adapters/memory/flowStore.ts';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import { bindingFlow } from '../../src/flows/binding.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import { friendAssistFlow } from '../../src/flows/friendAssist.ts';
import { manualReviewFlow } from '../../src/flows/manualReview.ts';
import { realNameFlow } from '../../src/flows/realName.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import { totpEnrollmentFlow } from '../../src/flows/totpEnrollment.ts';
import type { FlowEnvelope } from '../../src/runtime/envelope.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import { createRuntime, type FlowRuntime, type RuntimeOptions } from '../../src/runtime/runtime.ts';

export class Faults {
  /** The provider refuses the next code or link it is handed (a notification is never hit). */
  dropNextCode = false;
  /** The next save that leaves effects pending lands, then the host dies before running them. */
  crashAfterNextSave = false;
}

export class HostCrash extends Error {}

class CrashingStore extends MemoryFlowStore {
  constructor(private readonly faults: Faults) {
    super();
  }

  override async replace(envelope: FlowEnvelope, expectedVersion: number): Promise<boolean> {
    const saved = await super.replace(envelope, expectedVersion);
    this.#maybeCrash(saved, envelope);
    return saved;
  }

  #maybeCrash(saved: boolean, envelope: FlowEnvelope): void {
    if (saved && envelope.outbox.length > 0 && this.faults.crashAfterNextSave) {
      this.faults.crashAfterNextSave = false;
      throw new HostCrash('the host died right after saving');
    }
  }
}

/** Every flow the library ships, as one host would run them. */
export const allFlows = (world: MemoryWorld): FlowDefinition[] => [
  registrationFlow(world),
  realNameFlow(world),
  smsRecoveryFlow(world),
  emailRecoveryFlow(world),
  totpEnrollmentFlow(world),
  bindingFlow(world),
  manualReviewFlow(world),
  friendAssistFlow(world),
] as FlowDefinition[];

export interface FaultyHost {
  readonly world: MemoryWorld;
  readonly faults: Faults;
  runtime: FlowRuntime;
  /** A new runtime over the same storage and ports: a host restart. */
  restart(): FlowRuntime;
}

export interface FaultyHostOptions extends Omit<MemoryWorldOptions, 'messenger' | 'store'> {
  readonly definitions?: (world: MemoryWorld) => FlowDefinition[];
  readonly runtime?: RuntimeOptions;
}

/** A code delivery's idempotency key is the bare outbox key `flow:version:index`; notifications add suffixes. */
const isCodeDelivery = (key: string): boolean => key.split(':').length === 3;

export const faultyHost = (options: FaultyHostOptions = {}): FaultyHost => {
  const faults = new Faults();
  const messenger = new MemoryMessenger((_message, key) => {
    if (!faults.dropNextCode || !isCodeDelivery(key)) return undefined;
    faults.dropNextCode = false;
    return { ok: false, reason: 'unreachable', retryable: true };
  });
  const world = createMemoryWorld({ passwordBlocklist: commonPasswordBlocklist(), ...options, messenger, store: new CrashingStore(faults) });
  const definitions = options.definitions ?? allFlows;
  const host: FaultyHost = {
    world,
    faults,
    runtime: createRuntime(world, definitions(world), options.runtime),
    restart: () => {
      host.runtime = createRuntime(world, definitions(world), options.runtime);
      return host.runtime;
    },
  };
  return host;
};

/** The code the flow's current counter derives to, read from storage as a host's support tool could. */
export const currentCode = (world: MemoryWorld, flowId: string, field = 'code'): string | undefined => {
  const raw = world.store.raw(flowId);
  if (raw === undefined) return undefined;
  const code = (JSON.parse(raw) as { snapshot: { context: Record<string, { binding: never; counter: number } | null> } }).snapshot.context[field];
  return code == null ? undefined : world.codeSecrets.code(code.binding, code.counter, world.policy.code.digits);
};

/** A code that is certainly not `code`: the same length, every digit moved on by one. */
export const notTheCode = (code: string | undefined): string =>
  code === undefined ? '000000' : [...code].map((d) => String((Number(d) + 1) % 10)).join('');
