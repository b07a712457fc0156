/**
 * npm run bench -- [--flows N] [--seed S] [--shard-size K] [--workers W] [--budget SECONDS] [--profile-flows P]
 *
 * Plays the same seeded SMS recoveries three ways and says what the harness costs:
 *   (a) the whole harness — runtime, in-memory ports, invariants, coverage — over W workers;
 *   (b) bare XState stepping of the same enriched events, no checks (a live actor per flow, and
 *       the runtime's own pure stepping), on one core and over W workers;
 *   (c) a hand-written reducer with the same rules, the cost floor (codes compared as strings,
 *       and again deriving each code by HMAC as the machine does).
 * Then where the harness's time goes, from a profiled run on the main thread. Figures are flows
 * per second of the process's CPU time (wall-clock rates beside them), so a busy machine does not
 * skew the ratios. The harness stops taking new shards after --budget seconds and the fast modes
 * replay the first ~2,000 flows, so a slow harness still gives its figure quickly; the report says
 * how many flows each played. Exits non-zero when a mode ends any flow other than as scripted
 * (so the modes disagree), or an invariant fails.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { Phase } from './bench/harness.ts';
import { Bench, type Mode, type ModeResult } from './bench/modes.ts';
import { type FlowScript, generateScripts } from './bench/scripts.ts';
import type { WorkerReply, WorkerRequest } from './bench/worker.ts';

const { values } = parseArgs({
  options: {
    flows: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    'shard-size': { type: 'string', default: '250' },
    workers: { type: 'string', default: '2' },
    budget: { type: 'string', default: '8' },
    'profile-flows': { type: 'string', default: '500' },
  },
  strict: true,
});

const integer = (name: string, raw: string | undefined, min: number): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}, got "${raw}"`);
    process.exit(2);
  }
  return n;
};

const flows = integer('flows', values.flows, 1);
const seed = integer('seed', values.seed, -(2 ** 31));
const shardSize = integer('shard-size', values['shard-size'], 1);
const workers = integer('workers', values.workers, 1);
/** Wall-clock seconds the harness may take over the workers; it stops taking new shards after. */
const budgetMs = integer('budget', values.budget, 1) * 1000;
const profileFlows = integer('profile-flows', values['profile-flows'], 1);

/** The fast modes repeat each shard until it lasts about this long, so timer noise stays small. */
const SHARD_RUN_MS = 100;
/** How long a fast mode plays before any clock starts, so the JIT has compiled what it times. */
const WARMUP_MS = 300;
/** The runtime-less modes play the first shards holding this many flows, repeated: enough to mix every variant. */
const FAST_FLOWS = 2_000;
/** The profiled harness run stops after this long, whatever --profile-flows says. */
const PROFILE_BUDGET_MS = 8_000;
/** The harness's warm-up, in flows of shard 0: enough for the JIT to compile the hot paths. */
const WARMUP_FLOWS = 300;

// ---------------------------------------------------------------------------------------------
// workers
// ---------------------------------------------------------------------------------------------

class Pool {
  readonly #workers: Worker[];

  constructor(size: number) {
    this.#workers = Array.from({ length: size }, () => new Worker(new URL('./bench/worker.mjs', import.meta.url)));
  }

