/**
 * One shard of a run: a world with its population and a mix of personas, run under virtual
 * time until every flow has ended, then judged. A shard depends only on (seed, shard index,
 * its share of flows), never on which worker runs it or how many there are.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { CoverageRecorder } from './coverage.ts';
import { CATALOGUE, type InvariantName, InvariantChecker, type Violation } from './invariants.ts';
import type { MessengerFaults } from './messenger.ts';
import { MINUTE } from './personas/common.ts';
import { type BindingPersona, spawnBinding } from './personas/binding.ts';
import { type FriendPersona, friendFlows, spawnFriendAssist } from './personas/friends.ts';
import { spawnProberPair } from './personas/prober.ts';
import { type ReviewPersona, spawnManualReview } from './personas/review.ts';
import { type RecoveryPersona, spawnChannelRecovery, spawnDoubleRecovery } from './personas/recovery.ts';
import { type RegistrationPersona, spawnRegistration, spawnTwins } from './personas/registration.ts';
import { deriveSeed, Rng } from './rng.ts';
import { type Driver, Sim, type SimOptions, type TraceLine } from './sim.ts';

export interface ShardSpec {
  readonly seed: number;
  readonly shard: number;
  readonly flows: number;
  readonly faults?: MessengerFaults;
  readonly restartRate?: number;
  /** Replaces the flow definitions: how teeth tests plant a broken variant. */
  readonly definitions?: (ports: FlowPorts) => FlowDefinition[];
  /** Replaces some of the world's ports: how teeth tests plant a broken adapter. */
  readonly ports?: SimOptions['ports'];
  /** Only this flow's trace is kept (replay). */
  readonly keepTraceOf?: string;
}

export const DEFAULT_FAULTS: MessengerFaults = { dropRate: 0.02, rejectedShare: 0.25, delayRate: 0.1, maxDelayMs: 3 * MINUTE, duplicateRate: 0.02, crashRate: 0.01, crashAfterSaveRate: 0.01, outageRate: 0.1 };

export interface ReportedViolation extends Violation {
  readonly shard: number;
  readonly seed: number;
  readonly trace: readonly TraceLine[];
}

export interface PathSample {
  readonly path: string;
  readonly recovered: boolean;
  readonly durationMs: number | null;
}

export interface ShardResult {
  readonly shard: number;
  readonly flows: number;
  readonly steps: number;
  readonly restarts: number;
  readonly outcomes: Record<string, Record<string, number>>;
  readonly personas: Record<string, number>;
  readonly invariants: Record<InvariantName, number>;
  readonly violations: readonly ReportedViolation[];
  readonly coverage: Record<string, { readonly states: Record<string, number>; readonly transitions: Record<string, number> }>;
  readonly samples: readonly PathSample[];
  readonly traceDigest: string;
  readonly trace?: readonly TraceLine[];
}

type Plan =
  | { readonly kind: 'registration'; readonly persona: RegistrationPersona }
  | { readonly kind: 'sms' | 'email'; readonly persona: RecoveryPersona }
  | { readonly kind: 'binding'; readonly persona: BindingPersona }
  | { readonly kind: 'friends'; readonly persona: FriendPersona }
  | { readonly kind: 'review'; readonly persona: ReviewPersona }
  | { readonly kind: 'pair-sms' | 'pair-email' | 'twins' | 'double' };

/** Plans that play two flows at once. */
const PAIRED = new Set(['pair-sms', 'pair-email', 'twins', 'double']);

const REGISTRATION_WEIGHTS: readonly (readonly [RegistrationPersona, number])[] = [
  ['fast', 30], ['slow', 12], ['forgetful', 8], ['impatient', 10], ['guesser', 8], ['lockout', 3], ['outage', 1], ['blocked', 6], ['foreign', 6], ['taken', 10], ['walkaway', 10],
];
const RECOVERY_WEIGHTS: readonly (readonly [RecoveryPersona, number])[] = [
  ['honest', 40], ['slow', 10], ['forgetful', 8], ['impatient', 8], ['guesser', 8], ['secondFactorThief', 4], ['crossFlow', 5], ['switcher', 4], ['numberGone', 3], ['unknown', 10],
  ['deactivatedMeanwhile', 1], ['supportAtOnce', 2], ['canceller', 2], ['outage', 1], ['lockout', 2], ['linkDeactivated', 1], ['linkGuesser', 1], ['linkIdle', 1],
];

