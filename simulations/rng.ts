/**
 * Seeded randomness for the simulation: every shard, persona and fault draws from its own
 * stream, derived from the run seed and a label, so adding a persona never shifts another's
 * draws and the same seed replays byte for byte.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** FNV-1a over the label, mixed with the parent seed: a stable 32-bit child seed. */
export const deriveSeed = (seed: number, label: string): number => {
  let hash = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
};

export class Rng {
  readonly #rng: RandomGenerator;

  constructor(readonly seed: number) {
    this.#rng = xoroshiro128plus(seed);
  }

  fork(label: string): Rng {
    return new Rng(deriveSeed(this.seed, label));
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return uniformInt(this.#rng, min, max);
  }

  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from nothing');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Picks by weight: `[[value, weight], …]`. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.int(0, Math.max(0, Math.round(total * 1000) - 1)) / 1000;
    for (const [value, weight] of choices) {
      if (roll < weight) return value;
      roll -= weight;
    }
    return (choices[choices.length - 1] as readonly [T, number])[0];
  }

  digits(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += String(this.int(0, 9));
    return out;
  }
}
