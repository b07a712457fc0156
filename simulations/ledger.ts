/**
 * The harness's own record of what the friend-assisted and manual-review personas did, and when:
 * who was named, who confirmed or refused from which session, when the owner stopped a flow,
 * what support decided. The invariants judge those flows by this record and by the population,
 * never by what a machine keeps in its context. Personas write an entry before they send the
 * event (an observer may judge it while it is in flight) and settle it with the runtime's answer.
 */
import type { AccountId } from '../src/domain/account.ts';
import { recoveringKey } from '../src/domain/friendAssist.ts';
import type { Policy } from '../src/domain/policy.ts';
import { befriend, type Person, type Population } from './population.ts';
import type { Driver, Sim } from './sim.ts';

/** Why the harness thinks a friend may not vouch (the names follow the documented rule). */
export type NotCounted = 'not_nominated' | 'late' | 'duplicate' | 'not_a_friend' | 'inactive' | 'friends_too_recently' | 'recently_recovered' | 'under_recovery' | 'vouched_recently';

export interface Confirmation {
  readonly friendId: AccountId;
  readonly at: number;
  /** The harness's verdict: null when it counts. */
  readonly reason: NotCounted | null;
  /** The runtime refused the event at its boundary: it never reached the flow. */
  retracted: boolean;
  /**
   * Whether the shared vouch mark was spent for it (the port decides between two flows racing for
   * one friend); null until the flow's outbox has asked. Only a spent vouch counts.
   */
  spent: boolean | null;
}

export interface FriendRecord {
  readonly driver: Driver;
  /** The account the requester named, when it was an active account; null for an unknown or closed one. */
  account: AccountId | null;
  /** When the nominations were taken: the window is `[t0, t0 + windowMs)`. */
  t0: number | null;
  readonly nominees: { readonly friendId: AccountId | null; readonly nominatedAt: number; replacedAt: number | null }[];
  readonly confirmations: Confirmation[];
  /** Refusals the documented rule honours: a friend ever named, a friend of the account, active, before the password. */
  readonly refusals: { readonly friendId: AccountId; readonly at: number }[];
  /** Stops from a live session of the named account before any password was accepted. */
  readonly ownerStops: number[];
  /** Such stops the owner's screen refused, the flow still running. */
  readonly refusedStops: number[];
  /** The first new password the flow accepted. */
  passwordAt: number | null;
  /** Friends whose vouch the flow asked the port to spend, oldest first: its outbox answers in this order. */
  readonly asked: AccountId[];
}

export interface ReviewRecord {
  readonly driver: Driver;
  account: AccountId | null;
  approval: { readonly at: number; readonly resetSecondFactor: boolean } | null;
  /** Support rejected inside the dispute window of its approval: it upheld a dispute. */
  rejectedAt: number | null;
  readonly ownerStops: number[];
  readonly refusedStops: number[];
  passwordAt: number | null;
}

export class Ledger {
  readonly #friends = new Map<Driver, FriendRecord>();
  readonly #reviews = new Map<Driver, ReviewRecord>();
  /** Vouches the port spent per friend, as the flows' outboxes heard it (seeded ones apart). */
  readonly #vouches = new Map<AccountId, number[]>();
  /** Nominations that opened a window against an account: it is "under recovery" for a while. */
  readonly nominations = new Map<AccountId, number[]>();
  readonly #recoveries = new Map<AccountId, number[]>();
  readonly #factorResetAt = new Map<AccountId, number>();
  #byId: Map<string, Person> | undefined;

  constructor(private readonly sim: Sim) {}