const BINDING_WEIGHTS: readonly (readonly [BindingPersona, number])[] = [
  ['addEmail', 30], ['changePhone', 25], ['sameValue', 5], ['taken', 8], ['sessionEnds', 6], ['sessionEndsEarly', 2], ['idleAtStart', 2], ['guesser', 6], ['slow', 8], ['walkaway', 6], ['canceller', 6], ['outage', 3], ['hammer', 3], ['epochMovesWhileApplying', 2], ['lastMinute', 1],
];

const FRIEND_WEIGHTS: readonly (readonly [FriendPersona, number])[] = [
  ['honest', 55], ['attacker', 18], ['unknown', 6], ['deactivated', 4], ['rival', 8], ['walkaway', 5], ['canceller', 4], ['race', 5],
];
const REVIEW_WEIGHTS: readonly (readonly [ReviewPersona, number])[] = [
  ['honest', 34], ['slow', 6], ['attacker', 18], ['unknown', 8], ['walkaway', 8], ['withdraw', 8], ['hammer', 5], ['guesser', 5], ['closed', 8], ['lingering', 4],
];

const plan = (rng: Rng): Plan => {
  const kind = rng.weighted<Plan['kind']>([['registration', 30], ['sms', 38], ['email', 24], ['binding', 6], ['pair-sms', 5], ['pair-email', 3], ['twins', 1], ['double', 1], ['friends', 8], ['review', 6]]);
  if (kind === 'registration') return { kind, persona: rng.weighted(REGISTRATION_WEIGHTS) };
  if (kind === 'sms' || kind === 'email') return { kind, persona: rng.weighted(RECOVERY_WEIGHTS) };
  if (kind === 'binding') return { kind, persona: rng.weighted(BINDING_WEIGHTS) };
  if (kind === 'friends') return { kind, persona: rng.weighted(FRIEND_WEIGHTS) };
  if (kind === 'review') return { kind, persona: rng.weighted(REVIEW_WEIGHTS) };
  return { kind };
};

