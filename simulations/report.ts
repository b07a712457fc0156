/**
 * Merging shard results into one report — in shard order, so the same seed gives the same
 * report byte for byte whatever the number of workers — and printing it for people.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { createMemoryWorld } from '../src/adapters/memory/index.ts';
import { machineGraph } from '../src/graph/machineGraph.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { CATALOGUE, type InvariantName } from './invariants.ts';
import type { PathSample, ReportedViolation, ShardResult } from './shard.ts';
import { defaultDefinitions } from './sim.ts';

export interface CoverageFigures {
  readonly states: { readonly covered: number; readonly total: number; readonly missing: readonly string[] };
  readonly transitions: { readonly covered: number; readonly total: number; readonly missing: readonly string[] };
  /** How often each state was entered and each transition taken, summed over shards (coverage overlays). */
  readonly counts: { readonly states: Record<string, number>; readonly transitions: Record<string, number> };
}

export interface Calibration {
  readonly path: string;
  readonly seed: { readonly time: string; readonly success: string };
  readonly flows: number;
  readonly successRate: number;
  readonly medianMs: number | null;
  readonly p90Ms: number | null;
}

export interface Report {
  readonly seed: number;
  readonly flows: number;
  readonly shards: number;
  readonly steps: number;
  readonly restarts: number;
  readonly violations: readonly (Omit<ReportedViolation, 'trace'> & { readonly replay: string; readonly trace: readonly string[] })[];
  readonly invariants: Record<InvariantName, number>;
  readonly statements: Record<InvariantName, string>;
  readonly outcomes: Record<string, Record<string, number>>;
  readonly personas: Record<string, number>;
  readonly coverage: Record<string, CoverageFigures>;
  readonly calibration: readonly Calibration[];
  readonly traceDigest: string;
  readonly seconds: number;
  readonly flowsPerSecond: number;
}

/** What the seed article reports per method (seed 000), to set our figures beside. */
const SEED_TABLE: Record<string, { time: string; success: string }> = {
  phone: { time: 'immediate', success: '98%' },
  email: { time: '5-10 minutes', success: '95%' },
  friends: { time: '1-3 hours', success: '85%' },
};

const quantile = (sorted: readonly number[], q: number): number | null =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

const addInto = (target: Record<string, number>, source: Record<string, number>): void => {
  for (const [k, v] of Object.entries(source)) target[k] = (target[k] ?? 0) + v;
};

