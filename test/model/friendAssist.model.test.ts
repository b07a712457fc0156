/**
 * Friend-assisted recovery against a reference model: 3–5 friends named, each confirming once
 * from their own session, only inside the window and only if eligible; three counted
 * confirmations open a dispute wait; a named friend's refusal or the owner's stop ends it before
 * the password; an enrolled second factor is asked at the end of the wait; the requester alone,
 * by the token shown at the start, drives the requester's steps.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/domain/account.ts';
import { HOUR } from '../../src/domain/time.ts';
import { friendAssistFlow } from '../../src/flows/friendAssist.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession, StepResult } from '../../src/runtime/runtime.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { enrollTotp, NEW_PASSWORD, OWNER_HANDLE, seedFriends } from '../support/friends.ts';
import { P } from './challenge.ts';
import { applied, type Expected, exit, expectStep, type Hosted, hostWith, readFlow, type Replacement, refused, startFlow, step, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

const F = P.friends;
const FRIENDS = ['friend_00', 'friend_01', 'friend_02', 'friend_03', 'friend_04'];
const STRANGER = 'stranger_1';

type Answer = 'counted' | 'duplicate' | 'late' | 'not_eligible' | 'not_nominated' | 'refused';

interface Nominee {
  readonly handle: string;
  /** Whether the handle is an account at all. */
  readonly exists: boolean;
  /** Eligible on the facts at nomination: a friend of a known account (all seeded friends are). */
  readonly eligible: boolean;
  replaced: boolean;
  counted: boolean;
  answer: Answer | null;
}

const FINAL = new Set(['recovered', 'refused', 'failed', 'refusedByFriend', 'stoppedByOwner', 'locked', 'cancelled', 'timedOut']);
const RESULT: Record<string, string> = {
  recovered: 'recovered',
  refused: 'refused',
  failed: 'failed',
  refusedByFriend: 'refused_by_friend',
  stoppedByOwner: 'stopped_by_owner',
  locked: 'locked',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};
const HANDLES: Record<string, readonly string[]> = {
  enteringAccount: ['account.submit'],
  nominating: ['friends.nominate'],
  awaitingFriends: ['friend.confirm', 'friends.replace'],
  disputeWait: ['friend.confirm'],
  secondFactor: ['secondFactor.submit'],
  'hardening.choosingPassword': ['password.submit'],
  'hardening.reviewingSecurity': ['session.revoke', 'security.done'],
};
const ROOT = ['owner.stop', 'friend.refuse', 'flow.cancel'];

class Model {
  state = 'enteringAccount';
  handle: string | null = null;
  known = false;
  nominees: Nominee[] = [];
  windowEndsAt: number | null = null;
  disputeEndsAt: number | null = null;
  replacements = 0;
  notice: { code: string; retryAfterMs?: number } | null = null;
  /** As the flow last looked it up (at the entry and at each confirmation). */
  factorSeen = false;
  factorOn = false;
  factorPassed = false;
  factorWrong = 0;
  passwordSubmitted = false;
  epoch = 0;
  constructor(
    public now: number,
    readonly expiresAt: number,
  ) {}

  get current(): Nominee[] {
    return this.nominees.filter((n) => !n.replaced);
  }

  gate(type: string): Expected | undefined {
    if (FINAL.has(this.state)) return refused('flow_finished');
    if (!ROOT.includes(type) && !(HANDLES[this.state] ?? []).includes(type)) return refused('event_not_accepted');
    return undefined;
  }

  deadline(): number | null {
    if (FINAL.has(this.state)) return null;
    const waiting = this.state === 'awaitingFriends' ? this.windowEndsAt : this.state === 'disputeWait' ? this.disputeEndsAt : null;
    return Math.min(waiting ?? Number.POSITIVE_INFINITY, this.expiresAt);
  }
}

interface Real extends Hosted {
  readonly token: string;
  readonly owner: Account;
  readonly accounts: ReadonlyMap<string, Account>;
}

const agree = async (m: Model, r: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(r);
  expect({
    state: view.state,
    account: view['account'],
    nominees: view['nominees'],
    confirmed: view['confirmed'],
    windowEndsAt: view['windowEndsAt'],
    disputeEndsAt: view['disputeEndsAt'],
    replacementsLeft: view['replacementsLeft'],
    notice: view.notice,
    result: view.result,
    nextDeadline,
  }).toEqual({
    state: m.state,
    account: m.handle,
    nominees: m.current.map((n) => n.handle),
    confirmed: m.nominees.filter((n) => n.counted).length,
    windowEndsAt: m.windowEndsAt,
    disputeEndsAt: m.disputeEndsAt,
    replacementsLeft: Math.max(0, F.maxReplacements - m.replacements),
    notice: m.notice,
    result: RESULT[m.state] ?? null,
    nextDeadline: m.deadline(),
  });
};

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

