import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomSource } from '../ports/random.ts';

/**
 * A reproducible random source: the same seed gives the same flow ids, nonces and secrets,
 * which is what makes a simulation replay byte for byte. Never for production secrets.
 */
export const seededRandom = (seed: number): RandomSource => {
  // xoroshiro128plus(seed) reads only `seed | 0`, so 1, 1.5 and 2 ** 32 + 1 would share a
  // stream. Every safe integer is `low + high * 2 ** 32` with `low` a 32-bit integer; the high
  // word goes into the state word the plain constructor leaves at 0, so int32 seeds keep the
  // stream they always had and all other safe integers get their own.
  if (!Number.isSafeInteger(seed)) throw new RangeError(`A random seed must be a safe integer, got ${seed}.`);
  const low = seed | 0;
  const high = (seed - low) / 2 ** 32;
  const rng = xoroshiro128plusFromState([-1, ~low, low, high | 0]);
  return {
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 4) {
        const word = rng.next() >>> 0;
        for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
};

/** Web Crypto randomness: available in Node 20, browsers, Deno, Bun and workers alike. */
export const cryptoRandom: RandomSource = {
  bytes(length) {
    const out = new Uint8Array(length);
    globalThis.crypto.getRandomValues(out);
    return out;
  },
};
