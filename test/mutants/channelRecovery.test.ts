/**
 * Recovery by SMS and by e-mail, step by step: the code and link deliveries, failure budgets,
 * second-factor checks, the hardening and the notices each step asks for. The traces are kept
 * in snapshots; test/smsRecovery.test.ts and test/emailRecovery.test.ts state the rules in words.
 */
import { describe, expect, it } from 'vitest';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import { MINUTE } from '../../src/domain/time.ts';
import { lastLinkTokenTo, OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { enrollTotp } from '../support/friends.ts';
import { deliveries, startTraced, tracingHost } from './trace.ts';

const PHONE = '+8613800138000';
const EMAIL = 'wang@example.com';
const NEW_PASSWORD = 'a brand new long passphrase';
const wrongFor = (right: string): string => (right === '000000' ? '111111' : '000000');

describe('SMS recovery traces', () => {
  it('should recover with a code and the second factor, refusing the old password, and harden the account', async () => {
    const host = tracingHost();
    const account = await seedAccount(host.world, { email: EMAIL });
    const app = await enrollTotp(host.world, account.id);
    host.world.sessions.signIn(account.id, 0, host.world.clock.now(), 'iPad', 'Hangzhou');
    const flow = await startTraced(host, 'smsRecovery');
    await flow.send('phone', { type: 'channel.submit', channel: '+86 138 0013 8000' });
    const code = host.world.messenger.lastCodeTo(PHONE) ?? '';
    await flow.send('wrong', { type: 'code.submit', code: wrongFor(code) });
    await flow.send('resend too soon', { type: 'code.resend' });
    await flow.send('code', { type: 'code.submit', code });
    await flow.send('password first', { type: 'password.submit', password: NEW_PASSWORD });
    await flow.send('wrong factor', { type: 'secondFactor.submit', code: wrongFor(app()) });
    await flow.send('factor', { type: 'secondFactor.submit', code: app() });
    await flow.send('old password', { type: 'password.submit', password: OLD_PASSWORD });
    await flow.send('password', { type: 'password.submit', password: NEW_PASSWORD });
    await flow.send('done', { type: 'security.done' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should answer an unknown number like a bound one, expire, lock, and take the FAQ paths', async () => {
    const host = tracingHost({ policy: { sends: { cooldownMs: 90_000 } } });
    const account = await seedAccount(host.world);
    const malformed = await startTraced(host, 'smsRecovery');
    await malformed.send('malformed', { type: 'channel.submit', channel: '+1 202 555 0123' });
    const unknown = await startTraced(host, 'smsRecovery');
    await unknown.send('unknown', { type: 'channel.submit', channel: '+8613900139000' });
    await unknown.send('guess', { type: 'code.submit', code: '123456' });
    await unknown.tickAt('expired', host.world.clock.now() + 10 * MINUTE);
    await unknown.send('resend', { type: 'code.resend' });
    await unknown.send('to e-mail', { type: 'switch.toEmail' });
    const locked = await startTraced(host, 'smsRecovery');
    await locked.send('phone', { type: 'channel.submit', channel: PHONE });
    for (let i = 0; i < 5; i++) await locked.send(`wrong ${i}`, { type: 'code.submit', code: wrongFor(host.world.messenger.lastCodeTo(PHONE) ?? '') });
    await locked.send('support', { type: 'support.request' });
    const deactivated = await startTraced(host, 'smsRecovery');
    await deactivated.send('number gone', { type: 'number.deactivated' });
    const gone = await startTraced(host, 'smsRecovery');
    host.world.clock.advanceBy(2 * MINUTE);
    await gone.send('phone', { type: 'channel.submit', channel: PHONE });
    host.world.directory.deactivate(account.id);
    await gone.send('code for a deactivated account', { type: 'code.submit', code: host.world.messenger.lastCodeTo(PHONE) ?? '' });
    await gone.send('cancel', { type: 'flow.cancel' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});

describe('notices that do not go out', () => {
  it('should write down every notice a channel could not take, with the address masked', async () => {
    const host = tracingHost({
      messenger: new MemoryMessenger((message) => (message.to === EMAIL ? { ok: false, reason: 'rejected', retryable: true } : undefined)),
    });
    await seedAccount(host.world, { email: EMAIL });
    const flow = await startTraced(host, 'smsRecovery');
    await flow.send('phone', { type: 'channel.submit', channel: PHONE });
    await flow.send('code', { type: 'code.submit', code: host.world.messenger.lastCodeTo(PHONE) ?? '' });
    await flow.send('password', { type: 'password.submit', password: NEW_PASSWORD });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});

describe('e-mail recovery traces', () => {
  it('should open and confirm a link, and recover with the code in another flow', async () => {
    const host = tracingHost();
    await seedAccount(host.world, { email: EMAIL });
    const byLink = await startTraced(host, 'emailRecovery');
    await byLink.send('address', { type: 'channel.submit', channel: '  Wang@Example.COM ' });
    const token = lastLinkTokenTo(host.world, EMAIL) ?? '';
    await byLink.send('wrong link', { type: 'link.open', token: 'A'.repeat(22) });
    await byLink.send('open', { type: 'link.open', token });
    await byLink.send('confirm', { type: 'link.confirm', token });
    await byLink.send('password', { type: 'password.submit', password: NEW_PASSWORD });
    await byLink.send('done', { type: 'security.done' });
    const byCode = await startTraced(host, 'emailRecovery');
    host.world.clock.advanceBy(2 * MINUTE);
    await byCode.send('address', { type: 'channel.submit', channel: EMAIL });
    await byCode.tickAt('code expired', host.world.clock.now() + 10 * MINUTE);
    await byCode.send('link after the code', { type: 'link.open', token: lastLinkTokenTo(host.world, EMAIL) ?? '' });
    const late = await startTraced(host, 'emailRecovery');
    host.world.clock.advanceBy(2 * MINUTE);
    await late.send('address', { type: 'channel.submit', channel: EMAIL });
    await late.send('code', { type: 'code.submit', code: host.world.messenger.lastCodeTo(EMAIL) ?? '' });
    const unknown = await startTraced(host, 'emailRecovery');
    await unknown.send('unknown', { type: 'channel.submit', channel: 'nobody@example.com' });
    await unknown.tickAt('link expired', host.world.clock.now() + 60 * MINUTE);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});
