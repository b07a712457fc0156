/**
 * Security notices ("your contact details changed", "your password was reset") go to channels
 * the flow does not wait on, so a refused one changes nothing in the flow. It must still leave a
 * trace the host can act on: an audit entry naming the channel, the template and the reason,
 * with the address masked.
 */
import { describe, expect, it } from 'vitest';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import type { AccountId } from '../../src/domain/account.ts';
import type { DeliveryResult, OutboundMessage } from '../../src/ports/messenger.ts';
import type { AuditEntry } from '../../src/ports/audit.ts';
import { seedAccount } from '../support/accounts.ts';
import { fail, ok, testHost, type TestHost } from '../support/world.ts';

const PHONE = '+8613800138000';
const OLD_EMAIL = 'wang.old@example.com';
const NEW_EMAIL = 'wang.new@example.com';

const UNREACHABLE: DeliveryResult = { ok: false, reason: 'unreachable', retryable: true };
const REFUSED: DeliveryResult = { ok: false, reason: 'rejected', retryable: false };

/** A host whose messenger answers `failure` for the messages `refuses` picks, and delivers the rest. */
const hostRefusing = (refuses: (message: OutboundMessage) => DeliveryResult | undefined): TestHost => testHost({ messenger: new MemoryMessenger(refuses) });

const noticeFailures = (host: TestHost): AuditEntry[] => host.world.audit.entries.filter((e) => e.kind === 'notice.failed');

const isNotice = (message: OutboundMessage): boolean => !/\b\d{6}\b/.test(message.text);

const signedIn = async (host: TestHost, email: string | undefined) => {
  const account = await seedAccount(host.world, { phone: PHONE, ...(email === undefined ? {} : { email }) });
  const session = host.world.sessions.signIn(account.id, account.securityEpoch, host.world.clock.now());
  return { id: account.id, session: { actor: account.id, sessionId: session.id } };
};

/** Replaces the account's e-mail through the binding flow; the code to the new address goes through. */
const replaceEmail = async (host: TestHost) => {
  const user = await signedIn(host, OLD_EMAIL);
  const { flowId } = ok(await host.runtime.start('binding', {}, user.session));
  ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: NEW_EMAIL }, user.session));
  const code = host.world.messenger.lastCodeTo(NEW_EMAIL) ?? expect.fail('the code to the new address was not delivered');
  const bound = ok(await host.runtime.send(flowId, { type: 'code.submit', code }, user.session));
  return { flowId, accountId: user.id, bound };
};

describe('failed security notices', () => {
  it('should audit a notice the old address (notifyAddress) and the bound phone (notifyChannels) did not get, with masked addresses', async () => {
    const host = hostRefusing((m) => (!isNotice(m) ? undefined : m.to === OLD_EMAIL ? REFUSED : m.channel === 'sms' ? UNREACHABLE : undefined));
    const { flowId, accountId, bound } = await replaceEmail(host);
    // The flow does not wait on notices: it is bound either way.
    expect(bound).toMatchObject({ pendingEffects: 0, view: { state: 'bound' } });
    const at = host.world.clock.now();
    expect(noticeFailures(host)).toEqual([
      { at, flowId, kind: 'notice.failed', detail: { template: 'channel.changed', channel: 'email', to: 'w***@example.com', reason: 'rejected', retryable: false } },
      { at, flowId, kind: 'notice.failed', accountId, detail: { template: 'channel.changed', channel: 'sms', to: '+86 138****8000', reason: 'unreachable', retryable: true } },
    ]);
    // The new address did get its notice, and a delivered notice leaves no failure behind.
    expect(host.world.messenger.sent.filter((s) => s.message.to === NEW_EMAIL && isNotice(s.message))).toHaveLength(1);
    const audit = JSON.stringify(host.world.audit.entries);
    for (const plain of [OLD_EMAIL, NEW_EMAIL, PHONE, '13800138000']) expect(audit).not.toContain(plain);
  });

  it('should audit nothing when every notice is delivered', async () => {
    const host = hostRefusing(() => undefined);
    await replaceEmail(host);
    expect(noticeFailures(host)).toEqual([]);
    expect(host.world.messenger.sent.filter((s) => isNotice(s.message)).map((s) => s.message.to).sort()).toEqual([NEW_EMAIL, OLD_EMAIL, PHONE].sort());
  });

  it('should audit a failed notice once when its outbox entry runs again after a crash', async () => {
    const host = hostRefusing((m) => (isNotice(m) && m.to === OLD_EMAIL ? REFUSED : undefined));
    const user = await signedIn(host, OLD_EMAIL);
    const { flowId } = ok(await host.runtime.start('binding', {}, user.session));
    ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: NEW_EMAIL }, user.session));
    // The host dies right after the notice failed and was audited, before the flow recorded it.
    const store = host.world.store;
    const replace = store.replace.bind(store);
    let crashed = false;
    store.replace = async (envelope, expected, index) => {
      if (!crashed && noticeFailures(host).length > 0) {
        crashed = true;
        throw new Error('the host died before saving');
      }
      return replace(envelope, expected, index);
    };
    const code = host.world.messenger.lastCodeTo(NEW_EMAIL) ?? expect.fail('no code');
    expect(fail(await host.runtime.send(flowId, { type: 'code.submit', code }, user.session)).code).toBe('port_failure');
    expect(crashed).toBe(true);
    expect(ok(await host.runtime.read(flowId)).pendingEffects).toBeGreaterThan(0);
    expect(ok(await host.runtime.drain(flowId))).toMatchObject({ pendingEffects: 0, view: { state: 'bound' } });
    expect(noticeFailures(host)).toHaveLength(1);
  });

  it('should audit a recovery notice a bound channel did not get, under the recovered account', async () => {
    const host = hostRefusing((m) => (isNotice(m) && m.channel === 'email' ? UNREACHABLE : undefined));
    const account = await seedAccount(host.world, { phone: PHONE, email: OLD_EMAIL });
    const { flowId } = ok(await host.runtime.start('smsRecovery', {}));
    ok(await host.runtime.send(flowId, { type: 'channel.submit', channel: PHONE }));
    ok(await host.runtime.send(flowId, { type: 'code.submit', code: host.world.messenger.lastCodeTo(PHONE) ?? '' }));
    const review = ok(await host.runtime.send(flowId, { type: 'password.submit', password: 'a brand new long passphrase' }));
    expect(review.view.state).toBe('hardening.reviewingSecurity');
    expect(noticeFailures(host)).toEqual([
      {
        at: host.world.clock.now(),
        flowId,
        kind: 'notice.failed',
        accountId: account.id as AccountId,
        detail: { template: 'recovery.completed', channel: 'email', to: 'w***@example.com', reason: 'unreachable', retryable: true },
      },
    ]);
    expect(host.world.audit.entries.find((e) => e.kind === 'recovery.completed')?.detail).toMatchObject({ channelsTold: 1 });
  });
});
