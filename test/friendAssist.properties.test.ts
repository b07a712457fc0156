import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { enqueueActions } from 'xstate';
import type { Nominee } from '../machines/friendAssist.ts';
import type { MemoryWorld } from '../src/adapters/memory/index.ts';
import type { Account } from '../src/domain/account.ts';
import { friendBudgetRule, vouchKey, vouchRule } from '../src/domain/friendAssist.ts';
import { DAY, HOUR } from '../src/domain/time.ts';
import { friendAssistFlow } from '../src/flows/friendAssist.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { createRuntime, type HostSession } from '../src/runtime/runtime.ts';
import { seedAccount } from './support/accounts.ts';
import { NEW_PASSWORD, OWNER_HANDLE, seedFriends, sessionOf, startFriendAssist } from './support/friends.ts';
import { testHost } from './support/world.ts';

const WINDOW = 24 * HOUR;

// ---------------------------------------------------------------------------------------------
// no combination of late, duplicate, foreign, ineligible or recently added friends makes a quorum
// ---------------------------------------------------------------------------------------------

/** What a candidate voucher is, as the test seeds it; only `eligible` may ever count. */
type Kind = 'eligible' | 'recentlyAdded' | 'notAFriend' | 'vouchedRecently' | 'recentlyRecovered' | 'underRecovery' | 'deactivated';
const KINDS: readonly Kind[] = ['eligible', 'recentlyAdded', 'notAFriend', 'vouchedRecently', 'recentlyRecovered', 'underRecovery', 'deactivated'];

interface Scenario {
  readonly kinds: readonly Kind[];
  /** Indices into `kinds` of the friends named; the others are foreign to the flow. */
  readonly named: readonly number[];
  /** Confirmations by candidate index, at an offset from the nomination. */
  readonly confirmations: readonly { readonly who: number; readonly offset: number }[];
}

// Offsets cluster around the window's end, where an off-by-one would hide; most fall inside it.
const offset = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: WINDOW - 1 }), weight: 4 },
  { arbitrary: fc.integer({ min: WINDOW, max: 2 * WINDOW }), weight: 1 },
  { arbitrary: fc.integer({ min: WINDOW - 3, max: WINDOW + 3 }), weight: 2 },
);

const scenario: fc.Arbitrary<Scenario> = fc
  .array(fc.oneof({ arbitrary: fc.constant<Kind>('eligible'), weight: 4 }, { arbitrary: fc.constantFrom(...KINDS), weight: 2 }), { minLength: 5, maxLength: 8 })
  .chain((kinds) =>
    fc.record({
      kinds: fc.constant(kinds),
      named: fc.shuffledSubarray([...kinds.keys()], { minLength: 3, maxLength: 5 }),
      // Each candidate confirms zero to three times: duplicates and foreign confirmations included.
      confirmations: fc
        .tuple(...kinds.map((_, who) => fc.array(offset.map((at) => ({ who, offset: at })), { maxLength: 3 })))
        .map((perCandidate) => perCandidate.flat()),
    }),
  );

/** Seeds one candidate of each kind the scenario asks for, as friends (or not) of the owner. */
const seedCandidate = async (world: MemoryWorld, owner: Account, kind: Kind, i: number): Promise<Account> => {
  const now = world.clock.now();
  const account = await seedAccount(world, { handle: `candidate_${i}`, phone: `+86137${String(i).padStart(8, '0')}` });
  if (kind !== 'notAFriend') world.directory.befriend(owner.id, account.id, kind === 'recentlyAdded' ? now - 29 * DAY : now - 90 * DAY);
  if (kind === 'vouchedRecently') world.budgets.consumeNow(vouchKey(account.id), vouchRule(world.policy), now - 20 * DAY);
  if (kind === 'underRecovery') world.budgets.consumeNow(`recovering:${account.id}`, friendBudgetRule(world.policy, 'friends.recovering'), now - HOUR);
  if (kind === 'recentlyRecovered') {
    await world.directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: now + 5 * DAY, idempotencyKey: `seed-${i}` });
  }
  return account;
};

/** The independent oracle: who must have counted, by the rule written out again here. */
const expectedCount = (s: Scenario): number => {
  const named = new Set(s.named);
  const counted = new Set(s.confirmations.filter((c) => named.has(c.who) && s.kinds[c.who] === 'eligible' && c.offset < WINDOW).map((c) => c.who));
  return counted.size;
};

