import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { commonPasswordBlocklist } from '../src/adapters/commonPasswords.ts';
import type { Handle } from '../src/domain/handle.ts';
import { checkPassword } from '../src/domain/password.ts';
import { DEFAULT_POLICY } from '../src/domain/policy.ts';
import { handleKey } from '../src/domain/handle.ts';
import { type Phone, phoneRegion } from '../src/domain/phone.ts';
import { registrationFlow } from '../src/flows/registration.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { createRuntime, type FlowRuntime } from '../src/runtime/runtime.ts';
import { testHost } from './support/world.ts';
import { TEETH_SEED } from './setup/fastCheck.ts';
import { itHasTeeth } from './support/teeth.ts';

const PHONES = [
  '+8613800138000', // CN mobile
  '+8613900139000', // CN mobile, blocked below
  '+8613700137000', // CN mobile, already has an account below
  '+85251234567', // HK mobile
  '+12025550123', // US: out of region
  '+861062345678', // CN fixed line: not a mobile
  '13800138000,13900139000', // a list: never a number
];
const BLOCKED = '+8613900139000';
const TAKEN_PHONE = '+8613700137000';
const HANDLES = ['alice_01', 'ALICE_01', 'taken_x', 'TAKEN_X', 'bob-2024', '9lives', 'ab', 'carol_3'];
const PASSWORDS = ['correct horse battery staple', 'password123', 'short', 'x13800138000x', 'my alice_01 pw', '密码很长很长的一句话'];

type Command =
  | { readonly kind: 'start' }
  | { readonly kind: 'phone'; readonly flow: number; readonly phone: string }
  | { readonly kind: 'rightCode'; readonly flow: number }
  | { readonly kind: 'wrongCode'; readonly flow: number; readonly code: string }
  | { readonly kind: 'resend'; readonly flow: number }
  | { readonly kind: 'handle'; readonly flow: number; readonly handle: string }
  | { readonly kind: 'password'; readonly flow: number; readonly password: string }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'tick'; readonly flow: number }
  | { readonly kind: 'restart' }
  /** A whole attempt in one go, so random runs reach account creation often. */
  | { readonly kind: 'complete'; readonly phone: string; readonly handle: string; readonly password: string };

const flowIndex = fc.nat({ max: 3 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.constant({ kind: 'start' as const }),
  fc.record({ kind: fc.constant('phone' as const), flow: flowIndex, phone: fc.constantFrom(...PHONES) }),
  fc.record({ kind: fc.constant('rightCode' as const), flow: flowIndex }),
  fc.record({ kind: fc.constant('wrongCode' as const), flow: flowIndex, code: fc.stringMatching(/^\d{6}$/) }),
  fc.record({ kind: fc.constant('resend' as const), flow: flowIndex }),
  fc.record({ kind: fc.constant('handle' as const), flow: flowIndex, handle: fc.constantFrom(...HANDLES) }),
  fc.record({ kind: fc.constant('password' as const), flow: flowIndex, password: fc.constantFrom(...PASSWORDS) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 * 60_000 }) }),
  fc.record({ kind: fc.constant('tick' as const), flow: flowIndex }),
  fc.constant({ kind: 'restart' as const }),
  fc.record({ kind: fc.constant('complete' as const), phone: fc.constantFrom(...PHONES), handle: fc.constantFrom(...HANDLES), password: fc.constantFrom(...PASSWORDS) }),
);

