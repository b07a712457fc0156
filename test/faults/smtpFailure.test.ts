/**
 * The flows over a real SMTP server that fails: the binding and e-mail recovery flows on SQL
 * ports (PGlite) with the SMTP messenger and its sent log. A failed send is reported (or, in
 * recovery, kept silent), never recorded as sent, and can be retried; a send the server took just
 * before the host died is not delivered again after the restart.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryWorld, type MemoryWorld } from '../../src/adapters/memory/index.ts';
import { routeByChannel } from '../../src/adapters/messaging/router.ts';
import { memorySentLog, type SentLog } from '../../src/adapters/messaging/sentLog.ts';
import { type SmtpSender, smtpMessenger } from '../../src/adapters/messaging/smtp.ts';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { SqlFlowStore, type SqlPorts } from '../../src/adapters/sql/index.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import type { AccountId } from '../../src/domain/account.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { bindingFlow } from '../../src/flows/binding.ts';
import { emailRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import type { FlowIndex } from '../../src/ports/flowStore.ts';
import type { FlowEnvelope } from '../../src/runtime/envelope.ts';
import { createRuntime, type FlowRuntime, type HostSession, type StepReply } from '../../src/runtime/runtime.ts';
import { closedPort, type LoopbackSmtp, loopbackTransport, type Received, startLoopbackSmtp } from '../messaging/loopbackSmtp.ts';
import { emptyTables, SETUP_TIMEOUT_MS, sqlPorts } from '../sql/support.ts';
import { fail, ok } from '../support/world.ts';

const PHONE = '+8613800138000';
const EMAIL = 'wang@example.com';
const OTHER_EMAIL = 'wei@example.com';
const SENDER = 'Accounts <no-reply@accounts.example>';
const CODE_SUBJECT = 'Confirm this contact';

/** A store the test can make throw on its next write: the host dies before the flow hears back. */
class CrashingStore extends SqlFlowStore {
  crashOnNextReplace = false;

  override async replace(envelope: FlowEnvelope, expectedVersion: number, index?: FlowIndex): Promise<boolean> {
    if (this.crashOnNextReplace) {
      this.crashOnNextReplace = false;
      throw new Error('the host died before saving');
    }
    return super.replace(envelope, expectedVersion, index);
  }
}

/**
 * A sent log in the same database as the flows, so it outlives the process as they do (the
 * library ships only `memorySentLog`, which a restart forgets). Its table is this file's own.
 */