  get #population(): Population {
    return this.sim.population;
  }

  get #policy(): Policy {
    return this.sim.world.policy;
  }

  // -- the world's facts, as the harness made or saw them ----------------------------------------

  /** A friendship the persona makes now (an attacker's new "friends"); one a pair, as in the population. */
  befriend(a: AccountId, b: AccountId, since: number): void {
    if (a !== b && !this.friendsOf(a).has(b)) befriend(this.sim.world, this.#population.friendships, a, b, since);
  }

  friendsOf(id: AccountId): ReadonlyMap<AccountId, number> {
    return this.#population.friendships.get(id) ?? new Map();
  }

  /** The operator closes an account mid-run. */
  deactivate(id: AccountId): void {
    this.sim.world.directory.deactivate(id);
  }

  /**
   * Whether the account is open now. Operators close accounts in several personas and none
   * reopens one, so an account open now was open at every earlier instant the rule asks about.
   */
  isActive(id: AccountId): boolean {
    return this.sim.world.directory.peek(id)?.status === 'active';
  }

  person(id: AccountId | string | null | undefined): Person | undefined {
    if (id == null) return undefined;
    this.#byId ??= new Map([...this.#population.people, ...this.#population.circle].map((p) => [p.id as string, p]));
    return this.#byId.get(id);
  }

  recovered(id: AccountId, at: number): void {
    push(this.#recoveries, id, at);
  }

  factorReset(id: AccountId, at: number): void {
    if (!this.#factorResetAt.has(id)) this.#factorResetAt.set(id, at);
  }

  /** Whether the account has a second factor at `at`: enrolled at seeding and not reset by support since. */
  hasFactor(id: AccountId | string, at: number): boolean {
    const person = this.person(id);
    if (person?.totpSecret == null) return false;
    const reset = this.#factorResetAt.get(person.id);
    return reset === undefined || reset > at;
  }

  /** People whose vouch mark is spent at `at`: what an honest requester cannot know, an attacker may use. */
  vouchedRecently(id: AccountId, at: number): boolean {
    const seeded = this.#population.vouchedAt.get(id);
    const times = [...(this.#vouches.get(id) ?? []), ...(seeded === undefined ? [] : [seeded])];
    return times.some((v) => v <= at && v > at - this.#policy.friends.vouchCooldownMs);
  }

  // -- friend-assisted flows ------------------------------------------------------------------

  friendFlow(driver: Driver): FriendRecord {
    let record = this.#friends.get(driver);
    if (record === undefined) {
      record = { driver, account: null, t0: null, nominees: [], confirmations: [], refusals: [], ownerStops: [], refusedStops: [], passwordAt: null, asked: [] };
      this.#friends.set(driver, record);
    }
    return record;
  }

  friendRecordOf(driver: Driver | undefined): FriendRecord | undefined {
    return driver === undefined ? undefined : this.#friends.get(driver);
  }

  /** The nominations opened the window at `at`: each nominee is named from then on. */
  nominated(record: FriendRecord, friendIds: readonly (AccountId | null)[], at: number): void {
    record.t0 = at;
    for (const friendId of friendIds) record.nominees.push({ friendId, nominatedAt: at, replacedAt: null });
    if (record.account !== null) push(this.nominations, record.account, at);
  }

  replaced(record: FriendRecord, old: AccountId | null, added: AccountId | null, at: number): void {
    const entry = record.nominees.find((n) => n.friendId === old && n.replacedAt === null);
    if (entry !== undefined) entry.replacedAt = at;
    record.nominees.push({ friendId: added, nominatedAt: at, replacedAt: null });
  }

  /** A friend confirms now: the harness's verdict by the documented rule, written before the event is sent. */
  confirming(record: FriendRecord, friendId: AccountId, at: number): Confirmation {
    const confirmation: Confirmation = { friendId, at, reason: this.#verdict(record, friendId, at), retracted: false, spent: null };
    record.confirmations.push(confirmation);
    return confirmation;
  }

  /** The runtime refused the confirmation at its boundary (a finished flow, a dead session): it never reached the flow. */
  retract(confirmation: Confirmation): void {
    confirmation.retracted = true;
  }

  /** The flow's outbox asked the port to spend this friend's vouch. */
  askedToSpend(record: FriendRecord, friendId: AccountId): void {
    record.asked.push(friendId);
  }

  /**
   * The port answered the oldest open request of this flow: spent at `at`, or refused. Returns
   * the friend, and whether a vouch of theirs had already counted within the cooldown.
   */
  answered(record: FriendRecord, allowed: boolean, at: number): { readonly friendId: AccountId; readonly again: boolean } | undefined {
    const friendId = record.asked.shift();
    if (friendId === undefined) return undefined;
    const again = allowed && this.vouchedRecently(friendId, at);
    if (allowed) push(this.#vouches, friendId, at);
    const confirmation = record.confirmations.find((c) => c.friendId === friendId && c.reason === null && !c.retracted && c.spent === null);
    if (confirmation !== undefined) confirmation.spent = allowed;
    return { friendId, again };
  }

  /** The confirmations that count: the rule allowed them and the port did not refuse the vouch. */
  counted(record: FriendRecord): readonly Confirmation[] {
    return record.confirmations.filter((c) => c.reason === null && !c.retracted && c.spent !== false);
  }

  /** A refusal now; kept only when the documented rule honours it. */
  refusing(record: FriendRecord, friendId: AccountId, at: number): void {
    const named = record.nominees.some((n) => n.friendId === friendId);
    const friend = record.account !== null && this.friendsOf(record.account).has(friendId);
    if (named && friend && this.isActive(friendId) && record.passwordAt === null) record.refusals.push({ friendId, at });
  }

  /** The owner stops now; returns whether the documented rule says this stop must win. */
  ownerStopping(record: FriendRecord | ReviewRecord, at: number): boolean {
    const valid = record.account !== null && this.isActive(record.account) && record.passwordAt === null;
    if (valid) record.ownerStops.push(at);
    return valid;
  }

  /** What the owner's screen said to a stop that must win: it ended the flow, or the flow had ended. */
  ownerStopAnswered(record: FriendRecord | ReviewRecord, at: number, ended: boolean): void {
    if (!ended) record.refusedStops.push(at);
  }

  passwordAccepted(record: FriendRecord | ReviewRecord, at: number): void {
    record.passwordAt ??= at;
  }

  /**
   * The documented rule (src/domain/friendAssist.ts), recomputed from the population and this
   * record: a current nominee, inside the window, not counted before in this flow, and eligible on
   * the facts at nomination and again now.
   */
  #verdict(record: FriendRecord, friendId: AccountId, at: number): NotCounted | null {
    const nominee = record.nominees.find((n) => n.friendId === friendId && (n.replacedAt === null || n.replacedAt > at));
    if (nominee === undefined || record.t0 === null) return 'not_nominated';
    if (this.counted(record).some((c) => c.friendId === friendId)) return 'duplicate';
    if (at >= record.t0 + this.#policy.friends.windowMs) return 'late';
    if (record.account === null) return 'not_a_friend';
    const since = this.friendsOf(record.account).get(friendId);
    if (since === undefined) return 'not_a_friend';
    const { minFriendshipMs, windowMs, disputeWaitMs } = this.#policy.friends;
    const hold = this.#policy.recovery.sensitiveHoldMs;
    if (!this.isActive(friendId)) return 'inactive';
    if (since + minFriendshipMs > nominee.nominatedAt) return 'friends_too_recently';
    // The "under recovery" mark lands when the other flow's outbox runs, which a crash can hold
    // back by minutes: the marks the world holds say when, the harness's nominations only say since.
    const marks = this.sim.world.budgets.spent(recoveringKey(friendId, ''));
    for (const t of [nominee.nominatedAt, at]) {
      if ((this.#recoveries.get(friendId) ?? []).some((r) => r <= t && r + hold > t)) return 'recently_recovered';
      if (marks.some((m) => m <= t && m > t - (windowMs + disputeWaitMs))) return 'under_recovery';
      if (this.vouchedRecently(friendId, t)) return 'vouched_recently';
    }
    return null;
  }

  // -- manual review --------------------------------------------------------------------------

  reviewFlow(driver: Driver): ReviewRecord {
    let record = this.#reviews.get(driver);
    if (record === undefined) {
      record = { driver, account: null, approval: null, rejectedAt: null, ownerStops: [], refusedStops: [], passwordAt: null };
      this.#reviews.set(driver, record);
    }
    return record;
  }

  reviewRecordOf(driver: Driver | undefined): ReviewRecord | undefined {
    return driver === undefined ? undefined : this.#reviews.get(driver);
  }
}

const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
};
