// The demo page: every flow of the demo's API, through ./api.js (cookies and CSRF). Everything
// shown is set with textContent or as an attribute, never as HTML.
import { api, onReauthenticationRequired, reauthenticateWith } from './api.js';

// Browser globals beyond the ones the ESLint config lists for the page: WebAuthn's, and URL.
/* global navigator, PublicKeyCredential, URL */

const $ = (selector, root = document) => root.querySelector(selector);

// GET /auth/me's answer while signed in, else null.
let me = null;
// Between the two steps of a login to an account with TOTP: the challenge's token, in this
// closure only (never the DOM or storage), used once.
let mfaToken = null;
// With it, when the challenge offers "passkey": the request options bound to that token (their
// challenge is single use too).
let mfaPasskey = null;
// The token of a reset link this page was opened with, taken off the address bar.
let resetToken = null;
// GET /auth/oauth/providers' answer: `[{ id, name }]`, empty while the OpenID Connect flow is off.
let providers = [];
// Whether this browser has WebAuthn's JSON helpers, which the passkey ceremonies use.
const passkeysSupported =
  typeof PublicKeyCredential === 'function' &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
  typeof PublicKeyCredential.prototype.toJSON === 'function';

/** Writes a result into a section's status line: `CODE: message` for an error, `text` for a success. */
function report(section, result, text) {
  const line = $('.status', section);
  line.dataset.state = result.ok ? 'ok' : 'error';
  line.textContent = result.ok ? text : describeError(result);
  if (!result.ok && result.status === 401 && me) signOut(`${describeError(result)}. Log in again.`);
}

function describeError(result) {
  const message = result.body?.message ?? '';
  return `${result.code ?? `HTTP ${result.status}`}: ${Array.isArray(message) ? message.join(', ') : message}`;
}

function busy(section) {
  const line = $('.status', section);
  line.dataset.state = 'busy';
  line.textContent = '…';
}

function notice(text) {
  $('#notice').textContent = text;
}

/** Runs `handler(fields)` on submit, the form's section marked busy meanwhile. */
function onSubmit(formSelector, handler) {
  const form = $(formSelector);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const section = form.closest('section');
    busy(section);
    handler(Object.fromEntries(new FormData(form)), form, section).catch((error) => {
      report(section, { ok: false, status: 0, body: { message: String(error) } });
    });
  });
}

function onClick(buttonSelector, handler) {
  const button = $(buttonSelector);
  button.addEventListener('click', () => {
    const section = button.closest('section');
    busy(section);
    handler(section).catch((error) => report(section, { ok: false, status: 0, body: { message: String(error) } }));
  });
}

// --- Signed in or out ---------------------------------------------------------------------

function render() {
  $('#signed-in').hidden = !me;
  $('#signed-out').hidden = Boolean(me);
  if (!me) return;
  const field = (name) => $(`#me [data-field="${name}"]`);
  field('username').textContent = me.username;
  field('userId').textContent = me.userId;
  field('email').textContent = me.email ? `${me.email} (${me.emailVerified ? 'verified' : 'not verified'})` : 'none';
  const totpOn = Boolean(me.mfa?.totp);
  field('totp').textContent = totpOn ? `on, ${me.mfa.recoveryCodesLeft} recovery codes left` : 'off';
  $('#verify-email-button').hidden = !me.email || me.emailVerified;
  $('#totp-on').hidden = !totpOn;
  $('#totp-off').hidden = totpOn;
  renderIdentities();
}

/** Reads GET /auth/me (refreshing once if the access cookie is gone) and shows what it says. */
async function loadMe() {
  const result = await api('GET', '/auth/me');
  me = result.ok ? result.body : null;
  render();
  if (me) {
    await loadSessions();
    await loadPasskeys();
  }
  return result;
}

function signOut(text) {
  me = null;
  $('#recovery-codes').hidden = true;
  $('#totp-setup').hidden = true;
  render();
  notice(text);
}

// --- Register, log in, the second step ----------------------------------------------------

onSubmit('#register-form', async ({ username, password, email }, form, section) => {
  const body = email ? { username, password, email } : { username, password };
  const result = await api('POST', '/auth/register', body);
  report(section, result, `Registered as ${result.body?.username}.${email ? ' A verification link is on its way.' : ''} Log in now.`);
  if (!result.ok) return;
  form.reset();
  $('#login-form [name="identifier"]').value = username;
});

