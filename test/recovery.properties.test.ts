import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect, it } from 'vitest';
import type { MemoryWorld } from '../src/adapters/memory/index.ts';
import type { AccountId } from '../src/domain/account.ts';
import { totpAt } from '../src/domain/hotp.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../src/domain/totp.ts';
import { channelRecoveryFlow } from '../src/flows/channelRecovery.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { createRuntime, type FlowRuntime, type StepResult } from '../src/runtime/runtime.ts';
import { seedAccount } from './support/accounts.ts';
import { testHost } from './support/world.ts';
import { TEETH_SEED } from './setup/fastCheck.ts';
import { itHasTeeth } from './support/teeth.ts';

const PHONE = '+8613800138000';
const EMAIL = 'wang@example.com';

// ---------------------------------------------------------------------------------------------
// enumeration: pairs of worlds, one where the channel is bound and one where it is not
// ---------------------------------------------------------------------------------------------

type ProbeCommand =
  | { readonly kind: 'send'; readonly event: Record<string, unknown> }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'tick' };

const probe = (method: 'sms' | 'email'): fc.Arbitrary<ProbeCommand> =>
  fc.oneof(
    fc.record({ kind: fc.constant('send' as const), event: fc.record({ type: fc.constant('code.submit'), code: fc.stringMatching(/^\d{6}$/) }) }),
    fc.record({ kind: fc.constant('send' as const), event: fc.constant({ type: 'code.resend' }) }),
    fc.record({ kind: fc.constant('send' as const), event: fc.constant({ type: 'support.request' }) }),
    fc.record({ kind: fc.constant('send' as const), event: fc.constant({ type: 'flow.cancel' }) }),
    ...(method === 'email'
      ? [fc.record({ kind: fc.constant('send' as const), event: fc.record({ type: fc.constantFrom('link.open', 'link.confirm'), token: fc.string({ maxLength: 30 }) }) })]
      : [fc.record({ kind: fc.constant('send' as const), event: fc.constant({ type: 'switch.toEmail' }) })]),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20 * 60_000 }) }),
    fc.constant({ kind: 'tick' as const }),
  );

/** What a caller can observe of a step: everything but the random flow id. */
const observable = (result: StepResult) => (E.isLeft(result) ? { error: result.left } : { ...result.right, flowId: '' });

const enumerationPair = (method: 'sms' | 'email', makeDefinition: (ports: FlowPorts) => FlowDefinition) =>
  fc.asyncProperty(fc.array(probe(method), { maxLength: 25 }), fc.boolean(), async (commands, secondFactor) => {
    const worlds = [testHost(), testHost()].map((h) => h.world);
    const known = worlds[0] as MemoryWorld;
    const account = await seedAccount(known, { email: EMAIL });
    if (secondFactor) await enrollTotp(known, account.id);
    const runtimes = worlds.map((w) => createRuntime(w, [makeDefinition(w)]));
    const name = method === 'sms' ? 'smsRecovery' : 'emailRecovery';
    const ids: string[] = [];
    const views: unknown[] = [];
    for (const runtime of runtimes) {
      const started = await runtime.start(name, {});
      if (E.isLeft(started)) throw new Error(started.left.message);
      ids.push(started.right.flowId);
      views.push(observable(await runtime.send(started.right.flowId, { type: 'channel.submit', channel: method === 'sms' ? PHONE : EMAIL })));
    }
    expect(views[1]).toEqual(views[0]);
    for (const command of commands) {
      const step: unknown[] = [];
      for (const [i, runtime] of runtimes.entries()) {
        const world = worlds[i] as MemoryWorld;
        const flowId = ids[i] as string;
        if (command.kind === 'advance') {
          world.clock.advanceBy(command.ms);
          step.push(null);
        } else if (command.kind === 'tick') step.push(observable(await runtime.tick(flowId)));
        else step.push(observable(await runtime.send(flowId, command.event)));
      }
      expect(step[1]).toEqual(step[0]);
    }
  });

// ---------------------------------------------------------------------------------------------
// no password change without the path's challenge and the enrolled second factor
// ---------------------------------------------------------------------------------------------

