/**
 * The e-mail recovery flow over the real SMTP adapter and a real SMTP server on loopback: what
 * a reset mail looks like when it arrives, and what the runtime does when the server fails.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryWorld, type MemoryWorld } from '../../src/adapters/memory/index.ts';
import { MemoryFlowStore } from '../../src/adapters/memory/flowStore.ts';
import { memorySentLog, type SentLog } from '../../src/adapters/messaging/sentLog.ts';
import { messageIdFor, type SmtpSender, smtpMessenger } from '../../src/adapters/messaging/smtp.ts';
import type { Locale } from '../../src/domain/messages.ts';
import { emailRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import type { FlowIndex } from '../../src/ports/flowStore.ts';
import type { FlowEnvelope } from '../../src/runtime/envelope.ts';
import { createRuntime, type FlowRuntime } from '../../src/runtime/runtime.ts';
import { seedAccount } from '../support/accounts.ts';
import { fail, ok } from '../support/world.ts';
import { type LoopbackSmtp, loopbackTransport, startLoopbackSmtp } from './loopbackSmtp.ts';

const EMAIL = 'wang@example.com';

/** A store the test can make fail its next write: the host dies before the flow hears back. */
class FailingStore extends MemoryFlowStore {
  failNextReplace = false;

  override async replace(envelope: FlowEnvelope, expectedVersion: number, index?: FlowIndex): Promise<boolean> {
    if (this.failNextReplace) {
      this.failNextReplace = false;
      throw new Error('the host died before saving');
    }
    return super.replace(envelope, expectedVersion, index);
  }
}

interface SmtpHost {
  readonly world: MemoryWorld;
  readonly store: FailingStore;
  readonly runtime: FlowRuntime;
}

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
  smtp.onAccepted = undefined;
});

const smtpHost = async (options: { locale?: Locale; sentLog?: SentLog } = {}): Promise<SmtpHost> => {
  const store = new FailingStore();
  const world = createMemoryWorld({ store, ...(options.locale === undefined ? {} : { locale: options.locale }) });
  await seedAccount(world, { email: EMAIL });
  const messenger = smtpMessenger({ transport, from: 'Accounts <no-reply@accounts.example>', ...(options.sentLog === undefined ? {} : { sentLog: options.sentLog }) });
  const ports = { ...world, messenger };
  return { world, store, runtime: createRuntime(ports, [emailRecoveryFlow(ports)]) };
};

const startRecovery = async (host: SmtpHost): Promise<string> => ok(await host.runtime.start('emailRecovery', {})).flowId;

const tokenIn = (text: string | undefined): string => text?.match(/[?&]token=([A-Za-z0-9_-]+)/)?.[1] ?? '';

