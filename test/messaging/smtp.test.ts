import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MessageTemplate } from '../../src/domain/effects.ts';
import type { Email } from '../../src/domain/email.ts';
import { renderMessage, safetyLine, type Locale } from '../../src/domain/messages.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { memorySentLog, type SentLog } from '../../src/adapters/messaging/sentLog.ts';
import { KEY_HEADER, messageIdFor, type SmtpSender, smtpMessenger } from '../../src/adapters/messaging/smtp.ts';
import type { OutboundMessage } from '../../src/ports/messenger.ts';
import { smtpFailure } from '../../src/adapters/messaging/smtpFailure.ts';
import { closedPort, type LoopbackSmtp, loopbackTransport, silentServer, startLoopbackSmtp } from './loopbackSmtp.ts';

const FROM = 'Accounts <no-reply@accounts.example>';
const TO = 'wang@example.com' as Email;
const LINK = 'https://accounts.example/recover?flow=f-123&token=AbCdEfGhIjKlMnOpQrStUv';

const resetMail = (locale: Locale): OutboundMessage => {
  const rendered = renderMessage('recovery.link', locale, { code: '482913', minutes: 60, link: LINK });
  return { channel: 'email', to: TO, subject: rendered.subject, text: rendered.text, locale };
};

let smtp: LoopbackSmtp;
let transport: SmtpSender;

beforeAll(async () => {
  smtp = await startLoopbackSmtp();
  transport = loopbackTransport(smtp.port);
});
afterAll(async () => {
  transport.close?.();
  await smtp.close();
});
beforeEach(() => {
  smtp.received.length = 0;
  smtp.answer = undefined;
  smtp.rcptAnswer = undefined;
  smtp.holdData = false;
  smtp.onAccepted = undefined;
});