/** The rules no registration may break, as a property over any definition of the flow. */
const neverBreaksTheRules = (makeDefinition: (ports: FlowPorts) => FlowDefinition)  =>
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60 }), async (commands) => {
        const host = testHost({ blocked: [BLOCKED] });
        const definition = () => makeDefinition(host.world);
        host.world.directory.createNow({ phone: TAKEN_PHONE as Phone, handle: 'taken_x' as Handle, passwordHash: 'seeded', at: 0 });
        let runtime: FlowRuntime = createRuntime(host.world, [definition()]);
        const flows: string[] = [];
        const phoneOf = new Map<string, string>();
        for (const c of commands) {
          const flowId = 'flow' in c ? flows[c.flow % Math.max(1, flows.length)] : undefined;
          switch (c.kind) {
            case 'start': {
              const r = await runtime.start('registration', {});
              if (E.isRight(r)) flows.push(r.right.flowId);
              break;
            }
            case 'phone':
              if (flowId !== undefined) {
                const r = await runtime.send(flowId, { type: 'phone.submit', phone: c.phone });
                if (E.isRight(r)) phoneOf.set(flowId, c.phone);
              }
              break;
            case 'rightCode':
              if (flowId !== undefined) {
                const code = host.world.messenger.lastCodeTo(phoneOf.get(flowId) ?? '') ?? '000000';
                await runtime.send(flowId, { type: 'code.submit', code });
              }
              break;
            case 'wrongCode':
              if (flowId !== undefined) await runtime.send(flowId, { type: 'code.submit', code: c.code });
              break;
            case 'resend':
              if (flowId !== undefined) await runtime.send(flowId, { type: 'code.resend' });
              break;
            case 'handle':
              if (flowId !== undefined) await runtime.send(flowId, { type: 'handle.submit', handle: c.handle });
              break;
            case 'password':
              if (flowId !== undefined) await runtime.send(flowId, { type: 'password.submit', password: c.password });
              break;
            case 'advance':
              host.world.clock.advanceBy(c.ms);
              break;
            case 'tick':
              if (flowId !== undefined) await runtime.tick(flowId);
              break;
            case 'complete': {
              const r = await runtime.start('registration', {});
              if (E.isLeft(r)) break;
              const id = r.right.flowId;
              await runtime.send(id, { type: 'phone.submit', phone: c.phone });
              await runtime.send(id, { type: 'code.submit', code: host.world.messenger.lastCodeTo(c.phone) ?? '000000' });
              await runtime.send(id, { type: 'handle.submit', handle: c.handle });
              await runtime.send(id, { type: 'password.submit', password: c.password });
              break;
            }
            case 'restart':
              runtime = createRuntime(host.world, [definition()]);
              break;
          }
          const accounts = host.world.directory.all();
          const phones = accounts.map((a) => a.phone?.value);
          const handles = accounts.map((a) => handleKey(a.handle));
          expect(new Set(phones).size).toBe(phones.length);
          expect(new Set(handles).size).toBe(handles.length);
          for (const account of accounts.slice(1)) {
            const phone = account.phone?.value as Phone;
            expect(phone).not.toBe(BLOCKED);
            expect(['CN', 'HK']).toContain(phoneRegion(phone));
            // The password it was created with is one of the pool's; it must pass the policy for this phone and handle.
            let chosen: string | undefined;
            for (const candidate of PASSWORDS) if (await host.world.hasher.verify(candidate, account.passwordHash)) chosen = candidate;
            expect(chosen).toBeDefined();
            const verdict = checkPassword(chosen, { policy: DEFAULT_POLICY, blocklist: commonPasswordBlocklist(), phone, handle: account.handle });
            expect(E.isRight(verdict)).toBe(true);
          }
        }
      });

describe('registration properties', () => {
  it('should never register a blocked or out-of-region number, a taken handle or phone, or a policy-breaking password', async () => {
    await fc.assert(neverBreaksTheRules(registrationFlow));
  });

  itHasTeeth('should catch a registration that skips the blocked-number check (the property has teeth)', async () => {
    const broken = (ports: FlowPorts): FlowDefinition => {
      const real = registrationFlow(ports);
      return { ...real, enrich: (event, snapshot, facts, p) => real.enrich(event as never, snapshot as never, facts, { ...p, blockedNumbers: { isBlocked: async () => false } }) };
    };
    const result = await fc.check(neverBreaksTheRules(broken), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
  });

  itHasTeeth('should catch a registration that skips the password blocklist (the property has teeth)', async () => {
    const broken = (ports: FlowPorts): FlowDefinition => {
      const real = registrationFlow(ports);
      return { ...real, enrich: (event, snapshot, facts, p) => real.enrich(event as never, snapshot as never, facts, { ...p, passwordBlocklist: { has: () => false } }) };
    };
    const result = await fc.check(neverBreaksTheRules(broken), { seed: TEETH_SEED, numRuns: 300 });
    expect(result.failed).toBe(true);
  });

  it('should keep every deadline and view through a crash and restore at every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
        const host = testHost();
        const runtime = host.runtime;
        const started = await runtime.start('registration', {});
        if (E.isLeft(started)) throw new Error(started.left.message);
        const flowId = started.right.flowId;
        for (const c of commands) {
          switch (c.kind) {
            case 'phone':
              await runtime.send(flowId, { type: 'phone.submit', phone: c.phone });
              break;
            case 'rightCode':
              await runtime.send(flowId, { type: 'code.submit', code: host.world.messenger.lastCodeTo(PHONES[0] as string) ?? '000000' });
              break;
            case 'wrongCode':
              await runtime.send(flowId, { type: 'code.submit', code: c.code });
              break;
            case 'resend':
              await runtime.send(flowId, { type: 'code.resend' });
              break;
            case 'handle':
              await runtime.send(flowId, { type: 'handle.submit', handle: c.handle });
              break;
            case 'advance':
              host.world.clock.advanceBy(c.ms);
              break;
            case 'tick':
              await runtime.tick(flowId);
              break;
            default:
              break;
          }
          const before = await runtime.read(flowId);
          const restored = await createRuntime(host.world, [registrationFlow(host.world)]).read(flowId);
          expect(restored).toEqual(before);
        }
      }),
    );
  });
});
