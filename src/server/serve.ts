/**
 * The service on a real socket: Node's HTTP server through @hono/node-server, the service world,
 * and a wall-clock scheduler that wakes flows at their deadlines. The port may be 0 (a free
 * one); the world is built once the port is known, because e-mailed links must point back here.
 */
import type { AddressInfo } from 'node:net';
import * as E from 'fp-ts/lib/Either.js';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { DurableScheduler } from '../adapters/durableScheduler.ts';
import { WallClockScheduler } from '../adapters/wallClockScheduler.ts';
import { FLOW_RETENTION } from '../adapters/sql/index.ts';
import type { DurableParts } from './durable.ts';
import { type AppOptions, createApp, forwardedClientAddress } from './app.ts';
import { createServiceWorld, type ServiceWorld, type ServiceWorldConfig } from './world.ts';

export interface ServiceOptions {
  readonly port?: number;
  readonly host?: string;
  /** The URL people reach the service at, when a proxy sits in front; else `http://host:port`. */
  readonly publicUrl?: string;
  readonly world?: Omit<ServiceWorldConfig, 'resetLinkBase'>;
  readonly app?: Omit<AppOptions, 'runtime' | 'ports' | 'sessionIssuer' | 'sessionKey' | 'devInbox' | 'onStep'>;
  /**
   * Stores, keys and messengers that outlive the process (see durable.ts). With them, deadlines
   * and unfinished outboxes are found again in the database after a restart; without them,
   * everything is in memory and dies with the process.
   */
  readonly durable?: DurableParts;
  /** Told of a deadline wake or outbox retry that failed (default: printed to stderr). */
  readonly onSchedulerError?: (flowId: string, error: unknown) => void;
}

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly world: ServiceWorld;
  close(): Promise<void>;
}

/**
 * @example
 * const service = await startService({ port: 0, world: { devInbox: true } });
 * console.log(service.url); // http://127.0.0.1:40123/
 */
export const startService = async (options: ServiceOptions = {}): Promise<RunningService> => {
  const host = options.host ?? '127.0.0.1';
  let ready: (app: Hono) => void = () => {};
  const appReady = new Promise<Hono>((resolve) => {
    ready = resolve;
  });
  // Requests that arrive before the world exists (a few ms after listening) wait for it.
  const server = serve({ hostname: host, port: options.port ?? 3000, fetch: async (request, env) => (await appReady).fetch(request, env) });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const base = (options.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  const durable = options.durable;
  const world = createServiceWorld({
    ...options.world,
    ...(durable === undefined ? {} : { ...durable.world, devInbox: durable.world.devInbox ?? false }),
    resetLinkBase: `${base}/recover`,
  });
  const onSchedulerError = options.onSchedulerError ?? ((flowId: string, error: unknown) => console.error(`scheduler: flow ${flowId}:`, error));
  const scheduler =
    durable === undefined
      ? new WallClockScheduler(world.runtime, world.ports.clock, onSchedulerError)
      : new DurableScheduler({ runtime: world.runtime, store: durable.queries, clock: world.ports.clock, onError: onSchedulerError });
  const sweeper =
    durable === undefined
      ? undefined
      : setInterval(() => {
          durable.sweep(world.ports.clock.now()).catch((error: unknown) => onSchedulerError('*', error));
        }, FLOW_RETENTION.sweepEveryMs);
  (sweeper as { unref?: () => void } | undefined)?.unref?.();
  const app = createApp({
    secureCookie: base.startsWith('https:'),
    ...options.app,
    runtime: world.runtime,
    ports: world.ports,
    sessionIssuer: world.sessionIssuer,
    sessionKey: world.sessionKey,
    ...(world.devInbox === undefined ? {} : { devInbox: world.devInbox }),
    onStep: (reply) => scheduler.track(reply.flowId, reply.nextDeadline),
  });
  ready(app);
  // Resumes what a previous process left: overdue deadlines woken, unfinished outboxes run.
  if (scheduler instanceof DurableScheduler) await scheduler.start();
  return {
    url: `${base}/`,
    port,
    world,
    close: () =>
      new Promise<void>((resolve, reject) => {
        scheduler.stop();
        if (sweeper !== undefined) clearInterval(sweeper);
        server.close((error) => {
          const closed = durable === undefined ? Promise.resolve() : durable.close();
          closed.then(() => (error === undefined ? resolve() : reject(error)), reject);
        });
        // Idle keep-alive connections would hold close() open until they time out.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
};

/**
 * The service's options from the environment (see main.ts), or why they are wrong.
 *
 * @example
 * serviceOptionsFromEnv({ PORT: '8080', HOST: '0.0.0.0' }); // Right({ port: 8080, host: '0.0.0.0', world: { devInbox: false } })
 */
export const serviceOptionsFromEnv = (env: Readonly<Record<string, string | undefined>>): E.Either<string, ServiceOptions & { readonly world: { readonly devInbox: boolean } }> => {
  const port = Number(env['PORT'] ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65535) return E.left('PORT must be an integer from 0 to 65535.');
  const host = env['HOST'] ?? '127.0.0.1';
  const inbox = env['DEV_INBOX'];
  if (inbox !== undefined && inbox !== '0' && inbox !== '1') return E.left('DEV_INBOX must be 1 or 0.');
  // Every code shown on the page is only harmless where nobody else can reach it.
  const devInbox = inbox === undefined ? LOOPBACK.has(host) : inbox === '1';
  const trustProxy = env['TRUST_PROXY'];
  if (trustProxy !== undefined && trustProxy !== '0' && trustProxy !== '1') return E.left('TRUST_PROXY must be 1 or 0.');
  return E.right({
    port,
    host,
    ...(env['PUBLIC_URL'] === undefined ? {} : { publicUrl: env['PUBLIC_URL'] }),
    ...(trustProxy === '1' ? { app: { clientAddress: forwardedClientAddress } } : {}),
    world: { devInbox },
  });
};

const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost']);