const SENT_LOG_TABLE = 'faults_sent_log';
const sqlSentLog = (client: SqlClient): SentLog => ({
  get: async (key) => (await client.query<{ provider_id: string }>(`SELECT provider_id FROM ${SENT_LOG_TABLE} WHERE key = $1`, [key]))[0]?.provider_id,
  record: async (key, providerId) => {
    await client.query(`INSERT INTO ${SENT_LOG_TABLE} (key, provider_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [key, providerId]);
  },
});

interface Host {
  readonly world: MemoryWorld;
  readonly sql: SqlPorts;
  readonly store: CrashingStore;
  readonly runtime: FlowRuntime;
}

interface User {
  readonly id: AccountId;
  readonly session: HostSession;
}

let client: SqlClient;
let smtp: LoopbackSmtp;
let transport: SmtpSender;

beforeAll(async () => {
  client = await openPglite();
  await sqlPorts(client);
  await client.query(`CREATE TABLE ${SENT_LOG_TABLE} (key text PRIMARY KEY, provider_id text NOT NULL)`);
  smtp = await startLoopbackSmtp();
  transport = loopbackTransport(smtp.port);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  transport?.close?.();
  await smtp?.close();
  await client?.close();
}, SETUP_TIMEOUT_MS);

beforeEach(async () => {
  await emptyTables(client);
  await client.query(`TRUNCATE ${SENT_LOG_TABLE}`);
  smtp.received.length = 0;
  smtp.answer = undefined;
  smtp.rcptAnswer = undefined;
  smtp.onAccepted = undefined;
});

/**
 * One host process: memory for what a process holds (clock, code key, audit, SMS), SQL for what
 * outlives it. Two hosts built here share the database and, by the same seed, the code key.
 */
const startHost = async (options: { via?: SmtpSender; sentLog?: SentLog } = {}): Promise<Host> => {
  const world = createMemoryWorld({ seed: 9 });
  const sql = await sqlPorts(client);
  const store = new CrashingStore(client);
  const email = smtpMessenger({ transport: options.via ?? transport, from: SENDER, sentLog: options.sentLog ?? sqlSentLog(client) });
  const ports = { ...world, ...sql, store, messenger: routeByChannel({ sms: world.messenger, email }) };
  return { world, sql, store, runtime: createRuntime(ports, [bindingFlow(ports), emailRecoveryFlow(ports)]) };
};

const seedAccount = async (host: Host, email?: string, phone = PHONE, handle = 'wang_xiaoming'): Promise<AccountId> => {
  const created = await host.sql.directory.createAccount({
    phone: phone as Phone,
    handle: handle as Handle,
    passwordHash: 'x',
    at: host.world.clock.now(),
    ...(email === undefined ? {} : { email: email as Email }),
  });
  if (!created.ok) throw new Error(`could not seed: ${created.conflict}`);
  return created.account.id;
};

const signUp = async (host: Host): Promise<User> => {
  const id = await seedAccount(host);
  const session = await host.sql.sessions.signIn(id, 0, host.world.clock.now());
  return { id, session: { actor: id, sessionId: session.id } };
};

const sentLogSize = async (): Promise<number> => (await client.query(`SELECT key FROM ${SENT_LOG_TABLE}`)).length;

const codeIn = (mail: Received | undefined): string => mail?.parsed.text?.match(/\b(\d{6})\b/)?.[1] ?? expect.fail('no code in the mail');

const codeMails = (server: LoopbackSmtp = smtp): Received[] => server.received.filter((r) => r.parsed.subject === CODE_SUBJECT);

const ofFlow = (flowId: string, server: LoopbackSmtp = smtp): Received[] => server.received.filter((r) => r.parsed.headers.get('x-account-flows-key')?.toString().startsWith(`${flowId}:`));

const startBinding = async (host: Host, user: User) => {
  const { flowId } = ok(await host.runtime.start('binding', {}, user.session));
  const reply = ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: EMAIL }, user.session));
  return { flowId, reply };
};

/**
 * The reported failure: the code died at once and nothing is pending. A retryable one gave the
 * send budget back, so a resend is allowed at once; a permanent one keeps the send's cooldown.
 */
const expectReportedFailure = (host: Host, reply: StepReply, retryable: boolean): void => {
  const now = host.world.clock.now();
  const resendAllowedAt = retryable ? now : now + host.world.policy.sends.cooldownMs;
  expect(reply).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode', notice: { code: 'delivery_failed' }, codeExpiresAt: now, resendAllowedAt } });
};

/** Nothing anywhere says a mail went out; the one trace is the failure's own audit entry, masked. */
const expectNothingSent = async (host: Host, server: LoopbackSmtp = smtp): Promise<void> => {
  expect(server.received).toHaveLength(0);
  expect(await sentLogSize()).toBe(0);
  expect(host.world.audit.entries).toEqual([expect.objectContaining({ kind: 'delivery.failed', detail: expect.objectContaining({ template: 'binding.code', channel: 'email', to: 'w***@example.com' }) })]);
  expect((await host.sql.directory.findByEmail(EMAIL as Email))).toBeUndefined();
};

/** Resends with the server healthy: one mail, whose code binds the address. */
const resendAndBind = async (host: Host, user: User, flowId: string, retryable: boolean, server: LoopbackSmtp = smtp): Promise<void> => {
  if (!retryable) {
    // A permanent failure spent the address's send cooldown, and the view said so: a resend
    // before it ends is refused by the flow itself, and sends nothing.
    const early = ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session));
    expect(early.view.notice).toEqual({ code: 'cooldown', retryAfterMs: host.world.policy.sends.cooldownMs });
    expect(server.received).toHaveLength(0);
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
  }
  const resent = ok(await host.runtime.send(flowId, { type: 'code.resend' }, user.session));
  expect(resent).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode', notice: null } });
  expect(codeMails(server)).toHaveLength(1);
  expect(codeMails(server)[0]?.envelopeTo).toEqual([EMAIL]);
  expect(await sentLogSize()).toBe(1);
  const bound = ok(await host.runtime.send(flowId, { type: 'code.submit', code: codeIn(codeMails(server)[0]) }, user.session));
  expect(bound.view).toMatchObject({ state: 'bound', done: true });
  expect((await host.sql.directory.get(user.id))?.email?.value).toBe(EMAIL);
  // Still one code mail; the only other is the "contact details changed" notice to the new address.
  expect(codeMails(server)).toHaveLength(1);
  expect(server.received.map((r) => r.parsed.subject)).toEqual([CODE_SUBJECT, 'Your contact details changed']);
};

describe('binding an e-mail while the SMTP server fails', () => {
  it.each([
    { fault: '451 to the message data', retryable: true, set: () => (smtp.answer = { code: 451, text: 'Try again later' }) },
    { fault: '550 to the message data', retryable: false, set: () => (smtp.answer = { code: 550, text: 'Message refused' }) },
    { fault: '550 to the recipient', retryable: false, set: () => (smtp.rcptAnswer = { code: 550, text: 'No such user here' }) },
  ])('should report a $fault, mark nothing sent, and bind after a resend to the healthy server', async ({ retryable, set }) => {
    const host = await startHost();
    const user = await signUp(host);
    set();
    const { flowId, reply } = await startBinding(host, user);
    expectReportedFailure(host, reply, retryable);
    await expectNothingSent(host);
    // The failure was an answer, not an exception: nothing is left for a later drain to send.
    expect(ok(await host.runtime.drain(flowId)).pendingEffects).toBe(0);
    await expectNothingSent(host);

    smtp.answer = undefined;
    smtp.rcptAnswer = undefined;
    await resendAndBind(host, user, flowId, retryable);
  });

  it('should report a server that is down, mark nothing sent, and bind after a resend once it is back on its port', async () => {
    const port = await closedPort();
    const toDownServer = loopbackTransport(port);
    let revived: LoopbackSmtp | undefined;
    try {
      const host = await startHost({ via: toDownServer });
      const user = await signUp(host);
      const { flowId, reply } = await startBinding(host, user);
      expectReportedFailure(host, reply, true);
      await expectNothingSent(host);

      revived = await startLoopbackSmtp(port);
      expect(revived.port).toBe(port);
      await resendAndBind(host, user, flowId, true, revived);
      expect(smtp.received).toHaveLength(0);
    } finally {
      toDownServer.close?.();
      await revived?.close();
    }
  });
});

describe('e-mail recovery while the SMTP server fails', () => {
  /**
   * Everything the runtime answers, less the flow id: a host that hands `StepReply` out whole
   * (`version` included) must not tell a bound address from an unbound one either.
   */
  const raw = ({ flowId: _flowId, ...rest }: StepReply) => rest;

  it('should answer exactly as for a healthy send, mark nothing sent, and deliver once on a resend after the cooldown', async () => {
    const host = await startHost();
    // Two accounts whose addresses mask alike: each address has its own send budget.
    await seedAccount(host, EMAIL);
    await seedAccount(host, OTHER_EMAIL, '+8613900139000', 'wei_lan');
    const submit = async (channel: string) => {
      const { flowId } = ok(await host.runtime.start('emailRecovery', {}));
      return { flowId, reply: ok(await host.runtime.send(flowId, { type: 'channel.submit', channel })) };
    };

    const healthy = await submit(OTHER_EMAIL);
    expect(ofFlow(healthy.flowId)).toHaveLength(1);
    smtp.answer = { code: 451, text: 'Try again later' };
    const unknown = await submit('wu@example.com');
    const failing = await submit(EMAIL);

    // The executor writes the failure down itself, so the flow takes the same one step to hear
    // `delivery.failed` as to hear `delivery.sent`: the same version, view, deadline and count.
    expect(raw(failing.reply)).toEqual(raw(unknown.reply));
    expect(raw(failing.reply)).toEqual(raw(healthy.reply));
    expect(failing.reply.view).toMatchObject({ state: 'awaitingCode', notice: null });
    expect(ofFlow(failing.flowId)).toHaveLength(0);
    expect(await sentLogSize()).toBe(1);
    // The host, not the person, learns of it: under the flow id, the address masked, no code.
    expect(host.world.audit.entries).toEqual([
      {
        at: host.world.clock.now(),
        flowId: failing.flowId,
        kind: 'delivery.failed',
        detail: { template: 'recovery.link', channel: 'email', to: 'w***@example.com', reason: 'rejected', retryable: true },
      },
    ]);

    smtp.answer = undefined;
    expect(ok(await host.runtime.drain(failing.flowId)).pendingEffects).toBe(0);
    expect(ofFlow(failing.flowId)).toHaveLength(0);
    expect(ok(await host.runtime.send(failing.flowId, { type: 'code.resend' })).view.notice).toMatchObject({ code: 'cooldown' });
    expect(ofFlow(failing.flowId)).toHaveLength(0);

    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    expect(ok(await host.runtime.send(failing.flowId, { type: 'code.resend' }))).toMatchObject({ pendingEffects: 0, view: { notice: null } });
    const mails = ofFlow(failing.flowId);
    expect(mails).toHaveLength(1);
    expect(await sentLogSize()).toBe(2);
    expect(ok(await host.runtime.send(failing.flowId, { type: 'code.submit', code: codeIn(mails[0]) })).view.state).toBe('hardening.choosingPassword');
  });
});

describe('a host that dies right after the SMTP server took the mail', () => {
  /** Binds with a crash between the server's 250 and the flow's save, then restarts. */
  const crashAfterAccept = async (sentLog: () => SentLog) => {
    const first = await startHost({ sentLog: sentLog() });
    const user = await signUp(first);
    const { flowId } = ok(await first.runtime.start('binding', {}, user.session));
    smtp.onAccepted = () => {
      first.store.crashOnNextReplace = true;
    };
    expect(fail(await first.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: EMAIL }, user.session)).code).toBe('port_failure');
    smtp.onAccepted = undefined;
    expect(codeMails()).toHaveLength(1);

    // A new process: nothing in memory survives; the database, the session and the mail server do.
    const restarted = await startHost({ sentLog: sentLog() });
    expect(ok(await restarted.runtime.read(flowId)).pendingEffects).toBe(1);
    const drained = ok(await restarted.runtime.drain(flowId));
    return { restarted, user, flowId, drained };
  };

  it('should not send a second copy on drain after the restart, and the flow goes on with the code from the one mail', async () => {
    const { restarted, user, flowId, drained } = await crashAfterAccept(() => sqlSentLog(client));
    expect(drained).toMatchObject({ pendingEffects: 0, view: { state: 'awaitingCode', notice: null } });
    expect(codeMails()).toHaveLength(1);
    expect(await sentLogSize()).toBe(1);
    const bound = ok(await restarted.runtime.send(flowId, { type: 'code.submit', code: codeIn(codeMails()[0]) }, user.session));
    expect(bound.view).toMatchObject({ state: 'bound', done: true });
    expect(codeMails()).toHaveLength(1);
  });

  it('should, with a sent log that dies with the process, deliver a second copy (why the log must be durable)', async () => {
    const { drained } = await crashAfterAccept(() => memorySentLog());
    expect(drained.pendingEffects).toBe(0);
    const copies = codeMails();
    expect(copies).toHaveLength(2);
    expect(copies[0]?.parsed.messageId).toBe(copies[1]?.parsed.messageId);
  });
});