describe('smtpMessenger against a real SMTP server', () => {
  it('should deliver an English reset e-mail with its subject, link, code, safety line and a Message-ID derived from the key', async () => {
    const mail = smtpMessenger({ transport, from: FROM });
    const result = await mail.send(resetMail('en'), 'flow-1:2:0');
    const expectedId = messageIdFor('flow-1:2:0', 'accounts.example');
    expect(result).toEqual({ ok: true, providerId: expectedId });
    expect(smtp.received).toHaveLength(1);
    const { parsed, envelopeTo } = smtp.received[0]!;
    expect(envelopeTo).toEqual([TO]);
    expect(parsed.from?.value).toEqual([{ name: 'Accounts', address: 'no-reply@accounts.example' }]);
    expect(parsed.subject).toBe('Reset your password');
    expect(parsed.text?.trim()).toBe(`Open ${LINK} or enter the code 482913 to reset your password. Both expire in 60 minutes. ${safetyLine('en')}`);
    expect(parsed.messageId).toBe(expectedId);
    expect(parsed.headers.get(KEY_HEADER.toLowerCase())).toBe('flow-1:2:0');
    expect(parsed.headers.get('content-language')).toBe('en');
  });

  it('should deliver a Simplified-Chinese reset e-mail that reads the same after transit, encoded 7-bit on the wire', async () => {
    const mail = smtpMessenger({ transport, from: FROM });
    const sent = resetMail('zh-CN');
    expect((await mail.send(sent, 'flow-zh:2:0')).ok).toBe(true);
    const { parsed, raw } = smtp.received[0]!;
    expect(parsed.subject).toBe('重置密码');
    expect(parsed.text?.trim()).toBe(sent.text);
    expect(parsed.text).toContain('官方绝不会以任何形式向您索要验证码');
    expect(parsed.text).toContain(LINK);
    expect(parsed.headers.get('content-language')).toBe('zh-CN');
    expect(parsed.messageId).toBe(messageIdFor('flow-zh:2:0', 'accounts.example'));
    // No raw 8-bit bytes: any relay on the way, however old, passes it on unchanged.
    expect(raw).toMatch(/^Subject: =\?UTF-8\?/im);
    expect(/[\u0080-\u00ff]/.test(raw)).toBe(false);
  });

  it('should report a 451 after the data as a retryable failure, record nothing, and deliver on the retry', async () => {
    const sentLog = memorySentLog();
    const mail = smtpMessenger({ transport, from: FROM, sentLog });
    smtp.answer = { code: 451, text: 'Try again later' };
    expect(await mail.send(resetMail('en'), 'k:1:0')).toEqual({ ok: false, reason: 'rejected', retryable: true });
    expect(await sentLog.get('k:1:0')).toBeUndefined();
    expect(smtp.received).toHaveLength(0);
    smtp.answer = undefined;
    expect((await mail.send(resetMail('en'), 'k:1:0')).ok).toBe(true);
    expect(smtp.received).toHaveLength(1);
    expect(await sentLog.get('k:1:0')).toBe(messageIdFor('k:1:0', 'accounts.example'));
  });

  it('should report a 550 after the data as rejected, not retryable', async () => {
    const sentLog = memorySentLog();
    smtp.answer = { code: 550, text: 'Message refused' };
    expect(await smtpMessenger({ transport, from: FROM, sentLog }).send(resetMail('en'), 'k:2:0')).toEqual({ ok: false, reason: 'rejected', retryable: false });
    expect(await sentLog.get('k:2:0')).toBeUndefined();
  });

  it('should report a recipient refused with 550 as rejected and one refused with 450 as retryable', async () => {
    const mail = smtpMessenger({ transport, from: FROM });
    smtp.rcptAnswer = { code: 550, text: 'No such user' };
    expect(await mail.send(resetMail('en'), 'k:3:0')).toEqual({ ok: false, reason: 'rejected', retryable: false });
    smtp.rcptAnswer = { code: 450, text: 'Mailbox busy' };
    expect(await mail.send(resetMail('en'), 'k:3:1')).toEqual({ ok: false, reason: 'rejected', retryable: true });
    expect(smtp.received).toHaveLength(0);
  });

  it('should report a server that is down (closed port) as unreachable and retryable', async () => {
    const down = loopbackTransport(await closedPort());
    expect(await smtpMessenger({ transport: down, from: FROM }).send(resetMail('en'), 'k:4:0')).toEqual({ ok: false, reason: 'unreachable', retryable: true });
  });

  it('should report a server that never greets as unreachable and retryable', async () => {
    const silent = await silentServer();
    try {
      const mute = loopbackTransport(silent.port, { greetingTimeout: 100 });
      expect(await smtpMessenger({ transport: mute, from: FROM }).send(resetMail('en'), 'k:5:0')).toEqual({ ok: false, reason: 'unreachable', retryable: true });
    } finally {
      await silent.close();
    }
  });

  it('should report a server that takes the data and never answers as a retryable timeout, never as sent', async () => {
    const sentLog = memorySentLog();
    smtp.holdData = true;
    const slow = loopbackTransport(smtp.port, { socketTimeout: 200 });
    expect(await smtpMessenger({ transport: slow, from: FROM, sentLog }).send(resetMail('en'), 'k:6:0')).toEqual({ ok: false, reason: 'timeout', retryable: true });
    expect(await sentLog.get('k:6:0')).toBeUndefined();
  });

  it('should send once under a key already in the sent log: the server sees exactly one message', async () => {
    const mail = smtpMessenger({ transport, from: FROM, sentLog: memorySentLog() });
    const first = await mail.send(resetMail('en'), 'k:7:0');
    const second = await mail.send(resetMail('en'), 'k:7:0');
    expect(first.ok).toBe(true);
    expect(second).toEqual(first);
    expect(smtp.received).toHaveLength(1);
    // A different key is a different message.
    expect((await mail.send(resetMail('en'), 'k:7:1')).ok).toBe(true);
    expect(smtp.received).toHaveLength(2);
  });

  it('should share one send between two concurrent runs of the same key', async () => {
    const mail = smtpMessenger({ transport, from: FROM });
    const [a, b] = await Promise.all([mail.send(resetMail('en'), 'k:8:0'), mail.send(resetMail('en'), 'k:8:0')]);
    expect(a).toEqual(b);
    expect(smtp.received).toHaveLength(1);
  });

  it('should, without a sent log, send a retried key again under the same Message-ID, so the far side can drop the copy', async () => {
    const mail = smtpMessenger({ transport, from: FROM });
    await mail.send(resetMail('en'), 'k:9:0');
    await mail.send(resetMail('en'), 'k:9:0');
    expect(smtp.received.map((r) => r.parsed.messageId)).toEqual([messageIdFor('k:9:0', 'accounts.example'), messageIdFor('k:9:0', 'accounts.example')]);
  });

  it('should refuse an SMS, not retryable, without handing it to the transport', async () => {
    const sms: OutboundMessage = { channel: 'sms', to: '+8613800138000' as Phone, text: 'code 123456', locale: 'en' };
    let handedOver = 0;
    const counting: SmtpSender = {
      sendMail: (mail) => {
        handedOver++;
        return transport.sendMail(mail);
      },
    };
    expect(await smtpMessenger({ transport: counting, from: FROM }).send(sms, 'k:10:0')).toEqual({ ok: false, reason: 'rejected', retryable: false });
    expect(handedOver).toBe(0);
    expect(smtp.received).toHaveLength(0);
  });

  it('should connect from a connection URL and use the given Message-ID domain', async () => {
    const mail = smtpMessenger({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'no-reply@accounts.example', messageIdDomain: 'mail.accounts.example' });
    try {
      expect(await mail.send(resetMail('en'), 'k:11:0')).toEqual({ ok: true, providerId: messageIdFor('k:11:0', 'mail.accounts.example') });
      expect(smtp.received[0]?.parsed.messageId).toMatch(/^<[0-9a-f]{40}@mail\.accounts\.example>$/);
    } finally {
      mail.close();
    }
  });
});

