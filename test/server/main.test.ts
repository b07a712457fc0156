import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { serviceOptionsFromEnv, startService } from '../../src/server/serve.ts';

describe('src/server/main.ts', () => {
  it('should print its URL, serve the page, and stop cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', () => {
        const found = /account-flows service: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
        if (found !== undefined) resolve(found);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${out}`)));
    });
    expect(out).toContain('development inbox on');
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-dev-inbox="true"');
    const started = await fetch(`${url}flows/registration`, { method: 'POST' });
    expect(started.status).toBe(201);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(out).toContain('SIGTERM: stopping');
  }, 30_000);

  it('should read its options from the environment, with the inbox on only for a loopback host', () => {
    expect(serviceOptionsFromEnv({})).toEqual(E.right({ port: 3000, host: '127.0.0.1', world: { devInbox: true } }));
    expect(serviceOptionsFromEnv({ PORT: '8080', HOST: '0.0.0.0', PUBLIC_URL: 'https://accounts.example' })).toEqual(
      E.right({ port: 8080, host: '0.0.0.0', publicUrl: 'https://accounts.example', world: { devInbox: false } }),
    );
    expect(serviceOptionsFromEnv({ HOST: '0.0.0.0', DEV_INBOX: '1' })).toMatchObject(E.right({ world: { devInbox: true } }));
    expect(serviceOptionsFromEnv({ DEV_INBOX: '0' })).toMatchObject(E.right({ world: { devInbox: false } }));
    expect(serviceOptionsFromEnv({ PORT: '70000' })).toEqual(E.left('PORT must be an integer from 0 to 65535.'));
    expect(serviceOptionsFromEnv({ PORT: 'http' })).toEqual(E.left('PORT must be an integer from 0 to 65535.'));
    expect(serviceOptionsFromEnv({ DEV_INBOX: 'yes' })).toEqual(E.left('DEV_INBOX must be 1 or 0.'));
  });

  it('should point e-mailed links at its public URL and mark cookies Secure behind https', async () => {
    const service = await startService({ port: 0, publicUrl: 'https://accounts.example/', app: { minEntryMs: 0 } });
    try {
      expect(service.url).toBe('https://accounts.example/');
      expect(service.world.ports.resetLinkBase).toBe('https://accounts.example/recover');
      const res = await fetch(`http://127.0.0.1:${service.port}/flows/registration`, { method: 'POST', headers: { cookie: 'af_session=stale.token' } });
      expect(res.status).toBe(201);
      expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
    } finally {
      await service.close();
    }
  });
});
