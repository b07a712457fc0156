/**
 * The service process is killed (SIGKILL: no clean-up of any kind) in the middle of flows and
 * started again on the same data directory. What must hold: flows resume where they were, no
 * deadline is extended by the time the process was down, and no person gets a message twice.
 * SMS goes through the webhook adapter to a provider played by this test, which, like real
 * providers, answers a repeated Idempotency-Key with the first message's id.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeIn, FakeProvider, json, kill, type Service, startServiceProcess, view } from './support.ts';

const CODE_TTL_MS = 4_000;

const startService = (dataDir: string, smsUrl: string, codeTtlMs = CODE_TTL_MS): Promise<Service> =>
  startServiceProcess({ DATA_DIR: dataDir, SMS_WEBHOOK_URL: smsUrl, ACCOUNT_FLOWS_POLICY: JSON.stringify({ code: { ttlMs: codeTtlMs }, sends: { cooldownMs: 1_000 } }) });

describe('killing the service mid-flow', () => {
  const provider = new FakeProvider();
  let dataDir: string;
  let running: Service | undefined;

  beforeAll(async () => {
    provider.server.listen(0, '127.0.0.1');
    await once(provider.server, 'listening');
    dataDir = mkdtempSync(join(tmpdir(), 'af-restart-'));
  });

  afterAll(async () => {
    if (running !== undefined && running.child.exitCode === null && running.child.signalCode === null) await kill(running);
    provider.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should resume a flow after SIGKILL with its code expiring at the original instant, and text nobody twice', async () => {
    const phone = '+8613800138001';
    running = await startService(dataDir, provider.url());
    const started = await json(`${running.url}flows/registration`, { method: 'POST' });
    expect(started.status).toBe(201);
    const flowId = started.body['flowId'] as string;
    const sent = await json(`${running.url}flows/${flowId}/events`, { method: 'POST', body: JSON.stringify({ type: 'phone.submit', phone }) });
    expect(sent.status).toBe(200);
    const before = sent.body['view'] as Record<string, unknown>;
    expect(before['state']).toBe('awaitingCode');
    const expiresAt = before['codeExpiresAt'] as number;
    expect(provider.delivered(phone)).toHaveLength(1);

    await kill(running);
    // Down for longer than the code lives: a restart must not give it a second life.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 500));
    running = await startService(dataDir, provider.url());
    const after = await view(running, flowId);
    expect(after).toMatchObject({ state: 'codeExpired', codeExpiresAt: expiresAt });
    const late = await json(`${running.url}flows/${flowId}/events`, { method: 'POST', body: JSON.stringify({ type: 'code.submit', code: codeIn(provider.requests[0]?.text ?? '') }) });
    expect(late.status === 200 ? (late.body['view'] as Record<string, unknown>)['state'] : late.status).not.toBe('choosingHandle');
    expect(provider.requests.filter((r) => r.to === phone)).toHaveLength(1);
    await kill(running);
  }, 60_000);

  it('should run an SMS the dead process was handing over exactly once more, under the same key, and go on', async () => {
    const phone = '+8613800138002';
    // A code that outlives two process starts on a loaded machine.
    const longTtl = 120_000;
    running = await startService(dataDir, provider.url(), longTtl);
    const started = await json(`${running.url}flows/registration`, { method: 'POST' });
    const flowId = started.body['flowId'] as string;
    // The provider takes the request and never answers; the process dies while waiting.
    provider.hold = (request) => request.to === phone;
    const arrived = provider.arrival();
    const submit = fetch(`${running.url}flows/${flowId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'phone.submit', phone }) }).catch(
      () => 'connection lost',
    );
    await arrived;
    await kill(running);
    expect(await submit).toBe('connection lost');
    provider.hold = () => false;

    running = await startService(dataDir, provider.url(), longTtl);
    // The restarted scheduler finds the unfinished outbox before anything else is asked of it.
    await expect.poll(() => provider.requests.filter((r) => r.to === phone).length, { timeout: 15_000 }).toBe(2);
    const [first, second] = provider.requests.filter((r) => r.to === phone);
    expect(second?.key).toBe(first?.key);
    expect(provider.delivered(phone)).toHaveLength(1);
    expect(await view(running, flowId)).toMatchObject({ state: 'awaitingCode' });
    const accepted = await json(`${running.url}flows/${flowId}/events`, { method: 'POST', body: JSON.stringify({ type: 'code.submit', code: codeIn(second?.text ?? '') }) });
    expect(accepted.status).toBe(200);
    expect((accepted.body['view'] as Record<string, unknown>)['state']).toBe('choosingHandle');
    await kill(running);
  }, 60_000);
});