const enrollTotp = async (world: MemoryWorld, accountId: AccountId) => {
  const secretRef = `prop/${accountId}`;
  const secret = world.secondFactors.secretFor(secretRef);
  const at = world.clock.now() - 60_000;
  const factor = confirmTotpEnrollment(startTotpEnrollment(secretRef, at, world.policy.totp), secret, totpAt(secret, at), at, 1);
  if (O.isNone(factor)) throw new Error('could not enroll');
  await world.secondFactors.enroll(accountId, { factor: factor.value, backupCodeHashes: [] }, `enroll-${accountId}`);
  return secret;
};

type Move =
  | { readonly kind: 'start'; readonly method: 'sms' | 'email'; readonly target: 'alice' | 'bob' | 'nobody' }
  | { readonly kind: 'realCode'; readonly flow: number }
  | { readonly kind: 'guessCode'; readonly flow: number; readonly code: string }
  | { readonly kind: 'realLink'; readonly flow: number; readonly confirm: boolean }
  | { readonly kind: 'realTotp'; readonly flow: number }
  | { readonly kind: 'guessTotp'; readonly flow: number; readonly code: string }
  | { readonly kind: 'password'; readonly flow: number }
  | { readonly kind: 'resend'; readonly flow: number }
  | { readonly kind: 'advance'; readonly ms: number };

const flow = fc.nat({ max: 4 });
const move: fc.Arbitrary<Move> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), method: fc.constantFrom('sms' as const, 'email' as const), target: fc.constantFrom('alice' as const, 'bob' as const, 'nobody' as const) }),
  fc.record({ kind: fc.constant('realCode' as const), flow }),
  fc.record({ kind: fc.constant('guessCode' as const), flow, code: fc.stringMatching(/^\d{6}$/) }),
  fc.record({ kind: fc.constant('realLink' as const), flow, confirm: fc.boolean() }),
  fc.record({ kind: fc.constant('realTotp' as const), flow }),
  fc.record({ kind: fc.constant('guessTotp' as const), flow, code: fc.stringMatching(/^\d{6}$/) }),
  fc.record({ kind: fc.constant('password' as const), flow }),
  fc.record({ kind: fc.constant('resend' as const), flow }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 * 60_000 }) }),
);

const CHANNELS = {
  alice: { sms: '+8613800138000', email: 'alice@example.com' },
  bob: { sms: '+8613900139000', email: 'bob@example.com' },
  nobody: { sms: '+8613700137000', email: 'nobody@example.com' },
} as const;

