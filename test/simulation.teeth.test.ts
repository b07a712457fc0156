/**
 * Teeth: for every invariant of the catalogue, the harness is run against a deliberately broken
 * variant — planted through the flow definitions it is given or the ports its world is built
 * with — and must report a violation of *that* invariant. The same run on the real definitions
 * reports none, so each catch is the planted bug's and nothing else's. A bug the harness does not
 * catch yet stays here as `it.fails` with the reason, so the gap is visible and closing it shows.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { NomineeFacts } from '../machines/friendAssist.ts';
import { CATALOGUE, type InvariantName } from '../simulations/invariants.ts';
import type { Report } from '../simulations/report.ts';
import { type RunOptions, runSimulation } from '../simulations/run.ts';
import { defaultDefinitions } from '../simulations/sim.ts';
import { MemoryDirectory } from '../src/adapters/memory/directory.ts';
import type { Account, AccountId } from '../src/domain/account.ts';
import { flowError } from '../src/domain/errors.ts';
import type { FriendFacts } from '../src/domain/friendAssist.ts';
import type { Handle } from '../src/domain/handle.ts';
import { HOUR } from '../src/domain/time.ts';
import type { CodeBinding } from '../src/domain/verificationCode.ts';
import type { CodeSecrets } from '../src/ports/codeSecrets.ts';
import type { FlowDefinition, MachineEvent } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';

/**
 * Fixed and small. Most bugs show within two shards; a few only meet their rare persona (one
 * person running two recoveries at once, two recoveries racing for one friend, resends past the
 * hourly budget) in a larger run. Each size has its own baseline, run once and shared.
 */
const SEED = 3;
const SHARD_SIZE = 200;
const FLOWS = { small: 400, large: 1200 } as const;
type Size = keyof typeof FLOWS;

type Variant = Pick<RunOptions, 'definitions' | 'ports'>;

const simulate = (variant: Variant, size: Size): Promise<Report> =>
  runSimulation({ seed: SEED, flows: FLOWS[size], shardSize: SHARD_SIZE, definitions: variant.definitions ?? defaultDefinitions, ...(variant.ports === undefined ? {} : { ports: variant.ports }) });

const baselines = new Map<Size, Promise<Report>>();
const baseline = (size: Size): Promise<Report> => {
  let report = baselines.get(size);
  if (report === undefined) baselines.set(size, (report = simulate({}, size)));
  return report;
};

const caught = (report: Report, name: InvariantName) => report.violations.filter((v) => v.invariant === name);

// ---------------------------------------------------------------------------------------------
// planting tools
// ---------------------------------------------------------------------------------------------