const VALID = /^[A-Za-z][A-Za-z0-9_-]*$/;
const exists = (handle: string) => FRIENDS.includes(handle) || handle === STRANGER || handle === OWNER_HANDLE;

const nameAccount = (m: Model, handle: string): Expected => {
  const gated = m.gate('account.submit');
  if (gated !== undefined) return gated;
  if (!VALID.test(handle)) return refused('handle_invalid');
  m.handle = handle.toLowerCase();
  // Handles name accounts case-insensitively: "Wang_Xiaoming" is the owner too.
  m.known = handle.toLowerCase() === OWNER_HANDLE;
  m.factorSeen = m.known && m.factorOn;
  m.state = 'nominating';
  return applied;
};

const nominate = (m: Model, handles: readonly string[]): Expected => {
  const gated = m.gate('friends.nominate');
  if (gated !== undefined) return gated;
  if (handles.length < F.minNominated || handles.length > F.maxNominated) return refused('invalid_input');
  if (handles.some((h) => !VALID.test(h))) return refused('handle_invalid');
  const keys = handles.map((h) => h.toLowerCase());
  if (new Set(keys).size !== keys.length || keys.includes(m.handle ?? '')) return refused('invalid_input');
  m.nominees = keys.map((handle) => ({ handle, exists: exists(handle), eligible: m.known && FRIENDS.includes(handle), replaced: false, counted: false, answer: null }));
  m.windowEndsAt = m.now + F.windowMs;
  m.notice = null;
  m.state = 'awaitingFriends';
  return applied;
};

/** A confirmation by the account `handle`; returns what that friend is told. */
const confirm = (m: Model, handle: string): { expected: Expected; answer: Answer | null } => {
  const gated = m.gate('friend.confirm');
  if (gated !== undefined) return { expected: gated, answer: null };
  m.factorSeen = m.known && m.factorOn;
  const current = m.current.find((n) => n.handle === handle);
  const entry = current ?? m.nominees.find((n) => n.handle === handle);
  let outcome: Answer;
  if (current === undefined) outcome = 'not_nominated';
  else if (current.counted) outcome = 'duplicate';
  else if (m.windowEndsAt === null || m.now >= m.windowEndsAt) outcome = 'late';
  else if (!current.eligible) outcome = 'not_eligible';
  else outcome = 'counted';
  if (outcome === 'counted' && current !== undefined) {
    current.counted = true;
    current.answer = 'counted';
    if (m.state === 'awaitingFriends' && m.nominees.filter((n) => n.counted).length >= F.required) {
      m.disputeEndsAt = m.now + F.disputeWaitMs;
      m.state = 'disputeWait';
    }
  } else if (entry !== undefined) entry.answer = outcome;
  return { expected: applied, answer: entry?.answer ?? null };
};

const refuseBy = (m: Model, handle: string): Expected => {
  const gated = m.gate('friend.refuse');
  if (gated !== undefined) return gated;
  const before = !m.passwordSubmitted;
  const entry = m.current.find((n) => n.handle === handle) ?? m.nominees.find((n) => n.handle === handle);
  if (m.known && before && entry !== undefined && FRIENDS.includes(handle)) {
    entry.answer = 'refused';
    m.state = 'refusedByFriend';
    return applied;
  }
  if (!before) return refused('event_not_accepted');
  if (entry !== undefined) entry.answer = 'not_eligible';
  return applied;
};

const ownerStop = (m: Model): Expected => {
  const gated = m.gate('owner.stop');
  if (gated !== undefined) return gated;
  if (!m.known) return refused('not_permitted');
  if (m.passwordSubmitted) return refused('event_not_accepted');
  m.state = 'stoppedByOwner';
  return applied;
};

const replace = (m: Model, old: string, added: string): Expected => {
  const gated = m.gate('friends.replace');
  if (gated !== undefined) return gated;
  if (m.windowEndsAt === null || m.now >= m.windowEndsAt) return refused('window_closed');
  if (m.replacements >= F.maxReplacements) return refused('replacements_exhausted');
  if (!m.current.some((n) => n.handle === old)) return refused('invalid_input');
  if (added === m.handle || m.nominees.some((n) => n.handle === added)) return refused('invalid_input');
  for (const n of m.nominees) if (n.handle === old && !n.replaced) n.replaced = true;
  m.nominees.push({ handle: added, exists: exists(added), eligible: m.known && FRIENDS.includes(added), replaced: false, counted: false, answer: null });
  m.replacements += 1;
  m.notice = null;
  return applied;
};