  #ask(worker: Worker, request: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: WorkerReply): void => {
        worker.off('message', onMessage);
        if (reply.kind === 'error') reject(new Error(reply.error));
        else resolve(reply);
      };
      worker.on('message', onMessage);
      worker.postMessage(request);
    });
  }

  async load(shards: readonly (readonly FlowScript[])[], prepare: number): Promise<void> {
    await Promise.all(this.#workers.map((w) => this.#ask(w, { kind: 'load', seed, shards, prepare })));
  }

  /**
   * Before any clock starts, every worker plays the start of shard 0 (the harness) or each of the
   * `shards` first shards once and shard 0 again as often as it will be timed (the fast modes), so
   * the JIT warms up.
   */
  async warm(mode: Mode, reps: number, shards: number): Promise<void> {
    const requests: WorkerRequest[] =
      mode === 'harness'
        ? [{ kind: 'run', mode, shard: 0, reps: 1, limit: WARMUP_FLOWS }]
        : [...Array.from({ length: shards }, (_, shard): WorkerRequest => ({ kind: 'run', mode, shard, reps: 1 })), { kind: 'run', mode, shard: 0, reps }];
    for (const request of requests) await Promise.all(this.#workers.map((w) => this.#ask(w, request)));
  }

  /**
   * Plays the shards in order, each worker taking the next when it is free, until all are played
   * or `budget` ms have passed (a shard under way is finished); wall-clock time.
   */
  async run(mode: Mode, shards: number, reps: number, budget: number): Promise<{ readonly results: Map<number, ModeResult>; readonly ms: number; readonly cpuMs: number }> {
    const results = new Map<number, ModeResult>();
    let next = 0;
    const started = performance.now();
    const cpu = cpuNow();
    await Promise.all(
      this.#workers.map(async (worker) => {
        while (next < shards && performance.now() - started < budget) {
          const shard = next++;
          const reply = await this.#ask(worker, { kind: 'run', mode, shard, reps });
          if (reply.kind === 'done') results.set(reply.shard, reply.result);
        }
      }),
    );
    return { results, ms: performance.now() - started, cpuMs: cpuNow() - cpu };
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

// ---------------------------------------------------------------------------------------------
// measuring
// ---------------------------------------------------------------------------------------------

interface Rates {
  /**
   * Flows per second of CPU time the whole process spent (every thread, the garbage collector's
   * included): what the figures and ratios use, since other processes' load does not change it.
   */
  readonly perCpuSecond: number;
  /** Flows per second of wall-clock time, whatever else the machine was doing. */
  readonly wall: number;
}

interface Measured {
  readonly mode: Mode;
  readonly oneCore?: Rates;
  readonly parallel: Rates;
  /** Distinct flows played over the workers (each as often as the mode's repetitions say). */
  readonly distinct: number;
  /** How each flow played ended, by shard. */
  readonly outcomes: ReadonlyMap<number, readonly string[]>;
}

const rate = (flowsPlayed: number, ms: number): number => (flowsPlayed * 1000) / ms;

/** CPU milliseconds this process has used so far, all threads together. */
const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Repetitions that make one shard last about SHARD_RUN_MS, from a warm run's cost per flow. */
const repsFor = (msPerFlow: number, shardFlows: number): number => Math.max(1, Math.min(10_000, Math.ceil(SHARD_RUN_MS / Math.max(1e-6, msPerFlow * shardFlows))));

/** Plays shard 0 on this thread for WARMUP_MS; gives the repetitions a shard then needs. */
const warmHere = async (bench: Bench, mode: Mode, scripts: readonly FlowScript[]): Promise<number> => {
  let reps = 1;
  const started = performance.now();
  while (performance.now() - started < WARMUP_MS) {
    const run = await bench.run(mode, scripts, reps);
    reps = repsFor(run.ms / Math.max(1, run.flows), scripts.length);
  }
  return reps;
};

/** A runtime-less mode on this thread: the given shards in order, each repeated `reps` times. */
const oneCore = async (bench: Bench, mode: Mode, shards: readonly (readonly FlowScript[])[], reps: number): Promise<{ readonly rates: Rates; readonly outcomes: Map<number, readonly string[]> }> => {
  let played = 0;
  let ms = 0;
  const outcomes = new Map<number, readonly string[]>();
  // The workers are idle meanwhile: the process's CPU time is this thread's and its collector's.
  const cpu = cpuNow();
  for (const [shard, scripts] of shards.entries()) {
    const result = await bench.run(mode, scripts, reps);
    played += result.flows;
    ms += result.ms;
    outcomes.set(shard, result.outcomes);
  }
  return { rates: { perCpuSecond: rate(played, cpuNow() - cpu), wall: rate(played, ms) }, outcomes };
};

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));
const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);

const LABELS: Record<Mode, string> = {
  harness: '(a)  harness: runtime + in-memory ports + invariants + coverage',
  actor: '(b)  bare XState, createActor per flow',
  pure: '(b\') bare XState, pure transition in a reused scope',
  reducer: '(c)  hand reducer, codes compared as strings',
  'reducer+hmac': '(c\') hand reducer, codes derived by HMAC',
};

const PHASE_LABELS: Record<Phase, string> = {
  'event.decode': 'io-ts decoding of client events and start input',
  'store.load': 'store load (JSON.parse of the envelope)',
  'envelope.decode': 'io-ts decoding of the envelope',
  'context.decode': 'io-ts decoding of the machine context',
  resolveState: 'resolveState (stored value -> snapshot)',
  enrich: 'enrichment: port lookups, password checks, nonces',
  hash: 'password hashing (testOnlyHasher, within enrichment)',
  transition: 'transition (guards, actions, code HMACs)',
  observe: 'observers: invariants + coverage per step',
  view: 'views and deadlines for replies',
  'store.save': 'store save (JSON.stringify, compare-and-set)',
  outbox: 'outbox execution (effects through the ports)',
  finish: 'end-of-run invariant checks',
  setup: 'world setup: accounts, sessions, runtime (per shard)',
};

