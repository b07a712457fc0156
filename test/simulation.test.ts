import { describe, expect, it } from 'vitest';
import { runSimulation } from '../simulations/run.ts';

/**
 * The main job, in CI: ten thousand randomized flows of every path, every invariant checked,
 * every state and transition of every simulated machine taken, and the same seed giving the
 * same report whatever the number of workers.
 */
describe('simulation', () => {
  it('should run 10,000 flows with no violation and full state and transition coverage', { timeout: 600_000 }, async () => {
    const report = await runSimulation({ seed: 1, flows: 10_000, workers: 2 });
    const summary = Object.entries(report.coverage).map(
      ([machine, c]) => `${machine}: states ${c.states.covered}/${c.states.total}, transitions ${c.transitions.covered}/${c.transitions.total}`,
    );
    console.log(`[simulation] ${report.flows} flows, ${report.steps} steps, ${report.flowsPerSecond} flows/s\n  ${summary.join('\n  ')}`);
    expect(report.violations.map((v) => `${v.invariant}: ${v.reason} (${v.replay})`)).toEqual([]);
    for (const [machine, c] of Object.entries(report.coverage)) {
      expect(c.states.missing, `${machine} states never entered`).toEqual([]);
      expect(c.transitions.missing, `${machine} transitions never taken`).toEqual([]);
    }
    for (const [name, checks] of Object.entries(report.invariants)) expect(checks, `${name} was never checked`).toBeGreaterThan(0);
  });

  it('should give the same report for the same seed on one worker or two', { timeout: 300_000 }, async () => {
    const strip = (r: Awaited<ReturnType<typeof runSimulation>>) => ({ ...r, seconds: 0, flowsPerSecond: 0 });
    const one = await runSimulation({ seed: 11, flows: 600, shardSize: 200, workers: 1 });
    const two = await runSimulation({ seed: 11, flows: 600, shardSize: 200, workers: 2 });
    expect(two.traceDigest).toBe(one.traceDigest);
    expect(JSON.stringify(strip(two))).toBe(JSON.stringify(strip(one)));
    const other = await runSimulation({ seed: 12, flows: 600, shardSize: 200, workers: 1 });
    expect(other.traceDigest).not.toBe(one.traceDigest);
  });
});