onSubmit('#login-form', async ({ identifier, password }, form, section) => {
  const name = identifier.trim();
  // loginIdentifier "either": an address, or a username (which may not look like one).
  const result = await api('POST', '/auth/login', name.includes('@') ? { email: name, password } : { username: name, password });
  if (result.ok && result.body?.mfaRequired) {
    mfaToken = result.body.mfaToken;
    mfaPasskey = result.body.methods?.includes('passkey') ? result.body.passkey : null;
    form.reset();
    report(section, result, 'Password accepted: a second factor is due.');
    $('#mfa-passkey').hidden = !mfaPasskey || !passkeysSupported;
    $('#mfa-step').hidden = false;
    $('#mfa-form [name="code"]').focus();
    return;
  }
  report(section, result, 'Signed in.');
  if (!result.ok) return;
  form.reset();
  notice('Signed in.');
  await loadMe();
});

onSubmit('#mfa-form', async ({ code }, form, section) => {
  await finishMfa(section, { mfaToken, code: code.trim() }, 'Signed in with a second factor.');
});

/** `POST /auth/mfa/verify` with a code or a passkey's assertion: the second step's end. */
async function finishMfa(section, body, text) {
  const result = await api('POST', '/auth/mfa/verify', body);
  report(section, result, text);
  if (result.ok || result.code === 'AUTH_MFA_TOKEN_INVALID') {
    // Used, or expired: either way, a new login starts over.
    endMfaStep();
  } else if (body.passkey) {
    // The passkey's challenge is spent, whatever the answer: a code still works, or a new login.
    mfaPasskey = null;
    $('#mfa-passkey').hidden = true;
  }
  if (!result.ok) {
    if (result.code === 'AUTH_MFA_TOKEN_INVALID') report($('#login'), result);
    return;
  }
  notice(text);
  await loadMe();
}

function endMfaStep() {
  mfaToken = null;
  mfaPasskey = null;
  $('#mfa-form').reset();
  $('#mfa-passkey').hidden = true;
  $('#mfa-step').hidden = true;
}

// --- Forgot password, the reset link, the verification link -------------------------------

onSubmit('#forgot-form', async ({ identifier }, form, section) => {
  const name = identifier.trim();
  const result = await api('POST', '/auth/password/forgot', name.includes('@') ? { email: name } : { username: name });
  report(
    section,
    result,
    'If that account has an address, a reset link is on its way. In development the link is written to the server’s log.',
  );
  if (result.ok) form.reset();
});

onSubmit('#reset-form', async ({ newPassword }, form, section) => {
  const result = await api('POST', '/auth/password/reset', { token: resetToken, newPassword });
  report(section, result, 'Your password is set, and every session of the account has ended. Log in with the new password.');
  if (!result.ok) return;
  resetToken = null;
  form.hidden = true;
});

/** Reads a mail link's token from the fragment (`/reset-password#token=...`), and clears it from the address bar. */
async function openLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const page = location.pathname;
  if (!token || (page !== '/reset-password' && page !== '/verify-email')) return;
  history.replaceState(null, '', '/');
  if (page === '/reset-password') {
    resetToken = token;
    $('#reset').hidden = false;
    return;
  }
  const result = await api('POST', '/auth/email/verify', { token });
  notice(result.ok ? 'Your address is verified.' : `The link did not verify: ${describeError(result)}`);
}

// --- Who am I, log out --------------------------------------------------------------------

onClick('#verify-email-button', async (section) => {
  const result = await api('POST', '/auth/email/verification');
  report(section, result, 'A new verification link is on its way. In development the link is written to the server’s log.');
});

onClick('#logout-button', async (section) => {
  const result = await api('POST', '/auth/logout');
  report(section, result, 'Logged out.');
  if (result.ok) signOut('Logged out.');
});

onClick('#logout-all-button', async (section) => {
  const result = await api('POST', '/auth/logout/all');
  report(section, result, 'Logged out everywhere.');
  if (result.ok) signOut('Logged out everywhere: every session of the account has ended.');
});

// --- TOTP ---------------------------------------------------------------------------------