/** The real object with some members replaced; everything else still reaches the original. */
const patched = <T extends object>(target: T, patch: Partial<T>): T =>
  new Proxy(target, {
    get: (t, key) => {
      if (Object.prototype.hasOwnProperty.call(patch, key)) return patch[key as keyof T];
      const value: unknown = Reflect.get(t, key, t);
      // Bound to the original, so its private fields still resolve.
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });

/** Every default flow definition, each passed through `change` (which sees the ports it was built with). */
const everyFlow =
  (change: (definition: FlowDefinition, ports: FlowPorts) => FlowDefinition) =>
  (ports: FlowPorts): FlowDefinition[] =>
    defaultDefinitions(ports).map((d) => change(d, ports));

/** The default definitions built over altered ports (their machines' policy and code secrets). */
const builtWith = (alter: (ports: FlowPorts) => FlowPorts) => (ports: FlowPorts) => defaultDefinitions(alter(ports));

/** A definition whose `enrich` sees altered ports: the look-ups it makes before the machine decides. */
const enrichingWith = (names: readonly string[], alter: (ports: FlowPorts) => Partial<FlowPorts>) =>
  everyFlow((real) =>
    !names.includes(real.name) ? real : { ...real, enrich: (event, snapshot, facts, p) => real.enrich(event, snapshot, facts, { ...p, ...alter(p) }) },
  );

/** A definition whose `enrich` answers are rewritten after the real look-ups. */
const enrichedThen = (names: readonly string[], rewrite: (event: MachineEvent, snapshot: { readonly context: Record<string, unknown> }) => E.Either<ReturnType<typeof flowError>, MachineEvent>) =>
  everyFlow((real) =>
    !names.includes(real.name)
      ? real
      : {
          ...real,
          enrich: async (event, snapshot, facts, p) => {
            const result = await real.enrich(event, snapshot, facts, p);
            return E.isLeft(result) ? result : rewrite(result.right, snapshot as never);
          },
        },
  );

const withCheck = (check: (real: CodeSecrets) => CodeSecrets['check']) => builtWith((ports) => ({ ...ports, codeSecrets: { ...ports.codeSecrets, check: check(ports.codeSecrets) } }));

const RECOVERY = ['smsRecovery', 'emailRecovery'];

/** A friend no rule could refuse: friends for years, active, never vouched, never recovered. */
const ELIGIBLE: FriendFacts = { isFriend: true, friendsSince: 0, active: true, recentlyRecovered: false, underRecovery: false, vouchedRecently: false };

/**
 * A directory that lost its case-insensitive unique index on handles: `Alice_01` and `ALICE_01`
 * are two handles to it, and both inserts go through.
 */
class CaseSensitiveDirectory extends MemoryDirectory {
  readonly #extra = new Map<AccountId, Account>();
  #next = 1;

  override async isHandleTaken(handle: Handle): Promise<boolean> {
    return this.all().some((a) => a.handle === handle);
  }

  override createNow(input: Parameters<MemoryDirectory['createNow']>[0]): ReturnType<MemoryDirectory['createNow']> {
    const made = super.createNow(input);
    if (made.ok || made.conflict !== 'handle_taken' || this.all().some((a) => a.handle === input.handle)) return made;
    const id = `acct-cs-${this.#next++}` as AccountId;
    const account: Account = {
      id,
      handle: input.handle,
      phone: { value: input.phone, verifiedAt: input.at },
      email: input.email === undefined ? null : { value: input.email, verifiedAt: input.at },
      passwordHash: input.passwordHash,
      securityEpoch: 0,
      status: 'active',
      createdAt: input.at,
      realName: 'not_started',
      sensitiveHoldUntil: null,
    };
    this.#extra.set(id, account);
    return { ok: true, account };
  }

  override all(): readonly Account[] {
    return [...super.all(), ...this.#extra.values()];
  }

  override async get(id: AccountId): Promise<Account | undefined> {
    return (await super.get(id)) ?? this.#extra.get(id);
  }

  override peek(id: AccountId): Account | undefined {
    return super.peek(id) ?? this.#extra.get(id);
  }
}

/** A directory that resets a password under whatever epoch the account has now: the epoch guard lost. */
class EpochBlindDirectory extends MemoryDirectory {
  override async resetPassword(input: Parameters<MemoryDirectory['resetPassword']>[0]): ReturnType<MemoryDirectory['resetPassword']> {
    return super.resetPassword({ ...input, expectedEpoch: this.peek(input.id)?.securityEpoch ?? input.expectedEpoch });
  }
}

/** Codes derived from the epoch and counter alone: the flow, nonce and purpose left out of the key. */
const unboundSecrets = (real: CodeSecrets): CodeSecrets => {
  const loose = (b: CodeBinding): CodeBinding => ({ ...b, flowId: '-', nonce: '-', purpose: 'registration' });
  return {
    ...real,
    code: (binding, counter, digits) => real.code(loose(binding), counter, digits),
    linkToken: (binding, counter) => real.linkToken(loose(binding), counter),
    check: (state, check) => {
      const result = real.check({ ...state, binding: loose(state.binding) }, { ...check, expected: { ...check.expected, flowId: '-', purpose: 'registration' } });
      return { outcome: result.outcome, next: { ...result.next, binding: state.binding } };
    },
  };
};

// ---------------------------------------------------------------------------------------------
// the broken variants, one or more per invariant
// ---------------------------------------------------------------------------------------------

interface Plant extends Variant {
  readonly invariant: InvariantName;
  readonly bug: string;
  /**
   * Why the harness does not catch this bug yet. Such a plant runs as `it.fails`: it turns red the
   * day a persona or a check starts catching it, and should then become a plain test.
   */
  readonly gap?: string;
  /** 'large' for a bug only a rare persona meets. */
  readonly size?: Size;
}

const PLANTS: readonly Plant[] = [
  {
    invariant: 'send-budget',
    bug: 'the resend cooldown ignored, by the machine and by the send budget',
    // Either layer alone still holds the cooldown (the budget refuses what the machine lets through).
    definitions: builtWith((ports) => ({ ...ports, policy: { ...ports.policy, sends: { ...ports.policy.sends, cooldownMs: 0 } } })),
    ports: (world) => ({ budgets: patched(world.budgets, { consume: (key, rule, now, idem) => world.budgets.consume(key, { ...rule, cooldownMs: 0 }, now, idem) }) }),
  },
  {
    invariant: 'send-budget',
    bug: 'the send budget always allows (hourly and daily windows ignored)',
    size: 'large',
    ports: (world) => ({
      budgets: patched(world.budgets, {
        consume: (key, rule, now, idem) => (key.startsWith('sends:') ? world.budgets.consume(key, { ...rule, windows: rule.windows.map((w) => ({ ...w, limit: 1_000 })) }, now, idem) : world.budgets.consume(key, rule, now, idem)),
      }),
    }),
  },
  {
    invariant: 'code-in-time',
    bug: 'the code check ignores expiry',
    definitions: withCheck((real) => (state, check) => real.check(state, { ...check, now: Math.min(check.now, state.expiresAt - 1) })),
  },
  {
    invariant: 'code-once',
    bug: 'the code check lets a used code pass',
    definitions: withCheck((real) => (state, check) => real.check({ ...state, used: false }, check)),
    gap: 'every machine leaves its code state on acceptance, and no persona presents an accepted code again (nor does a store lose the write that spent it)',
  },
  {
    invariant: 'code-own-flow',
    bug: 'codes derived without their flow, nonce and purpose',
    // Another flow's code then equals this flow's own: only the crossFlow persona's tag tells them apart.
    ports: (world) => ({ codeSecrets: unboundSecrets(world.codeSecrets) }),
  },
  {
    invariant: 'code-attempt-limits',
    bug: 'the code check fails open at its attempt limits',
    // Guessers are who reach the limits; nobody types the right code after five wrong ones.
    definitions: withCheck((real) => (state, check) => {
      const result = real.check(state, check);
      return result.outcome === 'exhausted' || result.outcome === 'flow_exhausted' ? { outcome: 'accepted', next: { ...state, used: true } } : result;
    }),
  },
  {
    invariant: 'code-current-epoch',
    bug: 'the directory resets a password whatever epoch the flow expected',
    // Met by the double persona (one person, two recoveries at once): one or two in a few hundred flows.
    size: 'large',
    ports: () => ({ directory: new EpochBlindDirectory() }),
  },
  {
    invariant: 'password-after-challenge',
    bug: 'the recovery moves to the new password on any code for an active account',
    definitions: everyFlow((real) =>
      !RECOVERY.includes(real.name)
        ? real
        : { ...real, machine: real.machine.provide({ guards: { proven: ({ event }: { event: MachineEvent }) => event['accountActive'] === true } } as never) },
    ),
  },
  {
    invariant: 'no-2fa-bypass',
    bug: 'recovery told no account has a second factor',
    definitions: enrichingWith(RECOVERY, (p) => ({ secondFactors: patched(p.secondFactors, { status: async () => ({ totp: false, backupCodesLeft: 0 }) }) })),
  },
  {
    invariant: 'recovery-hardened',
    bug: 'sessions.revokeAllExcept does nothing',
    ports: (world) => ({ sessions: patched(world.sessions, { revokeAllExcept: async () => 0 }) }),
  },
  {
    invariant: 'recovery-hardened',
    bug: 'the messenger is never called for notifications',
    ports: (world) => ({ messenger: patched(world.messenger, { send: async (message, key) => (key.includes(':notify') ? { ok: true, providerId: 'swallowed' } : world.messenger.send(message, key)) }) }),
  },
  {
    invariant: 'unique-identities',
    bug: 'the directory\'s handle index is case-sensitive',
    ports: () => ({ directory: new CaseSensitiveDirectory() }),
  },
  {
    invariant: 'registration-eligible',
    bug: 'registration told no number is blocked',
    definitions: enrichingWith(['registration'], () => ({ blockedNumbers: { isBlocked: async () => false } })),
  },
  {
    invariant: 'registration-eligible',
    bug: 'registration parses numbers of every region',
    definitions: everyFlow((real, ports) => (real.name !== 'registration' ? real : defaultDefinitions({ ...ports, policy: { ...ports.policy, phone: { ...ports.policy.phone, allowedRegions: ['CN', 'HK', 'US'] } } }).find((d) => d.name === real.name) as FlowDefinition)),
  },
  {
    invariant: 'flows-terminate',
    bug: 'the flows never ask to be woken at their lifetime\'s end',
    definitions: everyFlow((real) => ({
      ...real,
      nextDeadline: (snapshot) => {
        const deadline = real.nextDeadline(snapshot);
        return deadline === (snapshot.context as { expiresAt?: number }).expiresAt ? null : deadline;
      },
    })),
  },
  {
    invariant: 'no-secrets-at-rest',
    bug: 'the flows\' password hasher keeps the password as it is',
    definitions: enrichingWith(['registration', ...RECOVERY], (p) => ({ hasher: { ...p.hasher, hash: async (password: string) => password, verify: p.hasher.verify.bind(p.hasher) } })),
  },
  {
    invariant: 'enumeration-pairs',
    bug: 'an unknown channel is told it is not bound',
    definitions: enrichedThen(RECOVERY, (event) =>
      event.type === 'channel.submit' && event['subject'] === null ? E.left(flowError('invalid_input', 'No account has this channel.', { field: 'channel' })) : E.right(event),
    ),
  },
  {
    invariant: 'friends-count-once',
    bug: 'every named and confirming friend is judged eligible',
    definitions: enrichedThen(['friendAssist'], (event) => {
      const eligible = <T extends { readonly friendId: string | null }>(n: T): T => (n.friendId === null ? n : { ...n, facts: ELIGIBLE });
      if (event.type === 'friend.confirm') return E.right({ ...event, facts: ELIGIBLE });
      if (event.type === 'friends.nominate') return E.right({ ...event, nominees: (event['nominees'] as NomineeFacts[]).map(eligible) });
      if (event.type === 'friends.replace') return E.right({ ...event, nominee: eligible(event['nominee'] as NomineeFacts) });
      return E.right(event);
    }),
  },
  {
    invariant: 'friends-count-once',
    bug: 'a friend\'s vouch mark can be spent again at once',
    // Only the race persona (two recoveries naming one friend, one of them held up by a crash) meets it.
    size: 'large',
    ports: (world) => ({
      budgets: patched(world.budgets, {
        consume: (key, rule, now, idem) => world.budgets.consume(key, key.startsWith('vouches:') ? { windows: [{ limit: 1_000, windowMs: 1 }], cooldownMs: 0 } : rule, now, idem),
      }),
    }),
  },
  {
    invariant: 'review-dispute-window',
    bug: 'the review\'s dispute window is an hour, not a day',
    definitions: everyFlow((real, ports) =>
      real.name !== 'manualReview' ? real : (defaultDefinitions({ ...ports, policy: { ...ports.policy, review: { ...ports.policy.review, disputeWindowMs: HOUR } } }).find((d) => d.name === real.name) as FlowDefinition),
    ),
  },
  {
    invariant: 'owner-stop-wins',
    bug: 'the owner\'s stop is refused at the boundary',
    definitions: everyFlow((real) =>
      real.name !== 'friendAssist' && real.name !== 'manualReview'
        ? real
        : { ...real, enrich: (event, snapshot, facts, p) => ((event as { type: string }).type === 'owner.stop' ? Promise.resolve(E.left(flowError('not_permitted', 'Not the holder.'))) : real.enrich(event, snapshot, facts, p)) },
    ),
  },
];

// ---------------------------------------------------------------------------------------------
// the tests
// ---------------------------------------------------------------------------------------------

describe('simulation teeth', () => {
  const sizes = [...new Set(PLANTS.map((p) => p.size ?? 'small'))];
  for (const size of sizes) {
    it(`should report no violation for the real definitions with the same seed and flows (${FLOWS[size]} flows)`, async () => {
      const report = await baseline(size);
      expect(report.violations.map((v) => `${v.invariant} (${v.machine}): ${v.reason}`)).toEqual([]);
      // Every invariant was judged at least once: a catch below is not a check that never runs.
      for (const name of Object.keys(CATALOGUE) as InvariantName[]) expect(report.invariants[name], name).toBeGreaterThan(0);
    });
  }

  it('should plant a broken variant for every invariant of the catalogue', () => {
    const planted = new Set(PLANTS.map((p) => p.invariant));
    expect((Object.keys(CATALOGUE) as InvariantName[]).filter((name) => !planted.has(name))).toEqual([]);
  });

  for (const plant of PLANTS) {
    const test = plant.gap === undefined ? it : it.fails;
    const title = plant.gap === undefined ? `should catch ${plant.invariant} when ${plant.bug}` : `should catch ${plant.invariant} when ${plant.bug} (KNOWN GAP: ${plant.gap})`;
    test(title, async () => {
      const report = await simulate(plant, plant.size ?? 'small');
      const seen = Object.fromEntries(Object.keys(CATALOGUE).map((k) => [k, caught(report, k as InvariantName).length]));
      expect(caught(report, plant.invariant).length, `violations by invariant: ${JSON.stringify(seen)}`).toBeGreaterThan(0);
    });
  }
});
