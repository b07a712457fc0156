/**
 * Friend-assisted recovery (seed 000): a requester names an account and 3-5 friends, and the
 * friends answer from their own signed-in sessions — fast, slowly (the seed's 1-3 hours), too
 * late, twice, or "this is not my friend's request". Around them: impostors who were never named
 * and confirm anyway, attackers who name strangers and friends they added last week, owners who
 * stop the flow from a live session, requesters who replace a friend who does not answer, run
 * two recoveries at once, cancel or walk away. After the dispute wait the requester passes the
 * second factor (when enrolled), sets a password and finishes the security review.
 *
 * Every act is written into the harness's ledger before it is sent, so the invariants judge the
 * flow by what the people did, not by what the flow says it counted.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AccountId } from '../../src/domain/account.ts';
import { totpAt } from '../../src/domain/hotp.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import type { HostSession, StepResult } from '../../src/runtime/runtime.ts';
import type { FriendRecord, Ledger, ReviewRecord } from '../ledger.ts';
import type { Person } from '../population.ts';
import type { Driver, Sim } from '../sim.ts';
import { guess, leaveReview, MINUTE, SECOND } from './common.ts';

export const FRIEND_PERSONAS = ['honest', 'attacker', 'unknown', 'deactivated', 'rival', 'walkaway', 'canceller', 'race'] as const;
export type FriendPersona = (typeof FRIEND_PERSONAS)[number];

/**
 * How many flows a persona starts: the rival runs three recoveries of one account at once; the
 * race is two recoveries of two accounts that named the same friend.
 */
export const friendFlows = (persona: FriendPersona): number => (persona === 'rival' ? 3 : persona === 'race' ? 2 : 1);

/**
 * Whether the event reached the flow. A host that died right after saving answers with a port
 * failure, yet the step was taken: the person sees an error, the flow moved on.
 */
export const applied = (result: StepResult): boolean => E.isRight(result) || result.left.code === 'port_failure';

/** What one named friend does once asked. */
type Answer = 'fast' | 'slow' | 'late' | 'silent' | 'twice' | 'refuse';

interface Nominee {
  readonly handle: string;
  readonly id: AccountId | null;
  readonly answer: Answer;
}

interface Plan {
  readonly persona: FriendPersona;
  /** The account's owner, when the handle names a person of this world. */
  readonly person: Person | null;
  readonly handle: string;
  readonly nominees: readonly Nominee[];
  /** Friends the requester can name instead of one who stays silent. */
  readonly spares: readonly Nominee[];
  /** When (after the nomination) the owner stops the flow from a live session; null when never. */
  readonly ownerStopAfter: number | null;
  readonly cancelAfter: number | null;
  /** How far the requester gets before leaving: 'all' plays to the end. */
  readonly leaves: 'start' | 'account' | 'all';
  /** Whether the requester holds the account's authenticator. */
  readonly knowsFactor: boolean;
}

/** The seed's "1-3 hours" for a friend who answers when they get round to it. */
const ANSWER_WEIGHTS: readonly (readonly [Answer, number])[] = [['fast', 30], ['slow', 52], ['twice', 7], ['late', 4], ['silent', 6], ['refuse', 0.5]];

/** A fresh session of the person's account at its current epoch, as the host's own login makes. */
export const signIn = async (sim: Sim, id: AccountId, device = 'phone'): Promise<HostSession> => {
  const account = await sim.world.directory.get(id);
  const session = sim.world.sessions.signIn(id, account?.securityEpoch ?? 0, sim.world.clock.now(), device, 'Suzhou');
  return { actor: id, sessionId: session.id };
};

/**
 * The owner, from a fresh session of their own account, stops a recovery. A stop the documented
 * rule says must win is noted, and so is what the owner's screen answered to it.
 */
export const stopAsOwner = async (sim: Sim, driver: Driver, ledger: Ledger, record: FriendRecord | ReviewRecord, ownerId: AccountId, device: string): Promise<void> => {
  if (driver.done) return;
  const session = await signIn(sim, ownerId, device);
  const at = sim.world.clock.now();
  const mustWin = ledger.ownerStopping(record, at);
  const result = await driver.send({ type: 'owner.stop' }, 'none', session);
  if (mustWin) ledger.ownerStopAnswered(record, at, E.isRight(result) ? result.right.view.done === true : result.left.code === 'port_failure' || result.left.code === 'flow_finished');
};

