import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, CORE_ENTRY } from '../../scripts/coreBundle.ts';

// Debian's Chromium, as CI installs it. Missing, the test fails: it must not pass by skipping.
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Runs in the page, as plain JavaScript: a whole registration on the embedded defaults, the
 * code read from the in-memory messenger, the account then looked up and its password checked.
 */
const FLOW = `
import { createMemoryWorld, createRuntime, registrationFlow } from './core.js';

const run = async () => {
  const world = createMemoryWorld({ seed: 42 });
  const runtime = createRuntime(world, [registrationFlow(world)]);
  const started = await runtime.start('registration', {});
  if (started._tag !== 'Right') throw new Error(started.left.code);
  const { flowId } = started.right;
  const states = [started.right.view.state];
  const send = async (event) => {
    const result = await runtime.send(flowId, event);
    if (result._tag !== 'Right') throw new Error(event.type + ': ' + result.left.code);
    states.push(result.right.view.state);
  };
  await send({ type: 'phone.submit', phone: '+86 138 0013 8000' });
  await send({ type: 'code.submit', code: world.messenger.lastCodeTo('+8613800138000') ?? '' });
  await send({ type: 'handle.submit', handle: 'wang_xiaoming' });
  await send({ type: 'password.submit', password: 'tea on the west lake at dawn' });
  const account = await world.directory.findByPhone('+8613800138000');
  return {
    states,
    handle: account?.handle,
    passwordVerifies: account !== undefined && (await world.hasher.verify('tea on the west lake at dawn', account.passwordHash)),
    nodeGlobals: ['process', 'Buffer', 'require'].filter((name) => typeof globalThis[name] !== 'undefined'),
  };
};

run().then(
  (result) => { document.body.dataset.result = JSON.stringify(result); },
  (error) => { document.body.dataset.error = String(error?.stack ?? error); },
);
`;

const PAGE = '<!doctype html><meta charset="utf-8"><title>account-flows in a browser</title><script type="module" src="./flow.js"></script>';

let server: Server | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
});

const serve = async (files: Record<string, { type: string; body: string | Uint8Array }>): Promise<string> => {
  server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((listening) => server?.listen(0, '127.0.0.1', listening));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
};

describe('the core in a browser', () => {
  it('should register an account in headless Chromium from the minified browser bundle', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
    const bundle = await bundleForBrowser(CORE_ENTRY);
    const js = 'text/javascript; charset=utf-8';
    const url = await serve({ '/': { type: 'text/html; charset=utf-8', body: PAGE }, '/core.js': { type: js, body: bundle.code }, '/flow.js': { type: js, body: FLOW } });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    await page.locator('body[data-result], body[data-error]').waitFor({ state: 'attached' });

    expect(await page.locator('body').getAttribute('data-error')).toBeNull();
    expect(errors).toEqual([]);
    const result = JSON.parse((await page.locator('body').getAttribute('data-result')) ?? 'null');
    expect(result).toEqual({
      states: ['enteringPhone', 'awaitingCode', 'choosingHandle', 'choosingPassword', 'registered'],
      handle: 'wang_xiaoming',
      passwordVerifies: true,
      nodeGlobals: [],
    });
    expect(requests.sort()).toEqual([url, `${url}core.js`, `${url}flow.js`].sort());
  });
});
