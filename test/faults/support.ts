/**
 * A service process and an SMS provider on loopback, for the tests that kill, restart and race
 * real service instances.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';

export interface ProviderRequest {
  readonly key: string;
  readonly to: string;
  readonly text: string;
}

/** An SMS provider on loopback: records every request; `hold` leaves matching ones unanswered. */
export class FakeProvider {
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

export interface Service {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

/** Starts `src/server/main.ts` with `env` added to this process's environment; resolves once it listens. */
export const startServiceProcess = async (env: Readonly<Record<string, string>>): Promise<Service> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DEV_INBOX: '0', ...env },
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

export const kill = async (service: Service): Promise<void> => {
  const exited = once(service.child, 'exit');
  service.child.kill('SIGKILL');
  await exited;
};

export const json = async (url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init?.headers ?? {}) } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

export const view = async (service: Service, flowId: string): Promise<Record<string, unknown>> => {
  const read = await json(`${service.url}flows/${flowId}`);
  expect(read.status).toBe(200);
  return read.body['view'] as Record<string, unknown>;
};

export const codeIn = (text: string): string => /\b\d{6}\b/.exec(text)?.[0] ?? '';