/** Everyone a friend-assisted persona may meet: the busy world and the quieter circle. */
const everyone = (sim: Sim): readonly Person[] => [...sim.population.people, ...sim.population.circle];

/** Someone this world knows who is not the account and not yet chosen. */
const someoneElse = (driver: Driver, people: readonly Person[], taken: ReadonlySet<string>): Person | null => {
  for (let tries = 0; tries < 8; tries++) {
    const p = driver.rng.pick(people);
    if (!taken.has(p.id)) return p;
  }
  return null;
};

const planFor = (sim: Sim, driver: Driver, ledger: Ledger, persona: FriendPersona, person: Person | null, exclude: ReadonlySet<string> = new Set()): Plan => {
  const { rng } = driver;
  const now = sim.world.clock.now();
  const { minFriendshipMs } = sim.world.policy.friends;
  const people = everyone(sim);
  const taken = new Set<string>([...(person === null ? [] : [person.id]), ...exclude]);
  const nominees: Nominee[] = [];
  const add = (p: Person | null, answer: Answer): void => {
    if (p === null || taken.has(p.id)) return;
    taken.add(p.id);
    nominees.push({ handle: p.handle, id: p.id, answer });
  };
  const friends = person === null ? [] : [...ledger.friendsOf(person.id).entries()].filter(([id]) => !exclude.has(id));
  const old = friends.filter(([, since]) => since + minFriendshipMs <= now - DAY).map(([id]) => ledger.person(id)).filter((p): p is Person => p !== undefined);
  const recent = friends.filter(([, since]) => since + minFriendshipMs > now - DAY).map(([id]) => ledger.person(id)).filter((p): p is Person => p !== undefined);
  const pickFrom = (pool: readonly Person[]): Person | null => {
    const free = pool.filter((p) => !taken.has(p.id));
    return free.length === 0 ? null : rng.pick(free);
  };
  // Most name as many friends as they may: the more asked, the likelier three answer in time.
  const count = rng.weighted<number>([[3, 20], [4, 30], [5, 50]]);
  if (persona === 'attacker' && person !== null) {
    // Friends added last week (the attacker's own accounts), strangers, and maybe a real friend or two.
    for (let i = rng.int(1, 3); i > 0 && nominees.length < count; i--) {
      const puppet = someoneElse(driver, people, taken);
      if (puppet === null) continue;
      ledger.befriend(person.id, puppet.id, now - rng.int(1, 20) * DAY);
      add(puppet, rng.chance(0.8) ? 'fast' : 'slow');
    }
    for (let i = rng.int(0, 2); i > 0 && nominees.length < count; i--) add(pickFrom(old), rng.weighted<Answer>([['refuse', 40], ['fast', 35], ['silent', 25]]));
    while (nominees.length < count) {
      const stranger = someoneElse(driver, people, taken);
      if (stranger === null) break;
      add(stranger, 'fast');
    }
  } else {
    for (let slot = 0; slot < count; slot++) {
      const answer = rng.weighted(ANSWER_WEIGHTS);
      const kind = rng.weighted<'old' | 'recent' | 'stranger' | 'voucher'>([['old', 91], ['recent', 3], ['stranger', 2], ['voucher', 4]]);
      const vouchers = old.filter((p) => ledger.vouchedRecently(p.id, now));
      const chosen = kind === 'recent' ? pickFrom(recent) : kind === 'voucher' ? pickFrom(vouchers) : kind === 'stranger' ? someoneElse(driver, people, taken) : null;
      add(chosen ?? pickFrom(old) ?? someoneElse(driver, people, taken), answer);
    }
  }
  const spares: Nominee[] = [];
  for (let i = 0; i < 3; i++) {
    const spare = pickFrom(old) ?? someoneElse(driver, people, taken);
    if (spare === null) break;
    taken.add(spare.id);
    spares.push({ handle: spare.handle, id: spare.id, answer: rng.weighted<Answer>([['fast', 40], ['slow', 55], ['silent', 5]]) });
  }
  // A handle nobody has: an honest typo, or the unknown-account requester's guesses.
  if (persona === 'unknown' || (nominees.length < 5 && rng.chance(0.03))) nominees.push({ handle: `nobody_${sim.options.shard}_${driver.ordinal}`, id: null, answer: 'fast' });
  while (nominees.length < 3) nominees.push({ handle: `nobody_${nominees.length}_${driver.ordinal}`, id: null, answer: 'silent' });
  const window = sim.world.policy.friends.windowMs + sim.world.policy.friends.disputeWaitMs;
  return {
    persona,
    person,
    handle: person?.handle ?? `ghost_${sim.options.shard}_${driver.ordinal}`,
    nominees: nominees.slice(0, 5),
    spares,
    // The owner is told at once (every channel, every live session): most who react do so within hours.
    ownerStopAfter: persona !== 'attacker' || !rng.chance(0.7) ? null : rng.chance(0.8) ? rng.int(5 * MINUTE, 12 * HOUR) : rng.int(12 * HOUR, window - HOUR),
    cancelAfter: persona === 'canceller' ? (rng.chance(0.5) ? rng.int(10 * MINUTE, 20 * HOUR) : rng.int(26 * HOUR, 40 * HOUR)) : null,
    leaves: persona === 'walkaway' ? rng.pick(['start', 'account'] as const) : 'all',
    // The phone that is gone often held the authenticator app too.
    knowsFactor: persona !== 'attacker' && rng.chance(0.8),
  };
};