onClick('#totp-setup-button', async (section) => {
  const result = await api('POST', '/auth/mfa/totp/setup');
  report(section, result, 'Scan the code, then type the first code your app shows.');
  if (!result.ok) return;
  // Server-made SVG, shown as an image: an <img> runs no script and loads nothing.
  $('#totp-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(result.body.qrCodeSvg)}`;
  $('#totp-secret').textContent = result.body.secret;
  $('#recovery-codes').hidden = true;
  $('#totp-setup').hidden = false;
});

onSubmit('#totp-confirm-form', async ({ code }, form, section) => {
  const result = await api('POST', '/auth/mfa/totp/confirm', { code: code.trim() });
  report(section, result, 'TOTP is on. The next logins ask for a code.');
  if (!result.ok) return;
  form.reset();
  $('#totp-setup').hidden = true;
  $('#totp-secret').textContent = '';
  $('#totp-qr').removeAttribute('src');
  const list = $('#recovery-codes ol');
  list.replaceChildren(
    ...result.body.recoveryCodes.map((recoveryCode) => {
      const item = document.createElement('li');
      item.textContent = recoveryCode;
      return item;
    }),
  );
  $('#recovery-codes').hidden = false;
  await loadMe();
});

onSubmit('#totp-disable-form', async ({ code }, form, section) => {
  const result = await api('DELETE', '/auth/mfa/totp', { code: code.trim() });
  report(section, result, 'TOTP is off, and the recovery codes are void.');
  if (!result.ok) return;
  form.reset();
  $('#recovery-codes').hidden = true;
  await loadMe();
});

// --- Reauthentication (403 AUTH_REAUTH_REQUIRED) ------------------------------------------

onReauthenticationRequired(
  () =>
    new Promise((resolve) => {
      const section = $('#reauth');
      const form = $('#reauth-form');
      const finish = (retry) => {
        form.onsubmit = null;
        $('#reauth-cancel').onclick = null;
        form.reset();
        section.hidden = true;
        resolve(retry);
      };
      $('#reauth-code').hidden = !me?.mfa?.totp;
      $('.status', section).textContent = '';
      section.hidden = false;
      $('[name="password"]', form).focus();
      form.onsubmit = async (event) => {
        event.preventDefault();
        busy(section);
        const { password, code } = Object.fromEntries(new FormData(form));
        const result = await reauthenticateWith(password, code.trim());
        report(section, result, 'Confirmed.');
        if (result.ok) finish(true);
      };
      $('#reauth-cancel').onclick = () => finish(false);
    }),
);

// --- Demo routes --------------------------------------------------------------------------

function showRoute(section, result) {
  report(section, result, `${result.status} ${JSON.stringify(result.body)}`);
}

onClick('#secure-button', async (section) => showRoute(section, await api('GET', '/profile/secure')));
onClick('#danger-button', async (section) => showRoute(section, await api('POST', '/profile/danger')));

// --- Sessions -----------------------------------------------------------------------------

async function loadSessions() {
  const section = $('#sessions');
  const result = await api('GET', '/auth/sessions');
  if (!result.ok) return report(section, result);
  $('tbody', section).replaceChildren(...result.body.map(sessionRow));
  report(section, result, `${result.body.length} live session(s).`);
}

function sessionRow(session) {
  const row = document.createElement('tr');
  row.dataset.current = String(session.current);
  for (const text of [
    new Date(session.createdAt).toLocaleString(),
    new Date(session.lastSeenAt).toLocaleString(),
    session.userAgent ?? '',
    session.ip ?? '',
  ]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = session.current ? 'Revoke (this browser)' : 'Revoke';
  button.addEventListener('click', () => {
    const section = $('#sessions');
    busy(section);
    void revoke(section, session).catch((error) => report(section, { ok: false, status: 0, body: { message: String(error) } }));
  });
  const cell = document.createElement('td');
  cell.append(button);
  row.append(cell);
  return row;
}

async function revoke(section, session) {
  const result = await api('DELETE', `/auth/sessions/${encodeURIComponent(session.id)}`);
  report(section, result, 'Session revoked.');
  if (!result.ok) return;
  if (session.current) signOut('This session was revoked.');
  else await loadSessions();
}

onClick('#sessions-button', async () => loadSessions());

// --- Passkeys -----------------------------------------------------------------------------
// The ceremonies go through the browser's own WebAuthn JSON helpers: the server's options JSON
// becomes navigator.credentials' arguments (parse*OptionsFromJSON), and the credential goes back
// as credential.toJSON(). Without them the page shows no passkey controls.

for (const element of document.querySelectorAll('[data-passkeys]')) element.hidden = !passkeysSupported;
$('#passkeys-unsupported').hidden = passkeysSupported;

/**
 * What the browser's WebAuthn call threw, as a result with its name for the code:
 * `NotAllowedError` (cancelled, timed out, or no passkey for this site), `InvalidStateError`
 * (this authenticator already holds one of the account's passkeys), and so on.
 */
function browserFailure(error) {
  return { ok: false, status: 0, code: error?.name || 'Error', body: { message: error?.message ?? String(error) } };
}

/** `navigator.credentials.create()` over creation options JSON: the credential's JSON, or the failure. */
async function createPasskey(optionsJson) {
  try {
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(optionsJson) });
    return { ok: true, json: credential.toJSON() };
  } catch (error) {
    return browserFailure(error);
  }
}