describe('every message in both languages over SMTP', () => {
  // `satisfies` makes the compiler name any template added later and missing here.
  const TEMPLATES = Object.keys({
    'registration.code': true,
    'recovery.code': true,
    'recovery.link': true,
    'binding.code': true,
    'recovery.completed': true,
    'recovery.started': true,
    'channel.changed': true,
    'secondFactor.enabled': true,
    'recovery.refusedByFriend': true,
    'review.approved': true,
    'review.secondFactorReset': true,
  } satisfies Record<MessageTemplate, true>) as MessageTemplate[];

  it('should arrive with the subject and text exactly as rendered', async () => {
    const mail = smtpMessenger({ transport, from: FROM });
    const sent: Extract<OutboundMessage, { channel: 'email' }>[] = [];
    for (const locale of ['en', 'zh-CN'] as const) {
      for (const template of TEMPLATES) {
        const rendered = renderMessage(template, locale, template.endsWith('.code') || template === 'recovery.link' ? { code: '482913', minutes: 10, link: LINK } : {});
        const message = { channel: 'email' as const, to: TO, subject: rendered.subject, text: rendered.text, locale };
        expect((await mail.send(message, `all:${locale}:${template}`)).ok).toBe(true);
        sent.push(message);
      }
    }
    const arrived = smtp.received.map((r) => ({ subject: r.parsed.subject, text: r.parsed.text?.trim(), language: r.parsed.headers.get('content-language') }));
    expect(arrived).toEqual(sent.map((m) => ({ subject: m.subject, text: m.text, language: m.locale })));
    expect(arrived.filter((a) => /undefined|NaN/.test(`${a.subject} ${a.text}`))).toEqual([]);
  });
});