const sortedByKey = (record: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The states and transitions each simulated machine defines. */
export const coverageTotals = (definitions: (ports: FlowPorts) => FlowDefinition[] = defaultDefinitions) => {
  const world = createMemoryWorld();
  return Object.fromEntries(definitions(world).map((d) => [d.name, machineGraph(d.machine)]));
};

export const mergeReport = (
  options: { readonly seed: number; readonly flows: number; readonly seconds: number; readonly replayCommand: (v: ReportedViolation) => string; readonly definitions?: (ports: FlowPorts) => FlowDefinition[] },
  shards: readonly ShardResult[],
): Report => {
  const ordered = [...shards].sort((a, b) => a.shard - b.shard);
  const invariants = Object.fromEntries(Object.keys(CATALOGUE).map((k) => [k, 0])) as Record<InvariantName, number>;
  const outcomes: Record<string, Record<string, number>> = {};
  const personas: Record<string, number> = {};
  const states = new Map<string, Set<string>>();
  const transitions = new Map<string, Set<string>>();
  const counts = new Map<string, { states: Record<string, number>; transitions: Record<string, number> }>();
  const samples: PathSample[] = [];
  const digest = sha256.create();
  let steps = 0;
  let restarts = 0;
  let flows = 0;
  for (const shard of ordered) {
    flows += shard.flows;
    steps += shard.steps;
    restarts += shard.restarts;
    for (const [k, v] of Object.entries(shard.invariants)) invariants[k as InvariantName] += v;
    for (const [machine, bucket] of Object.entries(shard.outcomes)) addInto((outcomes[machine] ??= {}), bucket);
    addInto(personas, shard.personas);
    for (const [machine, c] of Object.entries(shard.coverage)) {
      const s = states.get(machine) ?? new Set();
      for (const id of Object.keys(c.states)) s.add(id);
      states.set(machine, s);
      const t = transitions.get(machine) ?? new Set();
      for (const key of Object.keys(c.transitions)) t.add(key);
      transitions.set(machine, t);
      const sum = counts.get(machine) ?? { states: {}, transitions: {} };
      addInto(sum.states, c.states);
      addInto(sum.transitions, c.transitions);
      counts.set(machine, sum);
    }
    samples.push(...shard.samples);
    digest.update(utf8ToBytes(`${shard.shard}:${shard.traceDigest}\n`));
  }
  const totals = coverageTotals(options.definitions);
  const coverage = Object.fromEntries(
    Object.entries(totals).map(([machine, graph]) => {
      const seenStates = states.get(machine) ?? new Set<string>();
      const seenTransitions = transitions.get(machine) ?? new Set<string>();
      const missingStates = graph.states.map((s) => s.id).filter((id) => !seenStates.has(id));
      const missingTransitions = graph.transitions.map((t) => t.key).filter((k) => !seenTransitions.has(k));
      return [
        machine,
        {
          states: { covered: graph.states.length - missingStates.length, total: graph.states.length, missing: missingStates },
          transitions: { covered: graph.transitions.length - missingTransitions.length, total: graph.transitions.length, missing: missingTransitions },
          counts: { states: sortedByKey(counts.get(machine)?.states ?? {}), transitions: sortedByKey(counts.get(machine)?.transitions ?? {}) },
        },
      ];
    }),
  );
  const calibration = Object.entries(SEED_TABLE).flatMap(([path, seed]) => {
    const mine = samples.filter((s) => s.path === path);
    if (mine.length === 0) return [];
    const times = mine.flatMap((s) => (s.durationMs === null ? [] : [s.durationMs])).sort((a, b) => a - b);
    return [{ path, seed, flows: mine.length, successRate: times.length / mine.length, medianMs: quantile(times, 0.5), p90Ms: quantile(times, 0.9) }];
  });
  return {
    seed: options.seed,
    flows,
    shards: ordered.length,
    steps,
    restarts,
    violations: ordered.flatMap((s) => s.violations).map((v) => ({ ...v, replay: options.replayCommand(v), trace: v.trace.map((l) => `${l.at}\t${l.event}\t${l.detail}\t→ ${l.outcome}`) })),
    invariants,
    statements: { ...CATALOGUE },
    outcomes,
    personas,
    coverage,
    calibration,
    traceDigest: bytesToHex(digest.digest()),
    seconds: options.seconds,
    flowsPerSecond: Math.round(flows / Math.max(options.seconds, 1e-9)),
  };
};

const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
const minutes = (ms: number | null): string => (ms === null ? '-' : ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 60_000).toFixed(1)} min`);

/** The report as people read it; the JSON form is `report` itself. */
export const formatReport = (report: Report): string => {
  const lines: string[] = [];
  lines.push(`account-flows simulation — seed ${report.seed}`);
  lines.push(`${report.flows} flows in ${report.shards} shards, ${report.steps} steps, ${report.restarts} host restarts, ${report.seconds.toFixed(2)} s (${report.flowsPerSecond} flows/s)`);
  lines.push('', 'Outcomes by path:');
  for (const [machine, bucket] of Object.entries(report.outcomes).sort()) {
    lines.push(`  ${machine.padEnd(16)} ${Object.entries(bucket).sort().map(([k, v]) => `${k}=${v}`).join('  ')}`);
  }
  lines.push('', 'Invariants (checks, violations):');
  for (const [name, statement] of Object.entries(report.statements)) {
    const violations = report.violations.filter((v) => v.invariant === name).length;
    lines.push(`  ${violations === 0 ? 'ok  ' : 'FAIL'} ${name.padEnd(26)} ${String(report.invariants[name as InvariantName]).padStart(9)} ${String(violations).padStart(5)}  ${statement}`);
  }
  lines.push('', 'Coverage (states, transitions as source/event/guard branch):');
  for (const [machine, c] of Object.entries(report.coverage)) {
    lines.push(`  ${machine.padEnd(16)} states ${c.states.covered}/${c.states.total}  transitions ${c.transitions.covered}/${c.transitions.total}`);
    for (const missing of [...c.states.missing, ...c.transitions.missing].slice(0, 8)) lines.push(`      never taken: ${missing}`);
  }
  if (report.calibration.length > 0) {
    lines.push('', 'Calibration against seed 000 (a calibration of the personas, not a validation):');
    lines.push('  path     seed time     seed success   simulated success   median   p90');
    for (const c of report.calibration) {
      lines.push(`  ${c.path.padEnd(8)} ${c.seed.time.padEnd(12)} ${c.seed.success.padEnd(14)} ${pct(c.successRate).padEnd(19)} ${minutes(c.medianMs).padEnd(8)} ${minutes(c.p90Ms)}`);
    }
    // The seed times the friends' part; the password then waits out the dispute wait on top.
    if (report.calibration.some((c) => c.path === 'friends')) lines.push('  friends: time to the friends\' quorum; success is a password set after the 24 h dispute wait.');
  }
  lines.push('', `trace digest ${report.traceDigest}`);
  if (report.violations.length > 0) {
    lines.push('', `${report.violations.length} VIOLATIONS:`);
    for (const v of report.violations.slice(0, 10)) {
      lines.push(`  [${v.invariant}] shard ${v.shard} flow ${v.flow} (${v.machine}): ${v.reason}`);
      lines.push(`    replay: ${v.replay}`);
      for (const line of v.trace.slice(0, 30)) lines.push(`      ${line}`);
    }
  }
  return lines.join('\n');
};
