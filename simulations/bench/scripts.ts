/**
 * The benchmark's flows, generated once from a seed as plain data, so the harness, bare XState
 * stepping and the hand reducer all play exactly the same SMS recoveries. Each flow has its own
 * account and phone: the reducer models one flow, not the budgets flows share, so no flow may
 * depend on another's.
 */
import { DEFAULT_POLICY, type Policy } from '../../src/domain/policy.ts';
import { Rng, deriveSeed } from '../rng.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;

/** What a flow does; the weights give the mix of a benchmark run. */
export const VARIANTS = [
  ['happy', 50],
  ['wrongFirst', 15],
  ['resend', 15],
  ['expired', 10],
  ['locked', 10],
] as const;
export type Variant = (typeof VARIANTS)[number][0];

/** How a submitted code relates to the codes delivered: what the invariants judge it by. */
export type CodeTag = 'real' | 'guess' | 'stale';

export type Step =
  | { readonly at: number; readonly kind: 'start' | 'channel' | 'resend' | 'password' | 'done' }
  /** `guess` null: the newest code delivered to the flow; else a guess that is never the right code. */
  | { readonly at: number; readonly kind: 'code'; readonly guess: string | null; readonly tag: CodeTag }
  /** The host waking the flow at its code deadline (a harness host arms this itself). */
  | { readonly at: number; readonly kind: 'tick' };

export interface FlowScript {
  /** Position in the run. */
  readonly index: number;
  readonly shard: number;
  /** Position in the shard: the harness's driver ordinal and the account's number. */
  readonly ordinal: number;
  readonly variant: Variant;
  readonly phone: string;
  readonly handle: string;
  readonly oldPassword: string;
  readonly newPassword: string;
  /** Sessions the account has before recovering: what the recovery revokes. */
  readonly sessions: number;
  /** For modes without a runtime (which picks its own): the flow id and nonce the codes bind to. */
  readonly flowId: string;
  readonly nonce: string;
  /** Times are offsets from the world's start, in order. */
  readonly steps: readonly Step[];
  /** The final state the script is written to reach. */
  readonly expected: 'recovered' | 'locked';
}

export interface ScriptOptions {
  readonly seed: number;
  readonly flows: number;
  readonly shardSize: number;
  readonly policy?: Policy;
}

/** Shard sizes from the run's parameters alone (never the core count), like the simulation's. */
export const planShards = (flows: number, shardSize: number): number[] => {
  const count = Math.max(1, Math.ceil(flows / shardSize));
  const base = Math.floor(flows / count);
  const rest = flows % count;
  return Array.from({ length: count }, (_, i) => base + (i < rest ? 1 : 0));
};

/** The wrong code actually typed for a guess: never the right one, whatever the right one is. */
export const wrongCode = (guess: string, right: string): string => (guess === right ? `${guess.slice(0, -1)}${(Number(guess.at(-1)) + 1) % 10}` : guess);

const hex = (rng: Rng, n: number): string => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');

const script = (rng: Rng, policy: Policy, index: number, shard: number, ordinal: number): FlowScript => {
  const variant = rng.weighted(VARIANTS);
  const ttl = policy.code.ttlMs;
  const cooldown = policy.sends.cooldownMs;
  const s = rng.int(0, 6 * 60) * MINUTE + rng.int(0, 59) * SECOND;
  const steps: Step[] = [
    { at: s, kind: 'start' },
    { at: s, kind: 'channel' },
  ];
  let t = s;
  const after = (min: number, max: number): number => (t += rng.int(min, max) * SECOND);
  const guess = (): Step => ({ at: after(3, 10), kind: 'code', guess: rng.digits(6), tag: 'guess' });
  const finish = (): void => {
    steps.push({ at: after(15, 60), kind: 'password' }, { at: after(5, 30), kind: 'done' });
  };
  switch (variant) {
    case 'happy':
      steps.push({ at: after(10, 90), kind: 'code', guess: null, tag: 'real' });
      finish();
      break;
    case 'wrongFirst':
      steps.push({ at: after(10, 40), kind: 'code', guess: rng.digits(6), tag: 'guess' }, { at: after(5, 20), kind: 'code', guess: null, tag: 'real' });
      finish();
      break;
    case 'resend':
      // Half press resend too early first: the cooldown refuses it and no new code is sent.
      if (rng.chance(0.5)) steps.push({ at: after(5, (cooldown / SECOND) * 0.6), kind: 'resend' });
      t = Math.max(t, s + cooldown);
      steps.push({ at: after(1, 90), kind: 'resend' }, { at: after(5, 30), kind: 'code', guess: null, tag: 'real' });
      finish();
      break;
    case 'expired':
      steps.push({ at: s + ttl, kind: 'tick' });
      t = s + ttl;
      // The code that arrived, typed after it died, then a new one.
      steps.push({ at: after(60, 300), kind: 'code', guess: null, tag: 'stale' }, { at: after(5, 30), kind: 'resend' }, { at: after(5, 30), kind: 'code', guess: null, tag: 'real' });
      finish();
      break;
    case 'locked': {
      for (let i = 0; i < policy.code.maxWrongPerCode; i++) steps.push(guess());
      t = Math.max(t, s + cooldown);
      steps.push({ at: after(1, 10), kind: 'resend' });
      for (let i = policy.code.maxWrongPerCode; i < policy.code.maxWrongPerFlow; i++) steps.push(guess());
      break;
    }
  }
  if (t - s >= ttl && variant !== 'expired') throw new Error('a benchmark script outlived its code');
  const n = String(ordinal).padStart(6, '0');
  return {
    index,
    shard,
    ordinal,
    variant,
    phone: `+86139${String(shard * 100_000 + ordinal).padStart(8, '0')}`,
    handle: `bench_${n}`,
    oldPassword: `old bench phrase ${shard}.${n}`,
    newPassword: `new bench phrase ${shard}.${n} ${rng.digits(4)}`,
    sessions: rng.int(0, 2),
    flowId: `bench-${shard}-${n}`,
    nonce: hex(rng, 22),
    steps,
    expected: variant === 'locked' ? 'locked' : 'recovered',
  };
};

/** The run's flows by shard; the same seed and sizes give the same scripts, byte for byte. */
export const generateScripts = (options: ScriptOptions): FlowScript[][] => {
  // Phones and handles number flows by shard and position; bigger shards would make them clash.
  if (!(options.shardSize >= 1 && options.shardSize <= 100_000)) throw new RangeError('the shard size must be between 1 and 100000');
  const policy = options.policy ?? DEFAULT_POLICY;
  let index = 0;
  return planShards(options.flows, options.shardSize).map((size, shard) => {
    const rng = new Rng(deriveSeed(options.seed, `bench-shard-${shard}`));
    return Array.from({ length: size }, (_, ordinal) => script(rng, policy, index++, shard, ordinal));
  });
};
