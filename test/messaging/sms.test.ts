import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/clocks.ts';
import { DevOutbox, devEmailOutbox, devOutbox, devSmsOutbox } from '../../src/adapters/messaging/devOutbox.ts';
import { routeByChannel } from '../../src/adapters/messaging/router.ts';
import * as messaging from '../../src/adapters/messaging/index.ts';
import { httpWebhookSms } from '../../src/adapters/messaging/sms.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Phone } from '../../src/domain/phone.ts';
import type { Messenger, OutboundMessage } from '../../src/ports/messenger.ts';
import { closedPort } from './loopbackSmtp.ts';

const sms = (to = '+8613800138000', text = '您的找回密码验证码为 482913'): OutboundMessage => ({ channel: 'sms', to: to as Phone, text, locale: 'zh-CN' });
const email = (to = 'wang@example.com'): OutboundMessage => ({ channel: 'email', to: to as Email, subject: 'Reset', text: 'Open the link', locale: 'en' });

interface Seen {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** A provider on loopback: records each request and answers with `reply`, or never when it is null. */
let provider: { url: string; seen: Seen[]; reply: ((res: ServerResponse) => void) | null; close(): Promise<void> };

beforeAll(async () => {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      provider.reply?.(res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  provider = {
    url: `http://127.0.0.1:${port}/v1/sms`,
    seen,
    reply: null,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
});
afterAll(() => provider.close());
beforeEach(() => {
  provider.seen.length = 0;
  provider.reply = json(200, { id: 'sms-1' });
});

const json = (status: number, body: unknown) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const text = (status: number, body: string) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
};

describe('httpWebhookSms against a local HTTP provider', () => {
  it('should POST the message as JSON with the idempotency key and bearer token, and report the provider id', async () => {
    const messenger = httpWebhookSms({ url: provider.url, token: 'tok_123', timeoutMs: 2_000 });
    expect(await messenger.send(sms(), 'flow-1:2:0')).toEqual({ ok: true, providerId: 'sms-1' });
    expect(provider.seen).toHaveLength(1);
    const [request] = provider.seen;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('flow-1:2:0');
    expect(request?.headers['authorization']).toBe('Bearer tok_123');
    expect(request?.body).toEqual({ to: '+8613800138000', text: '您的找回密码验证码为 482913', locale: 'zh-CN' });
  });

  it('should send no authorization header without a token, and accept a numeric id', async () => {
    provider.reply = json(202, { id: 77 });
    expect(await httpWebhookSms({ url: provider.url, timeoutMs: 2_000 }).send(sms(), 'k:1:0')).toEqual({ ok: true, providerId: '77' });
    expect(provider.seen[0]?.headers['authorization']).toBeUndefined();
  });

  it('should map each status class to what a retry can do', async () => {
    const messenger = httpWebhookSms({ url: provider.url, timeoutMs: 2_000 });
    const cases: [ReturnType<typeof json>, unknown][] = [
      [json(429, { error: 'slow down' }), { ok: false, reason: 'rejected', retryable: true }],
      [json(500, { error: 'oops' }), { ok: false, reason: 'unreachable', retryable: true }],
      [text(503, 'maintenance'), { ok: false, reason: 'unreachable', retryable: true }],
      [text(504, 'gateway timeout'), { ok: false, reason: 'timeout', retryable: true }],
      [text(408, 'request timeout'), { ok: false, reason: 'timeout', retryable: true }],
      [json(400, { error: 'bad number' }), { ok: false, reason: 'rejected', retryable: false }],
      [json(401, { error: 'bad token' }), { ok: false, reason: 'rejected', retryable: false }],
      [json(422, { error: 'unroutable' }), { ok: false, reason: 'rejected', retryable: false }],
      [text(302, 'elsewhere'), { ok: false, reason: 'rejected', retryable: false }],
      // A 2xx without an id is an endpoint that does not speak this protocol.
      [text(200, 'OK'), { ok: false, reason: 'rejected', retryable: false }],
      [json(200, { id: '' }), { ok: false, reason: 'rejected', retryable: false }],
      [json(200, { status: 'queued' }), { ok: false, reason: 'rejected', retryable: false }],
    ];
    for (const [reply, expected] of cases) {
      provider.reply = reply;
      expect(await messenger.send(sms(), 'k:2:0')).toEqual(expected);
    }
    expect(provider.seen).toHaveLength(cases.length);
  });

  it('should report a provider that never answers as a retryable timeout', async () => {
    provider.reply = null;
    expect(await httpWebhookSms({ url: provider.url, timeoutMs: 100 }).send(sms(), 'k:3:0')).toEqual({ ok: false, reason: 'timeout', retryable: true });
    expect(provider.seen).toHaveLength(1);
  });

  it('should report a provider that answers headers but stalls the body as a timeout', async () => {
    provider.reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":');
    };
    expect(await httpWebhookSms({ url: provider.url, timeoutMs: 150 }).send(sms(), 'k:3:1')).toEqual({ ok: false, reason: 'timeout', retryable: true });
  });

  it('should report a provider that is down as unreachable and retryable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1/sms`;
    expect(await httpWebhookSms({ url, timeoutMs: 2_000 }).send(sms(), 'k:4:0')).toEqual({ ok: false, reason: 'unreachable', retryable: true });
  });

  it('should use the fetch it is given', async () => {
    const calls: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      calls.push(`${String(input)} ${new Headers(init?.headers).get('idempotency-key')}`);
      return new Response(JSON.stringify({ id: 'f-1' }), { status: 201 });
    };
    expect(await httpWebhookSms({ url: 'https://sms.example/send', fetch, timeoutMs: 1_000 }).send(sms(), 'k:5:0')).toEqual({ ok: true, providerId: 'f-1' });
    expect(calls).toEqual(['https://sms.example/send k:5:0']);
  });

