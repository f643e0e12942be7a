// The page's calls to nest-warden over the cookie transport. The session lives in HttpOnly
// cookies the browser sends by itself: no token is ever held by this script.

// The routes that open or renew a session: with the demo's cookies mode "on-request" they answer
// cookies only when asked for, else tokens in the body.
const COOKIE_ROUTES = new Set(['/auth/login', '/auth/mfa/verify', '/auth/passkeys/login/verify', '/auth/refresh', '/auth/reauthenticate']);
// A 401 from these is the answer itself (wrong password, bad code, unknown passkey), not an expired access cookie.
const NO_REFRESH = new Set([
  '/auth/login',
  '/auth/mfa/verify',
  '/auth/passkeys/login/options',
  '/auth/passkeys/login/verify',
  '/auth/refresh',
]);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The CSRF cookie's value (`__Host-nw_csrf` when Secure, `nw_csrf` on plain HTTP), or undefined. */
export function csrfToken() {
  const cookies = new Map(
    document.cookie
      .split(';')
      .filter((pair) => pair.includes('='))
      .map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at).trim(), decodeURIComponent(pair.slice(at + 1).trim())];
      }),
  );
  return cookies.get('__Host-nw_csrf') ?? cookies.get('nw_csrf');
}

/** One request: `{ ok, status, code, body }`, `code` being the error's stable code. */
async function send(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (COOKIE_ROUTES.has(path)) headers['x-auth-transport'] = 'cookie';
  const csrf = csrfToken();
  if (!SAFE_METHODS.has(method) && csrf) headers['x-csrf-token'] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { ok: response.ok, status: response.status, ...answerOf(text) };
}

/** The body's JSON and its error code; a body that is not JSON becomes the message. */
function answerOf(text) {
  if (!text) return { code: undefined, body: null };
  try {
    const body = JSON.parse(text);
    return { code: body?.code, body };
  } catch {
    return { code: undefined, body: { message: text } };
  }
}

// Concurrent calls that all meet an expired access cookie share one refresh.
let refreshing = null;

/** `POST /auth/refresh` with the refresh cookie: new cookies, same session. */
export function refresh() {
  refreshing ??= send('POST', '/auth/refresh').finally(() => {
    refreshing = null;
  });
  return refreshing;
}

let reauthenticate = async () => false;

/**
 * Sets what runs when a route answers 403 AUTH_REAUTH_REQUIRED: a function that asks the user
 * and calls `POST /auth/reauthenticate`, answering true when the call may be retried.
 */
export function onReauthenticationRequired(handler) {
  reauthenticate = handler;
}

/**
 * A call to the API. A 401 (the access cookie expired or is gone) tries `POST /auth/refresh`
 * once, then the call again; a 403 AUTH_REAUTH_REQUIRED (or AUTH_MFA_REQUIRED when adding a
 * passkey) asks for the password (and the code), then retries.
 */
export async function api(method, path, body) {
  let result = await send(method, path, body);
  if (result.status === 401 && !NO_REFRESH.has(path) && (await refresh()).ok) {
    result = await send(method, path, body);
  }
  // Adding a passkey to an account with TOTP on needs a session that proved the code: the same
  // prompt (password and code) renews the session with it.
  const stepUp =
    result.code === 'AUTH_REAUTH_REQUIRED' || (result.code === 'AUTH_MFA_REQUIRED' && path.startsWith('/auth/passkeys/register/'));
  if (result.status === 403 && stepUp && (await reauthenticate())) {
    result = await send(method, path, body);
  }
  return result;
}

/** `POST /auth/reauthenticate` itself, without the retry rules (the caller shows its errors). */
export function reauthenticateWith(password, code) {
  return send('POST', '/auth/reauthenticate', code ? { password, code } : { password });
}
