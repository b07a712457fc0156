/**
 * One world of the simulation (a shard): its ports, runtime, population, event queue and the
 * drivers that play each flow. Everything runs through the same `runtime.step` contract a host
 * uses; nothing here reaches into a machine except through the runtime's observer.
 */
import * as E from 'fp-ts/lib/Either.js';
import { commonPasswordBlocklist } from '../src/adapters/commonPasswords.ts';
import { createMemoryWorld, type MemoryWorld } from '../src/adapters/memory/index.ts';
import type { PolicyOverrides } from '../src/domain/policy.ts';
import { bindingFlow } from '../src/flows/binding.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../src/flows/channelRecovery.ts';
import { registrationFlow } from '../src/flows/registration.ts';
import { friendAssistFlow } from '../src/flows/friendAssist.ts';
import { manualReviewFlow } from '../src/flows/manualReview.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { createRuntime, type FlowRuntime, type HostSession, type StepObservation, type StepReply, type StepResult } from '../src/runtime/runtime.ts';
import { CrashingFlowStore, type MessengerFaults, SimMessenger } from './messenger.ts';
import { type Population, populate } from './population.ts';
import { EventQueue } from './queue.ts';
import { Rng } from './rng.ts';

export type SubmissionTag = 'real' | 'guess' | 'foreign' | 'stale' | 'none';

export interface TraceLine {
  readonly at: number;
  readonly event: string;
  readonly detail: string;
  readonly outcome: string;
}

export interface SimOptions {
  readonly seed: number;
  readonly shard: number;
  readonly people: number;
  readonly pairSlots?: number;
  /** People only the friend and review personas pick (see `Population.circle`). */
  readonly circle?: number;
  readonly faults: MessengerFaults;
  /** Share of steps before which the host process restarts (a new runtime over the same storage). */
  readonly restartRate: number;
  readonly policy?: PolicyOverrides;
  /** Replaces flow definitions: how the teeth tests plant a broken variant. */
  readonly definitions?: (ports: FlowPorts) => FlowDefinition[];
  /**
   * Replaces some of the world's ports as it is built (before the population is seeded): how
   * the teeth tests plant a broken adapter the executor uses (budgets, sessions, messenger).
   */
  readonly ports?: (world: MemoryWorld) => Partial<MemoryWorld>;
}

export const defaultDefinitions = (ports: FlowPorts): FlowDefinition[] => [
  registrationFlow(ports),
  smsRecoveryFlow(ports),
  emailRecoveryFlow(ports),
  bindingFlow(ports),
  friendAssistFlow(ports),
  manualReviewFlow(ports),
];

export interface Observer {
  onStep(step: StepObservation, driver: Driver | undefined): void;
}

export class Sim {
  readonly world: MemoryWorld;
  readonly messenger: SimMessenger;
  readonly store: CrashingFlowStore;
  readonly queue = new EventQueue();
  readonly drivers: Driver[] = [];
  readonly byFlowId = new Map<string, Driver>();
  runtime: FlowRuntime;
  population!: Population;
  restarts = 0;
  pairsUsed = 0;
  readonly observers: Observer[] = [];
  /** Built once: machines are pure, so a restarted host may rebuild them or not, alike. */
  readonly #definitions: FlowDefinition[];

  constructor(readonly options: SimOptions, readonly rng: Rng) {
    const clockHolder: { now(): number } = { now: () => 0 };
    this.messenger = new SimMessenger(clockHolder, rng.fork('messenger'), options.faults);
    this.store = new CrashingFlowStore(rng.fork('store'), options.faults.crashAfterSaveRate);
    const world = createMemoryWorld({
      seed: rng.fork('ports').seed,
      messenger: this.messenger,
      store: this.store,
      passwordBlocklist: commonPasswordBlocklist(),
      ...(options.policy === undefined ? {} : { policy: options.policy }),
    });
    this.world = options.ports === undefined ? world : { ...world, ...options.ports(world) };
    clockHolder.now = () => this.world.clock.now();
    this.#definitions = (options.definitions ?? defaultDefinitions)(this.world);
    this.runtime = this.#newRuntime();
  }

  async setup(): Promise<void> {
    this.population = await populate(this.world, this.rng.fork('population'), this.options.people, this.options.shard, this.options.pairSlots ?? 0, this.options.circle ?? 0);
  }

