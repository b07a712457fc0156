import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomSource } from '../ports/random.ts';

/**
 * A reproducible random source: the same seed gives the same flow ids, nonces and secrets,
 * which is what makes a simulation replay byte for byte. Never for production secrets.
 */
export const seededRandom = (seed: number): RandomSource => {
  const rng = xoroshiro128plus(seed);
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