const tick = (m: Model): void => {
  if (FINAL.has(m.state)) return;
  if (m.state === 'awaitingFriends' && m.windowEndsAt !== null && m.now >= m.windowEndsAt) m.state = 'failed';
  else if (m.state === 'disputeWait' && m.disputeEndsAt !== null && m.now >= m.disputeEndsAt) m.state = m.factorSeen ? 'secondFactor' : 'hardening.choosingPassword';
  // The password is reset by then: the lifetime ends the optional review, not the recovery.
  else if (m.now >= m.expiresAt) m.state = m.state === 'hardening.reviewingSecurity' ? 'recovered' : 'timedOut';
};

const secondFactor = (m: Model, right: boolean): Expected => {
  const gated = m.gate('secondFactor.submit');
  if (gated !== undefined) return gated;
  if (right) {
    m.factorPassed = true;
    m.notice = null;
    m.state = 'hardening.choosingPassword';
  } else {
    m.factorWrong += 1;
    if (m.factorWrong >= P.code.maxWrongPerCode) {
      m.state = 'locked';
      m.notice = { code: 'flow_locked', retryAfterMs: P.code.flowLockMs };
    } else m.notice = { code: 'code_invalid' };
  }
  return applied;
};

const password = (m: Model, value: string): Expected => {
  const gated = m.gate('password.submit');
  if (gated !== undefined) return gated;
  if (!m.factorPassed && m.factorOn) return refused('second_factor_required');
  if (value === OLD_PASSWORD) return refused('password_reused');
  m.notice = null;
  m.passwordSubmitted = true;
  // The epoch the account was named under: a password changed meanwhile outranks this one.
  if (m.epoch === 0) {
    m.epoch += 1;
    m.state = 'hardening.reviewingSecurity';
  } else m.state = 'refused';
  return applied;
};

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const { act, malformed, from, world, waits, wake, restart } = storyKit(agree);

/** The requester has no session: the token shown at the start is what tells them apart. */
const requester = (label: string, apply: (m: Model) => Expected, event: Record<string, unknown>): Cmd => act(label, apply, (_m, r) => ({ ...event, token: r.token }));

const sessionOf = (r: Real, handle: string): HostSession => {
  const account = r.accounts.get(handle) as Account;
  return { actor: account.id, sessionId: r.host.world.sessions.signIn(account.id, r.host.world.directory.peek(account.id)?.securityEpoch ?? 0, r.host.world.clock.now()).id };
};
const signedInAs = (handle: string) => from((_m, r) => sessionOf(r, handle));

const friendConfirms = (handle: string): Cmd =>
  step(`${handle} confirms`, async (m, r) => {
    const { expected, answer } = confirm(m, handle);
    const result: StepResult = await expectStep(r.host, r.flowId, expected, () => r.host.runtime.send(r.flowId, { type: 'friend.confirm' }, sessionOf(r, handle)));
    // Why it did or did not count is told to that friend alone.
    if (E.isRight(result)) expect(result.right.view['yourConfirmation']).toBe(answer ?? undefined);
    await agree(m, r);
  });

