/**
 * The service's durable parts, from its environment: flows, budgets, accounts and sessions on
 * SQL (PGlite on a data directory by default, PostgreSQL when DATABASE_URL is set), keys that
 * survive a restart, and messengers (SMTP and an SMS webhook when configured, a development
 * outbox otherwise). Everything a restarted instance needs to carry on is in the database.
 */
import * as E from 'fp-ts/lib/Either.js';
import { systemClock } from '../adapters/clocks.ts';
import { DevOutbox } from '../adapters/messaging/devOutbox.ts';
import { routeByChannel } from '../adapters/messaging/router.ts';
import { httpWebhookSms } from '../adapters/messaging/sms.ts';
import { smtpMessenger } from '../adapters/messaging/smtp.ts';
import { cryptoRandom } from '../adapters/random.ts';
import { createSqlPorts, FLOW_RETENTION, hostKey, openPglite, openPostgres, type SqlClient, sqlSentLog, sweepFlows, sweepIdempotency } from '../adapters/sql/index.ts';
import { makePolicy, type Policy, type PolicyOverrides } from '../domain/policy.ts';
import type { Instant } from '../domain/time.ts';
import type { Clock } from '../ports/clock.ts';
import type { FlowQueries } from '../ports/flowStore.ts';
import type { Messenger } from '../ports/messenger.ts';
import type { DevInbox } from './devInbox.ts';
import type { ServiceWorldConfig } from './world.ts';

export interface DurableParts {
  readonly world: Omit<ServiceWorldConfig, 'resetLinkBase' | 'devInbox'> & { readonly devInbox?: DevInbox };
  /** What the durable scheduler asks after a restart. */
  readonly queries: FlowQueries;
  readonly policy: Policy;
  /** Deletes what `FLOW_RETENTION` and `IDEMPOTENCY_RETENTION_MS` say is done with (flows, sent-log keys, stored answers); returns how many. */
  sweep(now: Instant): Promise<number>;
  /** One line for the start-up banner: where the data lives and where messages go. */
  readonly describe: string;
  close(): Promise<void>;
}

const MIN_KEY_BYTES = 32;

const keyFrom = (env: Env, name: string): E.Either<string, Uint8Array | undefined> => {
  const text = env[name];
  if (text === undefined) return E.right(undefined);
  const bytes = Buffer.from(text, 'base64');
  return bytes.length >= MIN_KEY_BYTES ? E.right(new Uint8Array(bytes)) : E.left(`${name} must be at least ${MIN_KEY_BYTES} bytes, base64-encoded.`);
};

type Env = Readonly<Record<string, string | undefined>>;

const policyFrom = (env: Env): E.Either<string, { overrides: PolicyOverrides; policy: Policy }> => {
  let overrides: PolicyOverrides = {};
  const text = env['ACCOUNT_FLOWS_POLICY'];
  if (text !== undefined) {
    try {
      overrides = JSON.parse(text) as PolicyOverrides;
    } catch {
      return E.left('ACCOUNT_FLOWS_POLICY must be JSON, e.g. {"code":{"ttlMs":300000}}.');
    }
  }
  const policy = makePolicy(overrides);
  return E.isLeft(policy) ? E.left(`ACCOUNT_FLOWS_POLICY: ${policy.left.message}`) : E.right({ overrides, policy: policy.right });
};

const outboxInbox = (outbox: DevOutbox): DevInbox => ({
  recent: async (limit) =>
    outbox
      .list()
      .slice(0, limit)
      .map(({ message }) => ({ channel: message.channel, to: message.to, ...(message.channel === 'email' ? { subject: message.subject } : {}), text: message.text })),
});

/**
 * @example
 * const parts = await openDurableParts({ DATA_DIR: '.account-flows' }, { devInbox: true });
 * if (E.isRight(parts)) startService({ world: parts.right.world, durable: parts.right });
 */
export const openDurableParts = async (env: Env, options: { readonly devInbox: boolean; readonly clock?: Clock }): Promise<E.Either<string, DurableParts>> => {
  const clock = options.clock ?? systemClock;
  const policy = policyFrom(env);
  if (E.isLeft(policy)) return policy;
  const codeKey = keyFrom(env, 'CODE_KEY');
  if (E.isLeft(codeKey)) return codeKey;
  const sessionKey = keyFrom(env, 'SESSION_KEY');
  if (E.isLeft(sessionKey)) return sessionKey;
  if ((env['SMTP_URL'] === undefined) !== (env['MAIL_FROM'] === undefined)) return E.left('SMTP_URL and MAIL_FROM go together.');

  const databaseUrl = env['DATABASE_URL'];
  const dataDir = env['DATA_DIR'] ?? '.account-flows';
  let client: SqlClient;
  try {
    client = databaseUrl !== undefined ? openPostgres(databaseUrl) : dataDir === 'memory' ? await openPglite() : await openPglite({ dataDir });
  } catch (error) {
    return E.left(`Could not open the database: ${error instanceof Error ? error.message : String(error)}`);
  }
  const fail = async (message: string): Promise<E.Either<string, DurableParts>> => {
    await client.close().catch(() => undefined);
    return E.left(message);
  };
  let sql;
  try {
    sql = await createSqlPorts(client);
  } catch (error) {
    return fail(`Could not prepare the database: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (E.isLeft(sql)) return fail(sql.left.message);

  const sentLog = sqlSentLog(client, clock);
  const outbox = new DevOutbox(['sms', 'email'], { clock });
  const smtp = env['SMTP_URL'] !== undefined ? smtpMessenger({ url: env['SMTP_URL'], from: env['MAIL_FROM'] as string, sentLog }) : undefined;
  const smsUrl = env['SMS_WEBHOOK_URL'];
  let sms: Messenger = outbox;
  if (smsUrl !== undefined) {
    try {
      sms = httpWebhookSms({ url: smsUrl, ...(env['SMS_WEBHOOK_TOKEN'] === undefined ? {} : { token: env['SMS_WEBHOOK_TOKEN'] }), timeoutMs: 10_000 });
    } catch (error) {
      return fail(`SMS_WEBHOOK_URL: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const messenger = routeByChannel({ sms, email: smtp ?? outbox });
  const where = databaseUrl !== undefined ? 'PostgreSQL at DATABASE_URL' : dataDir === 'memory' ? 'PGlite in memory' : `PGlite in ${dataDir}`;
  const routes = `SMS → ${smsUrl !== undefined ? 'webhook' : 'development outbox'}, e-mail → ${smtp !== undefined ? 'SMTP' : 'development outbox'}`;
  const fresh = () => cryptoRandom.bytes(32);
  return E.right({
    world: {
      policy: policy.right.overrides,
      clock,
      store: sql.right.store,
      budgets: sql.right.budgets,
      directory: sql.right.directory,
      sessions: { sessions: sql.right.sessions, issuer: { issue: ({ accountId, epoch, at, device, place }) => sql.right.sessions.signIn(accountId, epoch, at, device, place) } },
      messenger,
      codeKey: codeKey.right ?? (await hostKey(client, 'codes', fresh)),
      sessionKey: sessionKey.right ?? (await hostKey(client, 'sessions', fresh)),
      ...(options.devInbox ? { devInbox: outboxInbox(outbox) } : {}),
    },
    queries: sql.right.store,
    policy: policy.right.policy,
    sweep: async (now) => (await sweepFlows(sql.right.store, policy.right.policy, now)) + (await sentLog.sweep(now - FLOW_RETENTION.finishedKeptMs)) + (await sweepIdempotency(client, now)),
    describe: `${where}; ${routes}`,
    close: async () => {
      smtp?.close();
      await client.close();
    },
  });
};
