/**
 * The service's durable assembly in this process: environment parsing (every bad value named,
 * nothing opened), PGlite on a data directory kept across two service lifetimes, the dev inbox
 * over the outbox, and the sweep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/clocks.ts';
import { DAY } from '../../src/domain/time.ts';
import { type DurableParts, openDurableParts } from '../../src/server/durable.ts';
import { startService } from '../../src/server/serve.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

const refused = async (env: Record<string, string>): Promise<string> => {
  const parts = await openDurableParts({ DATA_DIR: 'memory', ...env }, { devInbox: false });
  if (E.isRight(parts)) {
    await parts.right.close();
    expect.fail(`expected ${JSON.stringify(env)} to be refused`);
  }
  return parts.left;
};

const opened = async (env: Record<string, string>, devInbox = false, clock?: VirtualClock): Promise<DurableParts> => {
  const parts = await openDurableParts(env, { devInbox, ...(clock === undefined ? {} : { clock }) });
  if (E.isLeft(parts)) expect.fail(parts.left);
  return parts.right;
};

describe('openDurableParts', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('should name each bad setting and open nothing', async () => {
    expect(await refused({ ACCOUNT_FLOWS_POLICY: '{not json' })).toContain('ACCOUNT_FLOWS_POLICY must be JSON');
    expect(await refused({ ACCOUNT_FLOWS_POLICY: JSON.stringify({ code: { ttlMs: -1 } }) })).toMatch(/^ACCOUNT_FLOWS_POLICY: .*code\.ttlMs/);
    expect(await refused({ CODE_KEY: Buffer.alloc(8).toString('base64') })).toBe('CODE_KEY must be at least 32 bytes, base64-encoded.');
    expect(await refused({ SESSION_KEY: 'short' })).toBe('SESSION_KEY must be at least 32 bytes, base64-encoded.');
    expect(await refused({ SMTP_URL: 'smtp://127.0.0.1:2525' })).toBe('SMTP_URL and MAIL_FROM go together.');
    expect(await refused({ SMS_WEBHOOK_URL: 'not a url' })).toMatch(/^SMS_WEBHOOK_URL: /);
    expect(await refused({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })).toMatch(/^Could not prepare the database: /);
    expect(await refused({ DATA_DIR: '/proc/version/cannot-be-a-directory' })).toMatch(/^Could not (open|prepare) the database: /);
  }, 60_000);

  it('should describe where data lives and where messages go', async () => {
    const parts = await opened({ DATA_DIR: 'memory', SMTP_URL: 'smtp://127.0.0.1:2525', MAIL_FROM: 'Accounts <no-reply@example.com>', SMS_WEBHOOK_URL: 'http://127.0.0.1:9/sms', SMS_WEBHOOK_TOKEN: 't', CODE_KEY: KEY, SESSION_KEY: KEY });
    expect(parts.describe).toBe('PGlite in memory; SMS → webhook, e-mail → SMTP');
    expect(parts.world.codeKey).toEqual(new Uint8Array(Buffer.alloc(32, 7)));
    expect(parts.world.devInbox).toBeUndefined();
    await parts.close();
  }, 60_000);

  it('should keep keys, flows and the dev inbox working across two service lifetimes on one data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'af-durable-'));
    dirs.push(dir);
    const first = await opened({ DATA_DIR: dir }, true);
    expect(first.describe).toBe(`PGlite in ${dir}; SMS → development outbox, e-mail → development outbox`);
    const service = await startService({ port: 0, durable: first, app: { minEntryMs: 0 } });
    const started = await fetch(`${service.url}flows/registration`, { method: 'POST' });
    const { flowId } = (await started.json()) as { flowId: string };
    const sent = await fetch(`${service.url}flows/${flowId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'phone.submit', phone: '+8613800138000' }) });
    expect(sent.status).toBe(200);
    const inbox = (await (await fetch(`${service.url}dev/inbox`)).json()) as { messages: { channel: string; to: string; text: string }[] };
    expect(inbox.messages[0]).toMatchObject({ channel: 'sms', to: '+8613800138000' });
    const code = /\b\d{6}\b/.exec(inbox.messages[0]?.text ?? '')?.[0];
    const firstKey = first.world.codeKey;
    await service.close();

    // The same directory again: the key codes derive from is the one kept, so the code still works.
    const second = await opened({ DATA_DIR: dir }, true);
    expect(second.world.codeKey).toEqual(firstKey);
    const again = await startService({ port: 0, durable: second, app: { minEntryMs: 0 } });
    const accepted = await fetch(`${again.url}flows/${flowId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'code.submit', code }) });
    expect(((await accepted.json()) as { view: { state: string } }).view.state).toBe('choosingHandle');
    await again.close();
  }, 90_000);

  it('should sweep abandoned flows once their lifetime and a day of grace are over', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const parts = await opened({ DATA_DIR: 'memory' }, false, clock);
    const service = await startService({ port: 0, durable: parts, app: { minEntryMs: 0 } });
    expect((await fetch(`${service.url}flows/registration`, { method: 'POST' })).status).toBe(201);
    expect(await parts.sweep(clock.now())).toBe(0);
    expect(await parts.sweep(clock.now() + parts.policy.flowMaxLifetimeMs + DAY + 1)).toBe(1);
    await service.close();
  }, 60_000);
});
