import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { lastLinkTokenTo, seedAccount } from './support/accounts.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const EMAIL = 'wang@example.com';
const NEW_PASSWORD = 'a brand new long passphrase';

const begin = async (host: TestHost, channel = EMAIL) => {
  const started = ok(await host.runtime.start('emailRecovery', {}));
  const reply = ok(await host.runtime.send(started.flowId, { type: 'channel.submit', channel }));
  return { flowId: started.flowId, reply };
};

describe('e-mail recovery', () => {
  it('should send one e-mail with both a link and a code, with the safety line', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: EMAIL });
    const { reply } = await begin(host, '  Wang@Example.COM ');
    expect(reply.view).toMatchObject({ state: 'awaitingCode', channel: 'w***@example.com' });
    const mail = host.world.messenger.lastTo(EMAIL);
    expect(mail?.channel).toBe('email');
    expect(mail?.text).toMatch(/https:\/\/accounts\.example\/recover\?flow=[\w-]+&token=[\w-]{22}/);
    expect(host.world.messenger.lastCodeTo(EMAIL)).toMatch(/^\d{6}$/);
    expect(mail?.text).toContain('Nobody from the service will ever ask you for this code');
    expect(reply.view['linkExpiresAt']).toBe(host.world.clock.now() + 60 * 60_000);
    expect(reply.view.codeExpiresAt).toBe(host.world.clock.now() + 10 * 60_000);
  });

  it('should not use up a link when it is opened (mail scanners open links), only when it is confirmed', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: EMAIL });
    const { flowId } = await begin(host);
    const token = lastLinkTokenTo(host.world, EMAIL) as string;
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token })).view.state).toBe('linkOpened');
    expect(fail(await host.runtime.send(flowId, { type: 'link.open', token })).code).toBe('event_not_accepted');
    expect(ok(await host.runtime.send(flowId, { type: 'link.confirm', token })).view.state).toBe('hardening.choosingPassword');
    // A reused link is refused.
    expect(fail(await host.runtime.send(flowId, { type: 'link.confirm', token })).code).toBe('event_not_accepted');
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(ok(await host.runtime.send(flowId, { type: 'security.done' })).view.state).toBe('recovered');
  });

  it('should let exactly one of two concurrent confirmations of one link win', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: EMAIL });
    const { flowId } = await begin(host);
    const token = lastLinkTokenTo(host.world, EMAIL) as string;
    ok(await host.runtime.send(flowId, { type: 'link.open', token }));
    const results = await Promise.all([
      host.runtime.send(flowId, { type: 'link.confirm', token }),
      host.runtime.send(flowId, { type: 'link.confirm', token }),
    ]);
    expect(results.filter(E.isRight)).toHaveLength(1);
    expect(results.filter(E.isLeft).map((r) => (E.isLeft(r) ? r.left.code : ''))).toEqual(['stale_write']);
  });

  it('should recover with the e-mailed code as well', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: EMAIL });
    const { flowId } = await begin(host);
    const code = host.world.messenger.lastCodeTo(EMAIL) as string;
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code })).view.state).toBe('hardening.choosingPassword');
  });

  it('should refuse a wrong link, and a link opened exactly at its expiry', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: EMAIL });
    const { flowId, reply } = await begin(host);
    const token = lastLinkTokenTo(host.world, EMAIL) as string;
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token: 'A'.repeat(22) })).view.notice).toEqual({ code: 'code_invalid' });
    host.world.clock.advanceTo(reply.view['linkExpiresAt'] as number);
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token })).view.notice).toEqual({ code: 'code_expired' });
  });

  it('should accept the link after the code expired, until the link expires', async () => {
    const host = testHost();
    await seedAccount(host.world, { email: EMAIL });
    const { flowId, reply } = await begin(host);
    const token = lastLinkTokenTo(host.world, EMAIL) as string;
    host.world.clock.advanceTo((reply.view.codeExpiresAt as number) + 1);
    expect(ok(await host.runtime.tick(flowId)).view.state).toBe('awaitingCode');
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code: host.world.messenger.lastCodeTo(EMAIL) as string })).view.notice).toEqual({ code: 'code_expired' });
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token })).view.state).toBe('linkOpened');
  });

  it('should answer an unknown or malformed address like a bound one and send nothing', async () => {
    const known = testHost();
    await seedAccount(known.world, { email: EMAIL });
    const a = await begin(known);
    for (const channel of ['nobody@example.com', 'a@x.com,b@y.com', '\\@', 'a@x.com\nBcc: b@y.com']) {
      const other = testHost();
      await seedAccount(other.world, { email: EMAIL });
      const b = await begin(other, channel);
      expect(b.reply.view.state).toBe(a.reply.view.state);
      expect(b.reply.view.message).toBe(a.reply.view.message);
      expect(b.reply.nextDeadline).toBe(a.reply.nextDeadline);
      expect(other.world.messenger.sent).toHaveLength(0);
    }
    const unknown = testHost();
    const c = await begin(unknown, EMAIL);
    expect({ ...c.reply, flowId: '' }).toEqual({ ...a.reply, flowId: '' });
  });
});