const commands = (): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [2, fc.constantFrom(OWNER_HANDLE, 'Wang_Xiaoming', 'nobody_here', '1nope').map((h) => requester(`name the account ${h}`, (m) => nameAccount(m, h), { type: 'account.submit', handle: h }))],
    [
      3,
      fc.constantFrom(FRIENDS.slice(0, 3), FRIENDS.slice(0, 4), FRIENDS, [FRIENDS[0], FRIENDS[1], STRANGER], [FRIENDS[0], FRIENDS[1], 'nobody_there'], [FRIENDS[0], FRIENDS[0], FRIENDS[1]], [FRIENDS[0], FRIENDS[1], OWNER_HANDLE], FRIENDS.slice(0, 2)).map((handles) =>
        requester(`name the friends ${handles.join(', ')}`, (m) => nominate(m, handles as string[]), { type: 'friends.nominate', handles }),
      ),
    ],
    [10, fc.constantFrom(...FRIENDS, STRANGER).map(friendConfirms)],
    [1, fc.constantFrom(FRIENDS[0] as string, STRANGER).map((h) => signedInAs(h).act(`${h} refuses`, (m) => refuseBy(m, h), () => ({ type: 'friend.refuse' })))],
    [1, fc.constant(signedInAs(OWNER_HANDLE).act('the owner stops it', ownerStop, () => ({ type: 'owner.stop' })))],
    [2, fc.constantFrom([FRIENDS[2], FRIENDS[3]], [FRIENDS[2], FRIENDS[4]], [FRIENDS[0], STRANGER], [FRIENDS[4], FRIENDS[3]], [FRIENDS[1], FRIENDS[0]]).map(([old, added]) => requester(`replace ${old} with ${added}`, (m) => replace(m, old as string, added as string), { type: 'friends.replace', old, new: added }))],
    [6, waits([HOUR, F.windowMs, F.disputeWaitMs, P.flowMaxLifetimeMs])],
    [5, fc.constant(wake(tick))],
    [
      1,
      fc.constant(
        world(
          'the owner turns on 2FA',
          async (m, r) => {
            m.factorOn = true;
            const app = await enrollTotp(r.host.world, r.owner.id);
            (r as { app?: () => string }).app = app;
          },
          (m) => !m.factorOn,
        ),
      ),
    ],
    [3, fc.constantFrom(true, false).map((right) => step<Model, Real>(right ? 'type the authenticator code' : 'type a wrong authenticator code', async (m, r) => {
      const code = right ? ((r as { app?: () => string }).app?.() ?? '000000') : 'zzzzzz';
      await expectStep(r.host, r.flowId, secondFactor(m, right && m.factorOn), () => r.host.runtime.send(r.flowId, { type: 'secondFactor.submit', code, token: r.token }));
      await agree(m, r);
    }))],
    [1, fc.constant(world("the owner's password is changed elsewhere", (m, r) => ((m.epoch += 1), r.host.world.directory.bumpEpoch(r.owner.id)), (m) => m.epoch === 0))],
    [4, fc.constantFrom(NEW_PASSWORD, OLD_PASSWORD).map((pw) => requester(`choose the password "${pw}"`, (m) => password(m, pw), { type: 'password.submit', password: pw }))],
    [2, fc.constant(requester('finish the security review', exit('security.done', 'recovered'), { type: 'security.done' }))],
    [1, fc.constant(requester('cancel', (m) => m.gate('flow.cancel') ?? (m.state === 'hardening.reviewingSecurity' ? ((m.state = 'recovered'), applied) : m.passwordSubmitted ? refused('event_not_accepted') : ((m.state = 'cancelled'), applied)), { type: 'flow.cancel' }))],
    [1, fc.constant(act('someone without the token names the account', (m) => m.gate('account.submit') ?? refused('token_invalid'), () => ({ type: 'account.submit', handle: OWNER_HANDLE, token: 'guessed' })))],
    [1, malformed()],
    [2, fc.constant(signedInAs('friend_00').twice('friend_00 confirms', (m) => confirm(m, 'friend_00').expected, () => ({ type: 'friend.confirm' })))],
    [1, fc.constant(restart())],
  ]);

const setup = async (replacement?: Replacement) => {
  const host = hostWith(replacement);
  const { owner, friends } = await seedFriends(host.world, FRIENDS.length);
  const stranger = await seedAccount(host.world, { handle: STRANGER, phone: '+8613700137000' });
  const accounts = new Map<string, Account>([[OWNER_HANDLE, owner as Account], [STRANGER, stranger], ...friends.map((f) => [f.handle, f] as const)]);
  const started = await startFlow(host, 'friendAssist');
  const now = host.world.clock.now();
  return { model: new Model(now, now + P.flowMaxLifetimeMs), real: { host, flowId: started.flowId, token: started.view['requesterToken'] as string, owner: owner as Account, accounts } };
};

/** Most stories begin with the account named and three friends asked, many with all three confirmed. */
const followsTheModel = (replacement?: Replacement) =>
  stories([fc.constantFrom(0, 1, 2, 2, 3, 3)], commands(), 35, async (prologue) => {
    const story = await setup(replacement);
    const { model, real } = story;
    if (prologue >= 1) await requester('name the account', (m) => nameAccount(m, OWNER_HANDLE), { type: 'account.submit', handle: OWNER_HANDLE }).run(model, real);
    if (prologue >= 2) await requester('name three friends', (m) => nominate(m, FRIENDS.slice(0, 3)), { type: 'friends.nominate', handles: FRIENDS.slice(0, 3) }).run(model, real);
    if (prologue >= 3) for (const friend of FRIENDS.slice(0, 3)) await friendConfirms(friend).run(model, real);
    return story;
  });

describe('friend-assisted recovery model', () => {
  it('should behave as the reference model after every command', async () => {
    await fc.assert(followsTheModel());
  });

  itHasTeeth('should catch a window that still stands at its last instant (the model has teeth)', async () => {
    const lateWindow = (ports: FlowPorts): FlowDefinition => {
      const real = friendAssistFlow(ports);
      const machine = real.machine.provide({ guards: { windowOver: ({ context, event }) => context.windowEndsAt !== null && event.at > context.windowEndsAt } });
      return { ...real, machine } as FlowDefinition;
    };
    const result = await fc.check(followsTheModel(lateWindow), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.counterexample)).toMatch(/wait 1d/);
  });
});