/** `navigator.credentials.get()` over request options JSON: the assertion's JSON, or the failure. */
async function usePasskey(optionsJson) {
  try {
    const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(optionsJson) });
    return { ok: true, json: credential.toJSON() };
  } catch (error) {
    return browserFailure(error);
  }
}

onClick('#passkey-login-button', async (section) => {
  const options = await api('POST', '/auth/passkeys/login/options');
  if (!options.ok) return report(section, options);
  const assertion = await usePasskey(options.body);
  if (!assertion.ok) return report(section, assertion);
  const result = await api('POST', '/auth/passkeys/login/verify', { response: assertion.json });
  report(section, result, 'Signed in with a passkey.');
  if (!result.ok) return;
  $('#login-form').reset();
  endMfaStep();
  notice('Signed in with a passkey.');
  await loadMe();
});

onClick('#mfa-passkey-button', async (section) => {
  const assertion = await usePasskey(mfaPasskey);
  if (!assertion.ok) return report(section, assertion);
  await finishMfa(section, { mfaToken, passkey: assertion.json }, 'Signed in with a passkey as the second factor.');
});

onSubmit('#passkey-add-form', async ({ name }, form, section) => {
  // A recent login is due: a 403 AUTH_REAUTH_REQUIRED asks for the password, then retries.
  const options = await api('POST', '/auth/passkeys/register/options');
  if (!options.ok) return report(section, options);
  const created = await createPasskey(options.body);
  if (!created.ok) return report(section, created);
  const named = name.trim();
  const result = await api(
    'POST',
    '/auth/passkeys/register/verify',
    named ? { response: created.json, name: named } : { response: created.json },
  );
  if (!result.ok) return report(section, result);
  form.reset();
  await loadPasskeys(`Passkey “${result.body.name}” added.`);
});

/** Reads GET /auth/passkeys into the table, then writes `text` (default: how many) in the status line. */
async function loadPasskeys(text) {
  const section = $('#passkeys');
  const result = await api('GET', '/auth/passkeys');
  if (!result.ok) return report(section, result);
  const rows = result.body.map(passkeyRow);
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const cell = document.createElement('td');
    cell.colSpan = 5;
    cell.textContent = 'No passkeys yet.';
    row.append(cell);
    rows.push(row);
  }
  $('tbody', section).replaceChildren(...rows);
  report(section, result, text ?? `${result.body.length} passkey(s).`);
}

function passkeyRow(passkey) {
  const row = document.createElement('tr');
  row.dataset.id = passkey.id;

  // The name, editable in place: a form of its own per passkey.
  const rename = document.createElement('form');
  rename.className = 'passkey-rename';
  const input = document.createElement('input');
  input.name = 'name';
  input.value = passkey.name;
  input.required = true;
  input.maxLength = 64;
  input.autocomplete = 'off';
  input.setAttribute('aria-label', 'Name');
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Rename';
  rename.append(input, save);
  rename.addEventListener('submit', (event) => {
    event.preventDefault();
    const section = $('#passkeys');
    busy(section);
    void renamePasskey(section, passkey, input.value).catch((error) =>
      report(section, { ok: false, status: 0, body: { message: String(error) } }),
    );
  });
  const nameCell = document.createElement('td');
  nameCell.append(rename);
  row.append(nameCell);

  for (const text of [
    new Date(passkey.createdAt).toLocaleString(),
    passkey.lastUsedAt ? new Date(passkey.lastUsedAt).toLocaleString() : 'never',
    passkey.deviceType === 'multiDevice' ? `synced${passkey.backedUp ? ', backed up' : ''}` : 'this device only',
  ]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }

  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'passkey-remove';
  remove.textContent = 'Remove';
  remove.addEventListener('click', () => {
    const section = $('#passkeys');
    busy(section);
    void removePasskey(section, passkey).catch((error) => report(section, { ok: false, status: 0, body: { message: String(error) } }));
  });
  const cell = document.createElement('td');
  cell.append(remove);
  row.append(cell);
  return row;
}

