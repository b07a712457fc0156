/**
 * How often a simulation took each state and transition, and how a diagram shows it. Absolute
 * decades rather than shares of the busiest edge: a bucket then means the same on every machine
 * and in every report, so two overlays can be compared by eye.
 */
import type { GraphTransition, MachineGraph } from './machineGraph.ts';

/** Counts by state id and by transition key (`source|event|branch`), as the simulation report holds them. */
export interface CoverageCounts {
  readonly states: Readonly<Record<string, number>>;
  readonly transitions: Readonly<Record<string, number>>;
}

export interface CoverageBucket {
  /** Smallest count in the bucket. */
  readonly from: number;
  readonly label: string;
  /** Stroke and text colour of an edge; border of a state. */
  readonly stroke: string;
  /** Fill of a state: light, so the coloured rows of its internal transitions stay readable. */
  readonly fill: string;
  readonly penwidth: number;
}

/** Bucket 0 is "never taken": drawn red and dashed. */
export const COVERAGE_BUCKETS: readonly CoverageBucket[] = [
  { from: 0, label: 'never', stroke: '#c92a2a', fill: '#fff5f5', penwidth: 1.4 },
  { from: 1, label: '1-9', stroke: '#74b816', fill: '#f4fce3', penwidth: 1.2 },
  { from: 10, label: '10-99', stroke: '#37b24d', fill: '#ebfbee', penwidth: 1.8 },
  { from: 100, label: '100-999', stroke: '#2b8a3e', fill: '#d3f9d8', penwidth: 2.6 },
  { from: 1000, label: '1000+', stroke: '#0b5a1f', fill: '#b2f2bb', penwidth: 3.4 },
];

export const bucketOf = (count: number): CoverageBucket => {
  let found = COVERAGE_BUCKETS[0] as CoverageBucket;
  for (const bucket of COVERAGE_BUCKETS) if (count >= bucket.from) found = bucket;
  return found;
};

/**
 * A transition's count. The recorder keys an eventless transition `source||-1` (xstate gives it
 * no branch among the source's event transitions), so that key stands in when it is the only one.
 */
export const transitionCount = (graph: MachineGraph, t: GraphTransition, counts: CoverageCounts): number => {
  const direct = counts.transitions[t.key];
  if (direct !== undefined) return direct;
  if (t.event === '' && graph.eventless.filter((e) => e.source === t.source).length === 1) return counts.transitions[`${t.source}||-1`] ?? 0;
  return 0;
};

/** `3,412`: thousands grouped the same whatever the locale of the machine rendering it. */
export const formatCount = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * The counts of a state fragment embedded in several machines (the shared hardening), summed
 * over all of them: `smsRecovery.hardening.applying` and `manualReview.case.hardening.applying`
 * both count for `hardening.applying`.
 */
export const fragmentCounts = (fragment: string, perMachine: readonly CoverageCounts[]): CoverageCounts => {
  const pattern = new RegExp(`^[^|]*?\\.${fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[.|]|$)`);
  const states: Record<string, number> = {};
  const transitions: Record<string, number> = {};
  const fold = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
    for (const [key, n] of Object.entries(from)) {
      if (!pattern.test(key)) continue;
      const mapped = key.replace(pattern, fragment);
      into[mapped] = (into[mapped] ?? 0) + n;
    }
  };
  for (const counts of perMachine) {
    fold(states, counts.states);
    fold(transitions, counts.transitions);
  }
  return { states, transitions };
};
