import { describe, expect, it } from 'vitest';
import { Bench, MODES } from '../simulations/bench/modes.ts';
import { generateScripts, VARIANTS } from '../simulations/bench/scripts.ts';

const SEED = 7;
const shards = generateScripts({ seed: SEED, flows: 50, shardSize: 25 });

describe('bench', () => {
  it('should generate the same scripts from the same seed, in shards fixed by the parameters', () => {
    expect(generateScripts({ seed: SEED, flows: 50, shardSize: 25 })).toEqual(shards);
    expect(shards.map((s) => s.length)).toEqual([25, 25]);
    expect(new Set(shards.flat().map((s) => s.variant))).toEqual(new Set(VARIANTS.map(([v]) => v)));
  });

  it('should end every flow the same way in the harness, bare XState stepping and the hand reducer', async () => {
    const bench = new Bench(SEED);
    const expected = shards.flat().map((s) => s.expected);
    const endings: Record<string, string[]> = {};
    for (const mode of MODES) {
      const outcomes: string[] = [];
      for (const scripts of shards) {
        const result = await bench.run(mode, scripts);
        outcomes.push(...result.outcomes);
        if (mode === 'harness') {
          expect(result.harness?.violations).toEqual([]);
          expect(result.harness?.checks).toBeGreaterThan(0);
        }
      }
      endings[mode] = outcomes;
    }
    for (const mode of MODES) expect(endings[mode], mode).toEqual(expected);
    expect(new Set(expected)).toEqual(new Set(['recovered', 'locked']));
  });

  it('should profile the harness without changing how any flow ends', async () => {
    const bench = new Bench(SEED);
    const scripts = shards[0] ?? [];
    const plain = await bench.run('harness', scripts);
    const profiled = await bench.run('harness', scripts, 1, { profile: () => performance.now() });
    expect(profiled.outcomes).toEqual(plain.outcomes);
    const calls = profiled.harness?.calls ?? {};
    for (const phase of ['store.load', 'context.decode', 'transition', 'enrich', 'outbox', 'store.save', 'observe'] as const) {
      expect(calls[phase], phase).toBeGreaterThan(0);
    }
  });
});