/** What a scripted scene can do once the window is open. */
interface Scene {
  readonly record: FriendRecord;
  confirm(friendId: AccountId): Promise<void>;
}

/** Plays the requester and everyone around one flow. */
const play = async (sim: Sim, driver: Driver, ledger: Ledger, plan: Plan, onWindow?: (scene: Scene) => void): Promise<void> => {
  const record = ledger.friendFlow(driver);
  const started = await driver.start();
  if (E.isLeft(started)) return;
  const token = started.right.view['requesterToken'] as string;
  driver.notes['secrets'] = [token];
  driver.notes['person'] = plan.person?.id ?? null;
  const requester = (event: Record<string, unknown> & { readonly type: string }, tag: 'real' | 'guess' | 'none' = 'none'): Promise<StepResult> =>
    driver.send({ ...event, token }, tag);
  const now = (): number => sim.world.clock.now();
  if (plan.leaves === 'start') return;

  driver.later(driver.rng.int(20, 120) * SECOND, async () => {
    const person = plan.person;
    record.account = person !== null && ledger.isActive(person.id) ? person.id : null;
    await requester({ type: 'account.submit', handle: plan.handle });
    if (plan.leaves === 'account') return;
    driver.later(driver.rng.int(1, 5) * MINUTE, async () => {
      // One in ten first names too few friends and is told to name three to five.
      if (driver.rng.chance(0.1)) await requester({ type: 'friends.nominate', handles: plan.nominees.slice(0, 2).map((n) => n.handle) });
      const nominatedAt = now();
      const reply = await requester({ type: 'friends.nominate', handles: plan.nominees.map((n) => n.handle) });
      const opened = (): void => {
        ledger.nominated(record, plan.nominees.map((n) => n.id), nominatedAt);
        const scene = around(sim, driver, ledger, record, plan, requester);
        onWindow?.(scene);
      };
      if (E.isLeft(reply) && reply.left.code === 'port_failure') {
        // The host died after taking the names: the person looks again once it is back.
        const look = (tries: number): void =>
          driver.later(driver.rng.int(2, 15) * MINUTE, async () => {
            if (driver.state === 'awaitingFriends') opened();
            else if (driver.state === 'checkingNominations' && tries > 0) look(tries - 1);
          });
        look(6);
        return;
      }
      if (E.isLeft(reply) || driver.state !== 'awaitingFriends') {
        // Refused for now ("try again in 5 days"): most leave it, some withdraw.
        if (driver.rng.chance(0.4)) driver.later(driver.rng.int(1, 30) * MINUTE, async () => void (driver.done ? undefined : await requester({ type: 'flow.cancel' })));
        return;
      }
      opened();
    });
  });
};

