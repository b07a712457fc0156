/**
 * A code the provider did not take. A retryable failure sent nothing: the send budget gets its
 * unit back and "ask again now" is true. A permanent one, or a timeout that may have gone out,
 * keeps the send's cooldown, and the view quotes it. Recovery shows neither and keeps the unit
 * spent, as for an unbound channel.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBudgets } from '../src/adapters/memory/budgets.ts';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import type { AccountId } from '../src/domain/account.ts';
import type { MessageTemplate } from '../src/domain/effects.ts';
import { DEFAULT_POLICY, type RateRule } from '../src/domain/policy.ts';
import { HOUR } from '../src/domain/time.ts';
import { issueCode } from '../src/domain/verificationCode.ts';
import type { DeliveryResult } from '../src/ports/messenger.ts';
import { runEffect } from '../src/runtime/executor.ts';
import type { HostSession } from '../src/runtime/runtime.ts';
import { afterDeliveryFailure } from '../machines/codeChallenge.ts';
import { seedAccount } from './support/accounts.ts';
import { ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';
const NEW_PHONE = '+8613900139000';
const RETRYABLE: DeliveryResult = { ok: false, reason: 'unreachable', retryable: true };
const PERMANENT: DeliveryResult = { ok: false, reason: 'rejected', retryable: false };
/** Retryable, but the provider may have sent it before the wait ran out. */
const TIMED_OUT: DeliveryResult = { ok: false, reason: 'timeout', retryable: true };
const COOLDOWN = DEFAULT_POLICY.sends.cooldownMs;

/** A host whose provider gives `failure` for the first message only. */
const failingFirst = (failure: DeliveryResult): TestHost => {
  let failNext = true;
  return testHost({ messenger: new MemoryMessenger(() => (failNext ? ((failNext = false), failure) : undefined)) });
};

const sendsTo = (phone: string): string => `sends:phone:${phone}`;

/** The code flows that show a failed delivery, each started up to the send of its first code. */
const FLOWS = [
  {
    name: 'registration',
    to: PHONE,
    begin: async (host: TestHost) => {
      const { flowId } = ok(await host.runtime.start('registration', {}));
      const reply = ok(await host.runtime.send(flowId, { type: 'phone.submit', phone: PHONE }));
      return { flowId, reply, session: undefined as HostSession | undefined };
    },
    proceeded: 'choosingHandle',
  },
  {
    name: 'binding',
    to: NEW_PHONE,
    begin: async (host: TestHost) => {
      const account = await seedAccount(host.world);
      const signedIn = host.world.sessions.signIn(account.id, account.securityEpoch, host.world.clock.now());
      const session: HostSession = { actor: account.id as AccountId, sessionId: signedIn.id };
      const { flowId } = ok(await host.runtime.start('binding', {}, session));
      const reply = ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'phone', value: NEW_PHONE }, session));
      return { flowId, reply, session };
    },
    proceeded: 'bound',
  },
] as const;

describe.each(FLOWS)('$name after a failed code delivery', ({ to, begin, proceeded }) => {
  it('should, when the failure is retryable, give the send budget back and deliver a resend asked for at once', async () => {
    const host = failingFirst(RETRYABLE);
    const { flowId, reply, session } = await begin(host);
    const now = host.world.clock.now();
    expect(reply.view).toMatchObject({ notice: { code: 'delivery_failed' }, resendAllowedAt: now, codeExpiresAt: now });
    // The executor released the failed send's unit: the budget holds nothing for the address.
    expect(host.world.budgets.spent(sendsTo(to))).toEqual([]);

    const resent = ok(await host.runtime.send(flowId, { type: 'code.resend' }, session));
    expect(resent.view.notice).toBeNull();
    expect(host.world.messenger.sent.map((s) => s.message.to)).toEqual([to]);
    expect(host.world.budgets.spent(sendsTo(to))).toEqual([now]);
    const code = host.world.messenger.lastCodeTo(to) ?? '';
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code }, session)).view.state).toBe(proceeded);
  });

  it.each([
    { failure: PERMANENT, kind: 'permanent' },
    { failure: TIMED_OUT, kind: 'a timeout' },
  ])('should, when the failure is $kind, keep the cooldown the send started and quote it in the view', async ({ failure }) => {
    const host = failingFirst(failure);
    const { flowId, reply, session } = await begin(host);
    const sentAt = host.world.clock.now();
    expect(reply.view).toMatchObject({ notice: { code: 'delivery_failed' }, resendAllowedAt: sentAt + COOLDOWN, codeExpiresAt: sentAt });
    // The view says what the budget will do: refused a millisecond before, allowed at the instant.
    expect(host.world.budgets.spent(sendsTo(to))).toEqual([sentAt]);
    expect(await host.world.budgets.peek(sendsTo(to), host.world.policy.sends, sentAt + COOLDOWN - 1)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect((await host.world.budgets.peek(sendsTo(to), host.world.policy.sends, sentAt + COOLDOWN)).allowed).toBe(true);

    host.world.clock.advanceTo(sentAt + COOLDOWN - 1);
    const early = ok(await host.runtime.send(flowId, { type: 'code.resend' }, session));
    expect(early.view).toMatchObject({ notice: { code: 'cooldown', retryAfterMs: 1 }, resendAllowedAt: sentAt + COOLDOWN });
    expect(host.world.messenger.sent).toHaveLength(0);

    host.world.clock.advanceTo(sentAt + COOLDOWN);
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' }, session)).view.notice).toBeNull();
    expect(host.world.messenger.sent.map((s) => s.message.to)).toEqual([to]);
    const code = host.world.messenger.lastCodeTo(to) ?? '';
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code }, session)).view.state).toBe(proceeded);
  });
});

