import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import jsonwebtoken from 'jsonwebtoken';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuthErrorCode } from '../auth.errors.js';

/** The claims of a nest-warden access token. */
export interface AccessTokenClaims {
  /** User id. */
  sub: string;
  /** Session id. */
  sid: string;
  /** Unique token id. */
  jti: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
  iss: string;
  aud: string | string[];
}

/** Outcome of {@link TokenService.verify}. */
export type TokenVerification =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; code: typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.TOKEN_EXPIRED };

/** Longest token accepted; anything longer is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
/** The only signing algorithm accepted for the shared secret. */
export const ACCESS_TOKEN_ALGORITHM: jsonwebtoken.Algorithm = 'HS256';

const MAX_ID_LENGTH = 256;
/** How many verified tokens are remembered so a token seen again skips the signature check. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * Signs and verifies access tokens: JWT HS256 with the algorithm pinned, `iss` and `aud`
 * set and required, `exp` required, future `iat`/`nbf` and any `crit` header refused.
 * The key is a `KeyObject`, which makes verification some 50x cheaper than a string secret.
 */
@Injectable()
export class TokenService {
  private readonly jwt: JwtService;
  // Exact token string -> its verified claims. A token is a signed, immutable string, so one
  // that verified once verifies again until `exp`; only expiry and the session are re-checked.
  private readonly verified = new Map<string, AccessTokenClaims>();

  constructor(@Inject(AUTH_CONFIG) private readonly config: AuthConfig) {
    this.jwt = new JwtService({
      secret: config.secretKey,
      signOptions: { algorithm: ACCESS_TOKEN_ALGORITHM, issuer: config.issuer, audience: config.audience },
      verifyOptions: {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: config.clockToleranceSeconds,
      },
    });
  }

  /** Signs an access token for a session. */
  sign(userId: string, sessionId: string, expiresInSeconds: number): string {
    const iat = Math.floor(this.config.clock() / 1000);
    return this.jwt.sign({
      sub: userId,
      sid: sessionId,
      jti: randomBytes(16).toString('base64url'),
      iat,
      exp: iat + expiresInSeconds,
    });
  }

  /** Verifies signature and claims. Never throws. */
  verify(token: unknown): TokenVerification {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, code: AuthErrorCode.TOKEN_INVALID };
    }
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (cached.exp + this.config.clockToleranceSeconds > Math.floor(this.config.clock() / 1000)) {
        return { ok: true, claims: cached };
      }
      this.verified.delete(token);
      return { ok: false, code: AuthErrorCode.TOKEN_EXPIRED };
    }
    let decoded: unknown;
    try {
      decoded = this.jwt.verify(token, { complete: true, clockTimestamp: Math.floor(this.config.clock() / 1000) });
    } catch (error) {
      return { ok: false, code: tokenErrorCode(error) };
    }
    const claims = this.checkDecoded(decoded);
    if (!claims) return { ok: false, code: AuthErrorCode.TOKEN_INVALID };
    this.remember(token, claims);
    return { ok: true, claims };
  }

  private remember(token: string, claims: AccessTokenClaims): void {
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      // Map keeps insertion order: drop the oldest entry.
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, Object.freeze(claims));
  }

  /**
   * The checks jsonwebtoken does not do, on a `{ header, payload }` it has already verified:
   * no `crit`, required claims present and well-typed, `iat` not in the future.
   * Returns the claims, or `null` when the token must be refused.
   */
  checkDecoded(decoded: unknown): AccessTokenClaims | null {
    if (!isRecord(decoded) || !isRecord(decoded.header) || !isRecord(decoded.payload)) return null;
    const { header, payload } = decoded;
    if (header.alg !== ACCESS_TOKEN_ALGORITHM || 'crit' in header) return null;
    const { sub, sid, jti, iat, exp } = payload;
    if (!isId(sub) || !isId(sid) || !isId(jti)) return null;
    if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) {
      return null;
    }
    const now = Math.floor(this.config.clock() / 1000);
    if (iat > now + this.config.clockToleranceSeconds) return null;
    return payload as unknown as AccessTokenClaims;
  }

  /** Options for passport-jwt that enforce the same rules as {@link verify}. */
  passportOptions(): {
    secretOrKey: Buffer;
    algorithms: jsonwebtoken.Algorithm[];
    issuer: string;
    audience: string;
    ignoreExpiration: false;
    jsonWebTokenOptions: { complete: true; clockTolerance: number };
  } {
    // passport-jwt overwrites algorithms, issuer and audience given inside jsonWebTokenOptions
    // with its own top-level options, so they must be set at the top level.
    return {
      // passport-jwt hands the key to jsonwebtoken unchanged, which takes a KeyObject;
      // its typings only admit string | Buffer.
      secretOrKey: this.config.secretKey as unknown as Buffer,
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      issuer: this.config.issuer,
      audience: this.config.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { complete: true, clockTolerance: this.config.clockToleranceSeconds },
    };
  }
}

/** Maps a jsonwebtoken error to the response code. */
export function tokenErrorCode(error: unknown): typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.TOKEN_EXPIRED {
  return error instanceof jsonwebtoken.TokenExpiredError ? AuthErrorCode.TOKEN_EXPIRED : AuthErrorCode.TOKEN_INVALID;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}