  #newRuntime(): FlowRuntime {
    return createRuntime(this.world, this.#definitions, {
      observe: (step) => {
        const driver = this.byFlowId.get(step.flowId);
        for (const observer of this.observers) observer.onStep(step, driver);
      },
    });
  }

  /** The host process dies and comes back: nothing survives but what the ports stored. */
  restart(): void {
    this.restarts++;
    this.runtime = this.#newRuntime();
  }

  driver(machine: string, persona: string): Driver {
    const driver = new Driver(this, String(this.drivers.length).padStart(7, '0'), machine, persona, this.rng.fork(`driver-${this.drivers.length}`));
    this.drivers.push(driver);
    return driver;
  }

  /** Runs the queue until nothing is left: every flow reaches a final state. */
  async run(onProgress?: () => void): Promise<void> {
    for (let next = this.queue.pop(); next !== undefined; next = this.queue.pop()) {
      this.world.clock.advanceTo(next.at);
      await next.run();
      onProgress?.();
    }
  }
}

/** Plays one flow: sends its events, records its trace, keeps it woken at its deadlines. */
export class Driver {
  flowId: string | null = null;
  last: StepReply | null = null;
  startedAt = 0;
  endedAt: number | null = null;
  readonly trace: TraceLine[] = [];
  /** What the current submission is, for the invariants that judge an acceptance. */
  submission: { readonly tag: SubmissionTag; readonly value: string | null } = { tag: 'none', value: null };
  /** Wrong-code notices the person was shown, per kind, since the last delivery and in the flow. */
  readonly wrong = { code: { sinceDelivery: 0, inFlow: 0 }, link: { sinceDelivery: 0, inFlow: 0 } };
  deliveriesSeen = 0;
  readonly notes: Record<string, unknown> = {};
  #tickAt: number | null = null;

  constructor(
    readonly sim: Sim,
    readonly ordinal: string,
    readonly machine: string,
    readonly persona: string,
    readonly rng: Rng,
  ) {}

  get done(): boolean {
    return this.last?.view.done === true;
  }

  get state(): string {
    return this.last?.view.state ?? 'not started';
  }

  later(ms: number, action: () => Promise<void>): void {
    this.sim.queue.push(this.sim.world.clock.now() + Math.max(0, Math.round(ms)), this.ordinal, async () => {
      if (this.sim.rng.chance(this.sim.options.restartRate)) this.sim.restart();
      await action();
    });
  }

  async start(input: unknown = {}, session?: HostSession): Promise<StepResult> {
    this.startedAt = this.sim.world.clock.now();
    const result = await this.sim.runtime.start(this.machine, input, session);
    if (E.isRight(result)) {
      this.flowId = result.right.flowId;
      this.sim.byFlowId.set(result.right.flowId, this);
      if (this.notes['noFaults'] === true) this.sim.store.exempt.add(result.right.flowId);
    }
    this.#record({ type: 'start' }, result);
    return result;
  }

  async send(event: Record<string, unknown> & { readonly type: string }, tag: SubmissionTag = 'none', session?: HostSession): Promise<StepResult> {
    if (this.flowId === null) throw new Error('driver not started');
    const value = typeof event['code'] === 'string' ? event['code'] : typeof event['token'] === 'string' ? event['token'] : null;
    this.submission = { tag, value };
    const result = await this.sim.runtime.send(this.flowId, event, session);
    this.submission = { tag: 'none', value: null };
    this.#record(event, result, tag);
    return result;
  }

  /** Deliveries to this flow that the person has seen by now. */
  seen(): readonly { readonly code: string | null; readonly token: string | null; readonly at: number }[] {
    if (this.flowId === null) return [];
    const now = this.sim.world.clock.now();
    return this.sim.messenger.forFlow(this.flowId).filter((d) => d.seenAt <= now && (d.code !== null || d.token !== null));
  }

  latestCode(): string | null {
    const seen = this.seen();
    return seen[seen.length - 1]?.code ?? null;
  }