describe('SMS recovery after a failed code delivery', () => {
  it('should keep the unit spent even for a retryable failure, exactly as for a number bound to nobody', async () => {
    const host = testHost({ messenger: new MemoryMessenger(() => RETRYABLE) });
    await seedAccount(host.world);
    const unbound = '+8613700137000';
    for (const phone of [PHONE, unbound]) {
      const { flowId } = ok(await host.runtime.start('smsRecovery', {}));
      ok(await host.runtime.send(flowId, { type: 'channel.submit', channel: phone }));
    }
    const now = host.world.clock.now();
    expect(host.world.audit.entries.filter((e) => e.kind === 'delivery.failed')).toHaveLength(1);
    expect([host.world.budgets.spent(sendsTo(PHONE)), host.world.budgets.spent(sendsTo(unbound))]).toEqual([[now], [now]]);
  });
});

describe('the deliverCode effect on a failed send', () => {
  const deliver = (template: MessageTemplate) => ({
    key: 'f:1:0',
    effect: {
      type: 'deliverCode',
      params: { channel: 'sms', to: PHONE, binding: { flowId: 'f', purpose: 'registration', epoch: 0, nonce: 'n' }, counter: 0, template, budgetKeys: [sendsTo(PHONE), 'sends:global'], deliver: true },
    },
  });

  it.each([
    { failure: RETRYABLE, template: 'registration.code', units: 'given back' },
    { failure: RETRYABLE, template: 'binding.code', units: 'given back' },
    { failure: PERMANENT, template: 'registration.code', units: 'kept' },
    { failure: TIMED_OUT, template: 'registration.code', units: 'kept' },
    { failure: TIMED_OUT, template: 'binding.code', units: 'kept' },
    { failure: RETRYABLE, template: 'recovery.code', units: 'kept' },
    { failure: RETRYABLE, template: 'recovery.link', units: 'kept' },
  ] as const)('should have every budget key\'s unit $units after a $failure.reason failure of $template', async ({ failure, template, units }) => {
    const { world } = testHost({ messenger: new MemoryMessenger(() => failure) });
    const at = world.clock.now();
    // The flow hears "retryable" only when nothing went out: it shows that as "ask again now".
    const nothingSent = failure.reason !== 'timeout' && failure.retryable;
    expect(await runEffect(deliver(template), 'f', world, at)).toEqual({ type: 'delivery.failed', retryable: nothingSent });
    const left = units === 'kept' ? [at] : [];
    expect([world.budgets.spent(sendsTo(PHONE)), world.budgets.spent('sends:global')]).toEqual([left, left]);
  });
});

describe('MemoryBudgets.release', () => {
  const rule: RateRule = { windows: [{ limit: 2, windowMs: HOUR }], cooldownMs: 0 };
  const T0 = Date.UTC(2026, 0, 1);

  it('should give back only the unit spent under its key, once, whatever is asked after', async () => {
    const budgets = new MemoryBudgets();
    expect((await budgets.consume('phone', rule, T0, 'first')).allowed).toBe(true);
    expect((await budgets.consume('phone', rule, T0 + 1, 'second')).allowed).toBe(true);
    expect((await budgets.consume('phone', rule, T0 + 2, 'third')).allowed).toBe(false);

    await budgets.release('phone', 'first');
    expect(budgets.spent('phone')).toEqual([T0 + 1]);
    // Twice, an unknown key, a refused decision, another budget's name: nothing changes.
    await budgets.release('phone', 'first');
    await budgets.release('phone', 'never-used');
    await budgets.release('phone', 'third');
    await budgets.release('email', 'second');
    expect(budgets.spent('phone')).toEqual([T0 + 1]);
    expect(await budgets.peek('phone', rule, T0 + 3)).toMatchObject({ allowed: true, next: { events: [T0 + 1, T0 + 3] } });
  });

  it('should forget the released decision, so an effect run again after a crash spends afresh', async () => {
    const budgets = new MemoryBudgets();
    await budgets.consume('phone', rule, T0, 'send');
    await budgets.release('phone', 'send');
    expect((await budgets.consume('phone', rule, T0 + 5, 'send')).allowed).toBe(true);
    expect(budgets.spent('phone')).toEqual([T0 + 5]);
  });

  it('should take out the released instant, not the last one, when later spends came after it', async () => {
    const budgets = new MemoryBudgets();
    await budgets.consume('phone', { ...rule, windows: [{ limit: 5, windowMs: HOUR }] }, T0, 'a');
    await budgets.consume('phone', { ...rule, windows: [{ limit: 5, windowMs: HOUR }] }, T0 + 1, 'b');
    await budgets.release('phone', 'a');
    expect(budgets.spent('phone')).toEqual([T0 + 1]);
  });
});

describe('afterDeliveryFailure', () => {
  const code = issueCode(undefined, { flowId: 'f', purpose: 'registration', epoch: 0, nonce: 'n' }, 0, 600_000);

  it('should kill the code either way, allow a resend at once only when the failure was retryable', () => {
    const ctx = { code, resendAllowedAt: 60_000 };
    expect(afterDeliveryFailure(ctx, 10, true)).toMatchObject({ code: { expiresAt: 10 }, resendAllowedAt: 10, notice: { code: 'delivery_failed' } });
    expect(afterDeliveryFailure(ctx, 10, false)).toMatchObject({ code: { expiresAt: 10 }, resendAllowedAt: 60_000, notice: { code: 'delivery_failed' } });
  });
});
