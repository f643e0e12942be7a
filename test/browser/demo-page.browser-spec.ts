import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, type BrowserContext, type CDPSession, type Page } from 'puppeteer-core';
import { Totp } from '../../src/auth/index.js';
import { ADAPTERS, TEST_SECRET } from '../utils/app.js';
import { uniqueUsername } from '../utils/auth-client.js';
import { launchChromium, type ChromiumSession } from './chromium.js';
import { ensureBuilt, startDemo, type DemoProcess } from '../utils/demo-process.js';
import { freePort } from '../utils/redis-server.js';

const PASSWORD = 'correct horse battery staple';
// How far each move of the demo's clock goes (test/browser/moving-clock.mjs): past @RequireRecentLogin(300).
const CLOCK_STEP_MS = 310_000;
const totp = new Totp();
// Chromium's virtual authenticator (CDP WebAuthn domain): a platform authenticator that keeps
// discoverable credentials, verifies its user, and answers without a prompt.
const VIRTUAL_AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

/** A virtual authenticator attached to one page target (it lives as long as that page, across navigations). */
interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
}

let browser: Browser;

let chromium: ChromiumSession;

beforeAll(async () => {
  ensureBuilt();
  chromium = await launchChromium('page');
  browser = chromium.browser;
});

afterAll(async () => {
  await browser?.close();
});

const shot = (page: Page, step: string): Promise<void> => chromium.shot(page, step);

