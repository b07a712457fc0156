/**
 * One in-memory service per test: a memory world, its runtime, and the app over them, with the
 * entry pad recorded instead of slept and the client address taken from a test header.
 */
import type { Hono } from 'hono';
import { expect } from 'vitest';
import { createMemoryWorld, type MemoryWorld } from '../../src/adapters/memory/index.ts';
import { MemoryFlowStore } from '../../src/adapters/memory/flowStore.ts';
import type { FlowIndex } from '../../src/ports/flowStore.ts';
import type { FlowEnvelope } from '../../src/runtime/envelope.ts';
import { createRuntime, type FlowRuntime } from '../../src/runtime/runtime.ts';
import { type AppOptions, createApp } from '../../src/server/app.ts';
import { serviceFlows } from '../../src/server/flows.ts';
import type { Timing } from '../../src/server/timing.ts';

/** Counts flows opened, so a test can say a refused start created nothing. */
export class CountingStore extends MemoryFlowStore {
  inserts = 0;

  override async insert(envelope: FlowEnvelope, index?: FlowIndex): Promise<boolean> {
    this.inserts++;
    return super.insert(envelope, index);
  }
}

/** A clock that moves only when told, and sleeps that are recorded and return at once. */
export class RecordingTiming implements Timing {
  at = 0;
  readonly sleeps: number[] = [];

  now(): number {
    return this.at;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }
}

export const TEST_CLIENT = 'x-test-client';
export const MIN_ENTRY_MS = 40;

export interface TestService {
  readonly world: MemoryWorld;
  readonly store: CountingStore;
  readonly runtime: FlowRuntime;
  readonly app: Hono;
  readonly timing: RecordingTiming;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** Starts a flow and sends one event; gives back the flow id and the event's answer. */
  startAndSend(name: string, event: unknown, headers?: Record<string, string>): Promise<{ flowId: string; res: Response }>;
}

export const testService = (options: Partial<Omit<AppOptions, 'runtime' | 'ports'>> = {}, seed = 7): TestService => {
  const store = new CountingStore();
  const world = createMemoryWorld({ seed, store });
  const runtime = createRuntime(world, serviceFlows(world));
  const timing = new RecordingTiming();
  const app = createApp({
    runtime,
    ports: world,
    minEntryMs: MIN_ENTRY_MS,
    timing,
    secureCookie: false,
    clientAddress: (c) => c.req.header(TEST_CLIENT) ?? '203.0.113.1',
    ...options,
  });
  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    Promise.resolve(
      app.request(path, {
        method: 'POST',
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  const get = (path: string, headers: Record<string, string> = {}) => Promise.resolve(app.request(path, { headers }));
  const startAndSend = async (name: string, event: unknown, headers: Record<string, string> = {}) => {
    const started = await post(`/flows/${name}`, undefined, headers);
    if (started.status !== 201) throw new Error(`start ${name}: ${started.status} ${await started.text()}`);
    const { flowId } = (await started.json()) as { flowId: string };
    return { flowId, res: await post(`/flows/${flowId}/events`, event, headers) };
  };
  return { world, store, runtime, app, timing, post, get, startAndSend };
};

export interface FlowBody {
  readonly flowId: string;
  readonly view: { readonly state: string; readonly [key: string]: unknown };
  readonly nextDeadline: number | null;
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly code: string;
  readonly errors?: readonly { readonly field: string; readonly code: string; readonly detail: string }[];
}

/** Every header, in order (the DOM lib here has no iterable Headers). */
export const headerList = (res: Response): [string, string][] => {
  const list: [string, string][] = [];
  res.headers.forEach((value, name) => list.push([name, value]));
  return list;
};

export const flowOf = async (res: Response): Promise<FlowBody> => (await res.json()) as FlowBody;
export const problemOf = async (res: Response): Promise<ProblemBody> => {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as ProblemBody;
};