async function renamePasskey(section, passkey, name) {
  const result = await api('PATCH', `/auth/passkeys/${encodeURIComponent(passkey.id)}`, { name });
  if (!result.ok) return report(section, result);
  await loadPasskeys(`Renamed to “${result.body.name}”.`);
}

async function removePasskey(section, passkey) {
  const result = await api('DELETE', `/auth/passkeys/${encodeURIComponent(passkey.id)}`);
  if (!result.ok) return report(section, result);
  // The authenticator may still hold it: a login with it now fails (AUTH_PASSKEY_LOGIN_FAILED).
  await loadPasskeys(`Passkey “${passkey.name}” removed. Your authenticator may still list it: delete it there too.`);
}

// --- Sign-in with OpenID Providers --------------------------------------------------------
// The buttons navigate the whole page: to GET /auth/oauth/<id> (the provider, then its callback,
// which sets the session cookies and comes back here), or, to link, to the authorization URL that
// POST /auth/oauth/<id>/link answers. Failures come back as /?error=<code>.

/** What an OpenID Connect error code means to the person at the page. */
const OIDC_ERRORS = {
  AUTH_OIDC_CALLBACK_FAILED: 'The sign-in at the provider did not finish: consent was denied, or its answer did not verify.',
  AUTH_OIDC_STATE_INVALID: 'The sign-in took too long, or began in another browser: try again.',
  AUTH_OIDC_ACCOUNT_EXISTS: 'An account here already has this address: log in to it with its password, then link the provider from there.',
  AUTH_OIDC_IDENTITY_TAKEN: 'That account at the provider is already linked to another account here.',
  AUTH_OIDC_PROVIDER_UNAVAILABLE: 'The provider cannot be reached right now: try again in a moment.',
  AUTH_OIDC_PROVIDER_UNKNOWN: 'This app does not know that provider.',
  AUTH_OIDC_RETURN_TO_INVALID: 'The page is not at an address the sign-in may come back to (open it at AUTH_PUBLIC_URL).',
  AUTH_OIDC_LAST_LOGIN_METHOD:
    'This is the account’s last linked provider, and the account has no verified address: verify one first, so a password reset stays possible.',
  AUTH_OIDC_IDENTITY_NOT_FOUND: 'That link is gone already.',
  AUTH_MFA_REQUIRED: 'This account has TOTP on: a provider’s sign-in is one factor. Log in with the password and a code, or a passkey.',
  AUTH_REAUTH_REQUIRED: 'This needs a login of the last fifteen minutes: confirm with your password, then try again.',
};

/** The result with its message in words when its code is one of the flow's. */
function oidcResult(result) {
  const readable = result.code && Object.hasOwn(OIDC_ERRORS, result.code) ? OIDC_ERRORS[result.code] : undefined;
  return readable ? { ...result, body: { ...result.body, message: readable } } : result;
}

function providerName(id) {
  return providers.find((provider) => provider.id === id)?.name ?? id;
}

/** This page's address, where a sign-in comes back to, with what happened in the query (read by readReturn). */
function returnUrl(what, id) {
  const url = new URL('/', location.href);
  url.searchParams.set(what, id);
  return url.href;
}

/** A button that runs `handler` with its section marked busy. */
function actionButton(label, className, handler) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = className;
  button.textContent = label;
  button.addEventListener('click', () => {
    const section = button.closest('section');
    busy(section);
    handler(section).catch((error) => report(section, { ok: false, status: 0, body: { message: String(error) } }));
  });
  return button;
}