describe.each(ADAPTERS)('the demo page in Chromium, the demo on %s', (adapter) => {
  let demo: DemoProcess;
  let base: string;
  let clockOffsetMs = 0;
  let clockControl: string;
  const contexts: BrowserContext[] = [];
  // Script errors and CSP violations of every page, checked after each test.
  const problems: string[] = [];
  // TOTP steps already accepted, per secret: the demo refuses a step's code the second time.
  const usedSteps = new Map<string, Set<number>>();

  beforeAll(async () => {
    const [port, clockPort] = [await freePort(), await freePort()];
    base = `http://localhost:${port}`;
    clockControl = `http://127.0.0.1:${clockPort}/`;
    demo = await startDemo(
      {
        AUTH_SECRET: TEST_SECRET,
        APP_URL: base,
        HTTP_ADAPTER: adapter,
        NO_COLOR: '1',
        MOVING_CLOCK_STEP_MS: String(CLOCK_STEP_MS),
        MOVING_CLOCK_PORT: String(clockPort),
      },
      { port, nodeArgs: ['--import', new URL('./moving-clock.mjs', import.meta.url).href] },
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await demo?.stop();
  });

  /** A new browser profile (its own cookies) on the demo page. */
  async function visitor(path = '/'): Promise<Page> {
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    await open(page, path);
    return page;
  }

  async function open(page: Page, path = '/'): Promise<void> {
    await page.goto(`${base}${path}`);
    await page.waitForSelector('body[data-ready="true"]');
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

  async function fill(page: Page, form: string, fields: Record<string, string>): Promise<void> {
    for (const [name, value] of Object.entries(fields)) await page.locator(`${form} [name="${name}"]`).fill(value);
  }

  async function submit(
    page: Page,
    section: string,
    form: string,
    fields: Record<string, string>,
  ): Promise<{ state: string; text: string }> {
    await fill(page, form, fields);
    return act(page, section, () => page.click(`${form} button[type="submit"]`));
  }

  async function click(page: Page, section: string, button: string): Promise<{ state: string; text: string }> {
    return act(page, section, () => page.click(button));
  }

  async function register(page: Page, username: string, email?: string): Promise<void> {
    const result = await submit(page, '#register', '#register-form', { username, password: PASSWORD, ...(email ? { email } : {}) });
    expect(result).toEqual({ state: 'ok', text: expect.stringContaining(`Registered as ${username}.`) });
  }

  /** Waits until the page shows `username` signed in. */
  async function signedInAs(page: Page, username: string): Promise<void> {
    await page.waitForFunction(
      `!document.querySelector('#signed-in').hidden && document.querySelector('#me [data-field="username"]').textContent === ${JSON.stringify(username)}`,
    );
  }

  async function signedOut(page: Page): Promise<void> {
    await page.waitForSelector('#login-form', { visible: true });
    expect(await page.$eval('#signed-in', (element) => element.hasAttribute('hidden'))).toBe(true);
  }

  async function login(page: Page, identifier: string, password = PASSWORD): Promise<{ state: string; text: string }> {
    return submit(page, '#login', '#login-form', { identifier, password });
  }

  async function registerAndLogin(page: Page, prefix: string, email?: string): Promise<string> {
    const username = uniqueUsername(prefix);
    await register(page, username, email);
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Signed in.' });
    await signedInAs(page, username);
    return username;
  }

  /** A code the demo accepts now and has not seen: this step's or the next (one step of drift), else wait. */
  async function freshCode(secret: string): Promise<string> {
    const used = usedSteps.get(secret) ?? new Set<number>();
    usedSteps.set(secret, used);
    for (;;) {
      const step = Math.floor((Date.now() + clockOffsetMs) / 30_000);
      const free = [step, step + 1].find((candidate) => !used.has(candidate));
      if (free !== undefined) {
        used.add(free);
        return totp.code(secret, free * 30_000 + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, (step + 1) * 30_000 - (Date.now() + clockOffsetMs) + 50));
    }
  }

  /** A six-digit code that is none of the ones the demo would accept now. */
  async function wrongCode(secret: string): Promise<string> {
    const now = Date.now() + clockOffsetMs;
    const valid = await Promise.all([-60_000, -30_000, 0, 30_000, 60_000].map((shift) => totp.code(secret, now + shift)));
    let code = 0;
    while (valid.includes(String(code).padStart(6, '0'))) code += 1;
    return String(code).padStart(6, '0');
  }

  /** Moves the demo's clock forward by CLOCK_STEP_MS. */
  async function moveClock(): Promise<void> {
    const { offsetMs } = (await (await fetch(clockControl, { method: 'POST' })).json()) as { offsetMs: number };
    expect(offsetMs).toBe(clockOffsetMs + CLOCK_STEP_MS);
    clockOffsetMs = offsetMs;
  }

  /** Enrols TOTP through the page: answers the secret and the recovery codes shown. */
  async function enrolTotp(page: Page, step: string): Promise<{ secret: string; recoveryCodes: string[] }> {
    const setup = await click(page, '#totp', '#totp-setup-button');
    expect(setup).toEqual({ state: 'ok', text: expect.stringContaining('Scan the code') });
    await page.waitForSelector('#totp-setup', { visible: true });
    // The server's SVG is drawn as an image (allowed by img-src data:), and the secret is shown to type by hand.
    await page.waitForFunction(`document.querySelector('#totp-qr').complete && document.querySelector('#totp-qr').naturalWidth > 0`);
    const secret = await text(page, '#totp-secret');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await shot(page, `${adapter}-${step}-totp-setup`);
    const confirmed = await submit(page, '#totp', '#totp-confirm-form', { code: await freshCode(secret) });
    expect(confirmed).toEqual({ state: 'ok', text: 'TOTP is on. The next logins ask for a code.' });
    await page.waitForFunction(`document.querySelector('#me [data-field="totp"]').textContent === 'on, 10 recovery codes left'`);
    const recoveryCodes = await page.$$eval('#recovery-codes li', (items) => items.map((item) => item.textContent ?? ''));
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    expect(await text(page, '#totp-secret')).toBe('');
    await shot(page, `${adapter}-${step}-totp-on`);
    return { secret, recoveryCodes };
  }

  /** Attaches a virtual authenticator to `page`: its passkeys stay with this page target. */
  async function addAuthenticator(page: Page): Promise<VirtualAuthenticator> {
    const cdp = await page.createCDPSession();
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: VIRTUAL_AUTHENTICATOR });
    return { cdp, authenticatorId };
  }

  async function credentialsOf(authenticator: VirtualAuthenticator) {
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    return credentials;
  }

  /** The names in the passkeys table, once it shows `count` of them. */
  async function passkeyNames(page: Page, count: number): Promise<string[]> {
    await page.waitForFunction(`document.querySelectorAll('#passkeys tbody tr[data-id]').length === ${count}`);
    return page.evaluate(
      `[...document.querySelectorAll('#passkeys tbody tr[data-id] input[name="name"]')].map((input) => input.value)`,
    ) as Promise<string[]>;
  }

  /** Adds a passkey from the page's form. */
  async function addPasskey(page: Page, name: string): Promise<{ state: string; text: string }> {
    return submit(page, '#passkeys', '#passkey-add-form', { name });
  }

  async function passkeyLogin(page: Page): Promise<{ state: string; text: string }> {
    return click(page, '#login', '#passkey-login-button');
  }

  async function logout(page: Page): Promise<void> {
    expect(await click(page, '#me', '#logout-button')).toEqual({ state: 'ok', text: 'Logged out.' });
    await signedOut(page);
  }

  /** The link of the newest mail to `email` for `page` in the demo's log (mails leave off the request path: polled). */
  async function linkInLog(email: string, page: 'reset-password' | 'verify-email'): Promise<string> {
    const pattern = new RegExp(`To: ${email.replace(/[.+]/g, '\\$&')}\\n[\\s\\S]*?(${base}/${page}#token=[A-Za-z0-9_-]{43})`, 'g');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const links = [...demo.output().matchAll(pattern)].map((match) => match[1]!);
      if (links.length > 0) return links.at(-1)!;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no ${page} link to ${email} in the demo's log`);
  }

  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  it('registers, logs in, shows who is signed in and the sessions, revokes another session, and logs out', async () => {
    const page = await visitor();
    await shot(page, `${adapter}-signed-out`);
    const username = uniqueUsername('page');
    await register(page, username);
    // Every error shows its stable code.
    expect(await submit(page, '#register', '#register-form', { username, password: PASSWORD })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_USERNAME_TAKEN: /),
    });
    expect(await login(page, username, 'not the password')).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_INVALID_CREDENTIALS: /),
    });
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Signed in.' });
    await signedInAs(page, username);
    expect(await text(page, '#me [data-field="totp"]')).toBe('off');
    expect(await text(page, '#me [data-field="email"]')).toBe('none');
    // The session is in cookies the page's script cannot read; only the CSRF cookie is readable.
    const cookies = await page.browserContext().cookies();
    expect(
      cookies.filter((cookie) => cookie.name.startsWith('nw_')).map((cookie) => [cookie.name, cookie.httpOnly, cookie.sameSite]),
    ).toEqual(
      expect.arrayContaining([
        ['nw_access', true, 'Strict'],
        ['nw_csrf', false, 'Strict'],
      ]),
    );
    expect(await page.evaluate('document.cookie')).toMatch(/^nw_csrf=[^;]+$/);
    expect(await page.evaluate('JSON.stringify(localStorage) + JSON.stringify(sessionStorage)')).toBe('{}{}');

    // A second browser signs in to the same account: two sessions, and this one can end the other.
    const other = await visitor();
    expect(await login(other, username)).toEqual({ state: 'ok', text: 'Signed in.' });
    await signedInAs(other, username);
    expect(await click(page, '#sessions', '#sessions-button')).toEqual({ state: 'ok', text: '2 live session(s).' });
    expect(await page.$$eval('#sessions tbody tr', (rows) => rows.map((row) => row.getAttribute('data-current')))).toEqual([
      'true',
      'false',
    ]);
    await shot(page, `${adapter}-two-sessions`);
    const revoked = await act(page, '#sessions', () => page.click('#sessions tbody tr[data-current="false"] button'));
    expect(revoked).toEqual({ state: 'ok', text: '1 live session(s).' });
    expect(await page.$$eval('#sessions tbody tr', (rows) => rows.length)).toBe(1);
    // The other browser is signed out: its access cookie names an ended session, and the refresh fails too.
    await open(other);
    await signedOut(other);
    await shot(other, `${adapter}-revoked-elsewhere`);

    await logout(page);
    await open(page);
    await signedOut(page);
  });

  it('refreshes once when the access cookie is gone, then retries the call', async () => {
    const page = await visitor();
    const username = await registerAndLogin(page, 'refresh');
    const context = page.browserContext();
    const access = (await context.cookies()).find((cookie) => cookie.name === 'nw_access')!;
    await context.deleteCookie(access);
    expect(await click(page, '#sessions', '#sessions-button')).toEqual({ state: 'ok', text: '1 live session(s).' });
    const renewed = (await context.cookies()).find((cookie) => cookie.name === 'nw_access');
    expect(renewed?.value).toEqual(expect.any(String));
    expect(renewed?.value).not.toBe(access.value);
    await open(page);
    await signedInAs(page, username);
  });

  it('enrols TOTP, then logs in with the second step, a code or a recovery code; /profile/secure needs it', async () => {
    const page = await visitor();
    const username = await registerAndLogin(page, 'totp');
    const before = await click(page, '#demo-routes', '#secure-button');
    expect(before).toEqual({ state: 'error', text: expect.stringMatching(/^AUTH_MFA_REQUIRED: /) });
    await shot(page, `${adapter}-secure-refused`);
    const { secret, recoveryCodes } = await enrolTotp(page, 'login');
    await logout(page);

    // The password answers a challenge; the page asks for the code.
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Password accepted: a second factor is due.' });
    await page.waitForSelector('#mfa-step', { visible: true });
    // No passkey on this account: the step offers codes only.
    expect(await page.$eval('#mfa-passkey', (element) => element.hasAttribute('hidden'))).toBe(true);
    await shot(page, `${adapter}-mfa-step`);
    expect(await submit(page, '#mfa-step', '#mfa-form', { code: await wrongCode(secret) })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_MFA_CODE_INVALID: /),
    });
    expect(await submit(page, '#mfa-step', '#mfa-form', { code: await freshCode(secret) })).toEqual({
      state: 'ok',
      text: 'Signed in with a second factor.',
    });
    await signedInAs(page, username);
    const secure = await click(page, '#demo-routes', '#secure-button');
    expect(secure.state).toBe('ok');
    expect(JSON.parse(secure.text.replace(/^200 /, ''))).toEqual({ userId: expect.any(String), secure: true });
    await shot(page, `${adapter}-secure-allowed`);
    await logout(page);

    // A recovery code instead of the app's code, typed in upper case: it works once.
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Password accepted: a second factor is due.' });
    expect(await submit(page, '#mfa-step', '#mfa-form', { code: recoveryCodes[0]!.toUpperCase() })).toEqual({
      state: 'ok',
      text: 'Signed in with a second factor.',
    });
    await signedInAs(page, username);
    expect(await text(page, '#me [data-field="totp"]')).toBe('on, 9 recovery codes left');
    await shot(page, `${adapter}-recovery-code-login`);

    // Turning TOTP off takes a code; then a login needs the password alone.
    expect(await submit(page, '#totp', '#totp-disable-form', { code: recoveryCodes[0]! })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_MFA_CODE_INVALID: /),
    });
    expect(await submit(page, '#totp', '#totp-disable-form', { code: await freshCode(secret) })).toEqual({
      state: 'ok',
      text: 'TOTP is off, and the recovery codes are void.',
    });
    await page.waitForFunction(`document.querySelector('#me [data-field="totp"]').textContent === 'off'`);
    await logout(page);
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Signed in.' });
    await signedInAs(page, username);
  });

  it('asks for the password again when /profile/danger needs a recent login, then retries it', async () => {
    const page = await visitor();
    const username = await registerAndLogin(page, 'danger');
    const fresh = await click(page, '#demo-routes', '#danger-button');
    expect(fresh.state).toBe('ok');
    expect(JSON.parse(fresh.text.replace(/^200 /, ''))).toEqual({ userId: expect.any(String), done: true });

    await moveClock();
    const pending = act(page, '#demo-routes', () => page.click('#danger-button'));
    await page.waitForSelector('#reauth', { visible: true });
    // No second factor on this account: the password alone.
    expect(await page.$eval('#reauth-code', (element) => element.hasAttribute('hidden'))).toBe(true);
    await shot(page, `${adapter}-reauth-asked`);
    expect(await submit(page, '#reauth', '#reauth-form', { password: 'not the password' })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_INVALID_CREDENTIALS: /),
    });
    await fill(page, '#reauth-form', { password: PASSWORD });
    await page.click('#reauth-form button[type="submit"]');
    const retried = await pending;
    expect(retried.state).toBe('ok');
    expect(JSON.parse(retried.text.replace(/^200 /, ''))).toEqual({ userId: expect.any(String), done: true });
    expect(await page.$eval('#reauth', (element) => element.hasAttribute('hidden'))).toBe(true);
    await shot(page, `${adapter}-reauth-done`);

    // Cancelling leaves the route's answer, with its code.
    await moveClock();
    const cancelled = act(page, '#demo-routes', () => page.click('#danger-button'));
    await page.waitForSelector('#reauth', { visible: true });
    await page.click('#reauth-cancel');
    expect(await cancelled).toEqual({ state: 'error', text: expect.stringMatching(/^AUTH_REAUTH_REQUIRED: /) });
    await signedInAs(page, username);
  });

  it('asks for the password and a code to reauthenticate an account with TOTP', async () => {
    const page = await visitor();
    await registerAndLogin(page, 'reauth-totp');
    const { secret } = await enrolTotp(page, 'reauth');
    await moveClock();
    const pending = act(page, '#demo-routes', () => page.click('#danger-button'));
    await page.waitForSelector('#reauth-code', { visible: true });
    expect(await submit(page, '#reauth', '#reauth-form', { password: PASSWORD, code: '' })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_MFA_CODE_INVALID: /),
    });
    await fill(page, '#reauth-form', { password: PASSWORD, code: await freshCode(secret) });
    await shot(page, `${adapter}-reauth-with-code`);
    await page.click('#reauth-form button[type="submit"]');
    const retried = await pending;
    expect(retried.state).toBe('ok');
    expect(JSON.parse(retried.text.replace(/^200 /, ''))).toEqual({ userId: expect.any(String), done: true });
  });

  it('resets a forgotten password from the link in the log, ending the old sessions', async () => {
    const signedIn = await visitor();
    const email = `${uniqueUsername('reset')}@example.com`;
    const username = await registerAndLogin(signedIn, 'reset', email);

    const page = await visitor();
    const asked = await submit(page, '#forgot', '#forgot-form', { identifier: email });
    expect(asked).toEqual({ state: 'ok', text: expect.stringContaining('In development the link is written to the server’s log.') });
    await shot(page, `${adapter}-forgot`);
    const link = await linkInLog(email, 'reset-password');
    await page.goto(link);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#reset', { visible: true });
    // The token leaves the address bar as soon as the page has read it.
    expect(page.url()).toBe(`${base}/`);
    await shot(page, `${adapter}-reset-form`);
    const newPassword = 'a brand new passphrase here';
    expect(await submit(page, '#reset', '#reset-form', { newPassword: 'short' })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_PASSWORD_POLICY: /),
    });
    expect(await submit(page, '#reset', '#reset-form', { newPassword })).toEqual({
      state: 'ok',
      text: expect.stringContaining('Your password is set'),
    });
    expect(await login(page, email)).toEqual({ state: 'error', text: expect.stringMatching(/^AUTH_INVALID_CREDENTIALS: /) });
    expect(await login(page, email, newPassword)).toEqual({ state: 'ok', text: 'Signed in.' });
    await signedInAs(page, username);
    // The link reached the address: it counts as verified.
    expect(await text(page, '#me [data-field="email"]')).toBe(`${email} (verified)`);
    await shot(page, `${adapter}-reset-done`);
    // The browser signed in before the reset is signed out.
    await open(signedIn);
    await signedOut(signedIn);
  });

  it('verifies an address from the link in the log', async () => {
    const page = await visitor();
    const email = `${uniqueUsername('verify')}@example.com`;
    await registerAndLogin(page, 'verify', email);
    expect(await text(page, '#me [data-field="email"]')).toBe(`${email} (not verified)`);
    await page.waitForSelector('#verify-email-button', { visible: true });
    await page.goto(await linkInLog(email, 'verify-email'));
    await page.waitForSelector('body[data-ready="true"]');
    expect(await text(page, '#notice')).toBe('Your address is verified.');
    expect(await text(page, '#me [data-field="email"]')).toBe(`${email} (verified)`);
    expect(page.url()).toBe(`${base}/`);
    await shot(page, `${adapter}-verified`);
  });

  it('logs out everywhere: every browser of the account is signed out', async () => {
    const page = await visitor();
    const username = await registerAndLogin(page, 'everywhere');
    const other = await visitor();
    expect(await login(other, username)).toEqual({ state: 'ok', text: 'Signed in.' });
    await signedInAs(other, username);
    expect(await click(page, '#me', '#logout-all-button')).toEqual({ state: 'ok', text: 'Logged out everywhere.' });
    await signedOut(page);
    expect(await text(page, '#notice')).toContain('every session of the account has ended');
    await shot(page, `${adapter}-logged-out-everywhere`);
    await open(other);
    await signedOut(other);
    await open(page);
    await signedOut(page);
  });

  it('adds a passkey, lists and renames it, logs in with it alone (counts as MFA), removes it; then the passkey login fails', async () => {
    const page = await visitor();
    const authenticator = await addAuthenticator(page);
    const username = await registerAndLogin(page, 'passkey');
    await page.waitForFunction(`document.querySelector('#passkeys > .status').textContent === '0 passkey(s).'`);
    expect(await text(page, '#passkeys tbody')).toBe('No passkeys yet.');
    // A password login is one factor.
    expect(await click(page, '#demo-routes', '#secure-button')).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_MFA_REQUIRED: /),
    });
    await shot(page, `${adapter}-passkeys-none`);

    expect(await addPasskey(page, '  Work laptop ')).toEqual({ state: 'ok', text: 'Passkey “Work laptop” added.' });
    expect(await passkeyNames(page, 1)).toEqual(['Work laptop']);
    expect(await page.$$eval('#passkeys tbody tr[data-id] td', (cells) => cells.slice(2, 4).map((cell) => cell.textContent))).toEqual([
      'never',
      'this device only',
    ]);
    // The authenticator keeps it as a discoverable credential for the demo's host.
    const stored = await credentialsOf(authenticator);
    expect(stored).toEqual([expect.objectContaining({ isResidentCredential: true, rpId: 'localhost', signCount: expect.any(Number) })]);
    await shot(page, `${adapter}-passkey-added`);
    // The same authenticator again: the browser refuses it (excludeCredentials), and the page shows the browser's code.
    expect(await addPasskey(page, 'Twice')).toEqual({ state: 'error', text: expect.stringMatching(/^InvalidStateError: /) });
    expect(await credentialsOf(authenticator)).toHaveLength(1);

    // Renamed in place; a blank name is refused with its code.
    const renameForm = '#passkeys tbody tr[data-id] form';
    expect(await submit(page, '#passkeys', renameForm, { name: '   ' })).toEqual({
      state: 'error',
      text: expect.stringMatching(/^AUTH_VALIDATION_FAILED: /),
    });
    expect(await submit(page, '#passkeys', renameForm, { name: 'Virtual key' })).toEqual({
      state: 'ok',
      text: 'Renamed to “Virtual key”.',
    });
    expect(await passkeyNames(page, 1)).toEqual(['Virtual key']);
    await shot(page, `${adapter}-passkey-renamed`);
    await logout(page);

    // No username, no password: the authenticator picks the account's passkey.
    await shot(page, `${adapter}-passkey-login-offered`);
    expect(await passkeyLogin(page)).toEqual({ state: 'ok', text: 'Signed in with a passkey.' });
    await signedInAs(page, username);
    expect(await text(page, '#notice')).toBe('Signed in with a passkey.');
    expect(await page.$eval('#passkeys tbody tr[data-id] td:nth-child(3)', (cell) => cell.textContent)).not.toBe('never');
    // The passkey verified its user: a second factor's worth.
    const secure = await click(page, '#demo-routes', '#secure-button');
    expect(secure.state).toBe('ok');
    expect(JSON.parse(secure.text.replace(/^200 /, ''))).toEqual({ userId: expect.any(String), secure: true });
    await shot(page, `${adapter}-passkey-login-secure`);

    // Removing it needs a recent login (the module's default, 900 s): past that, the password is asked again, then the removal goes through.
    for (let move = 0; move * CLOCK_STEP_MS <= 900_000; move += 1) await moveClock();
    const removed = act(page, '#passkeys', () => page.click('#passkeys tbody tr[data-id] .passkey-remove'));
    await page.waitForSelector('#reauth', { visible: true });
    await shot(page, `${adapter}-passkey-remove-reauth`);
    await fill(page, '#reauth-form', { password: PASSWORD });
    await page.click('#reauth-form button[type="submit"]');
    expect(await removed).toEqual({ state: 'ok', text: expect.stringMatching(/^Passkey “Virtual key” removed\./) });
    expect(await text(page, '#passkeys tbody')).toBe('No passkeys yet.');
    await shot(page, `${adapter}-passkey-removed`);
    await logout(page);

    // The authenticator still offers it; the demo no longer knows it.
    expect(await credentialsOf(authenticator)).toHaveLength(1);
    expect(await passkeyLogin(page)).toEqual({ state: 'error', text: expect.stringMatching(/^AUTH_PASSKEY_LOGIN_FAILED: /) });
    await signedOut(page);
    await shot(page, `${adapter}-passkey-login-failed`);
  });

  it('logs another browser in with a copy of the passkey, and the page shows the browser’s error when none is there', async () => {
    const page = await visitor();
    const authenticator = await addAuthenticator(page);
    const username = await registerAndLogin(page, 'passkey-copy');
    expect(await addPasskey(page, 'Copied')).toEqual({ state: 'ok', text: 'Passkey “Copied” added.' });
    const [credential] = await credentialsOf(authenticator);

    // Another profile whose authenticator holds no passkey for the demo: the browser says so.
    const other = await visitor();
    const otherAuthenticator = await addAuthenticator(other);
    expect(await passkeyLogin(other)).toEqual({ state: 'error', text: expect.stringMatching(/^NotAllowedError: /) });
    await signedOut(other);
    await shot(other, `${adapter}-passkey-none-here`);
    // The same key copied into it (as a synced passkey would arrive): it signs in there.
    await otherAuthenticator.cdp.send('WebAuthn.addCredential', {
      authenticatorId: otherAuthenticator.authenticatorId,
      credential: credential!,
    });
    expect(await passkeyLogin(other)).toEqual({ state: 'ok', text: 'Signed in with a passkey.' });
    await signedInAs(other, username);
    expect(await click(other, '#sessions', '#sessions-button')).toEqual({ state: 'ok', text: '2 live session(s).' });
    await shot(other, `${adapter}-passkey-copied-login`);
  });

  it('offers the passkey as the second step of an account with TOTP on, and finishes the login with it', async () => {
    const page = await visitor();
    const authenticator = await addAuthenticator(page);
    const username = await registerAndLogin(page, 'passkey-mfa');
    const { secret } = await enrolTotp(page, 'passkey-mfa');
    // This session was signed in with the password alone: with TOTP on, adding a passkey asks for
    // the password and a code first (403 AUTH_MFA_REQUIRED), then goes through.
    await fill(page, '#passkey-add-form', { name: 'Second factor' });
    const added = act(page, '#passkeys', () => page.click('#passkey-add-form button[type="submit"]'));
    await page.waitForSelector('#reauth-code', { visible: true });
    await shot(page, `${adapter}-passkey-add-needs-code`);
    await fill(page, '#reauth-form', { password: PASSWORD, code: await freshCode(secret) });
    await page.click('#reauth-form button[type="submit"]');
    expect(await added).toEqual({ state: 'ok', text: 'Passkey “Second factor” added.' });
    await logout(page);

    // The password first; the challenge names the passkey among the methods.
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Password accepted: a second factor is due.' });
    await page.waitForSelector('#mfa-passkey', { visible: true });
    await shot(page, `${adapter}-mfa-step-passkey`);
    expect(await click(page, '#mfa-step', '#mfa-passkey-button')).toEqual({
      state: 'ok',
      text: 'Signed in with a passkey as the second factor.',
    });
    await signedInAs(page, username);
    expect(await page.$eval('#mfa-step', (element) => element.hasAttribute('hidden'))).toBe(true);
    const secure = await click(page, '#demo-routes', '#secure-button');
    expect(secure.state).toBe('ok');
    expect(JSON.parse(secure.text.replace(/^200 /, ''))).toEqual({ userId: expect.any(String), secure: true });
    await shot(page, `${adapter}-mfa-passkey-secure`);
    await logout(page);

    // Without the key in the authenticator, the passkey fails in the browser; the code still finishes the same login.
    await authenticator.cdp.send('WebAuthn.clearCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(await login(page, username)).toEqual({ state: 'ok', text: 'Password accepted: a second factor is due.' });
    expect(await click(page, '#mfa-step', '#mfa-passkey-button')).toEqual({
      state: 'error',
      text: expect.stringMatching(/^NotAllowedError: /),
    });
    await shot(page, `${adapter}-mfa-passkey-missing`);
    expect(await submit(page, '#mfa-step', '#mfa-form', { code: await freshCode(secret) })).toEqual({
      state: 'ok',
      text: 'Signed in with a second factor.',
    });
    await signedInAs(page, username);
  });

  describe('a page on another site', () => {
    let attacker: Server;
    let attackerBase: string;

    beforeAll(async () => {
      // 127.0.0.1 is another site than localhost: SameSite cookies are not sent from it.
      attacker = createServer((_request, response) => {
        const target = `${base}/auth/logout/all`;
        response.setHeader('content-type', 'text/html; charset=utf-8');
        response.end(`<!doctype html><title>another site</title>
<p id="fetch">pending</p><p id="preflight">pending</p>
<form id="form" method="POST" action="${target}"><input name="x" value="1"></form>
<script>
  const report = (id, promise) => promise.then((r) => r.type + ' ' + r.status, (e) => 'failed: ' + e.name).then((t) => { document.getElementById(id).textContent = t; });
  Promise.all([
    report('fetch', fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', mode: 'no-cors' })),
    report('preflight', fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', headers: { 'x-csrf-token': 'guessed' } })),
  ]).then(() => { if (location.search === '?submit=1') document.getElementById('form').submit(); });
</script>`);
      });
      const port = await freePort();
      await new Promise<void>((resolve) => attacker.listen(port, '127.0.0.1', resolve));
      attackerBase = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => attacker?.close(resolve));
    });

    it('cannot use the session: a credentialed fetch and a posted form to /auth/logout/all end nothing', async () => {
      const page = await visitor();
      const username = await registerAndLogin(page, 'csrf');
      const tab = await page.browserContext().newPage();
      await tab.goto(`${attackerBase}/`);
      await tab.waitForFunction(
        `document.getElementById('preflight').textContent !== 'pending' && document.getElementById('fetch').textContent !== 'pending'`,
      );
      // The no-cors POST went out without the cookies (SameSite=Strict) and came back opaque; the
      // one with a CSRF header needs a preflight the demo does not grant.
      expect(await text(tab, '#fetch')).toBe('opaque 0');
      expect(await text(tab, '#preflight')).toBe('failed: TypeError');
      await shot(tab, `${adapter}-cross-site-fetch`);

      // The form's top-level POST: the demo answers it, unauthenticated.
      const target = `${base}/auth/logout/all`;
      const formAnswer = tab.waitForResponse((response) => response.url() === target && response.request().isNavigationRequest());
      await tab.goto(`${attackerBase}/?submit=1`);
      const answered = await formAnswer;
      expect(answered.status()).toBe(401);
      expect(JSON.parse(await answered.text())).toMatchObject({ code: 'AUTH_TOKEN_MISSING' });
      await tab.waitForFunction(`location.href === ${JSON.stringify(target)} && document.readyState === 'complete'`);
      await shot(tab, `${adapter}-cross-site-form`);
      await tab.close();

      // Still signed in, with the one session.
      await open(page);
      await signedInAs(page, username);
      expect(await click(page, '#sessions', '#sessions-button')).toEqual({ state: 'ok', text: '1 live session(s).' });
      await shot(page, `${adapter}-after-cross-site`);
    });
  });
});
