import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { scryptHasher } from '../../src/adapters/hashers.ts';
import type { MemoryDirectory } from '../../src/adapters/memory/directory.ts';
import { cryptoRandom } from '../../src/adapters/random.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { type RunningService, startService } from '../../src/server/serve.ts';

// Debian's Chromium, as CI installs it. Missing, the test fails: it must not pass by skipping.
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

let service: RunningService | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await service?.close();
});

describe('the page, in a browser, against the real server', () => {
  it('should let a person register with the code from the development inbox, then sign in', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
    // Real scrypt, at a cost a test can afford.
    service = await startService({ port: 0, world: { devInbox: true, hasher: scryptHasher(cryptoRandom, { N: 2 ** 10, r: 8, p: 1 }) } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage();
    const errors: string[] = [];
    const elsewhere: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A content security policy violation is reported on the console; so is the 401 the page
    // expects when it asks who is signed in before anyone is.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text());
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(service?.url ?? '')) elsewhere.push(r.url());
    });

    await page.goto(service.url);
    await page.locator('body[data-ready="true"]').waitFor();
    const inbox = page.getByRole('region', { name: 'Development inbox' });
    await expect.poll(() => inbox.isVisible()).toBe(true);

    const register = page.getByRole('region', { name: 'Register' });
    await register.getByLabel('Mobile number, with country code').fill('+86 138 0013 8000');
    await register.getByRole('button', { name: 'Send me a code' }).click();
    await register.getByLabel('The code we texted you').waitFor();

    const message = inbox.getByRole('listitem').filter({ hasText: '+8613800138000' }).first();
    await message.waitFor();
    const code = /\b(\d{6})\b/.exec((await message.textContent()) ?? '')?.[1];
    expect(code).toMatch(/^\d{6}$/);

    await register.getByLabel('The code we texted you').fill(code ?? '');
    await register.getByRole('button', { name: 'Confirm' }).click();
    await register.getByLabel(/^Handle/).fill('li_xiaolong');
    await register.getByRole('button', { name: 'Choose' }).click();
    await register.getByLabel(/^Password/).fill('tea on the west lake at dawn');
    await register.getByRole('button', { name: 'Create my account' }).click();
    await page.locator('section[data-flow="registration"][data-state="registered"]').waitFor();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Registered. You can sign in now.');

    const account = await (service.world.ports.directory as MemoryDirectory).findByPhone('+8613800138000' as Phone);
    expect(account?.handle).toBe('li_xiaolong');

    const signIn = page.getByRole('region', { name: 'Sign in' });
    await signIn.getByLabel('Mobile number').fill('+8613800138000');
    await signIn.getByLabel('Password').fill('tea on the west lake at dawn');
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#signed-in').textContent()).toBe('Signed in as li_xiaolong.');
    // The session lives in an HttpOnly cookie the page's script cannot read.
    expect(await page.evaluate(() => document.cookie)).toBe('');

    expect(errors).toEqual([]);
    expect(elsewhere).toEqual([]);
  });

  it('should let a person recover by e-mail through the link in the development inbox', async () => {
    if (service === undefined || browser === undefined) throw new Error('the registration test starts the server and the browser');
    const directory = service.world.ports.directory as MemoryDirectory;
    const seeded = directory.createNow({
      phone: '+8613900139000' as Phone,
      handle: 'wang_xiaoming' as Handle,
      email: 'wang@example.com' as Email,
      passwordHash: await service.world.ports.hasher.hash('the old long passphrase'),
      at: Date.now(),
    });
    expect(seeded.ok).toBe(true);
    const page = await browser.newPage();
    await page.goto(service.url);
    await page.locator('body[data-ready="true"]').waitFor();
    const recover = page.getByRole('region', { name: 'Recover by e-mail' });
    await recover.getByLabel('Your bound e-mail address').fill('wang@example.com');
    await recover.getByRole('button', { name: 'Send me a code' }).click();
    const mail = page.getByRole('region', { name: 'Development inbox' }).getByRole('listitem').filter({ hasText: 'wang@example.com' }).first();
    await mail.waitFor();
    const link = /(http:\/\/\S+\/recover\?\S+)/.exec((await mail.textContent()) ?? '')?.[1];
    expect(link).toMatch(/[?&]token=/);

    await page.goto(link ?? '');
    await page.locator('body[data-ready="true"]').waitFor();
    // The token leaves the address bar as soon as the page has read it.
    await expect.poll(() => page.url()).toBe(service.url);
    await recover.getByRole('button', { name: 'Continue' }).click();
    await recover.getByLabel('New password').fill('a brand new long passphrase');
    await recover.getByRole('button', { name: 'Set password' }).click();
    await recover.getByRole('button', { name: 'Finish' }).click();
    await page.locator('section[data-flow="emailRecovery"][data-state="recovered"]').waitFor();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Your password is changed. Sign in with the new one.');
  });
});