const quorumMatchesOracle = (makeDefinition: (ports: FlowPorts) => FlowDefinition) =>
  fc.asyncProperty(scenario, async (s) => {
    const { world } = testHost();
    const { owner } = await seedFriends(world, 0);
    if (owner === undefined) throw new Error('no owner');
    const candidates: Account[] = [];
    for (const [i, kind] of s.kinds.entries()) candidates.push(await seedCandidate(world, owner, kind, i));
    const sessions: HostSession[] = [];
    for (const candidate of candidates) sessions.push(await sessionOf(world, candidate.id));
    for (const [i, kind] of s.kinds.entries()) if (kind === 'deactivated') world.directory.deactivate((candidates[i] as Account).id);

    const runtime = createRuntime(world, [makeDefinition(world)]);
    const requester = await startFriendAssist(runtime);
    await requester.send({ type: 'account.submit', handle: OWNER_HANDLE });
    const t0 = world.clock.now();
    const nominated = await requester.send({ type: 'friends.nominate', handles: s.named.map((i) => (candidates[i] as Account).handle) });
    if (E.isLeft(nominated)) throw new Error(nominated.left.message);

    for (const c of [...s.confirmations].sort((a, b) => a.offset - b.offset)) {
      world.clock.advanceTo(t0 + c.offset);
      await runtime.send(requester.flowId, { type: 'friend.confirm' }, sessions[c.who]);
    }
    const expected = expectedCount(s);
    const read = await runtime.read(requester.flowId);
    if (E.isLeft(read)) throw new Error(read.left.message);
    expect(read.right.view['confirmed']).toBe(expected);
    expect(read.right.view.state).toBe(expected >= world.policy.friends.required ? 'disputeWait' : 'awaitingFriends');
    world.clock.advanceTo(t0 + WINDOW);
    const ticked = await runtime.tick(requester.flowId);
    if (E.isLeft(ticked)) throw new Error(ticked.left.message);
    if (expected < world.policy.friends.required) expect(ticked.right.view.state).toBe('failed');
  });

/** A deliberately broken judge: it forgets the window, so a late confirmation counts. */
const lateConfirmationsCount = (ports: FlowPorts): FlowDefinition => {
  const honest = friendAssistFlow(ports);
  const judge = enqueueActions(({ context, event, enqueue }: { context: { nominees: readonly Nominee[] }; event: { type: string; friendId?: string; at: number }; enqueue: any }) => {
    if (event.type !== 'friend.confirm' || event.friendId === undefined) return;
    const entry = context.nominees.find((n) => n.friendId === event.friendId && !n.replaced && n.vouch === 'none' && n.ineligible === null);
    if (entry === undefined) return;
    enqueue.assign({ nominees: context.nominees.map((n) => (n === entry ? { ...n, vouch: 'pending', confirmedAt: event.at } : n)) });
    enqueue({ type: 'consumeBudget', params: { key: vouchKey(event.friendId), rule: 'friends.vouches' } });
  });
  return { ...honest, machine: honest.machine.provide({ actions: { judge: judge as never } }) } as unknown as FlowDefinition;
};

// ---------------------------------------------------------------------------------------------
// an owner's stop always wins
// ---------------------------------------------------------------------------------------------

type Command =
  | { readonly kind: 'confirm'; readonly who: number }
  | { readonly kind: 'quorum' }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'tick' }
  | { readonly kind: 'waitOut' }
  | { readonly kind: 'stop' }
  | { readonly kind: 'password' }
  | { readonly kind: 'securityDone' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('confirm' as const), who: fc.nat({ max: 2 }) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'quorum' as const }), weight: 2 },
  {
    // The dispute wait's end, a millisecond either side of it, or anything up to past the window.
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof({ arbitrary: fc.constant(24 * HOUR), weight: 2 }, fc.constantFrom(1, 24 * HOUR - 1), fc.integer({ min: 0, max: 12 * HOUR })) }),
    weight: 3,
  },
  { arbitrary: fc.constant({ kind: 'tick' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'waitOut' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'stop' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'password' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'securityDone' as const }), weight: 1 },
);