  #record(event: { readonly type: string }, result: StepResult, tag: SubmissionTag = 'none'): void {
    const at = this.sim.world.clock.now();
    const detail = redact(event, tag);
    if (E.isLeft(result)) {
      this.trace.push({ at, event: event.type, detail, outcome: `refused ${result.left.code}` });
      // The host died after saving: its outbox worker picks the flow up when it is back.
      if (result.left.code === 'port_failure') this.#down(this.#recoveryDelay());
      return;
    }
    this.#observe(result.right);
    const notice = result.right.view['notice'] as { code?: string } | null | undefined;
    if (notice?.code === 'code_invalid' && (event.type === 'code.submit' || event.type === 'link.open' || event.type === 'link.confirm')) {
      const kind = event.type === 'code.submit' ? this.wrong.code : this.wrong.link;
      kind.sinceDelivery++;
      kind.inFlow++;
    }
    this.trace.push({ at, event: event.type, detail, outcome: `${result.right.view.state}${notice?.code === undefined ? '' : ` (${notice.code})`}` });
  }

  #observe(reply: StepReply): void {
    const previousDeliveries = this.deliveriesSeen;
    this.last = reply;
    if (this.flowId !== null) this.deliveriesSeen = this.sim.messenger.forFlow(this.flowId).length;
    if (this.deliveriesSeen > previousDeliveries) {
      this.wrong.code.sinceDelivery = 0;
      this.wrong.link.sinceDelivery = 0;
    }
    if (reply.view.done && this.endedAt === null) this.endedAt = this.sim.world.clock.now();
    // A host's outbox worker retries pending effects shortly after a failure.
    if (reply.pendingEffects > 0) this.#down(this.#recoveryDelay());
    this.#armTick(reply.nextDeadline);
  }

  #lastTicked: number | null = null;

  /** Until when the host serving this flow is down: its deadlines wait, its outbox waits. */
  #downUntil = 0;

  #down(ms: number): void {
    this.#downUntil = Math.max(this.#downUntil, this.sim.world.clock.now() + ms);
    // One millisecond after coming back: overdue deadlines are handled first.
    this.later(ms + 1, () => this.drain());
  }

  /** Usually a second; sometimes a long outage, during which deadlines pass. */
  #recoveryDelay(): number {
    const outage = this.notes['outage'];
    if (typeof outage === 'number') return outage;
    if (outage === true) return this.rng.int(15, 40) * 60_000;
    return this.sim.rng.chance(this.sim.options.faults.outageRate) ? this.rng.int(5, 40) * 60_000 : 1_000;
  }

  #armTick(deadline: number | null): void {
    if (deadline === null || !Number.isFinite(deadline) || this.#tickAt === deadline) return;
    // A deadline that a tick at that very instant did not move is stuck: flows-terminate will say so.
    if (deadline === this.#lastTicked && deadline <= this.sim.world.clock.now()) return;
    this.#tickAt = deadline;
    const wake = async (): Promise<void> => {
      if (this.#tickAt !== deadline || this.flowId === null || this.done) return;
      // A host that is down wakes nothing; when it is back, overdue deadlines come first.
      if (this.sim.world.clock.now() < this.#downUntil) {
        this.sim.queue.push(this.#downUntil, this.ordinal, wake);
        return;
      }
      this.#tickAt = null;
      this.#lastTicked = deadline;
      const result = await this.sim.runtime.tick(this.flowId);
      this.#record({ type: 'clock.tick' }, result);
    };
    this.sim.queue.push(deadline, this.ordinal, wake);
  }

  /**
   * Wakes the flow now, as the host's scheduler does at a deadline. For deadlines past the
   * person's part: a manual review's evidence is deleted weeks after its case ended.
   */
  async tick(): Promise<StepResult> {
    if (this.flowId === null) throw new Error('driver not started');
    const result = await this.sim.runtime.tick(this.flowId);
    this.#record({ type: 'clock.tick' }, result);
    return result;
  }

  async drain(): Promise<void> {
    if (this.flowId === null) return;
    this.sim.restart();
    const result = await this.sim.runtime.drain(this.flowId);
    this.#record({ type: 'outbox.drain' }, result);
  }
}

/** Trace detail with secrets replaced by what they were: never a code, token or password. */
const redact = (event: { readonly type: string; readonly [k: string]: unknown }, tag: SubmissionTag): string => {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type') continue;
    if (key === 'code' || key === 'token') parts.push(`${key}=<${tag}>`);
    else if (key === 'password') parts.push('password=<redacted>');
    else parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return parts.join(' ');
};