/** Everything after the window opened: friends, impostors, the owner, replacements, the finish. */
const around = (
  sim: Sim,
  driver: Driver,
  ledger: Ledger,
  record: FriendRecord,
  plan: Plan,
  requester: (event: Record<string, unknown> & { readonly type: string }, tag?: 'real' | 'guess' | 'none') => Promise<StepResult>,
): Scene => {
  const { rng } = driver;
  const now = (): number => sim.world.clock.now();
  const { windowMs, maxReplacements } = sim.world.policy.friends;
  let finishing = false;
  const told = new Map<AccountId, string>();

  const watch = (): void => {
    if (finishing || driver.state !== 'disputeWait') return;
    const endsAt = driver.last?.view['disputeEndsAt'];
    if (typeof endsAt !== 'number') return;
    finishing = true;
    // Back "the next day", some minutes to hours after the wait ended (the flow woke at its end).
    driver.later(endsAt - now() + rng.int(1 * MINUTE, 3 * HOUR), () => finish(sim, driver, ledger, record, plan, requester));
  };
  // Whoever missed the news (an error page when the quorum came) looks again two days on.
  driver.later(windowMs + sim.world.policy.friends.disputeWaitMs + rng.int(1 * HOUR, 4 * HOUR), async () => {
    if (finishing || driver.done) return;
    watch();
    if (!finishing && driver.state !== 'awaitingFriends') await finish(sim, driver, ledger, record, plan, requester);
  });

  const confirm = async (friendId: AccountId): Promise<void> => {
    if (driver.done) return;
    const session = await signIn(sim, friendId);
    const entry = ledger.confirming(record, friendId, now());
    const result = await driver.send({ type: 'friend.confirm' }, 'none', session);
    if (!applied(result)) ledger.retract(entry);
    // What the friend's own screen said; they tell the requester when it did not count.
    if (E.isRight(result)) told.set(friendId, String(result.right.view['yourConfirmation'] ?? ''));
    watch();
  };
  const refuse = async (friendId: AccountId): Promise<void> => {
    if (driver.done) return;
    const session = await signIn(sim, friendId);
    ledger.refusing(record, friendId, now());
    await driver.send({ type: 'friend.refuse' }, 'none', session);
  };
  const answer = (nominee: Nominee): void => {
    const id = nominee.id;
    if (id === null) return;
    switch (nominee.answer) {
      case 'fast':
        driver.later(rng.int(1 * MINUTE, 30 * MINUTE), () => confirm(id));
        return;
      case 'slow':
        driver.later(rng.int(1 * HOUR, 3 * HOUR), () => confirm(id));
        return;
      case 'late':
        driver.later(windowMs + rng.int(1 * MINUTE, 6 * HOUR), () => confirm(id));
        return;
      case 'twice': {
        const first = rng.int(1 * MINUTE, 3 * HOUR);
        driver.later(first, () => confirm(id));
        driver.later(first + rng.int(5 * MINUTE, 90 * MINUTE), () => confirm(id));
        return;
      }
      case 'refuse':
        driver.later(rng.int(10 * MINUTE, 3 * HOUR), () => refuse(id));
        return;
      case 'silent':
        return;
    }
  };
  for (const nominee of plan.nominees) answer(nominee);

  // People never named who answer anyway: a confirmation that must not count, a refusal to ignore.
  const named = new Set(plan.nominees.map((n) => n.id));
  for (let i = rng.int(0, 2); i > 0; i--) {
    const impostor = rng.pick(everyone(sim));
    if (named.has(impostor.id) || impostor.id === plan.person?.id) continue;
    const at = rng.int(5 * MINUTE, 20 * HOUR);
    driver.later(at, () => (rng.chance(0.25) ? refuse(impostor.id) : confirm(impostor.id)));
  }

  // A friend who does not answer, or whose screen said it did not count, is replaced while the
  // window is open and replacements are left (one in ten asks for one more than allowed).
  driver.later(rng.int(3 * HOUR, 10 * HOUR), async () => {
    const quiet = plan.nominees.filter((n) => n.id === null || (told.get(n.id) ?? 'silent') !== 'counted');
    if (quiet.length === 0 || plan.spares.length === 0) return;
    {
      for (let i = 0; i < Math.min(quiet.length, plan.spares.length, maxReplacements + (rng.chance(0.1) ? 1 : 0)); i++) {
        if (driver.state !== 'awaitingFriends') return;
        const old = quiet[i] as Nominee;
        const spare = plan.spares[i] as Nominee;
        const result = await requester({ type: 'friends.replace', old: old.handle, new: spare.handle });
        if (!applied(result)) return;
        ledger.replaced(record, old.id, spare.id, now());
        answer(spare);
      }
    }
  });

  const owner = plan.person;
  if (plan.ownerStopAfter !== null && owner !== null) {
    driver.later(plan.ownerStopAfter, async () => {
      await stopAsOwner(sim, driver, ledger, record, owner.id, 'Windows PC');
    });
  }
  if (plan.cancelAfter !== null) {
    driver.later(plan.cancelAfter, async () => {
      if (!driver.done && !driver.state.startsWith('hardening')) await requester({ type: 'flow.cancel' });
    });
  }
  return { record, confirm };
};

