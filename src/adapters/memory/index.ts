/**
 * The embedded defaults: every port in memory, over a virtual clock and a seeded random
 * source. Tests, the simulation and the demo all start here; nothing needs a server.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type Policy, type PolicyOverrides, makePolicy } from '../../domain/policy.ts';
import type { Locale } from '../../domain/messages.ts';
import type { PasswordBlocklist } from '../../ports/passwordBlocklist.ts';
import type { FlowPorts } from '../../runtime/ports.ts';
import { VirtualClock } from '../clocks.ts';
import { hmacCodeSecrets } from '../codeSecrets.ts';
import { testOnlyHasher } from '../hashers.ts';
import { seededRandom } from '../random.ts';
import { trivialPatternBlocklist } from '../trivialPasswords.ts';
import { MemoryAudit } from './audit.ts';
import { MemoryBlockedNumbers } from './blockedNumbers.ts';
import { MemoryBudgets } from './budgets.ts';
import { rememberingChecks } from './codeSecrets.ts';
import { MemoryDirectory } from './directory.ts';
import { MemoryFlowStore } from './flowStore.ts';
import { MemoryInAppNotifier } from './inApp.ts';
import { MemoryMessenger } from './messenger.ts';
import { MemoryRealNameProvider } from './realNameProvider.ts';
import { MemorySecondFactors } from './secondFactors.ts';
import { MemorySessions } from './sessions.ts';
import { MemorySupportQueue } from './supportQueue.ts';

export interface MemoryWorld extends FlowPorts {
  readonly clock: VirtualClock;
  readonly messenger: MemoryMessenger;
  readonly directory: MemoryDirectory;
  readonly sessions: MemorySessions;
  readonly budgets: MemoryBudgets;
  readonly store: MemoryFlowStore;
  readonly audit: MemoryAudit;
  readonly blockedNumbers: MemoryBlockedNumbers;
  readonly realNameProvider: MemoryRealNameProvider;
  readonly secondFactors: MemorySecondFactors;
  readonly supportQueue: MemorySupportQueue;
  readonly inApp: MemoryInAppNotifier;
}

export interface MemoryWorldOptions {
  readonly seed?: number;
  readonly policy?: PolicyOverrides;
  readonly start?: number;
  readonly locale?: Locale;
  readonly messenger?: MemoryMessenger;
  readonly blocked?: Iterable<string>;
  readonly store?: MemoryFlowStore;
  /**
   * Refuses only trivial shapes (`12341234`, `abcdefgh`) unless given: the ~49,000-word list is
   * opt-in (`commonPasswordBlocklist()` from `account-flows/common-passwords`) so that the
   * embedded defaults stay small enough for a browser.
   */
  readonly passwordBlocklist?: PasswordBlocklist;
}

/**
 * @example
 * const world = createMemoryWorld({ seed: 1 });
 * const runtime = createRuntime(world, flows(world));
 */
export const createMemoryWorld = (options: MemoryWorldOptions = {}): MemoryWorld => {
  const policy: Policy = E.getOrElseW((e: { message: string }) => {
    throw new RangeError(e.message);
  })(makePolicy(options.policy ?? {}));
  const random = seededRandom(options.seed ?? 1);
  const codeSecrets = rememberingChecks(hmacCodeSecrets(random.bytes(32)));
  return {
    policy,
    clock: new VirtualClock(options.start),
    random,
    codeSecrets,
    secondFactors: new MemorySecondFactors(codeSecrets, policy),
    messenger: options.messenger ?? new MemoryMessenger(),
    directory: new MemoryDirectory(),
    sessions: new MemorySessions(),
    hasher: testOnlyHasher(random),
    budgets: new MemoryBudgets(),
    store: options.store ?? new MemoryFlowStore(),
    audit: new MemoryAudit(),
    blockedNumbers: new MemoryBlockedNumbers(options.blocked),
    passwordBlocklist: options.passwordBlocklist ?? trivialPatternBlocklist(),
    realNameProvider: new MemoryRealNameProvider(),
    inApp: new MemoryInAppNotifier(),
    supportQueue: new MemorySupportQueue(),
    locale: options.locale ?? 'en',
    resetLinkBase: 'https://accounts.example/recover',
  };
};
