/**
 * A code the provider did not take is written to the audit log by the executor itself, for every
 * flow that sends codes, under the outbox entry's key: masked address, template, reason, never the
 * code. The flows only hear `delivery.failed`; recovery ignores it as it ignores `delivery.sent`,
 * so a bound address during an outage answers exactly as an unbound one, down to the version.
 */
import { describe, expect, it } from 'vitest';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import type { AuditEntry } from '../src/ports/audit.ts';
import type { DeliveryResult, OutboundMessage } from '../src/ports/messenger.ts';
import type { StepReply } from '../src/runtime/runtime.ts';
import { seedAccount } from './support/accounts.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';
// Each masks as its bound counterpart does: the view shows the masked address as typed.
const UNBOUND_PHONE = '+8613811118000';
const EMAIL = 'wang@example.com';
const UNBOUND_EMAIL = 'wu@example.com';
const UNREACHABLE: DeliveryResult = { ok: false, reason: 'unreachable', retryable: true };

interface Provider {
  readonly host: TestHost;
  /** Every message handed to the provider, taken or not: the codes the audit must not hold. */
  readonly attempted: OutboundMessage[];
}

const provider = (failure: DeliveryResult | undefined): Provider => {
  const attempted: OutboundMessage[] = [];
  const host = testHost({
    messenger: new MemoryMessenger((message) => {
      attempted.push(message);
      return failure;
    }),
  });
  return { host, attempted };
};

const failures = (host: TestHost): AuditEntry[] => host.world.audit.entries.filter((e) => e.kind === 'delivery.failed');

const codesIn = (messages: readonly OutboundMessage[]): string[] => messages.flatMap((m) => m.text.match(/\b\d{6}\b/g) ?? []);

/** The audit log holds neither a code that was attempted nor an address in the clear. */
const expectNoSecrets = (p: Provider): void => {
  const audit = JSON.stringify(p.host.world.audit.entries);
  const codes = codesIn(p.attempted);
  expect(codes.length).toBeGreaterThan(0);
  for (const code of codes) expect(audit).not.toContain(code);
  for (const plain of [PHONE, '13800138000', EMAIL]) expect(audit).not.toContain(plain);
};

const register = async (host: TestHost) => {
  const { flowId } = ok(await host.runtime.start('registration', {}));
  return { flowId, reply: ok(await host.runtime.send(flowId, { type: 'phone.submit', phone: PHONE })) };
};

const recover = async (host: TestHost, name: 'smsRecovery' | 'emailRecovery', channel: string) => {
  const started = ok(await host.runtime.start(name, {}));
  return { flowId: started.flowId, started, reply: ok(await host.runtime.send(started.flowId, { type: 'channel.submit', channel })) };
};

/** Everything the runtime answers but the flow id. */
const raw = ({ flowId: _flowId, ...rest }: StepReply) => rest;

describe('a failed code delivery', () => {
  it('should leave exactly one masked delivery.failed entry in registration, which shows the failure', async () => {
    const p = provider(UNREACHABLE);
    const { flowId, reply } = await register(p.host);
    expect(reply.view.notice).toEqual({ code: 'delivery_failed' });
    expect(failures(p.host)).toEqual([
      {
        at: p.host.world.clock.now(),
        flowId,
        kind: 'delivery.failed',
        detail: { template: 'registration.code', channel: 'sms', to: '+86 138****8000', reason: 'unreachable', retryable: true },
      },
    ]);
    expectNoSecrets(p);
  });

  it.each([
    { name: 'smsRecovery', to: PHONE, template: 'recovery.code', channel: 'sms', masked: '+86 138****8000' },
    { name: 'emailRecovery', to: EMAIL, template: 'recovery.link', channel: 'email', masked: 'w***@example.com' },
  ] as const)('should leave exactly one masked delivery.failed entry in $name, which shows nothing', async ({ name, to, template, channel, masked }) => {
    const p = provider({ ok: false, reason: 'rejected', retryable: false });
    await seedAccount(p.host.world, { email: EMAIL });
    const { flowId, reply } = await recover(p.host, name, to);
    expect(reply).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode', notice: null } });
    expect(failures(p.host)).toEqual([
      { at: p.host.world.clock.now(), flowId, kind: 'delivery.failed', detail: { template, channel, to: masked, reason: 'rejected', retryable: false } },
    ]);
    expectNoSecrets(p);
  });

  it('should leave none when the code goes out', async () => {
    const p = provider(undefined);
    await seedAccount(p.host.world, { email: EMAIL, phone: '+8613900139000', handle: 'wei_lan' });
    await register(p.host);
    await recover(p.host, 'smsRecovery', '+8613900139000');
    await recover(p.host, 'emailRecovery', EMAIL);
    expect(p.host.world.messenger.sent).toHaveLength(3);
    expect(failures(p.host)).toEqual([]);
  });

  it('should be written once when its outbox entry runs again after the host died before saving', async () => {
    const p = provider(UNREACHABLE);
    await seedAccount(p.host.world);
    const { flowId } = ok(await p.host.runtime.start('smsRecovery', {}));
    const audit = p.host.world.audit;
    const record = audit.record.bind(audit);
    const keys: string[] = [];
    audit.record = async (entry, key) => {
      keys.push(key);
      return record(entry, key);
    };
    const store = p.host.world.store;
    const replace = store.replace.bind(store);
    let crashed = false;
    store.replace = async (envelope, expected, index) => {
      if (!crashed && failures(p.host).length > 0) {
        crashed = true;
        throw new Error('the host died before saving');
      }
      return replace(envelope, expected, index);
    };
    expect(fail(await p.host.runtime.send(flowId, { type: 'channel.submit', channel: PHONE })).code).toBe('port_failure');
    expect(crashed).toBe(true);
    expect(ok(await p.host.runtime.drain(flowId))).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode', notice: null } });
    // The entry ran twice and asked to record twice, under one key: one entry stands.
    expect(keys).toEqual([`${flowId}:2:0:failed`, `${flowId}:2:0:failed`]);
    expect(failures(p.host)).toHaveLength(1);
  });
});

describe('recovery during a messenger outage', () => {
  it.each([
    { name: 'smsRecovery', bound: PHONE, unbound: UNBOUND_PHONE },
    { name: 'emailRecovery', bound: EMAIL, unbound: UNBOUND_EMAIL },
  ] as const)('should answer a bound and an unbound $name channel alike in everything the runtime returns, version included', async ({ name, bound, unbound }) => {
    const p = provider(UNREACHABLE);
    await seedAccount(p.host.world, { email: EMAIL });
    const toBound = await recover(p.host, name, bound);
    const toUnbound = await recover(p.host, name, unbound);
    expect(raw(toBound.started)).toEqual(raw(toUnbound.started));
    expect(raw(toBound.reply)).toEqual(raw(toUnbound.reply));
    // Though the bound address was tried and failed, and the unbound one never tried.
    expect(p.attempted.map((m) => m.to)).toEqual([bound]);
    expect(failures(p.host).map((e) => e.flowId)).toEqual([toBound.flowId]);

    // And still alike after the resend the FAQ asks for, once the cooldown is over.
    p.host.world.clock.advanceBy(p.host.world.policy.sends.cooldownMs);
    const resentToBound = ok(await p.host.runtime.send(toBound.flowId, { type: 'code.resend' }));
    const resentToUnbound = ok(await p.host.runtime.send(toUnbound.flowId, { type: 'code.resend' }));
    expect(raw(resentToBound)).toEqual(raw(resentToUnbound));
    expect(failures(p.host)).toHaveLength(2);
  });
});