describe('e-mail recovery over SMTP', () => {
  it('should deliver the reset mail to the server and let its link recover the account', async () => {
    const host = await smtpHost();
    const flowId = await startRecovery(host);
    const reply = ok(await host.runtime.send(flowId, { type: 'channel.submit', channel: EMAIL }));
    expect(reply).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode' } });
    expect(smtp.received).toHaveLength(1);
    const { parsed, envelopeTo } = smtp.received[0]!;
    expect(envelopeTo).toEqual([EMAIL]);
    expect(parsed.subject).toBe('Reset your password');
    expect(parsed.text).toContain(`https://accounts.example/recover?flow=${flowId}&token=`);
    expect(parsed.headers.get('x-account-flows-key')).toMatch(new RegExp(`^${flowId}:\\d+:\\d+$`));
    expect(parsed.messageId).toBe(messageIdFor(parsed.headers.get('x-account-flows-key') as string, 'accounts.example'));
    const token = tokenIn(parsed.text);
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token })).view.state).toBe('linkOpened');
    expect(ok(await host.runtime.send(flowId, { type: 'link.confirm', token })).view.state).toBe('hardening.choosingPassword');
  });

  it('should deliver the reset mail in Simplified Chinese to a zh-CN host, with a code that works', async () => {
    const host = await smtpHost({ locale: 'zh-CN' });
    const flowId = await startRecovery(host);
    ok(await host.runtime.send(flowId, { type: 'channel.submit', channel: EMAIL }));
    const { parsed } = smtp.received[0]!;
    expect(parsed.subject).toBe('重置密码');
    expect(parsed.text).toMatch(/请打开 https:\/\/accounts\.example\/recover\?flow=\S+ 或输入验证码 \d{6} 重置密码，60 分钟内有效。/);
    expect(parsed.text).toContain('官方绝不会以任何形式向您索要验证码');
    const code = parsed.text?.match(/验证码 (\d{6})/)?.[1] ?? '';
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code })).view.state).toBe('hardening.choosingPassword');
  });

  it('should, when the server answers 451, consume the outbox entry, audit the failure, show nothing, and send nothing on a later drain', async () => {
    const host = await smtpHost({ sentLog: memorySentLog() });
    const flowId = await startRecovery(host);
    smtp.answer = { code: 451, text: 'Try again later' };
    const reply = ok(await host.runtime.send(flowId, { type: 'channel.submit', channel: EMAIL }));
    // The failure is a result, not an exception: the runtime feeds `delivery.failed` back and the
    // entry is done. The person is told nothing (it would say the address is bound).
    expect(reply).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode', notice: null } });
    expect(host.world.audit.entries.filter((e) => e.kind === 'delivery.failed')).toHaveLength(1);
    expect(smtp.received).toHaveLength(0);

    smtp.answer = undefined;
    expect(ok(await host.runtime.drain(flowId)).pendingEffects).toBe(0);
    expect(smtp.received).toHaveLength(0);

    // The only way on is the FAQ's: wait out the resend cooldown and ask again.
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' })).view.notice).toMatchObject({ code: 'cooldown' });
    expect(smtp.received).toHaveLength(0);
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    expect(ok(await host.runtime.send(flowId, { type: 'code.resend' })).pendingEffects).toBe(0);
    expect(smtp.received).toHaveLength(1);
    const token = tokenIn(smtp.received[0]?.parsed.text);
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token })).view.state).toBe('linkOpened');
  });

  it('should, when the host dies after the server took the mail, deliver it exactly once on drain thanks to the sent log', async () => {
    const host = await smtpHost({ sentLog: memorySentLog() });
    const flowId = await startRecovery(host);
    smtp.onAccepted = () => {
      host.store.failNextReplace = true;
    };
    expect(fail(await host.runtime.send(flowId, { type: 'channel.submit', channel: EMAIL })).code).toBe('port_failure');
    expect(ok(await host.runtime.read(flowId)).pendingEffects).toBe(1);
    expect(smtp.received).toHaveLength(1);

    smtp.onAccepted = undefined;
    expect(ok(await host.runtime.drain(flowId))).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode' } });
    expect(smtp.received).toHaveLength(1);
    expect(host.world.audit.entries.filter((e) => e.kind === 'delivery.failed')).toHaveLength(0);
    const token = tokenIn(smtp.received[0]?.parsed.text);
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token })).view.state).toBe('linkOpened');
  });

  it('should, in the same crash without a sent log, deliver a second copy under the same Message-ID', async () => {
    const host = await smtpHost();
    const flowId = await startRecovery(host);
    smtp.onAccepted = () => {
      host.store.failNextReplace = true;
    };
    fail(await host.runtime.send(flowId, { type: 'channel.submit', channel: EMAIL }));
    smtp.onAccepted = undefined;
    ok(await host.runtime.drain(flowId));
    const ids = smtp.received.map((r) => r.parsed.messageId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(smtp.received[0]?.parsed.text).toBe(smtp.received[1]?.parsed.text);
  });

  it('should keep the entry pending when the messenger throws (sent log unreadable), and deliver it exactly once on a later drain', async () => {
    const log = memorySentLog();
    let logDown = true;
    const flaky: SentLog = {
      get: async (key) => {
        if (logDown) throw new Error('sent log unreachable');
        return log.get(key);
      },
      record: (key, id) => log.record(key, id),
    };
    const host = await smtpHost({ sentLog: flaky });
    const flowId = await startRecovery(host);
    expect(ok(await host.runtime.send(flowId, { type: 'channel.submit', channel: EMAIL }))).toMatchObject({ pendingEffects: 1, view: { state: 'awaitingCode' } });
    expect(smtp.received).toHaveLength(0);

    logDown = false;
    expect(ok(await host.runtime.drain(flowId)).pendingEffects).toBe(0);
    expect(ok(await host.runtime.drain(flowId)).pendingEffects).toBe(0);
    expect(smtp.received).toHaveLength(1);
    expect(ok(await host.runtime.send(flowId, { type: 'link.open', token: tokenIn(smtp.received[0]?.parsed.text) })).view.state).toBe('linkOpened');
  });
});
