/**
 * Every named action and guard of every machine, called with every event any machine knows (and
 * one none does), on the contexts the flows really start with. Actions are shared across
 * transitions and machines are edited by many hands: one wired to a new event must leave the
 * flow alone, not crash the step (the runtime would refuse the event, and the flow would be
 * stuck). So: guards answer a boolean, assignments a patch, and nothing throws.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { NO_FRIEND } from '../src/domain/friendAssist.ts';
import type { HostSession } from '../src/runtime/runtime.ts';
import { createRuntime, type StepObservation } from '../src/runtime/runtime.ts';
import { allFlows, currentCode } from './support/faultyHost.ts';
import { OWNER_HANDLE, seedFriends, sessionOf } from './support/friends.ts';
import { testHost } from './support/world.ts';

const AT = Date.UTC(2026, 0, 2);

/** One event with every field any machine event carries; only `type` varies. */
const everyField = {
  at: AT,
  phone: '+8613800138000',
  code: '123456',
  phoneTaken: false,
  handle: 'alice_01',
  taken: false,
  passwordHash: 'hash',
  accountId: 'acct-1',
  conflict: 'handle_taken',
  retryAfterMs: 1_000,
  retryable: true,
  channel: 'wang@example.com',
  subject: { accountId: 'acct-1', epoch: 0 },
  token: 'token',
  currentEpoch: 0,
  accountActive: true,
  secondFactorEnrolled: false,
  result: 'wrong',
  kind: 'email',
  value: 'new@example.com',
  current: null,
  verifiedAt: AT,
  reason: 'stale_epoch',
  attempt: 1,
  reference: 'kyc_ref_0001',
  nominees: [{ handle: 'friend_00', friendId: 'acct-2', facts: NO_FRIEND }],
  nominee: { handle: 'friend_03', friendId: null, facts: NO_FRIEND },
  old: 'friend_00',
  friendId: 'acct-2',
  facts: NO_FRIEND,
  key: 'vouches:acct-2',
  evidence: { nickname: 'X', team: null, frequentContacts: [], pastDevices: [], loginPlaces: [], formerPhone: null, contactEmail: 'x@example.net' },
  answer: 'Hangzhou',
  question: 'Which city?',
  agentId: 'agent-7',
  resetSecondFactor: false,
  named: 'handle:alice_01',
  revokedSessions: 0,
  offers: [],
  recentLogins: [],
  sessionId: 'sess-1',
} as const;

interface Named {
  readonly type?: string;
  readonly assignment?: unknown;
  readonly collect?: (args: unknown) => void;
}

/** Every event type the machine's transitions name. */
const eventTypes = (machine: AnyStateMachine): string[] => {
  const types = new Set<string>();
  const visit = (node: { transitions: ReadonlyMap<string, unknown>; states: Record<string, unknown> }) => {
    for (const type of node.transitions.keys()) types.add(type);
    for (const child of Object.values(node.states)) visit(child as never);
  };
  visit(machine.root as never);
  return [...types];
};

/** The actions written inline on transitions, entries and exits (not by name): the shared hardening's, for one. */
const inlineActions = (machine: AnyStateMachine): unknown[] => {
  const found: unknown[] = [];
  const visit = (node: { transitions: ReadonlyMap<string, readonly { actions?: readonly unknown[] }[]>; always?: readonly { actions?: readonly unknown[] }[]; entry?: readonly unknown[]; exit?: readonly unknown[]; states: Record<string, unknown> }) => {
    for (const branches of node.transitions.values()) for (const t of branches) found.push(...(t.actions ?? []));
    for (const t of node.always ?? []) found.push(...(t.actions ?? []));
    found.push(...(node.entry ?? []), ...(node.exit ?? []));
    for (const child of Object.values(node.states)) visit(child as never);
  };
  visit(machine.root as never);
  return found.filter((a) => typeof a !== 'string');
};

const enqueue = Object.assign(() => {}, { assign: () => {}, cancel: () => {}, raise: () => {}, sendTo: () => {}, sendParent: () => {}, spawnChild: () => {}, stopChild: () => {}, emit: () => {} });

