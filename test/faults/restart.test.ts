/**
 * The service process is killed (SIGKILL: no clean-up of any kind) in the middle of flows and
 * started again on the same data directory. What must hold: flows resume where they were, no
 * deadline is extended by the time the process was down, and no person gets a message twice.
 * SMS goes through the webhook adapter to a provider played by this test, which, like real
 * providers, answers a repeated Idempotency-Key with the first message's id.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface ProviderRequest {
  readonly key: string;
  readonly to: string;
  readonly text: string;
}

/** An SMS provider on loopback: records every request; `hold` leaves matching ones unanswered. */
class FakeProvider {
  readonly requests: ProviderRequest[] = [];
  hold: (request: ProviderRequest) => boolean = () => false;
  readonly #held: ServerResponse[] = [];
  readonly #arrivals: (() => void)[] = [];
  readonly server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { to: string; text: string };
      const request = { key: String(req.headers['idempotency-key']), to: parsed.to, text: parsed.text };
      this.requests.push(request);
      for (const arrived of this.#arrivals.splice(0)) arrived();
      if (this.hold(request)) {
        this.#held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `sms-${request.key}` }));
    });
  });

  url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/sms`;
  }

  /** Distinct messages a person received: the provider delivers one per idempotency key. */
  delivered(to: string): string[] {
    return [...new Set(this.requests.filter((r) => r.to === to).map((r) => r.key))];
  }

  arrival(): Promise<void> {
    return new Promise((resolve) => this.#arrivals.push(resolve));
  }

  close(): void {
    for (const res of this.#held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
  }
}

interface Service {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

const CODE_TTL_MS = 4_000;

const startService = async (dataDir: string, smsUrl: string, codeTtlMs = CODE_TTL_MS): Promise<Service> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      SMS_WEBHOOK_URL: smsUrl,
      DEV_INBOX: '0',
      ACCOUNT_FLOWS_POLICY: JSON.stringify({ code: { ttlMs: codeTtlMs }, sends: { cooldownMs: 1_000 } }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', () => {
      const found = /account-flows service: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      if (found !== undefined) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`the service exited with ${code} before listening:\n${out}`)));
  });
  return { child, url, output: () => out };
};

const kill = async (service: Service): Promise<void> => {
  const exited = once(service.child, 'exit');
  service.child.kill('SIGKILL');
  await exited;
};

const json = async (url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init?.headers ?? {}) } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const view = async (service: Service, flowId: string): Promise<Record<string, unknown>> => {
  const read = await json(`${service.url}flows/${flowId}`);
  expect(read.status).toBe(200);
  return read.body['view'] as Record<string, unknown>;
};

const codeIn = (text: string): string => /\b\d{6}\b/.exec(text)?.[0] ?? '';

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
