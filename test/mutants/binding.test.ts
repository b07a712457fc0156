/**
 * Binding a channel, step by step: the code deliveries, failure budgets, bindings, notices to the
 * old channel and audit entries each step asks for. The traces are kept in snapshots;
 * test/binding.test.ts states the rules in words.
 */
import { describe, expect, it } from 'vitest';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import type { AccountId } from '../../src/domain/account.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { HOUR, MINUTE } from '../../src/domain/time.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import { deliveries, startTraced, tracingHost, type TracingHost } from './trace.ts';

const PHONE = '+8613800138000';
const NEW_PHONE = '+8613900139000';
const TAKEN_PHONE = '+8613700137000';

const signUp = (host: TracingHost, options: { phone?: string; handle?: string; email?: string } = {}): { id: AccountId; session: HostSession } => {
  const created = host.world.directory.createNow({
    phone: (options.phone ?? PHONE) as Phone,
    handle: (options.handle ?? 'alice_01') as Handle,
    passwordHash: 'x',
    at: host.world.clock.now(),
    ...(options.email === undefined ? {} : { email: options.email as Email }),
  });
  if (!created.ok) throw new Error(created.conflict);
  const session = host.world.sessions.signIn(created.account.id, 0, host.world.clock.now());
  return { id: created.account.id, session: { actor: created.account.id, sessionId: session.id } };
};

const wrongFor = (right: string): string => (right === '000000' ? '111111' : '000000');

describe('binding traces', () => {
  it('should change a phone after wrong tries, a refused resend, an expiry and a resend, telling the old number', async () => {
    const host = tracingHost();
    const user = signUp(host, { email: 'alice@example.com' });
    const flow = await startTraced(host, 'binding', {}, user.session);
    await flow.send('same phone', { type: 'channel.submit', kind: 'phone', value: PHONE });
    await flow.send('new phone', { type: 'channel.submit', kind: 'phone', value: '139 0013 9000', region: 'CN' });
    const first = host.world.messenger.lastCodeTo(NEW_PHONE) ?? '';
    await flow.send('wrong', { type: 'code.submit', code: wrongFor(first) });
    await flow.send('resend too soon', { type: 'code.resend' });
    await flow.tickAt('expired', host.world.clock.now() + 10 * MINUTE);
    await flow.send('expired code', { type: 'code.submit', code: first });
    await flow.send('resend', { type: 'code.resend' });
    await flow.send('old code', { type: 'code.submit', code: first });
    await flow.send('code', { type: 'code.submit', code: host.world.messenger.lastCodeTo(NEW_PHONE) ?? '' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should add an e-mail, refuse a taken phone after its code, and lock after too many wrong codes', async () => {
    const host = tracingHost();
    const user = signUp(host);
    signUp(host, { phone: TAKEN_PHONE, handle: 'bob_0001' });
    const email = await startTraced(host, 'binding', {}, user.session);
    await email.send('bad e-mail', { type: 'channel.submit', kind: 'email', value: 'a@b@example.com' });
    await email.send('e-mail', { type: 'channel.submit', kind: 'email', value: 'Alice@Example.com' });
    await email.send('code', { type: 'code.submit', code: host.world.messenger.lastCodeTo('alice@example.com') ?? '' });
    const taken = await startTraced(host, 'binding', {}, user.session);
    await taken.send('taken phone', { type: 'channel.submit', kind: 'phone', value: TAKEN_PHONE });
    await taken.send('taken code', { type: 'code.submit', code: host.world.messenger.lastCodeTo(TAKEN_PHONE) ?? '' });
    const locked = await startTraced(host, 'binding', {}, user.session);
    await locked.send('phone', { type: 'channel.submit', kind: 'phone', value: NEW_PHONE });
    for (let i = 0; i < 6; i++) await locked.send(`wrong ${i}`, { type: 'code.submit', code: wrongFor(host.world.messenger.lastCodeTo(NEW_PHONE) ?? '') });
    host.world.clock.advanceBy(MINUTE);
    await locked.send('resend', { type: 'code.resend' });
    for (let i = 0; i < 5; i++) await locked.send(`wrong again ${i}`, { type: 'code.submit', code: wrongFor(host.world.messenger.lastCodeTo(NEW_PHONE) ?? '') });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should end with its session, on cancel, at its deadline, on a moved epoch and on a failed or refused delivery', async () => {
    const unreachable = '+8613600136000';
    const host = tracingHost({
      messenger: new MemoryMessenger((message) => (message.to === unreachable ? { ok: false, reason: 'unreachable', retryable: false } : undefined)),
    });
    const user = signUp(host);
    const revoked = await startTraced(host, 'binding', {}, user.session);
    await revoked.send('phone', { type: 'channel.submit', kind: 'phone', value: NEW_PHONE });
    await host.world.sessions.revoke(user.session.sessionId ?? '', host.world.clock.now());
    await revoked.send('after revoke', { type: 'code.submit', code: host.world.messenger.lastCodeTo(NEW_PHONE) ?? '' });
    await revoked.tickAt('tick after revoke', host.world.clock.now() + 1);
    const other = signUp(host, { phone: '+8613500135000', handle: 'carol_01' });
    const cancelled = await startTraced(host, 'binding', {}, other.session);
    await cancelled.send('cancel', { type: 'flow.cancel' });
    const failed = await startTraced(host, 'binding', {}, other.session);
    await failed.send('unreachable', { type: 'channel.submit', kind: 'phone', value: unreachable });
    await failed.send('resend at once', { type: 'code.resend' });
    await failed.tickAt('deadline', host.world.clock.now() + HOUR);
    const moved = await startTraced(host, 'binding', {}, other.session);
    await moved.send('phone', { type: 'channel.submit', kind: 'phone', value: '+8613400134000' });
    host.world.directory.bumpEpoch(other.id);
    await moved.tickAt('epoch moved', host.world.clock.now() + 1);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});
