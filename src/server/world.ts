/**
 * The service's ports, assembled in one place. For now every store is in memory, but over the
 * real clock, Web Crypto randomness, a real code key and scrypt; each store can be replaced
 * (flow store, budgets, directory, sessions with their issuer, messenger) without touching the
 * rest, which is how the SQL and messaging adapters slot in.
 */
import * as E from 'fp-ts/lib/Either.js';
import { systemClock } from '../adapters/clocks.ts';
import { hmacCodeSecrets } from '../adapters/codeSecrets.ts';
import { commonPasswordBlocklist } from '../adapters/commonPasswords.ts';
import { scryptHasher } from '../adapters/hashers.ts';
import { MemoryAudit } from '../adapters/memory/audit.ts';
import { MemoryBlockedNumbers } from '../adapters/memory/blockedNumbers.ts';
import { MemoryBudgets } from '../adapters/memory/budgets.ts';
import { MemoryDirectory } from '../adapters/memory/directory.ts';
import { MemoryFlowStore } from '../adapters/memory/flowStore.ts';
import { MemoryInAppNotifier } from '../adapters/memory/inApp.ts';
import { MemoryMessenger } from '../adapters/memory/messenger.ts';
import { MemoryRealNameProvider } from '../adapters/memory/realNameProvider.ts';
import { MemorySecondFactors } from '../adapters/memory/secondFactors.ts';
import { MemorySessions } from '../adapters/memory/sessions.ts';
import { MemorySupportQueue } from '../adapters/memory/supportQueue.ts';
import { cryptoRandom } from '../adapters/random.ts';
import type { Locale } from '../domain/messages.ts';
import { makePolicy, type PolicyOverrides } from '../domain/policy.ts';
import type { AccountDirectory } from '../ports/accountDirectory.ts';
import type { Budgets } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { FlowStore } from '../ports/flowStore.ts';
import type { Messenger } from '../ports/messenger.ts';
import type { PasswordHasher } from '../ports/passwordHasher.ts';
import type { RandomSource } from '../ports/random.ts';
import type { Sessions } from '../ports/sessions.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import { createRuntime, type FlowRuntime } from '../runtime/runtime.ts';
import { type DevInbox, memoryDevInbox } from './devInbox.ts';
import { serviceFlows } from './flows.ts';
import { memorySessionIssuer, type SessionIssuer } from './sessions.ts';

export interface ServiceWorldConfig {
  readonly policy?: PolicyOverrides;
  /** The key codes and link tokens are derived from (≥ 16 bytes). Absent: random, so codes die with the process. */
  readonly codeKey?: Uint8Array;
  /** The key session tokens are signed with (≥ 32 bytes). Absent: random, so sessions die with the process. */
  readonly sessionKey?: Uint8Array;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  readonly hasher?: PasswordHasher;
  readonly store?: FlowStore;
  readonly budgets?: Budgets;
  readonly directory?: AccountDirectory;
  /** The Sessions port and what creates sessions in it at sign-in, always together. */
  readonly sessions?: { readonly sessions: Sessions; readonly issuer: SessionIssuer };
  readonly messenger?: Messenger;
  /**
   * `true`: the inbox over the in-memory messenger (refused with any other messenger, whose
   * adapter brings its own); or a DevInbox; absent or false: none.
   */
  readonly devInbox?: boolean | DevInbox;
  /** Where e-mailed reset links point: the page's `/recover`. */
  readonly resetLinkBase?: string;
  readonly locale?: Locale;
  readonly blockedNumbers?: Iterable<string>;
}

export interface ServiceWorld {
  readonly ports: FlowPorts;
  readonly runtime: FlowRuntime;
  readonly sessionIssuer: SessionIssuer;
  readonly sessionKey: Uint8Array;
  readonly devInbox: DevInbox | undefined;
}

/**
 * @example
 * const world = createServiceWorld({ resetLinkBase: 'https://accounts.example/recover' });
 * const app = createApp({ ...world, ports: world.ports });
 */
export const createServiceWorld = (config: ServiceWorldConfig = {}): ServiceWorld => {
  const policy = E.getOrElseW((e: { message: string }) => {
    throw new RangeError(e.message);
  })(makePolicy(config.policy ?? {}));
  const random = config.random ?? cryptoRandom;
  const codeSecrets = hmacCodeSecrets(config.codeKey ?? random.bytes(32));
  const messenger = config.messenger ?? new MemoryMessenger();
  const memorySessions = config.sessions === undefined ? new MemorySessions() : undefined;
  const sessions = config.sessions?.sessions ?? (memorySessions as MemorySessions);
  const sessionIssuer = config.sessions?.issuer ?? memorySessionIssuer(memorySessions as MemorySessions);
  let devInbox: DevInbox | undefined;
  if (config.devInbox === true) {
    if (!(messenger instanceof MemoryMessenger)) throw new TypeError('devInbox: true reads the in-memory messenger; pass the messaging adapter’s own inbox instead.');
    devInbox = memoryDevInbox(messenger);
  } else if (config.devInbox !== undefined && config.devInbox !== false) {
    devInbox = config.devInbox;
  }
  const ports: FlowPorts = {
    policy,
    clock: config.clock ?? systemClock,
    random,
    codeSecrets,
    secondFactors: new MemorySecondFactors(codeSecrets, policy),
    messenger,
    directory: config.directory ?? new MemoryDirectory(),
    sessions,
    hasher: config.hasher ?? scryptHasher(random),
    budgets: config.budgets ?? new MemoryBudgets(),
    store: config.store ?? new MemoryFlowStore(),
    audit: new MemoryAudit(),
    blockedNumbers: new MemoryBlockedNumbers(config.blockedNumbers),
    passwordBlocklist: commonPasswordBlocklist(),
    realNameProvider: new MemoryRealNameProvider(),
    inApp: new MemoryInAppNotifier(),
    supportQueue: new MemorySupportQueue(),
    locale: config.locale ?? 'en',
    resetLinkBase: config.resetLinkBase ?? 'http://127.0.0.1:3000/recover',
  };
  return { ports, runtime: createRuntime(ports, serviceFlows(ports)), sessionIssuer, sessionKey: config.sessionKey ?? random.bytes(32), devInbox };
};