const challengesGuardPasswords = (makeDefinition: (ports: FlowPorts) => FlowDefinition[]) =>
  fc.asyncProperty(fc.array(move, { minLength: 1, maxLength: 40 }), async (moves) => {
    const world = testHost().world;
    const alice = await seedAccount(world, { phone: CHANNELS.alice.sms, email: CHANNELS.alice.email, handle: 'alice_01' });
    const bob = await seedAccount(world, { phone: CHANNELS.bob.sms, email: CHANNELS.bob.email, handle: 'bob_0001' });
    // Bob has a second factor: no self-service path may change his password without it.
    const bobSecret = await enrollTotp(world, bob.id);
    const runtime: FlowRuntime = createRuntime(world, makeDefinition(world));
    const flows: { id: string; method: 'sms' | 'email'; address: string }[] = [];
    const provedChannel = new Set<string>();
    const provedSecondFactor = new Set<string>();
    const delivered = (flowId: string) => [...world.messenger.sent].reverse().find((m) => m.idempotencyKey.startsWith(`${flowId}:`))?.message.text;
    for (const m of moves) {
      const f = 'flow' in m ? flows[m.flow % Math.max(1, flows.length)] : undefined;
      switch (m.kind) {
        case 'start': {
          const started = await runtime.start(m.method === 'sms' ? 'smsRecovery' : 'emailRecovery', {});
          if (E.isLeft(started)) break;
          const address = CHANNELS[m.target][m.method];
          flows.push({ id: started.right.flowId, method: m.method, address });
          await runtime.send(started.right.flowId, { type: 'channel.submit', channel: address });
          break;
        }
        case 'realCode': {
          const code = f === undefined ? undefined : delivered(f.id)?.match(/\b\d{6}\b/)?.[0];
          if (f !== undefined && code !== undefined) {
            provedChannel.add(f.id);
            await runtime.send(f.id, { type: 'code.submit', code });
          }
          break;
        }
        case 'guessCode':
          if (f !== undefined) await runtime.send(f.id, { type: 'code.submit', code: m.code });
          break;
        case 'realLink': {
          const token = f === undefined ? undefined : delivered(f.id)?.match(/token=([\w-]+)/)?.[1];
          if (f !== undefined && token !== undefined) {
            if (m.confirm) provedChannel.add(f.id);
            await runtime.send(f.id, { type: m.confirm ? 'link.confirm' : 'link.open', token });
          }
          break;
        }
        case 'realTotp':
          if (f !== undefined) {
            provedSecondFactor.add(f.id);
            await runtime.send(f.id, { type: 'secondFactor.submit', code: totpAt(bobSecret, world.clock.now()) });
          }
          break;
        case 'guessTotp':
          if (f !== undefined) await runtime.send(f.id, { type: 'secondFactor.submit', code: m.code });
          break;
        case 'password':
          if (f !== undefined) await runtime.send(f.id, { type: 'password.submit', password: `new passphrase number ${flows.indexOf(f)}` });
          break;
        case 'resend':
          if (f !== undefined) await runtime.send(f.id, { type: 'code.resend' });
          break;
        case 'advance':
          world.clock.advanceBy(m.ms);
          break;
      }
      for (const change of world.directory.passwordChanges) {
        const flowId = change.idempotencyKey.split(':')[0] as string;
        expect(provedChannel.has(flowId), `password of ${change.id} changed by a flow that never proved its channel`).toBe(true);
        if (change.id === bob.id) expect(provedSecondFactor.has(flowId), 'password changed without the enrolled second factor').toBe(true);
        expect([alice.id, bob.id]).toContain(change.id);
      }
    }
  });

const realFlows = (ports: FlowPorts) => [channelRecoveryFlow('sms', ports), channelRecoveryFlow('email', ports)];

describe('recovery properties', () => {
  it('should show a bound and an unbound phone the same view, step by step (SMS)', async () => {
    await fc.assert(enumerationPair('sms', (p) => channelRecoveryFlow('sms', p)));
  });

  it('should show a bound and an unbound address the same view, step by step (e-mail)', async () => {
    await fc.assert(enumerationPair('email', (p) => channelRecoveryFlow('email', p)));
  });

  itHasTeeth('should catch a flow that answers a bound channel differently (the pair property has teeth)', async () => {
    const leaky = (ports: FlowPorts): FlowDefinition => {
      const real = channelRecoveryFlow('sms', ports);
      return { ...real, view: (snapshot) => ({ ...real.view(snapshot), bound: (snapshot as { context: { subject: unknown } }).context.subject !== null }) };
    };
    expect((await fc.check(enumerationPair('sms', leaky), { seed: TEETH_SEED, numRuns: 20 })).failed).toBe(true);
  });

  it('should change no password without the path\'s challenge and an enrolled second factor', async () => {
    await fc.assert(challengesGuardPasswords(realFlows));
  });

  itHasTeeth('should catch a flow that accepts any code (the property has teeth)', async () => {
    const gullible = (ports: FlowPorts) =>
      realFlows({ ...ports, codeSecrets: { ...ports.codeSecrets, check: (state) => ({ outcome: 'accepted', next: { ...state, used: true } }) } });
    expect((await fc.check(challengesGuardPasswords(gullible), { seed: TEETH_SEED, numRuns: 500 })).failed).toBe(true);
  });

  itHasTeeth('should catch a flow that skips an enrolled second factor (the property has teeth)', async () => {
    const blind = (ports: FlowPorts) =>
      realFlows(ports).map((real) => ({
        ...real,
        enrich: (event: never, snapshot: never, facts: never, p: FlowPorts) =>
          real.enrich(event, snapshot, facts, { ...p, secondFactors: { ...p.secondFactors, status: async () => ({ totp: false, backupCodesLeft: 0 }) } }),
      })) as FlowDefinition[];
    expect((await fc.check(challengesGuardPasswords(blind), { seed: TEETH_SEED, numRuns: 500 })).failed).toBe(true);
  });
});
