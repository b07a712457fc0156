/**
 * The people of one world: accounts with bound phones and e-mails, handles, passwords,
 * second factors and friendships of various ages, plus numbers that belong to nobody, numbers
 * the operator blocks and numbers from outside the allowed regions.
 */
import * as O from 'fp-ts/lib/Option.js';
import type { MemoryWorld } from '../src/adapters/memory/index.ts';
import type { AccountId } from '../src/domain/account.ts';
import type { Email } from '../src/domain/email.ts';
import type { Handle } from '../src/domain/handle.ts';
import { totpAt } from '../src/domain/hotp.ts';
import type { Phone } from '../src/domain/phone.ts';
import { vouchKey, vouchRule } from '../src/domain/friendAssist.ts';
import { DAY } from '../src/domain/time.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../src/domain/totp.ts';
import type { Rng } from './rng.ts';

export interface Person {
  readonly id: AccountId;
  readonly phone: string;
  readonly email: string | null;
  readonly handle: string;
  readonly password: string;
  /** The authenticator app's secret, when the person enrolled TOTP. */
  readonly totpSecret: Uint8Array | null;
  readonly deactivated: boolean;
}

export interface Population {
  readonly people: readonly Person[];
  readonly unknownPhones: readonly string[];
  readonly unknownEmails: readonly string[];
  readonly blockedPhones: readonly string[];
  readonly foreignPhones: readonly string[];
  readonly freshPhones: readonly string[];
  /**
   * Accounts and numbers only enumeration pairs use, one pair each: a pair compares a bound and
   * an unbound identifier, which is only fair when no other flow has spent their budgets.
   */
  readonly pairs: { readonly person: Person; readonly unknownPhone: string; readonly unknownEmail: string }[];
  /**
   * Who is whose friend since when, as seeded (both directions, one entry a pair): the harness's
   * own record, so friend eligibility is judged without asking the directory the flow asks.
   */
  readonly friendships: Map<AccountId, Map<AccountId, number>>;
  /** People who vouched for somebody before the run began, and when: their vouch mark is spent. */
  readonly vouchedAt: ReadonlyMap<AccountId, number>;
  readonly byHandle: ReadonlyMap<string, Person>;
  /**
   * People only the friend and review personas pick, mostly friends among themselves and with a
   * few of `people`: a circle whose members are not recovered by SMS twice an afternoon, as the
   * busy shard's `people` are, so friends who can vouch exist at a believable rate.
   */
  readonly circle: readonly Person[];
}

/** Makes two people friends in the directory and in the population's own record. */
export const befriend = (world: MemoryWorld, friendships: Population['friendships'], a: AccountId, b: AccountId, since: number): void => {
  world.directory.befriend(a, b, since);
  for (const [x, y] of [[a, b], [b, a]] as const) {
    let mine = friendships.get(x);
    if (mine === undefined) friendships.set(x, (mine = new Map()));
    mine.set(y, since);
  }
};

/**
 * A valid Chinese mobile number: a three-digit prefix and eight digits. Worlds are separate, so
 * numbers need only be unique within one; wrapping keeps shard 100 and beyond valid numbers.
 */
const phone = (prefix: string, n: number): string => `+86${prefix}${String(n % 100_000_000).padStart(8, '0')}`;