/** GET /auth/oauth/providers: a "Sign in with" button each; a 404 (the flow is off) shows nothing. */
async function loadProviders() {
  const result = await api('GET', '/auth/oauth/providers');
  providers = result.ok && Array.isArray(result.body) ? result.body : [];
  $('#oidc-login-buttons').replaceChildren(
    ...providers.map((provider) =>
      actionButton(`Sign in with ${provider.name}`, 'oidc-login', async () => {
        const query = new URLSearchParams({ transport: 'cookie', returnTo: returnUrl('signed-in-with', provider.id) });
        location.assign(`/auth/oauth/${encodeURIComponent(provider.id)}?${query}`);
      }),
    ),
  );
  $('#oidc-login').hidden = providers.length === 0;
}

function renderIdentities() {
  const section = $('#identities');
  const identities = me && Array.isArray(me.identities) ? me.identities : null;
  section.hidden = !identities || providers.length === 0;
  if (section.hidden) return;
  $('#oidc-link-buttons').replaceChildren(
    ...providers.map((provider) => actionButton(`Link ${provider.name}`, 'oidc-link', (section) => linkProvider(section, provider))),
  );
  const rows = identities.map(identityRow);
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const cell = document.createElement('td');
    cell.colSpan = 5;
    cell.textContent = 'No linked accounts yet.';
    row.append(cell);
    rows.push(row);
  }
  $('tbody', section).replaceChildren(...rows);
}

function identityRow(identity) {
  const row = document.createElement('tr');
  row.dataset.id = identity.id;
  row.dataset.provider = identity.provider;
  for (const text of [
    providerName(identity.provider),
    identity.email ?? 'none',
    new Date(identity.createdAt).toLocaleString(),
    identity.lastUsedAt ? new Date(identity.lastUsedAt).toLocaleString() : 'never',
  ]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  const cell = document.createElement('td');
  cell.append(actionButton('Unlink', 'identity-unlink', (section) => unlinkIdentity(section, identity)));
  row.append(cell);
  return row;
}

/** POST /auth/oauth/<id>/link (a recent login: the page asks for the password when due), then off to the provider. */
async function linkProvider(section, provider) {
  const query = new URLSearchParams({ returnTo: returnUrl('linked', provider.id) });
  const result = await api('POST', `/auth/oauth/${encodeURIComponent(provider.id)}/link?${query}`);
  if (!result.ok) return report(section, oidcResult(result));
  const target = new URL(result.body.authorizationUrl);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return report(section, { ok: false, status: 0, body: { message: 'the authorization URL is not http(s)' } });
  }
  report(section, result, `Off to ${provider.name}…`);
  location.assign(target.href);
}

/** DELETE /auth/oauth/identities/<id> (a recent login: the page asks for the password when due). */
async function unlinkIdentity(section, identity) {
  const result = await api('DELETE', `/auth/oauth/identities/${encodeURIComponent(identity.id)}`);
  if (!result.ok) return report(section, oidcResult(result));
  await loadMe();
  report(section, result, `Unlinked ${providerName(identity.provider)}${identity.email ? ` (${identity.email})` : ''}.`);
}

/**
 * What the query of a return from the provider says (`?error=<code>`, `?signed-in-with=<id>`,
 * `?linked=<id>`), taken off the address bar; shown once the page knows who is signed in.
 */
function readReturn() {
  const query = new URLSearchParams(location.search);
  if (![...query.keys()].some((key) => ['error', 'signed-in-with', 'linked'].includes(key))) return null;
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
  const error = query.get('error');
  if (error !== null) return { error: /^[A-Z0-9_]{1,64}$/.test(error) ? error : 'AUTH_UNKNOWN_ERROR' };
  return { signedInWith: query.get('signed-in-with'), linked: query.get('linked') };
}

function showReturn(back) {
  if (!back) return;
  if (back.error) {
    // Beside the buttons that began it: the login's, or the linking's.
    report(
      me ? $('#identities') : $('#login'),
      oidcResult({ ok: false, status: 0, code: back.error, body: { message: 'the sign-in did not finish.' } }),
    );
  } else if (back.linked && me?.identities?.some((identity) => identity.provider === back.linked)) {
    notice(`Linked ${providerName(back.linked)} to this account.`);
    report($('#identities'), { ok: true }, `Linked ${providerName(back.linked)}.`);
  } else if (back.signedInWith && me) {
    notice(`Signed in with ${providerName(back.signedInWith)}.`);
  }
}

// --- Start --------------------------------------------------------------------------------

const back = readReturn();
await openLink();
await loadProviders();
await loadMe();
showReturn(back);
document.body.dataset.ready = 'true';