/** Anything, then the three friends confirm, then anything: most runs get past the quorum. */
const script: fc.Arbitrary<readonly Command[]> = fc
  .tuple(fc.array(command, { maxLength: 6 }), fc.array(command, { maxLength: 18, size: 'max' }))
  .map(([early, late]) => [...early, { kind: 'quorum' as const }, ...late]);

const ownerStopWins = (makeDefinition: (ports: FlowPorts) => FlowDefinition) =>
  fc.asyncProperty(script, async (commands) => {
    const { world } = testHost();
    const { owner, friends } = await seedFriends(world, 3);
    if (owner === undefined) throw new Error('no owner');
    const ownerSession = await sessionOf(world, owner.id);
    const friendSessions = await Promise.all(friends.map((f) => sessionOf(world, f.id)));
    const runtime = createRuntime(world, [makeDefinition(world)]);
    const requester = await startFriendAssist(runtime);
    await requester.send({ type: 'account.submit', handle: OWNER_HANDLE });
    await requester.send({ type: 'friends.nominate', handles: friends.map((f) => f.handle) });
    let stopped = false;
    for (const c of commands) {
      switch (c.kind) {
        case 'confirm':
          await runtime.send(requester.flowId, { type: 'friend.confirm' }, friendSessions[c.who]);
          break;
        case 'quorum':
          for (const session of friendSessions) await runtime.send(requester.flowId, { type: 'friend.confirm' }, session);
          break;
        case 'advance':
          world.clock.advanceBy(c.ms);
          break;
        case 'tick':
          await runtime.tick(requester.flowId);
          break;
        case 'waitOut':
          // What a host's scheduler does: sleep until the flow's next deadline, then wake it.
          {
            const read = await runtime.read(requester.flowId);
            const due = E.isRight(read) ? read.right.nextDeadline : null;
            if (due !== null && due < world.clock.now() + 2 * DAY) world.clock.advanceTo(due);
            await runtime.tick(requester.flowId);
          }
          break;
        case 'password':
          await requester.send({ type: 'password.submit', password: NEW_PASSWORD });
          break;
        case 'securityDone':
          await requester.send({ type: 'security.done' });
          break;
        case 'stop': {
          const before = await runtime.read(requester.flowId);
          const active = E.isRight(before) && !before.right.view.done;
          const result = await runtime.send(requester.flowId, { type: 'owner.stop' }, ownerSession);
          // Any stop before a new password is applied is taken, in every state.
          if (active && world.directory.passwordChanges.length === 0) expect(E.isRight(result)).toBe(true);
          if (E.isRight(result)) {
            expect(result.right.view.state).toBe('stoppedByOwner');
            stopped = true;
          }
          break;
        }
      }
    }
    if (stopped) {
      expect(world.directory.passwordChanges).toEqual([]);
      const final = await runtime.read(requester.flowId);
      expect(E.isRight(final) && final.right.view.state).toBe('stoppedByOwner');
    }
  });

/** A deliberately broken variant: the owner's stop is not heard once the quorum is in. */
const stopIgnoredAfterQuorum = (ports: FlowPorts): FlowDefinition => {
  const honest = friendAssistFlow(ports);
  const ownerStops = ({ context }: { context: { subject: { accountId: string } | null; disputeEndsAt: number | null } }) => context.subject !== null && context.disputeEndsAt === null;
  return { ...honest, machine: honest.machine.provide({ guards: { ownerStops: ownerStops as never } }) } as unknown as FlowDefinition;
};

describe('friend-assisted recovery properties', () => {
  it('should reach the quorum only with enough eligible nominees confirming in time, each once', async () => {
    await fc.assert(quorumMatchesOracle(friendAssistFlow));
  });

  it('should catch a judge that counts late confirmations (teeth)', async () => {
    const result = await fc.check(quorumMatchesOracle(lateConfirmationsCount), { seed: 42, numRuns: 300 });
    expect(result.failed).toBe(true);
  });

  it("should let an owner's stop win: taken in every state before a new password, and no password after it", async () => {
    await fc.assert(ownerStopWins(friendAssistFlow));
  });

  it('should catch a variant that ignores the stop during the dispute wait (teeth)', async () => {
    const result = await fc.check(ownerStopWins(stopIgnoredAfterQuorum), { seed: 42, numRuns: 300 });
    expect(result.failed).toBe(true);
  });
});