/** Seeds the world's directory, second factors, sessions and friendships; returns who is who. */
export const populate = async (world: MemoryWorld, rng: Rng, size: number, shard: number, pairSlots = 0, circleSize = 0): Promise<Population> => {
  const people: Person[] = [];
  const now = world.clock.now();
  const base = shard * 1_000_000;
  const makePerson = async (rng: Rng, i: number, withEmail: boolean, mayBeClosed: boolean): Promise<Person> => {
    const number = phone('139', base + i);
    const email = withEmail ? `user${base + i}@example.com` : null;
    const handle = `user_${base + i}`;
    const password = `secret phrase of user ${base + i}`;
    const created = world.directory.createNow({
      phone: number as Phone,
      handle: handle as Handle,
      passwordHash: await world.hasher.hash(password),
      at: now - 400 * DAY,
      ...(email === null ? {} : { email: email as Email }),
    });
    if (!created.ok) throw new Error(`population clash: ${created.conflict}`);
    const id = created.account.id;
    let totpSecret: Uint8Array | null = null;
    if (rng.chance(0.15)) {
      const secretRef = `sim/${id}`;
      totpSecret = world.secondFactors.secretFor(secretRef);
      const at = now - 30 * DAY;
      const factor = confirmTotpEnrollment(startTotpEnrollment(secretRef, at, world.policy.totp), totpSecret, totpAt(totpSecret, at), at, world.policy.totp.skewSteps);
      if (O.isSome(factor)) await world.secondFactors.enroll(id, { factor: factor.value, backupCodeHashes: [] }, `seed-${id}`);
    }
    // Sessions on a couple of devices, so hardening has something to revoke.
    for (let s = rng.int(0, 2); s > 0; s--) world.sessions.signIn(id, 0, now - rng.int(1, 90) * DAY, rng.pick(['iPhone', 'Android', 'Windows PC', 'Mac']), rng.pick(['Shanghai', 'Beijing', 'Hangzhou', 'Shenzhen']));
    const deactivated = mayBeClosed && rng.chance(0.03);
    if (deactivated) world.directory.deactivate(id);
    return { id, phone: number, email, handle, password, totpSecret, deactivated };
  };
  for (let i = 0; i < size + pairSlots; i++) people.push(await makePerson(rng, i, i >= size || rng.chance(0.6), i < size));
  const pairPeople = people.splice(size);
  // Friendships: most old, some recent (ineligible as witnesses). One friendship a pair: two
  // records with different ages would leave "friends since when" to the order of a list.
  const friendships: Population['friendships'] = new Map();
  for (const person of people) {
    for (let f = rng.int(4, 8); f > 0; f--) {
      const other = rng.pick(people);
      if (other.id === person.id || friendships.get(person.id)?.has(other.id) === true) continue;
      const since = rng.chance(0.8) ? now - rng.int(60, 900) * DAY : now - rng.int(1, 20) * DAY;
      befriend(world, friendships, person.id, other.id, since);
    }
  }
  // Some vouched for somebody in the last weeks: a few of them are still inside the cooldown.
  const vouchedAt = new Map<AccountId, number>();
  for (const person of people) {
    if (!rng.chance(0.06)) continue;
    const at = now - rng.int(1, 45) * DAY;
    world.budgets.consumeNow(vouchKey(person.id), vouchRule(world.policy), at);
    vouchedAt.set(person.id, at);
  }
  // Drawn from a stream of its own, after everything else: the rest of the world stays as it was.
  const circleRng = rng.fork('circle');
  const circle: Person[] = [];
  for (let i = 0; i < circleSize; i++) circle.push(await makePerson(circleRng, size + pairSlots + i, circleRng.chance(0.6), true));
  for (const person of circle) {
    for (let f = circleRng.int(5, 9); f > 0; f--) {
      const other = circleRng.chance(0.85) ? circleRng.pick(circle) : circleRng.pick(people);
      if (other.id === person.id || friendships.get(person.id)?.has(other.id) === true) continue;
      const since = circleRng.chance(0.85) ? now - circleRng.int(60, 900) * DAY : now - circleRng.int(1, 20) * DAY;
      befriend(world, friendships, person.id, other.id, since);
    }
    if (circleRng.chance(0.06)) {
      const at = now - circleRng.int(1, 45) * DAY;
      world.budgets.consumeNow(vouchKey(person.id), vouchRule(world.policy), at);
      vouchedAt.set(person.id, at);
    }
  }
  const list = (prefix: string, n: number, offset = 0) => Array.from({ length: n }, (_, i) => phone(prefix, base + offset + i));
  const blocked = list('135', Math.max(3, size >> 4));
  for (const number of blocked) world.blockedNumbers.block(number);
  return {
    people,
    unknownPhones: list('137', Math.max(5, size >> 2)),
    unknownEmails: Array.from({ length: Math.max(5, size >> 2) }, (_, i) => `nobody${base + i}@example.com`),
    blockedPhones: blocked,
    foreignPhones: Array.from({ length: 5 }, (_, i) => `+1202555${String(100 + i).padStart(4, '0')}`),
    freshPhones: list('138', size * 2),
    pairs: pairPeople.map((person, i) => ({ person, unknownPhone: phone('136', base + i), unknownEmail: `stranger${base + i}@example.com` })),
    friendships,
    vouchedAt,
    byHandle: new Map([...people, ...circle].map((p) => [p.handle, p])),
    circle,
  };
};
