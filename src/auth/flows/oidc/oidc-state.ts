import { DerivedKeys } from '../../tokens/derived-keys.js';
import type { KeySet } from '../../tokens/signing-keys.js';

/** What a login at a provider carries from its start to its callback, in a signed cookie. */
export interface OidcLoginState {
  provider: string;
  state: string;
  nonce: string;
  /** The PKCE code verifier (S256). */
  verifier: string;
  returnTo: string;
  /** How the session travels once open: cookies, or a one-time code for `POST /auth/oauth/exchange`. */
  transport: 'cookie' | 'bearer';
  /** Bearer mode: the S256 challenge of the client's own verifier, which `POST /auth/oauth/exchange` must show. */
  clientChallenge: string | null;
  /** The signed-in account that links this provider, or `null` for a login. */
  linkUserId: string | null;
  /** The session that began the link: it must still be live at the callback. */
  linkSessionId?: string | null;
  expiresAt: number;
}

const MAX_LENGTH = 4096;

/**
 * The state cookie of a login at a provider: `<base64url JSON>.<MAC>`, HMAC-SHA256 under a key
 * derived from the module's signing keys for this purpose only. Short-lived, HttpOnly,
 * SameSite=Lax (the callback is a top-level navigation from the provider's site), and read only
 * by the callback, which clears it.
 */
export class OidcStateCookies {
  private readonly keys: DerivedKeys;

  constructor(keySet: KeySet) {
    this.keys = new DerivedKeys(keySet, 'oidc-state');
  }

  seal(state: OidcLoginState): string {
    const payload = Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
    return `${payload}.${this.keys.mac(`oidc-state\n${payload}`)}`;
  }

  /** The state of an authentic, unexpired cookie for `provider`, else `null`. */
  open(value: unknown, provider: string, nowMs: number): OidcLoginState | null {
    if (typeof value !== 'string' || value.length > MAX_LENGTH) return null;
    const dot = value.indexOf('.');
    if (dot <= 0 || dot !== value.lastIndexOf('.')) return null;
    const payload = value.slice(0, dot);
    if (!this.keys.verify(`oidc-state\n${payload}`, value.slice(dot + 1))) return null;
    let parsed: Partial<OidcLoginState>;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<OidcLoginState>;
    } catch {
      return null;
    }
    if (parsed.provider !== provider || typeof parsed.expiresAt !== 'number' || parsed.expiresAt <= nowMs) return null;
    return parsed as OidcLoginState;
  }
}
