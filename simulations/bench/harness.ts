/**
 * Mode (a): the whole harness. One shard is one simulation world — in-memory ports, virtual
 * clock, event queue, drivers with traces — running the real runtime, with the invariant
 * catalogue and the coverage recorder watching every step, exactly as `npm run simulate` does;
 * only the population and the personas are replaced by the benchmark's scripts, and the
 * messenger's faults and host restarts are off, so every mode can play the same flows.
 */
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { DAY } from '../../src/domain/time.ts';
import type { PasswordHasher } from '../../src/ports/passwordHasher.ts';
import { createRuntime, type RuntimePhase } from '../../src/runtime/runtime.ts';
import { CoverageRecorder } from '../coverage.ts';
import { InvariantChecker } from '../invariants.ts';
import type { MessengerFaults } from '../messenger.ts';
import type { Person, Population } from '../population.ts';
import { deriveSeed, Rng } from '../rng.ts';
import { defaultDefinitions, type Driver, Sim } from '../sim.ts';
import { type FlowScript, type Step, wrongCode } from './scripts.ts';

export const NO_FAULTS: MessengerFaults = { dropRate: 0, rejectedShare: 0, delayRate: 0, maxDelayMs: 0, duplicateRate: 0, crashRate: 0, crashAfterSaveRate: 0, outageRate: 0 };

/** Where the time of a profiled run went: the runtime's phases plus what the bench times itself. */
export type Phase = RuntimePhase | 'hash' | 'finish' | 'setup';

export interface HarnessResult {
  readonly shard: number;
  /** Final state of each flow, by ordinal. */
  readonly outcomes: readonly string[];
  readonly steps: number;
  readonly checks: number;
  readonly violations: readonly string[];
  /** Time to play the flows and judge them; the world's setup is not in it. */
  readonly ms: number;
  readonly setupMs: number;
  /** Milliseconds per phase, when profiled. */
  readonly phases?: Partial<Record<Phase, number>>;
  /** How many times each phase ran, when profiled: work counts, immune to a busy machine's noise. */
  readonly calls?: Partial<Record<Phase, number>>;
}

const timedHasher = (hasher: PasswordHasher, clock: () => number, add: (ms: number) => void): PasswordHasher => ({
  async hash(password) {
    const t0 = clock();
    try {
      return await hasher.hash(password);
    } finally {
      add(clock() - t0);
    }
  },
  async verify(password, stored) {
    const t0 = clock();
    try {
      return await hasher.verify(password, stored);
    } finally {
      add(clock() - t0);
    }
  },
});

const play = async (driver: Driver, script: FlowScript, step: Step): Promise<void> => {
  switch (step.kind) {
    case 'start':
      await driver.start();
      return;
    case 'channel':
      await driver.send({ type: 'channel.submit', channel: script.phone });
      return;
    case 'code': {
      // The code as the person reads it off the messenger, like every persona does.
      const right = driver.latestCode() ?? '000000';
      await driver.send({ type: 'code.submit', code: step.guess === null ? right : wrongCode(step.guess, right) }, step.tag);
      return;
    }
    case 'resend':
      await driver.send({ type: 'code.resend' });
      return;
    case 'password':
      await driver.send({ type: 'password.submit', password: script.newPassword });
      return;
    case 'done':
      await driver.send({ type: 'security.done' });
      return;
    case 'tick':
      // The driver arms the deadline tick itself from the flow's `nextDeadline`, as a host does.
      return;
  }
};

export interface HarnessOptions {
  /** Times the phases of every step by this clock (ms); the bench passes a CPU clock. */
  readonly profile?: () => number;
}

export const runHarnessShard = async (seed: number, shard: number, scripts: readonly FlowScript[], options: HarnessOptions = {}): Promise<HarnessResult> => {
  const setupStarted = performance.now();
  const setupClock = options.profile?.() ?? 0;
  const rng = new Rng(deriveSeed(seed, `bench-harness-${shard}`));
  const sim = new Sim({ seed, shard, people: scripts.length, faults: NO_FAULTS, restartRate: 0 }, rng);
  const { world } = sim;
  const now = world.clock.now();
  const people: Person[] = [];
  for (const script of scripts) {
    const created = world.directory.createNow({ phone: script.phone as Phone, handle: script.handle as Handle, passwordHash: await world.hasher.hash(script.oldPassword), at: now - 400 * DAY });
    if (!created.ok) throw new Error(`benchmark population clash: ${created.conflict}`);
    for (let i = 0; i < script.sessions; i++) world.sessions.signIn(created.account.id, 0, now - (i + 1) * DAY);
    people.push({ id: created.account.id, phone: script.phone, email: null, handle: script.handle, password: script.oldPassword, totpSecret: null, deactivated: false });
  }
  const population: Population = {
    people,
    unknownPhones: [],
    unknownEmails: [],
    blockedPhones: [],
    foreignPhones: [],
    freshPhones: [],
    pairs: [],
    friendships: new Map(),
    vouchedAt: new Map(),
    byHandle: new Map(people.map((p) => [p.handle, p])),
    circle: [],
  };
  sim.population = population;
  const phases: Partial<Record<Phase, number>> = {};
  const calls: Partial<Record<Phase, number>> = {};
  const add = (phase: Phase, ms: number): void => {
    phases[phase] = (phases[phase] ?? 0) + ms;
    calls[phase] = (calls[phase] ?? 0) + 1;
  };
  const clock = options.profile;
  if (clock !== undefined) {
    Object.assign(world, { hasher: timedHasher(world.hasher, clock, (ms) => add('hash', ms)) });
    // The same runtime the world's own would be, plus the profiler.
    sim.runtime = createRuntime(world, defaultDefinitions(world), {
      observe: (step) => {
        const driver = sim.byFlowId.get(step.flowId);
        for (const observer of sim.observers) observer.onStep(step, driver);
      },
      profile: { now: clock, record: add },
    });
  }
  const checker = new InvariantChecker(sim);
  const coverage = new CoverageRecorder();
  sim.observers.push(checker, coverage);
  const setupMs = performance.now() - setupStarted;
  if (clock !== undefined) add('setup', clock() - setupClock);

  const started = performance.now();
  const drivers = scripts.map((script) => {
    const driver = sim.driver('smsRecovery', script.variant);
    driver.notes['person'] = people[script.ordinal]?.id;
    driver.notes['passwords'] = [script.newPassword];
    for (const step of script.steps) sim.queue.push(now + step.at, driver.ordinal, () => play(driver, script, step));
    return driver;
  });
  let steps = 0;
  await sim.run(() => {
    steps++;
  });
  const finishing = clock?.() ?? 0;
  await checker.finish();
  if (clock !== undefined) add('finish', clock() - finishing);
  const ms = performance.now() - started;
  return {
    shard,
    outcomes: drivers.map((d) => d.state),
    steps,
    checks: [...checker.book.checked.values()].reduce((a, b) => a + b, 0),
    violations: checker.book.violations.map((v) => `${v.invariant} ${v.flow}: ${v.reason}`),
    ms,
    setupMs,
    ...(clock === undefined ? {} : { phases, calls }),
  };
};
