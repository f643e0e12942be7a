import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { ADAPTERS, TEST_SECRET } from '../utils/app.js';
import { uniqueUsername } from '../utils/auth-client.js';
import { launchChromium, type ChromiumSession } from './chromium.js';
import { ensureBuilt, startDemo, type DemoProcess } from '../utils/demo-process.js';
import { startTestOidcProvider, type TestOidcProvider } from '../utils/oidc-provider.js';
import { freePort } from '../utils/redis-server.js';

// The demo's "Sign in with ..." against a real OpenID Provider (panva's oidc-provider, in this
// process), clicked through in Chromium: its login and consent forms, and back on the page.

const PASSWORD = 'correct horse battery staple';
const PROVIDER_NAME = 'Test Provider';
// How far each move of the demo's clock goes (test/browser/moving-clock.mjs).
const CLOCK_STEP_MS = 310_000;

let browser: Browser;

let chromium: ChromiumSession;

beforeAll(async () => {
  ensureBuilt();
  chromium = await launchChromium('oidc');
  browser = chromium.browser;
});

afterAll(async () => {
  await browser?.close();
});

const shot = (page: Page, step: string): Promise<void> => chromium.shot(page, step);

describe.each(ADAPTERS)('the demo page’s sign-in with an OpenID Provider in Chromium, the demo on %s', (adapter) => {
  let provider: TestOidcProvider;
  let demo: DemoProcess;
  let base: string;
  let clockControl: string;
  const contexts: BrowserContext[] = [];
  // Script errors and CSP violations of the demo's pages, checked after each test.
  const problems: string[] = [];

  beforeAll(async () => {
    const [port, clockPort] = [await freePort(), await freePort()];
    base = `http://localhost:${port}`;
    clockControl = `http://127.0.0.1:${clockPort}/`;
    provider = await startTestOidcProvider([`${base}/auth/oauth/oidc/callback`]);
    demo = await startDemo(
      {
        AUTH_SECRET: TEST_SECRET,
        APP_URL: base,
        AUTH_PUBLIC_URL: base,
        HTTP_ADAPTER: adapter,
        NO_COLOR: '1',
        AUTH_OIDC_ISSUER: provider.issuer,
        AUTH_OIDC_CLIENT_ID: provider.clientId,
        AUTH_OIDC_CLIENT_SECRET: provider.clientSecret,
        AUTH_OIDC_NAME: PROVIDER_NAME,
        MOVING_CLOCK_STEP_MS: String(CLOCK_STEP_MS),
        MOVING_CLOCK_PORT: String(clockPort),
      },
      { port, nodeArgs: ['--import', new URL('./moving-clock.mjs', import.meta.url).href] },
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await demo?.stop();
    await provider?.stop();
  });

  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  /** A new browser profile (its own cookies, at the demo and at the provider) on the demo page. */
  async function visitor(): Promise<Page> {
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
    page.on('console', (message) => {
      if (page.url().startsWith(base) && /Content Security Policy|Refused to/i.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');
    return page;
  }

  /** A new account at the provider: its login name is `sub`, its address `<sub>@example.test`, verified. */
  function providerAccount(prefix: string): string {
    const sub = uniqueUsername(prefix);
    provider.account({ sub, email: `${sub}@example.test`, email_verified: true });
    return sub;
  }

  async function text(page: Page, selector: string): Promise<string> {
    return page.$eval(selector, (element) => element.textContent ?? '');
  }

  /** Runs `action`, then waits for `section`'s status line to say how it went. */
  async function act(page: Page, section: string, action: () => Promise<unknown>): Promise<{ state: string; text: string }> {
    const line = `${section} > .status`;
    await page.$eval(line, (element) => element.removeAttribute('data-state'));
    await action();
    await page.waitForFunction(`['ok', 'error'].includes(document.querySelector(${JSON.stringify(line)})?.dataset.state)`);
    return page.$eval(line, (element) => ({ state: element.getAttribute('data-state') ?? '', text: element.textContent ?? '' }));
  }

  async function submit(page: Page, section: string, form: string, fields: Record<string, string>) {
    for (const [name, value] of Object.entries(fields)) await page.locator(`${form} [name="${name}"]`).fill(value);
    return act(page, section, () => page.click(`${form} button[type="submit"]`));
  }

  async function signedInAs(page: Page, username: string | RegExp): Promise<void> {
    await page.waitForSelector('#signed-in', { visible: true });
    expect(await text(page, '#me [data-field="username"]')).toMatch(username);
  }

  /** The rows of the linked identities' table: provider and address. */
  async function identities(page: Page): Promise<string[][]> {
    return page.$$eval('#identities tbody tr[data-id]', (rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].slice(0, 2).map((cell) => cell.textContent ?? '')),
    );
  }

  /** Clicks a button that sends the whole page to the provider, and waits for its login form. */
  async function toProvider(page: Page, button: string): Promise<void> {
    await Promise.all([page.waitForNavigation(), page.click(button)]);
    await page.waitForSelector('input[name="login"]');
    expect(new URL(page.url()).origin).toBe(provider.issuer);
  }

  /** At the provider: its login form as `sub` (any password), then its consent form, allowed or denied; back on the demo page. */
  async function signInAtProvider(page: Page, sub: string, step: string, options: { deny?: boolean } = {}): Promise<void> {
    await page.locator('input[name="login"]').fill(sub);
    await page.locator('input[name="password"]').fill('any password will do');
    await shot(page, `${adapter}-${step}-provider-login`);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    await page.waitForSelector('input[name="prompt"][value="consent"]');
    await shot(page, `${adapter}-${step}-provider-consent`);
    // The consent form's Continue, or its [ Cancel ] link (the provider answers access_denied).
    await Promise.all([page.waitForNavigation(), page.click(options.deny ? 'a[href*="/abort"]' : 'button[type="submit"]')]);
    expect(new URL(page.url()).origin).toBe(base);
    await page.waitForSelector('body[data-ready="true"]');
  }

  async function moveClock(): Promise<void> {
    expect((await fetch(clockControl, { method: 'POST' })).ok).toBe(true);
  }

  /** The newest verification link to `email` in the demo's log (mails leave off the request path: polled). */
  async function verificationLink(email: string): Promise<string> {
    const pattern = new RegExp(`To: ${email.replace(/[.+]/g, '\\$&')}\\n[\\s\\S]*?(${base}/verify-email#token=[A-Za-z0-9_-]{43})`, 'g');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const links = [...demo.output().matchAll(pattern)].map((match) => match[1]!);
      if (links.length > 0) return links.at(-1)!;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no verification link to ${email} in the demo's log`);
  }

  it('signs in with the provider: its login and consent, back on the page signed in, the identity listed; the next sign-in finds the account', async () => {
    const page = await visitor();
    const sub = providerAccount('op');
    expect(await page.$$eval('#oidc-login-buttons button', (buttons) => buttons.map((button) => button.textContent))).toEqual([
      `Sign in with ${PROVIDER_NAME}`,
    ]);
    await shot(page, `${adapter}-oidc-offered`);
    await toProvider(page, '#oidc-login-buttons button');
    await signInAtProvider(page, sub, 'first-login');

    // A new account, named after the provider, with the provider's verified address; the query is off the address bar.
    await signedInAs(page, /^oidc_[0-9a-f]{16}$/);
    expect(page.url()).toBe(`${base}/`);
    expect(await text(page, '#notice')).toBe(`Signed in with ${PROVIDER_NAME}.`);
    expect(await text(page, '#me [data-field="email"]')).toBe(`${sub}@example.test (verified)`);
    expect(await identities(page)).toEqual([[PROVIDER_NAME, `${sub}@example.test`]]);
    expect(await page.$$eval('#oidc-link-buttons button', (buttons) => buttons.map((button) => button.textContent))).toEqual([
      `Link ${PROVIDER_NAME}`,
    ]);
    // The session is in the cookie transport's HttpOnly cookies, as after a password login.
    const cookies = await page.browserContext().cookies();
    expect(cookies.find((cookie) => cookie.name === 'nw_access')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.find((cookie) => cookie.name === 'nw_oidc')).toBeUndefined();
    await shot(page, `${adapter}-oidc-signed-in`);
    const username = await text(page, '#me [data-field="username"]');

    // Logged out and back: the provider remembers its session and the consent, so the browser goes straight through to the same account.
    expect(await act(page, '#me', () => page.click('#logout-button'))).toEqual({ state: 'ok', text: 'Logged out.' });
    await page.waitForSelector('#oidc-login-buttons button', { visible: true });
    await Promise.all([page.waitForNavigation(), page.click('#oidc-login-buttons button')]);
    await page.waitForSelector('body[data-ready="true"]');
    await signedInAs(page, username);
    expect(await identities(page)).toEqual([[PROVIDER_NAME, `${sub}@example.test`]]);
    expect(await page.$eval('#identities tbody tr[data-id] td:nth-child(4)', (cell) => cell.textContent)).not.toBe('never');
    await shot(page, `${adapter}-oidc-signed-in-again`);
  });

  it('shows a readable error when the consent is denied, and stays signed out', async () => {
    const page = await visitor();
    const sub = providerAccount('denied');
    await toProvider(page, '#oidc-login-buttons button');
    await signInAtProvider(page, sub, 'denied', { deny: true });
    await page.waitForSelector('#login-form', { visible: true });
    expect(await page.$eval('#signed-in', (element) => element.hidden)).toBe(true);
    expect(page.url()).toBe(`${base}/`);
    const readable =
      'AUTH_OIDC_CALLBACK_FAILED: The sign-in at the provider did not finish: consent was denied, or its answer did not verify.';
    expect(await page.$eval('#login > .status', (line) => [line.getAttribute('data-state'), line.textContent])).toEqual([
      'error',
      readable,
    ]);
    await shot(page, `${adapter}-oidc-denied`);
  });

  it('links the provider to a password account from its session, and unlinks it (once the address is verified, and after a fresh login)', async () => {
    const page = await visitor();
    const username = uniqueUsername('linker');
    const email = `${username}@example.com`;
    expect(await submit(page, '#register', '#register-form', { username, password: PASSWORD, email })).toMatchObject({ state: 'ok' });
    expect(await submit(page, '#login', '#login-form', { identifier: username, password: PASSWORD })).toEqual({
      state: 'ok',
      text: 'Signed in.',
    });
    await signedInAs(page, username);
    expect(await text(page, '#identities tbody')).toBe('No linked accounts yet.');
    await shot(page, `${adapter}-link-none`);

    const sub = providerAccount('linked');
    await toProvider(page, '#oidc-link-buttons button');
    await signInAtProvider(page, sub, 'link');
    // Back in the same session (linking opens none), the identity beside it.
    await signedInAs(page, username);
    expect(page.url()).toBe(`${base}/`);
    expect(await text(page, '#notice')).toBe(`Linked ${PROVIDER_NAME} to this account.`);
    expect(await identities(page)).toEqual([[PROVIDER_NAME, `${sub}@example.test`]]);
    await shot(page, `${adapter}-linked`);

    // The account's only link, and its address is not verified yet: refused, in words.
    expect(await act(page, '#identities', () => page.click('#identities .identity-unlink'))).toEqual({
      state: 'error',
      text: expect.stringMatching(
        /^AUTH_OIDC_LAST_LOGIN_METHOD: This is the account’s last linked provider, and the account has no verified address/,
      ),
    });
    expect(await identities(page)).toHaveLength(1);
    await shot(page, `${adapter}-unlink-last-refused`);

    // The address verified (the link in the log), then past the recent-login window: the page asks for the password.
    await page.goto(await verificationLink(email));
    await page.waitForSelector('body[data-ready="true"]');
    expect(await text(page, '#notice')).toBe('Your address is verified.');
    for (let move = 0; move * CLOCK_STEP_MS <= 900_000; move += 1) await moveClock();
    const cancelled = act(page, '#identities', () => page.click('#identities .identity-unlink'));
    await page.waitForSelector('#reauth', { visible: true });
    await page.click('#reauth-cancel');
    expect(await cancelled).toEqual({
      state: 'error',
      text: 'AUTH_REAUTH_REQUIRED: This needs a login of the last fifteen minutes: confirm with your password, then try again.',
    });
    const unlinked = act(page, '#identities', () => page.click('#identities .identity-unlink'));
    await page.waitForSelector('#reauth', { visible: true });
    await page.locator('#reauth-form [name="password"]').fill(PASSWORD);
    await page.click('#reauth-form button[type="submit"]');
    expect(await unlinked).toEqual({ state: 'ok', text: `Unlinked ${PROVIDER_NAME} (${sub}@example.test).` });
    expect(await text(page, '#identities tbody')).toBe('No linked accounts yet.');
    await shot(page, `${adapter}-unlinked`);
  });
});
