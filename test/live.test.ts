import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { AccountId } from '../src/domain/account.ts';
import { type LiveServer, startLiveServer } from '../scripts/live/server.ts';

// Debian's Chromium, as CI installs it (.ci/run). Missing, the test fails: it must not pass by skipping.
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SCREENSHOT = 'test/.generated/live-sms-recovery.png';

let live: LiveServer;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const errors: string[] = [];

/**
 * Starts the server and the one browser this file uses (launching is most of its time), inside
 * the first test rather than a hook: without Chromium every test fails, none is skipped.
 */
let launched: Promise<void> | undefined;
const ready = (): Promise<void> =>
  (launched ??= (async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
    live = await startLiveServer({ port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  })());

afterAll(async () => {
  await browser?.close();
  await live?.close();
});

const stateShown = async (state: string): Promise<void> => {
  try {
    await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: 10_000 });
  } catch (error) {
    throw new Error(`expected state ${state}; the page shows "${await page.locator('#status').textContent()}", error "${await page.getByTestId('error').textContent()}"`, { cause: error });
  }
};

const submit = async (type: string, state: string): Promise<void> => {
  await page.getByTestId(`event-${type}`).getByRole('button', { name: type, exact: true }).click();
  await stateShown(state);
};

describe('live view', () => {
  it('should drive an SMS recovery to the end, from the page alone, and highlight the final state', async () => {
    await ready();
    await page.goto(live.url);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.getByTestId('start-smsRecovery').click();
    await stateShown('enteringChannel');
    expect(await page.locator('#diagram g.node.current').evaluateAll((els) => els.map((e) => e.id))).toEqual(['state_smsRecovery.enteringChannel']);

    // The form comes filled with the seeded account's phone.
    expect(await page.getByTestId('event-channel.submit').locator('input[name="channel"]').inputValue()).toBe('+8613800138000');
    await submit('channel.submit', 'awaitingCode');
    // ...and then with the code the in-memory messenger delivered to that phone.
    const code = await page.getByTestId('event-code.submit').locator('input[name="code"]').inputValue();
    expect(code).toBe(live.world.messenger.lastCodeTo('+8613800138000'));
    await expect.poll(() => page.getByTestId('effects').textContent()).toContain('deliverCode');

    await submit('code.submit', 'hardening.choosingPassword');
    expect(await page.locator('#diagram g.cluster.active').evaluateAll((els) => els.map((e) => e.id))).toEqual(['state_smsRecovery.hardening']);
    await submit('password.submit', 'hardening.reviewingSecurity');
    await submit('security.done', 'recovered');

    mkdirSync('test/.generated', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    expect(await page.locator('#status').getAttribute('data-status')).toBe('done');
    expect(await page.locator('#diagram g.node.current').evaluateAll((els) => els.map((e) => e.id))).toEqual(['state_smsRecovery.recovered']);
    expect(await page.locator('#diagram').getAttribute('data-current')).toBe('smsRecovery.recovered');
    // The highlight is really drawn: the final state's shape is filled with the highlight colour.
    expect(await page.locator('#diagram g.node.current > path').first().evaluate((e) => getComputedStyle(e).fill)).toBe('rgb(255, 212, 59)');

    const effects = (await page.getByTestId('effects').textContent()) ?? '';
    expect(effects).toContain('completeRecovery');
    const shown = `${await page.getByTestId('context').textContent()}${await page.getByTestId('view').textContent()}${effects}`;
    const account = await live.world.directory.get('acct-1' as AccountId);
    expect(account?.securityEpoch).toBe(1);
    expect(shown).not.toContain(code);
    expect(shown).not.toContain(account?.passwordHash ?? '');
    expect(shown).not.toContain('a brand new long passphrase');
    expect(shown).toContain('[redacted]');

    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((url) => !url.startsWith(live.url))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('should move the virtual clock and fire the deadlines that fall due', async () => {
    await ready();
    if (page.url() !== live.url) await page.goto(live.url);
    // An hour on, so the phone's send budget (one SMS a minute) allows this flow's code.
    const start = live.world.clock.now();
    await page.getByTestId('clock-hour').click();
    await expect.poll(() => live.world.clock.now()).toBe(start + 3_600_000);
    await page.getByTestId('start-smsRecovery').click();
    await stateShown('enteringChannel');
    await submit('channel.submit', 'awaitingCode');
    const before = live.world.clock.now();
    await page.getByTestId('clock-min').click();
    await expect.poll(() => live.world.clock.now()).toBe(before + 60_000);
    await stateShown('awaitingCode');
    await page.getByTestId('clock-hour').click();
    // The code lived ten minutes: the tick at its expiry moved the flow on.
    await stateShown('codeExpired');
    expect(live.world.clock.now()).toBe(before + 61 * 60_000);
    expect(await page.locator('#diagram g.node.current').evaluateAll((els) => els.map((e) => e.id))).toEqual(['state_smsRecovery.codeExpired']);
    expect(errors).toEqual([]);
  });
});
