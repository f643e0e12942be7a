import { AuthErrorCode } from '../auth.errors.js';
import type { RouteRule } from '../decorators/public-routes.js';
import type { AccessTokenClaims } from '../tokens/token.service.js';

/** The `amr` values (RFC 8176) that are a second factor: a one-time code, a hardware or software key, or "several factors". */
export const SECOND_FACTOR_AMR: readonly string[] = Object.freeze(['otp', 'hwk', 'swk', 'mfa']);

/** Whether `amr` names a second factor. */
export function hasSecondFactor(amr: readonly string[] | undefined): boolean {
  if (amr === undefined) return false;
  // A plain loop: this runs on every request to a @RequireMfa() route.
  for (let i = 0; i < amr.length; i++) {
    const method = amr[i];
    if (method === 'otp' || method === 'hwk' || method === 'swk' || method === 'mfa') return true;
  }
  return false;
}

/**
 * Why a route's step-up rule refuses an admitted caller's token, or `null`: `AUTH_MFA_REQUIRED`
 * without a second factor under `@RequireMfa()`, `AUTH_REAUTH_REQUIRED` under
 * `@RequireRecentLogin()` when `auth_time` is absent or older than the rule's seconds (`0`: the
 * module's `recentLoginSeconds`). `nowMs` is read only under `@RequireRecentLogin()`: pass a
 * clock (`() => number`) so a route with `@RequireMfa()` alone does not read it.
 */
export function stepUpRefusal(
  rule: RouteRule,
  claims: Pick<AccessTokenClaims, 'amr' | 'auth_time'>,
  nowMs: number | (() => number),
  defaultSeconds: number,
): typeof AuthErrorCode.MFA_REQUIRED | typeof AuthErrorCode.REAUTH_REQUIRED | null {
  if (rule.requireMfa && !hasSecondFactor(claims.amr)) return AuthErrorCode.MFA_REQUIRED;
  if (rule.recentLogin !== null) {
    const seconds = rule.recentLogin || defaultSeconds;
    const now = typeof nowMs === 'function' ? nowMs() : nowMs;
    if (claims.auth_time === undefined || Math.floor(now / 1000) - claims.auth_time > seconds) return AuthErrorCode.REAUTH_REQUIRED;
  }
  return null;
}
