/**
 * npm start  (= tsx src/server/main.ts)
 *
 * Runs the service with nothing to set up: PGlite keeps flows, accounts, sessions and budgets in
 * ./.account-flows, and codes go to a development inbox shown on the page. Environment:
 *   PORT             default 3000 (0: a free port)
 *   HOST             default 127.0.0.1
 *   PUBLIC_URL       the URL people reach it at, when a proxy sits in front (https turns on Secure cookies)
 *   TRUST_PROXY      1: a proxy in front; budgets count the left-most X-Forwarded-For address as the client
 *   DEV_INBOX        1 or 0: show every sent message on the page; default 1 on a loopback HOST only
 *   DATA_DIR         where PGlite keeps its files (default .account-flows; "memory": nothing kept)
 *   DATABASE_URL     PostgreSQL instead of PGlite, e.g. postgres://app@db:5432/accounts (several instances may share it)
 *   SMTP_URL         e-mail through this SMTP server, e.g. smtps://user:pass@smtp.example.com:465 (with MAIL_FROM)
 *   MAIL_FROM        the sender, e.g. "Accounts <no-reply@example.com>"
 *   SMS_WEBHOOK_URL  SMS through this provider webhook (SMS_WEBHOOK_TOKEN: its bearer token)
 *   CODE_KEY, SESSION_KEY   base64 keys (≥ 32 bytes) from your secret store; absent, generated once and kept in the database
 *   ACCOUNT_FLOWS_POLICY    JSON policy overrides, e.g. {"code":{"ttlMs":300000}}
 */
import * as E from 'fp-ts/lib/Either.js';
import { openDurableParts } from './durable.ts';
import { serviceOptionsFromEnv, startService } from './serve.ts';

const options = serviceOptionsFromEnv(process.env);
if (E.isLeft(options)) {
  console.error(options.left);
  process.exit(2);
}
const durable = await openDurableParts(process.env, { devInbox: options.right.world.devInbox });
if (E.isLeft(durable)) {
  console.error(durable.left);
  process.exit(2);
}
const service = await startService({ ...options.right, durable: durable.right });
const inbox = options.right.world.devInbox ? '  (development inbox on: every code is shown on the page)' : '';
console.log(`account-flows service: ${service.url}${inbox}`);
console.log(`  ${durable.right.describe}`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  service.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