const main = async (): Promise<number> => {
  const generated = performance.now();
  const shards = generateScripts({ seed, flows, shardSize });
  const variants = new Map<string, number>();
  for (const s of shards.flat()) variants.set(s.variant, (variants.get(s.variant) ?? 0) + 1);
  console.log(`account-flows benchmark — SMS recovery, seed ${seed}`);
  console.log(
    `${flows} flows in ${shards.length} shards of ≤ ${shardSize}, scripts generated in ${fmt(performance.now() - generated)} ms: ${[...variants].map(([v, n]) => `${v} ${n}`).join(', ')}`,
  );

  const pool = new Pool(workers);
  const bench = new Bench(seed);
  const fastShards: (readonly FlowScript[])[] = [];
  let fastFlows = 0;
  for (const scripts of shards) {
    if (fastFlows >= FAST_FLOWS) break;
    fastShards.push(scripts);
    fastFlows += scripts.length;
  }
  const measured: Measured[] = [];
  const oneCoreOutcomes = new Map<Mode, Map<number, readonly string[]>>();
  let harnessResults: ModeResult[] = [];
  try {
    await pool.load(shards, fastShards.length);
    for (const mode of ['harness', 'actor', 'pure', 'reducer', 'reducer+hmac'] as const) {
      // The harness plays each shard once; the fast modes as often as a warm run says they need.
      const reps = mode === 'harness' ? 1 : await warmHere(bench, mode, shards[0] ?? []);
      await pool.warm(mode, reps, fastShards.length);
      const run = mode === 'harness' ? await pool.run(mode, shards.length, 1, budgetMs) : await pool.run(mode, fastShards.length, reps, Number.POSITIVE_INFINITY);
      const results = [...run.results.values()];
      const played = results.reduce((n, r) => n + r.flows, 0);
      const single = mode === 'harness' ? undefined : await oneCore(bench, mode, fastShards, reps);
      if (single !== undefined) oneCoreOutcomes.set(mode, single.outcomes);
      measured.push({
        mode,
        parallel: { perCpuSecond: rate(played, run.cpuMs), wall: rate(played, run.ms) },
        distinct: results.reduce((n, r) => n + r.outcomes.length, 0),
        ...(single === undefined ? {} : { oneCore: single.rates }),
        outcomes: new Map([...run.results].map(([shard, r]) => [shard, r.outcomes])),
      });
      if (mode === 'harness') harnessResults = results;
    }
  } finally {
    await pool.close();
  }

  // Where the harness's time goes: the first shards again, plain and profiled, on this thread.
  const profiled: Partial<Record<Phase, number>> = {};
  let profiledCpuMs = 0;
  let profiledFlows = 0;
  let unprofiledCpuMs = 0;
  const profileStarted = performance.now();
  // This thread has not run the harness yet: a warm-up first, as the workers had.
  await bench.run('harness', (shards[0] ?? []).slice(0, WARMUP_FLOWS));
  for (const scripts of shards) {
    if (profiledFlows >= profileFlows || (profiledFlows > 0 && performance.now() - profileStarted >= PROFILE_BUDGET_MS)) break;
    let cpu = cpuNow();
    await bench.run('harness', scripts);
    unprofiledCpuMs += cpuNow() - cpu;
    cpu = cpuNow();
    // Phases timed by CPU time: preemption by other processes would land in whichever phase it hit.
    const result = await bench.run('harness', scripts, 1, { profile: cpuNow });
    profiledCpuMs += cpuNow() - cpu;
    profiledFlows += result.flows;
    for (const [phase, ms] of Object.entries(result.harness?.phases ?? {})) profiled[phase as Phase] = (profiled[phase as Phase] ?? 0) + ms;
  }

  // -------------------------------------------------------------------------------------------
  // agreement: every mode, on one core and over the workers, must end each flow it played as scripted
  // -------------------------------------------------------------------------------------------
  let disagreements = 0;
  let compared = 0;
  const judge = (label: string, outcomes: ReadonlyMap<number, readonly string[]>): void => {
    let differ = 0;
    for (const [shard, ended] of outcomes) {
      const scripts = shards[shard] ?? [];
      if (ended.length !== scripts.length) differ += Math.abs(ended.length - scripts.length);
      ended.forEach((o, i) => {
        compared++;
        if (o !== scripts[i]?.expected) differ++;
      });
    }
    if (differ > 0) console.log(`!! ${label}: ${differ} flows did not end as scripted`);
    disagreements += differ;
  };
  for (const m of measured) judge(`${m.mode} (${workers} workers)`, m.outcomes);
  for (const [mode, outcomes] of oneCoreOutcomes) judge(`${mode} (1 core)`, outcomes);
  const violations = harnessResults.flatMap((r) => r.harness?.violations ?? []);
  const checks = harnessResults.reduce((n, r) => n + (r.harness?.checks ?? 0), 0);
  const steps = harnessResults.reduce((n, r) => n + (r.harness?.steps ?? 0), 0);
  const endings = new Map<string, number>();
  for (const ended of measured[0]?.outcomes.values() ?? []) for (const o of ended) endings.set(o, (endings.get(o) ?? 0) + 1);

  // -------------------------------------------------------------------------------------------
  // report
  // -------------------------------------------------------------------------------------------
  const harness = measured.find((m) => m.mode === 'harness') as Measured;
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  const costs = (m: Measured): string => `${fmt(m.parallel.perCpuSecond / harness.parallel.perCpuSecond)}×`;
  console.log(`every mode ended every flow it played as scripted: ${disagreements === 0 ? 'yes' : 'NO'} (${compared} flow endings compared): ${[...endings].map(([o, n]) => `${o} ${n}`).join(', ')}`);
  console.log(`harness: ${harness.distinct} flows in ${harness.outcomes.size} shards within the ${budgetMs / 1000} s budget, ${steps} queued actions, ${checks} invariant checks, ${violations.length} violations`);
  for (const v of violations.slice(0, 10)) console.log(`  !! ${v}`);
  console.log(`load average ${load} on ${availableParallelism()} cores: figures are per second of CPU time; wall-clock rates shrink with other processes' load`);
  console.log('');
  console.log(`${pad('SMS recovery', 64)}${lpad('flows per CPU-second', 22)}${lpad('wall flows/s', 14)}   harness`);
  console.log(`${pad('', 64)}${lpad('1 core', 10)}${lpad(`${workers} workers`, 12)}${lpad(`${workers} workers`, 14)}   costs`);
  for (const m of measured) {
    console.log(`${pad(LABELS[m.mode], 64)}${lpad(m.oneCore === undefined ? '' : fmt(m.oneCore.perCpuSecond), 10)}${lpad(fmt(m.parallel.perCpuSecond), 12)}${lpad(fmt(m.parallel.wall), 14)}   ${m.mode === 'harness' ? '' : costs(m)}`);
  }
  // What the workers would do on cores of their own: the CPU-time rate times the workers.
  const capacity = harness.parallel.perCpuSecond * workers;
  const bare = measured.filter((m) => m.mode === 'actor' || m.mode === 'pure').reduce((best, m) => (m.parallel.perCpuSecond > best.parallel.perCpuSecond ? m : best));
  const ratio = bare.parallel.perCpuSecond / harness.parallel.perCpuSecond;
  console.log(
    `targets: (a) ≥ 20,000 flows/s over 2 cores: ${capacity >= 20_000 ? 'met' : 'NOT met'} (${fmt(capacity)} on ${workers} idle cores, ${fmt(harness.parallel.wall)} wall-clock here); harness ≤ 2× bare stepping: ${ratio <= 2 ? 'met' : 'NOT met'} (${fmt(ratio)}× ${bare.mode === 'actor' ? '(b)' : "(b')"})`,
  );

  console.log('');
  const phaseSum = Object.entries(profiled).reduce((n, [p, ms]) => n + (p === 'hash' ? 0 : ms), 0);
  console.log(
    `where the time goes in (a): ${profiledFlows} flows on one core, ${fmt(rate(profiledFlows, unprofiledCpuMs))} flows per CPU-second unprofiled, ${fmt(rate(profiledFlows, profiledCpuMs))} profiled`,
  );
  const rows: [string, number][] = Object.entries(profiled).map(([p, ms]) => [PHASE_LABELS[p as Phase], ms]);
  rows.push(['the harness itself: drivers, queue, traces, runtime glue', Math.max(0, profiledCpuMs - phaseSum)]);
  for (const [label, ms] of rows.sort((x, y) => y[1] - x[1])) {
    console.log(`  ${pad(label, 62)}${lpad(fmt((ms * 1000) / Math.max(1, profiledFlows)), 8)} µs/flow ${lpad(((ms / profiledCpuMs) * 100).toFixed(1), 6)}%`);
  }

  console.log('');
  console.log(`summary (seed ${seed}, flows per CPU-second over ${workers} workers; load ${load}):`);
  for (const m of measured) {
    const tail = m.mode === 'harness' ? `${m.distinct} flows played; ${fmt(capacity)} flows/s on ${workers} idle cores` : `the harness costs ${costs(m)} as much`;
    console.log(`  ${LABELS[m.mode].replace(/ {2,}/g, ' ')}: ${fmt(m.parallel.perCpuSecond)}${m.oneCore === undefined ? '' : ` (${fmt(m.oneCore.perCpuSecond)} on one core)`}; ${tail}`);
  }
  return disagreements > 0 || violations.length > 0 ? 1 : 0;
};

process.exitCode = await main();