describe('totality of actions and guards', () => {
  it('should answer any event, even one an action or guard was not written for, without throwing', async () => {
    const host = testHost();
    const contexts = new Map<string, Map<string, unknown>>();
    const keep = (step: StepObservation) => {
      const seen = contexts.get(step.machine) ?? new Map<string, unknown>();
      seen.set(JSON.stringify(step.to.context), step.to.context);
      contexts.set(step.machine, seen);
    };
    const definitions = allFlows(host.world);
    const runtime = createRuntime(host.world, definitions, { observe: keep });
    await livedIn(host.world, runtime);
    const machines = definitions.map((d) => d.machine as AnyStateMachine);
    const types = [...new Set(machines.flatMap(eventTypes)), 'no.such.event'];
    let calls = 0;
    for (const definition of definitions) {
      const { actions, guards } = (definition.machine as AnyStateMachine).implementations as { actions: Record<string, Named>; guards: Record<string, unknown> };
      const lived = [...(contexts.get(definition.name)?.values() ?? [])];
      expect(lived.length, `${definition.name} was never started`).toBeGreaterThan(1);
      for (const context of lived) {
        for (const type of types) {
          const event = { ...everyField, type };
          for (const [name, guard] of Object.entries(guards)) {
            if (typeof guard !== 'function') continue;
            let answer: unknown;
            expect(() => (answer = (guard as (a: unknown) => unknown)({ context, event })), `${definition.name}: guard ${name} on ${type}`).not.toThrow();
            expect(typeof answer, `${definition.name}: guard ${name} on ${type}`).toBe('boolean');
            calls++;
          }
          const inline = inlineActions(definition.machine as AnyStateMachine).map((a, i) => [`inline #${i}`, a] as const);
          for (const [name, action] of [...Object.entries(actions), ...inline] as [string, Named & { params?: unknown }][]) {
            const args = { context, event, enqueue, check: () => false, self: undefined, system: undefined };
            if (typeof action.params === 'function') {
              expect(() => (action.params as (a: unknown) => unknown)(args), `${definition.name}: params of ${name} on ${type}`).not.toThrow();
              calls++;
            }
            if (typeof action.assignment === 'function') {
              let patch: unknown;
              expect(() => (patch = (action.assignment as (a: unknown) => unknown)(args)), `${definition.name}: action ${name} on ${type}`).not.toThrow();
              expect(typeof patch, `${definition.name}: action ${name} on ${type}`).toBe('object');
              calls++;
            } else if (typeof action.collect === 'function') {
              expect(() => action.collect?.(args), `${definition.name}: action ${name} on ${type}`).not.toThrow();
              calls++;
            }
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(10_000);
  });
});

/** Each flow walked a little way, so its contexts are the ones real steps leave behind (subjects, codes, nominees). */
const livedIn = async (world: ReturnType<typeof testHost>['world'], runtime: ReturnType<typeof createRuntime>): Promise<void> => {
  const { owner, friends } = await seedFriends(world, 3);
  if (owner === undefined) throw new Error('no owner');
  const session = await sessionOf(world, owner.id);
  const id = async (name: string, as?: HostSession) => {
    const started = await runtime.start(name, {}, as);
    if (E.isLeft(started)) throw new Error(`${name}: ${started.left.message}`);
    return started.right;
  };
  const binding = (await id('binding', session)).flowId;
  await runtime.send(binding, { type: 'channel.submit', kind: 'email', value: 'new@example.com' }, session);
  await runtime.send(binding, { type: 'code.submit', code: currentCode(world, binding) }, session);
  const realName = (await id('realName', session)).flowId;
  await runtime.send(realName, { type: 'realName.submit', reference: 'kyc_ref_0001' }, session);
  const totp = (await id('totpEnrollment', session)).flowId;
  await runtime.send(totp, { type: 'totp.confirm', code: '000000' }, session);
  const reg = (await id('registration')).flowId;
  await runtime.send(reg, { type: 'phone.submit', phone: '+8613900139000' });
  await runtime.send(reg, { type: 'code.submit', code: currentCode(world, reg) });
  await runtime.send(reg, { type: 'handle.submit', handle: 'alice_01' });
  for (const name of ['smsRecovery', 'emailRecovery']) {
    const flow = (await id(name)).flowId;
    await runtime.send(flow, { type: 'channel.submit', channel: name === 'smsRecovery' ? '+8613800138000' : 'wang@example.com' });
    await runtime.send(flow, { type: 'code.submit', code: currentCode(world, flow) });
    await runtime.send(flow, { type: 'password.submit', password: 'a brand new long passphrase' });
  }
  const friendsFlow = await id('friendAssist');
  const token = friendsFlow.view['requesterToken'];
  await runtime.send(friendsFlow.flowId, { type: 'account.submit', handle: OWNER_HANDLE, token });
  await runtime.send(friendsFlow.flowId, { type: 'friends.nominate', handles: friends.map((f) => f.handle), token });
  for (const friend of friends) await runtime.send(friendsFlow.flowId, { type: 'friend.confirm' }, await sessionOf(world, friend.id));
  const review = (await id('manualReview')).flowId;
  await runtime.send(review, { type: 'account.submit', handle: OWNER_HANDLE });
  await runtime.send(review, { type: 'evidence.submit', nickname: 'X', contactEmail: 'x@example.net' });
  await runtime.send(review, { type: 'review.approve', resetSecondFactor: false }, { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' });
};