/** After the dispute wait: the second factor, a new password, the security review — wherever the flow stands. */
const finish = async (
  sim: Sim,
  driver: Driver,
  ledger: Ledger,
  record: FriendRecord,
  plan: Plan,
  requester: (event: Record<string, unknown> & { readonly type: string }, tag?: 'real' | 'guess' | 'none') => Promise<StepResult>,
): Promise<void> => {
  if (driver.done) return;
  const person = plan.person;
  // After an error page the person comes back a little later and carries on where the flow is.
  const again = (result: StepResult): boolean => {
    if (E.isRight(result) || result.left.code !== 'port_failure') return false;
    driver.later(driver.rng.int(20, 60) * MINUTE, () => finish(sim, driver, ledger, record, plan, requester));
    return true;
  };
  if (driver.state === 'secondFactor') {
    const secret = person?.totpSecret ?? null;
    if (!plan.knowsFactor || secret === null) {
      for (let i = 0; i < 6 && driver.state === 'secondFactor'; i++) if (again(await requester({ type: 'secondFactor.submit', code: guess(driver) }, 'guess'))) return;
      return;
    }
    if (driver.rng.chance(0.15) && again(await requester({ type: 'secondFactor.submit', code: guess(driver) }, 'guess'))) return;
    if (again(await requester({ type: 'secondFactor.submit', code: totpAt(secret, sim.world.clock.now()) }, 'real'))) return;
  }
  if (driver.state === 'hardening.choosingPassword') {
    if (person !== null && driver.rng.chance(0.25)) await requester({ type: 'password.submit', password: person.password });
    const password = `friends helped me back ${driver.ordinal} ${driver.rng.digits(4)}`;
    driver.notes['passwords'] = [...((driver.notes['passwords'] as string[] | undefined) ?? []), password];
    const set = await requester({ type: 'password.submit', password });
    if (applied(set)) ledger.passwordAccepted(record, sim.world.clock.now());
    if (again(set)) return;
  }
  // The new password is still being applied (the host stumbled): look again a little later.
  if ((driver.state as string) === 'hardening.applying') {
    driver.later(driver.rng.int(20, 60) * MINUTE, () => finish(sim, driver, ledger, record, plan, requester));
    return;
  }
  if ((driver.state as string) === 'hardening.reviewingSecurity') {
    const logins = (driver.last?.view['recentLogins'] as { sessionId: string }[] | undefined) ?? [];
    const stranger = logins[0];
    if (stranger !== undefined && driver.rng.chance(0.3) && again(await requester({ type: 'session.revoke', sessionId: stranger.sessionId }))) return;
    await leaveReview(driver, async (event) => void again(await requester(event)));
  }
};