export const runShard = async (spec: ShardSpec, onProgress?: (flowsDone: number) => void): Promise<ShardResult> => {
  const rng = new Rng(deriveSeed(spec.seed, `shard-${spec.shard}`));
  const arrivals = rng.fork('arrivals');
  const personaRng = rng.fork('personas');
  const plans: { readonly at: number; readonly plan: Plan }[] = [];
  for (let planned = 0; planned < spec.flows; ) {
    const p = plan(personaRng);
    plans.push({ at: arrivals.int(0, 6 * 60 * MINUTE), plan: p });
    planned += PAIRED.has(p.kind) ? 2 : p.kind === 'friends' ? friendFlows(p.persona) : 1;
  }
  const sim = new Sim(
    {
      seed: spec.seed,
      shard: spec.shard,
      people: Math.max(12, Math.ceil(spec.flows / 3)),
      pairSlots: plans.filter((p) => p.plan.kind === 'pair-sms' || p.plan.kind === 'pair-email').length,
      // Each friend-assisted recovery spends three to five vouches for a month; reviews need owners.
      circle: plans.reduce((n, p) => n + (p.plan.kind === 'friends' ? 16 : p.plan.kind === 'review' ? 2 : 0), 0),
      faults: spec.faults ?? DEFAULT_FAULTS,
      restartRate: spec.restartRate ?? 0.02,
      ...(spec.definitions === undefined ? {} : { definitions: spec.definitions }),
      ...(spec.ports === undefined ? {} : { ports: spec.ports }),
    },
    rng,
  );
  await sim.setup();
  const checker = new InvariantChecker(sim);
  const coverage = new CoverageRecorder();
  const recoveredAt = new Map<string, number>();
  // The friends path's time is the time to its quorum: the password then waits the dispute wait.
  const quorumAt = new Map<string, number>();
  sim.observers.push(checker, coverage, {
    onStep: (step) => {
      if (step.event === 'recovery.applied') recoveredAt.set(step.flowId, step.at);
      if (step.machine === 'friendAssist' && step.from.matches('awaitingFriends') && step.to.matches('disputeWait')) quorumAt.set(step.flowId, step.at);
    },
  });
  const start = sim.world.clock.now();
  plans.forEach(({ at, plan: p }, i) => {
    if (p.kind === 'registration') spawnRegistration(sim, start + at, p.persona, i);
    else if (p.kind === 'sms' || p.kind === 'email') spawnChannelRecovery(sim, start + at, p.kind, p.persona);
    else if (p.kind === 'binding') spawnBinding(sim, start + at, p.persona, i);
    else if (p.kind === 'friends') spawnFriendAssist(sim, start + at, p.persona, checker.ledger);
    else if (p.kind === 'review') spawnManualReview(sim, start + at, p.persona, checker.ledger);
    else if (p.kind === 'twins') spawnTwins(sim, start + at, i);
    else if (p.kind === 'double') spawnDoubleRecovery(sim, start + at);
    else spawnProberPair(sim, start + at, p.kind === 'pair-sms' ? 'sms' : 'email', checker.book);
  });
  let steps = 0;
  let lastDone = 0;
  await sim.run(() => {
    steps++;
    if (onProgress !== undefined && (steps & 255) === 0) {
      const done = sim.drivers.filter((d) => d.done).length;
      if (done !== lastDone) onProgress(done - lastDone);
      lastDone = done;
    }
  });
  await checker.finish();
  onProgress?.(sim.drivers.length - lastDone);

  const outcomes: Record<string, Record<string, number>> = {};
  const personas: Record<string, number> = {};
  const digest = sha256.create();
  const samples: PathSample[] = [];
  for (const driver of sim.drivers) {
    const result = String(driver.last?.view['result'] ?? driver.state);
    const bucket = (outcomes[driver.machine] ??= {});
    bucket[result] = (bucket[result] ?? 0) + 1;
    personas[`${driver.machine}/${driver.persona}`] = (personas[`${driver.machine}/${driver.persona}`] ?? 0) + 1;
    for (const line of driver.trace) digest.update(utf8ToBytes(`${driver.ordinal}\t${line.at}\t${line.event}\t${line.detail}\t${line.outcome}\n`));
    if (driver.machine.endsWith('Recovery') && ['honest', 'slow', 'forgetful', 'impatient', 'switcher'].includes(driver.persona) && driver.flowId !== null) {
      const at = recoveredAt.get(driver.flowId);
      samples.push({ path: driver.machine === 'smsRecovery' ? 'phone' : 'email', recovered: at !== undefined, durationMs: at === undefined ? null : at - driver.startedAt });
    }
    if (driver.machine === 'friendAssist' && driver.persona === 'honest' && driver.flowId !== null) {
      const recovered = recoveredAt.has(driver.flowId);
      const quorum = quorumAt.get(driver.flowId);
      samples.push({ path: 'friends', recovered, durationMs: recovered && quorum !== undefined ? quorum - driver.startedAt : null });
    }
  }
  const byOrdinal = new Map(sim.drivers.map((d) => [d.ordinal, d]));
  const violations: ReportedViolation[] = checker.book.violations.map((v) => ({ ...v, shard: spec.shard, seed: spec.seed, trace: (byOrdinal.get(v.flow) as Driver | undefined)?.trace.slice(0, 60) ?? [] }));
  const toRecord = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const machines = new Set([...coverage.states.keys(), ...coverage.transitions.keys()]);
  const kept = spec.keepTraceOf === undefined ? undefined : byOrdinal.get(spec.keepTraceOf)?.trace;
  return {
    shard: spec.shard,
    flows: sim.drivers.length,
    steps,
    restarts: sim.restarts,
    outcomes,
    personas,
    invariants: Object.fromEntries(Object.keys(CATALOGUE).map((k) => [k, checker.book.checked.get(k as InvariantName) ?? 0])) as Record<InvariantName, number>,
    violations,
    coverage: Object.fromEntries([...machines].sort().map((m) => [m, { states: toRecord(coverage.states.get(m) ?? new Map()), transitions: toRecord(coverage.transitions.get(m) ?? new Map()) }])),
    samples,
    traceDigest: bytesToHex(digest.digest()),
    ...(kept === undefined ? {} : { trace: kept }),
  };
};