  it('should refuse an e-mail, not retryable, without a request', async () => {
    expect(await httpWebhookSms({ url: provider.url, timeoutMs: 1_000 }).send(email(), 'k:6:0')).toEqual({ ok: false, reason: 'rejected', retryable: false });
    expect(provider.seen).toHaveLength(0);
  });

  it('should refuse bad configuration with a message naming the option', () => {
    expect(() => httpWebhookSms({ url: 'not a url', timeoutMs: 1 })).toThrow(/"url" must be an absolute/);
    expect(() => httpWebhookSms({ url: 'ftp://sms.example', timeoutMs: 1 })).toThrow(/"url" must be http/);
    for (const timeoutMs of [0, -5, 1.5, Number.POSITIVE_INFINITY]) expect(() => httpWebhookSms({ url: provider.url, timeoutMs })).toThrow(/"timeoutMs"/);
    expect(() => httpWebhookSms({ url: provider.url, timeoutMs: 1, token: 'a b' })).toThrow(/"token"/);
    expect(() => httpWebhookSms({ url: provider.url, timeoutMs: 1, token: 'x\r\nX-Evil: 1' })).toThrow(/"token"/);
    expect(() => httpWebhookSms({ url: provider.url, timeoutMs: 1, fetch: 'nope' as never })).toThrow(/fetch/);
  });