describe('smtpMessenger without a server', () => {
  const stub = (reply: Awaited<ReturnType<SmtpSender['sendMail']>>): SmtpSender => ({ sendMail: async (m) => ({ ...reply, messageId: String(m.messageId) }) });
  const accepted = { messageId: '', response: '250 2.0.0 OK queued', accepted: [TO], rejected: [] };

  it('should not report sent unless the final answer is 250 and the recipient was accepted', async () => {
    const key = 'k:20:0';
    expect(await smtpMessenger({ transport: stub({ ...accepted, response: '354 go ahead' }), from: FROM }).send(resetMail('en'), key)).toEqual({ ok: false, reason: 'rejected', retryable: true });
    expect(await smtpMessenger({ transport: stub({ ...accepted, accepted: [], rejected: [TO] }), from: FROM }).send(resetMail('en'), key)).toEqual({ ok: false, reason: 'rejected', retryable: false });
    expect(await smtpMessenger({ transport: stub({ ...accepted, response: '2500 odd' }), from: FROM }).send(resetMail('en'), key)).toMatchObject({ ok: false });
    expect(await smtpMessenger({ transport: stub(accepted), from: FROM }).send(resetMail('en'), key)).toEqual({ ok: true, providerId: messageIdFor(key, 'accounts.example') });
  });

  it('should still report sent when the sent log cannot record, and fail the send (so the outbox keeps it) when the log cannot be read', async () => {
    const broken = (what: 'get' | 'record'): SentLog => ({
      get: async () => {
        if (what === 'get') throw new Error('log down');
        return undefined;
      },
      record: async () => {
        throw new Error('log down');
      },
    });
    expect((await smtpMessenger({ transport: stub(accepted), from: FROM, sentLog: broken('record') }).send(resetMail('en'), 'k:21:0')).ok).toBe(true);
    await expect(smtpMessenger({ transport: stub(accepted), from: FROM, sentLog: broken('get') }).send(resetMail('en'), 'k:21:1')).rejects.toThrow('log down');
  });

  it('should refuse bad configuration with a message naming the option', () => {
    expect(() => smtpMessenger({ from: FROM } as never)).toThrow(/exactly one of "transport" and "url"/);
    expect(() => smtpMessenger({ from: FROM, transport, url: 'smtp://x' } as never)).toThrow(/exactly one/);
    for (const from of ['', 'nobody', 'a@b.example, c@d.example', 'x@-bad-.example', 42 as unknown as string]) {
      expect(() => smtpMessenger({ transport, from })).toThrow(/"from" must be one address/);
    }
    expect(() => smtpMessenger({ transport, from: FROM, messageIdDomain: 'bad domain>' })).toThrow(/"messageIdDomain"/);
  });

  it('should leave a transport the host passed in open on close', () => {
    let closed = 0;
    const own: SmtpSender = { sendMail: stub(accepted).sendMail, close: () => void closed++ };
    smtpMessenger({ transport: own, from: FROM }).close();
    expect(closed).toBe(0);
  });
});

describe('memorySentLog', () => {
  it('should keep the first provider id of a key and forget the oldest keys past its limit', async () => {
    const log = memorySentLog(2);
    await log.record('a', 'id-a');
    await log.record('a', 'id-a2');
    await log.record('b', 'id-b');
    expect(await log.get('a')).toBe('id-a');
    await log.record('c', 'id-c');
    expect([await log.get('a'), await log.get('b'), await log.get('c')]).toEqual([undefined, 'id-b', 'id-c']);
  });

  it('should refuse a limit that is not a positive whole number', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => memorySentLog(limit)).toThrow(RangeError);
  });
});

describe('smtpFailure', () => {
  const unreachable = { ok: false, reason: 'unreachable', retryable: true };
  const timeout = { ok: false, reason: 'timeout', retryable: true };
  const refusedForNow = { ok: false, reason: 'rejected', retryable: true };
  const refused = { ok: false, reason: 'rejected', retryable: false };
  const cases: [string, unknown, unknown][] = [
    ['DNS failure', { code: 'EDNS' }, unreachable],
    ['connection refused', { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, unreachable],
    ['connection dropped', { code: 'ECONNECTION' }, unreachable],
    ['TLS handshake failure', { code: 'ETLS' }, unreachable],
    ['connect timeout', { code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT' }, unreachable],
    ['greeting timeout', { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' }, unreachable],
    ['socket timeout', { code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT' }, timeout],
    ['timeout of unknown kind', { code: 'ETIMEDOUT' }, timeout],
    ['421 closing channel', { code: 'EPROTOCOL', responseCode: 421 }, unreachable],
    ['451 local error', { code: 'EMESSAGE', responseCode: 451 }, refusedForNow],
    ['452 storage', { code: 'EENVELOPE', responseCode: 452 }, refusedForNow],
    ['503 bad sequence', { code: 'EPROTOCOL', responseCode: 503 }, refusedForNow],
    ['535 authentication', { code: 'EAUTH', responseCode: 535 }, refused],
    ['550 mailbox', { code: 'EENVELOPE', responseCode: 550 }, refused],
    ['554 transaction failed', { code: 'EMESSAGE', responseCode: 554 }, refused],
    ['no credentials', { code: 'ENOAUTH' }, refused],
    ['bad configuration', { code: 'ECONFIG' }, refused],
    ['unexpected 354', { code: 'EPROTOCOL', responseCode: 354 }, unreachable],
    ['a plain Error', new Error('boom'), unreachable],
    ['a thrown string', 'boom', unreachable],
    ['null', null, unreachable],
  ];
  for (const [what, error, expected] of cases) {
    it(`should map ${what}`, () => expect(smtpFailure(error)).toEqual(expected));
  }
});
