import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import * as E from 'fp-ts/lib/Either.js';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { MemoryFlowStore } from '../../src/adapters/memory/flowStore.ts';
import { forwardedClientAddress } from '../../src/server/app.ts';
import { serviceOptionsFromEnv, startService } from '../../src/server/serve.ts';

describe('serviceOptionsFromEnv: TRUST_PROXY', () => {
  it('should refuse anything but 1 or 0, naming the setting', () => {
    expect(serviceOptionsFromEnv({ TRUST_PROXY: 'yes' })).toEqual(E.left('TRUST_PROXY must be 1 or 0.'));
    expect(serviceOptionsFromEnv({ TRUST_PROXY: '' })).toEqual(E.left('TRUST_PROXY must be 1 or 0.'));
  });

  it('should read the client address from X-Forwarded-For only when TRUST_PROXY is 1', () => {
    const trusted = serviceOptionsFromEnv({ TRUST_PROXY: '1' });
    if (E.isLeft(trusted)) expect.fail(trusted.left);
    expect(trusted.right.app?.clientAddress).toBe(forwardedClientAddress);
    const untrusted = serviceOptionsFromEnv({ TRUST_PROXY: '0' });
    if (E.isLeft(untrusted)) expect.fail(untrusted.left);
    expect(untrusted.right.app).toBeUndefined();
    expect(untrusted.right).toEqual({ port: 3000, host: '127.0.0.1', world: { devInbox: true } });
  });
});

describe('forwardedClientAddress', () => {
  const echo = new Hono().get('/', (c) => c.text(forwardedClientAddress(c)));

  it('should take the left-most X-Forwarded-For address, trimmed', async () => {
    const answer = await echo.request('/', { headers: { 'x-forwarded-for': ' 198.51.100.7 , 10.0.0.1' } });
    expect(await answer.text()).toBe('198.51.100.7');
  });

  it('should fall back to the socket when the header is missing or its first entry is empty', async () => {
    // No socket behind app.request(): every such caller is the one client "unknown".
    expect(await (await echo.request('/', { headers: { 'x-forwarded-for': ' , 10.0.0.1' } })).text()).toBe('unknown');
    const server = serve({ hostname: '127.0.0.1', port: 0, fetch: echo.fetch });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('127.0.0.1');
      expect(await (await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-forwarded-for': '' } })).text()).toBe('127.0.0.1');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('startService', () => {
  it('should bracket an IPv6 host in its URL and answer there', async () => {
    const service = await startService({ host: '::1', port: 0, world: { devInbox: true } });
    try {
      expect(service.url).toBe(`http://[::1]:${service.port}/`);
      const started = await fetch(`${service.url}flows/registration`, { method: 'POST' });
      expect(started.status).toBe(201);
    } finally {
      await service.close();
    }
  });

  it('should report a second close as an error rather than resolve as if it had closed something', async () => {
    const service = await startService({ port: 0 });
    await service.close();
    await expect(service.close()).rejects.toMatchObject({ code: 'ERR_SERVER_NOT_RUNNING' });
  });
});

describe('MemoryFlowStore.overwriteRaw', () => {
  it('should store text for a flow it never had as an unindexed row at version 0, which loads as that text and is swept as abandoned', async () => {
    const store = new MemoryFlowStore();
    store.overwriteRaw('ghost', 'not json');
    expect(store.raw('ghost')).toBe('not json');
    expect(await store.load('ghost')).toBe('not json');
    expect(await store.due(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    expect(await store.withPendingEffects(10)).toEqual([]);
    // Version 0: a replace expecting any other version is refused.
    expect(await store.replace({ flowId: 'ghost', version: 1 } as never, 1)).toBe(false);
    expect(await store.sweep(0, 1)).toBe(1);
    expect(store.ids()).toEqual([]);
  });
});