  it('should use no Node module, so it runs wherever fetch does', () => {
    for (const file of ['sms.ts', 'devOutbox.ts', 'router.ts', 'sentLog.ts']) {
      const source = readFileSync(new URL(`../../src/adapters/messaging/${file}`, import.meta.url), 'utf8');
      expect(source, file).not.toMatch(/from\s+['"](node:|fs|net|http|https|crypto|tls|dns)['"/]/);
      expect(source, file).not.toMatch(/from\s+['"]nodemailer/);
    }
  });
});

describe('dev outboxes', () => {
  it('should keep SMS newest first, filter by recipient, and remember keys', async () => {
    const clock = new VirtualClock(1_000);
    const outbox = devSmsOutbox({ clock });
    expect(await outbox.send(sms('+8613800138000', 'first'), 'a:1:0')).toEqual({ ok: true, providerId: 'dev-sms-1' });
    clock.advanceBy(5);
    await outbox.send(sms('+85291234567', 'other'), 'b:1:0');
    await outbox.send(sms('+8613800138000', 'second'), 'a:2:0');
    // A retried key is the first delivery, not a new message.
    expect(await outbox.send(sms('+8613800138000', 'first'), 'a:1:0')).toEqual({ ok: true, providerId: 'dev-sms-1' });
    expect(outbox.list().map((e) => e.message.text)).toEqual(['second', 'other', 'first']);
    expect(outbox.list('+8613800138000').map((e) => e.message.text)).toEqual(['second', 'first']);
    expect(outbox.list('+8613800138000').map((e) => e.at)).toEqual([1_005, 1_000]);
    expect(JSON.parse(JSON.stringify(outbox.list()))).toEqual(outbox.list());
  });

  it('should keep at most its limit, dropping the oldest and forgetting their keys', async () => {
    const outbox = devSmsOutbox({ limit: 2 });
    for (const i of [1, 2, 3]) await outbox.send(sms(undefined, `m${i}`), `k:${i}:0`);
    expect(outbox.list().map((e) => e.message.text)).toEqual(['m3', 'm2']);
    expect((await outbox.send(sms(undefined, 'm1 again'), 'k:1:0')).ok).toBe(true);
    expect(outbox.list().map((e) => e.message.text)).toEqual(['m1 again', 'm3']);
  });

  it('should refuse the other channel, not retryable, and keep nothing', async () => {
    const smsOnly = devSmsOutbox();
    const emailOnly = devEmailOutbox();
    expect(await smsOnly.send(email(), 'k:1:0')).toEqual({ ok: false, reason: 'rejected', retryable: false });
    expect(await emailOnly.send(sms(), 'k:1:0')).toEqual({ ok: false, reason: 'rejected', retryable: false });
    expect(await emailOnly.send(email(), 'k:2:0')).toEqual({ ok: true, providerId: 'dev-email-1' });
    expect([smsOnly.list().length, emailOnly.list().length]).toEqual([0, 1]);
    const both = devOutbox();
    await both.send(sms(), 'x:1:0');
    await both.send(email(), 'x:2:0');
    expect(both.list().map((e) => e.message.channel)).toEqual(['email', 'sms']);
  });

  it('should refuse a limit that is not a positive whole number', () => {
    for (const limit of [0, -1, 2.5]) expect(() => new DevOutbox(['sms'], { limit })).toThrow(RangeError);
  });
});

describe('routeByChannel', () => {
  it('should hand each message to the messenger of its channel, key unchanged', async () => {
    const smsOut = devSmsOutbox();
    const emailOut = devEmailOutbox();
    const messenger = routeByChannel({ sms: smsOut, email: emailOut });
    expect((await messenger.send(sms(), 'r:1:0')).ok).toBe(true);
    expect((await messenger.send(email(), 'r:1:1')).ok).toBe(true);
    expect(smsOut.list().map((e) => e.idempotencyKey)).toEqual(['r:1:0']);
    expect(emailOut.list().map((e) => e.idempotencyKey)).toEqual(['r:1:1']);
  });

  it('should pass a failure through unchanged', async () => {
    const failing: Messenger = { send: async () => ({ ok: false, reason: 'timeout', retryable: true }) };
    expect(await routeByChannel({ sms: failing, email: devEmailOutbox() }).send(sms(), 'r:2:0')).toEqual({ ok: false, reason: 'timeout', retryable: true });
  });

  it('should refuse a missing route', () => {
    expect(() => routeByChannel({ sms: devSmsOutbox() } as never)).toThrow(/both "sms" and "email"/);
    expect(() => routeByChannel(undefined as never)).toThrow(TypeError);
  });
});

describe('the messaging index', () => {
  it('should export every adapter a host wires up', () => {
    expect(Object.keys(messaging).sort()).toEqual(
      ['DevOutbox', 'KEY_HEADER', 'devEmailOutbox', 'devOutbox', 'devSmsOutbox', 'httpWebhookSms', 'memorySentLog', 'messageIdFor', 'routeByChannel', 'smtpFailure', 'smtpMessenger'].sort(),
    );
  });
});