export const spawnFriendAssist = (sim: Sim, at: number, persona: FriendPersona, ledger: Ledger): Driver[] => {
  const drivers = Array.from({ length: friendFlows(persona) }, () => sim.driver('friendAssist', persona));
  const first = drivers[0] as Driver;
  sim.queue.push(at, first.ordinal, async () => {
    if (persona === 'race' && race(sim, drivers, ledger)) return;
    // Attackers go after somebody of the busy world, who is signed in somewhere and has real
    // friends there; requesters in earnest are of the circle, whose friends can still vouch.
    const pool = persona === 'attacker' || sim.population.circle.length === 0 ? sim.population.people : sim.population.circle;
    const active = pool.filter((p) => ledger.isActive(p.id));
    const closed = everyone(sim).filter((p) => !ledger.isActive(p.id));
    const person =
      persona === 'unknown' || (persona === 'deactivated' && closed.length === 0)
        ? null
        : persona === 'deactivated'
          ? first.rng.pick(closed)
          : first.rng.pick(active.length > 0 ? active : pool);
    // The rival's flows name disjoint friends: each could reach its quorum on its own.
    const exclude = new Set<string>();
    drivers.forEach((driver, i) => {
      const plan = planFor(sim, driver, ledger, persona === 'race' ? 'honest' : persona, person, exclude);
      for (const n of [...plan.nominees, ...plan.spares]) if (n.id !== null) exclude.add(n.id);
      driver.later(i * driver.rng.int(1, 20) * MINUTE, () => play(sim, driver, ledger, plan));
    });
  });
  return drivers;
};

/**
 * Two accounts name the same friend. The friend confirms in the first flow, whose host dies right
 * after saving and stays down; meanwhile the friend confirms in the second flow, which spends the
 * friend's one vouch. When the first host is back, the port refuses it the vouch it had asked for:
 * the friend counts once, in whichever flow spent the mark first. Sometimes the first flow already
 * has its quorum, and the friend is its fourth.
 */
const race = (sim: Sim, drivers: readonly Driver[], ledger: Ledger): boolean => {
  const [a, b] = drivers as [Driver, Driver];
  const now = sim.world.clock.now();
  const { minFriendshipMs } = sim.world.policy.friends;
  const old = (id: AccountId): Person[] =>
    [...ledger.friendsOf(id).entries()].filter(([, since]) => since + minFriendshipMs <= now - DAY).flatMap(([f]) => {
      const p = ledger.person(f);
      return p !== undefined && ledger.isActive(p.id) ? [p] : [];
    });
  for (let tries = 0; tries < 10; tries++) {
    const p = a.rng.pick(sim.population.circle.length > 0 ? sim.population.circle : sim.population.people);
    if (!ledger.isActive(p.id)) continue;
    const friend = a.rng.pick([...old(p.id), p]);
    const q = friend === p ? undefined : old(friend.id).find((x) => x.id !== p.id);
    if (q === undefined) continue;
    const inQuorum = a.rng.chance(0.6);
    const shared: Nominee = { handle: friend.handle, id: friend.id, answer: 'silent' };
    const planA = planFor(sim, a, ledger, 'honest', p, new Set([friend.id, q.id]));
    const others = planA.nominees.filter((n) => n.id !== null).slice(0, 3).map((n) => ({ ...n, answer: (inQuorum ? 'fast' : 'slow') as Answer }));
    const withShared = (plan: Plan, rest: readonly Nominee[]): Plan => ({ ...plan, nominees: [shared, ...rest].slice(0, 5) });
    const fullA = withShared(planA, others);
    const planB = planFor(sim, b, ledger, 'honest', q, new Set([friend.id, p.id, ...fullA.nominees.flatMap((n) => (n.id === null ? [] : [n.id]))]));
    const fullB = withShared(planB, planB.nominees.slice(0, 4));
    let sceneB: Scene | null = null;
    const go = (sceneA: Scene): void => {
      // After A's other friends answered (fast ones for the quorum, else before the slow ones).
      a.later((inQuorum ? 45 : 40) * MINUTE, async () => {
        if (a.done || a.flowId === null || sceneB === null) return;
        const late = sceneB;
        sim.store.crashNext.add(a.flowId);
        a.notes['outage'] = 20 * MINUTE;
        await sceneA.confirm(friend.id);
        delete a.notes['outage'];
        a.later(2 * MINUTE, () => late.confirm(friend.id));
      });
    };
    b.later(0, () => play(sim, b, ledger, fullB, (scene) => void (sceneB = scene)));
    a.later(MINUTE, () => play(sim, a, ledger, fullA, go));
    return true;
  }
  return false;
};
