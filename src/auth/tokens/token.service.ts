import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWK, type ProtectedHeaderParameters } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuthErrorCode } from '../auth.errors.js';
import { isCompactJws } from './bearer-token.extractor.js';
import type { AccessTokenAlgorithm, ResolvedKey } from './signing-keys.js';

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
  /**
   * How the session's user authenticated (RFC 8176): `pwd`, `otp`, `hwk`. Absent from tokens
   * signed before second factors, and from tokens of sessions a script opened.
   */
  amr?: readonly string[];
  /** The session's last full authentication (login or reauthentication), seconds since the epoch (OpenID Connect `auth_time`). */
  auth_time?: number;
}

/** How a session was authenticated, as its access tokens state it. */
export interface TokenAuthentication {
  /** RFC 8176 values. */
  amr: readonly string[];
  authTime: Date;
}

// At most this many amr values of at most this many characters each.
const MAX_AMR_VALUES = 8;
const MAX_AMR_LENGTH = 16;

/** Outcome of {@link TokenService.verify}. */
export type TokenVerification =
  { ok: true; claims: AccessTokenClaims } | { ok: false; code: typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.TOKEN_EXPIRED };

/** Longest token accepted; anything longer is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
/** The `typ` header of access tokens (RFC 9068); required on verification. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** The algorithm of the single-secret mode. */
export const ACCESS_TOKEN_ALGORITHM: AccessTokenAlgorithm = 'HS256';
/** How many verified tokens are remembered so a token seen again skips the signature check. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
// The verified-token cache is indexed by the token's last characters (part of the signature for
// every supported algorithm: 43 characters is a whole HS256 signature, 256 bits) so a lookup
// hashes 43 characters instead of the whole token; a hit still needs the whole token to be equal.
const CACHE_INDEX_LENGTH = 43;

const MAX_ID_LENGTH = 256;
// Headers that point at keys outside the configured set (RFC 8725 section 3.10): never
// followed, and a token carrying one is refused.
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

type Failure = Extract<TokenVerification, { ok: false }>;
type Success = Extract<TokenVerification, { ok: true }>;
const INVALID: Failure = Object.freeze({ ok: false, code: AuthErrorCode.TOKEN_INVALID });
const EXPIRED: Failure = Object.freeze({ ok: false, code: AuthErrorCode.TOKEN_EXPIRED });

// A verified token and the answer handed out, as is, each time it is presented again.
interface VerifiedToken {
  readonly token: string;
  readonly result: Success;
}

/**
 * Signs and verifies access tokens (RFC 8725 rules): the key is chosen only from the
 * configured set (by `kid`, or the single secret), its algorithm is pinned, `typ` must be
 * `at+jwt`, `iss`/`aud`/`exp` are required, future `iat`/`nbf` and `crit`/`jku`/`x5u`/`jwk`/`x5c`
 * headers are refused. HS256, RS256 and ES256 go through @nestjs/jwt (jsonwebtoken) with
 * `KeyObject`s; EdDSA, which jsonwebtoken lacks, through jose.
 */
@Injectable()
export class TokenService {
  private readonly jwt = new JwtService({});
  // Token (indexed by its last characters, see CACHE_INDEX_LENGTH) -> its verification. A token
  // is a signed, immutable string, so one that verified once verifies again until `exp`; only
  // expiry and the session are re-checked, and only for exactly the same string.
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(@Inject(AUTH_CONFIG) private readonly config: AuthConfig) {}

  /** Signs an access token for a session with the current signing key; `authentication` gives it `amr` and `auth_time`. */
  async sign(userId: string, sessionId: string, expiresInSeconds: number, authentication?: TokenAuthentication): Promise<string> {
    const key = this.config.keys.signing;
    const iat = Math.floor(this.config.clock() / 1000);
    const payload: Record<string, unknown> = {
      sub: userId,
      sid: sessionId,
      jti: randomBytes(16).toString('base64url'),
      iat,
      exp: iat + expiresInSeconds,
    };
    if (authentication) {
      payload.amr = [...authentication.amr];
      payload.auth_time = Math.floor(authentication.authTime.getTime() / 1000);
    }
    if (key.alg === 'EdDSA') {
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', typ: ACCESS_TOKEN_TYPE, kid: key.kid! })
        .setIssuer(this.config.issuer)
        .setAudience(this.config.audience)
        .sign(key.signKey!);
    }
    const header = { alg: key.alg, typ: ACCESS_TOKEN_TYPE, ...(key.kid ? { kid: key.kid } : {}) } as jsonwebtoken.JwtHeader;
    return this.jwt.sign(payload, {
      algorithm: key.alg,
      privateKey: key.signKey as unknown as Buffer, // jsonwebtoken takes KeyObjects; the typings do not say so
      issuer: this.config.issuer,
      audience: this.config.audience,
      header,
    });
  }

  /** Verifies signature and claims. Never throws. */
  verify(token: unknown): Promise<TokenVerification> {
    const known = this.verifyKnown(token);
    return known ? Promise.resolve(known) : this.verifyNew(token as string);
  }

  /**
   * The answer without cryptography, when there is one: a malformed input, or a token
   * verified before (then only its expiry is checked). `undefined` when the full check is needed.
   * `nowMs` (default: the configured clock) lets a caller that has read the clock reuse it.
   * Answers are shared and frozen: the same token gets the same object each time. Only tokens
   * in compact form (see `isCompactJws`) are remembered, so a token answered here has that form.
   */
  verifyKnown(token: unknown, nowMs?: number): TokenVerification | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return INVALID;
    const index = cacheIndex(token);
    const cached = this.verified.get(index);
    if (cached === undefined || cached.token !== token) return undefined;
    const nowSeconds = Math.floor((nowMs ?? this.config.clock()) / 1000);
    if (cached.result.claims.exp + this.config.clockToleranceSeconds > nowSeconds) return cached.result;
    this.verified.delete(index);
    return EXPIRED;
  }

  /** The full check of a token not seen before. */
  async verifyNew(token: string): Promise<TokenVerification> {
    const now = this.config.clock();
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return INVALID;
    }
    const key = this.keyFor(header);
    if (!key) return INVALID;
    let payload: unknown;
    try {
      payload = key.alg === 'EdDSA' ? await this.verifyEdDsa(token, key, now) : this.verifyJws(token, key, now);
    } catch (error) {
      return tokenErrorCode(error) === AuthErrorCode.TOKEN_EXPIRED ? EXPIRED : INVALID;
    }
    const claims = this.checkClaims(payload, now);
    if (!claims) return INVALID;
    return this.remember(token, claims);
  }

  /**
   * For passport-jwt, which has verified signature, algorithm, `iss`, `aud` and `exp` on a
   * `{ header, payload }`: the header and claim checks it does not do. `null` to refuse.
   */
  checkDecoded(decoded: unknown): AccessTokenClaims | null {
    if (!isRecord(decoded) || !isRecord(decoded.header)) return null;
    if (!this.keyFor(decoded.header as ProtectedHeaderParameters)) return null;
    return this.checkClaims(decoded.payload, this.config.clock());
  }

  /** Options for passport-jwt that enforce the same rules (HS256, RS256 and ES256 keys). */
  passportOptions(): {
    secretOrKeyProvider: (request: unknown, rawJwt: string, done: (error: unknown, key?: string | Buffer) => void) => void;
    algorithms: Exclude<AccessTokenAlgorithm, 'EdDSA'>[];
    issuer: string;
    audience: string;
    ignoreExpiration: false;
    jsonWebTokenOptions: { complete: true; clockTolerance: number };
  } {
    const keys = [...this.config.keys.byKid.values(), ...(this.config.keys.withoutKid ? [this.config.keys.withoutKid] : [])];
    // passport-jwt overwrites algorithms, issuer and audience given inside jsonWebTokenOptions
    // with its own top-level options, so they must be set at the top level.
    return {
      secretOrKeyProvider: (_request, rawJwt, done) => {
        let key: ResolvedKey | null;
        try {
          key = this.keyFor(decodeProtectedHeader(rawJwt));
        } catch {
          key = null;
        }
        if (!key || key.alg === 'EdDSA') done(new Error('no usable key'));
        // jsonwebtoken takes KeyObjects; passport-jwt's typings only admit string | Buffer.
        else done(null, key.verifyKey as unknown as Buffer);
      },
      algorithms: [...new Set(keys.map((key) => key.alg).filter((alg) => alg !== 'EdDSA'))] as Exclude<AccessTokenAlgorithm, 'EdDSA'>[],
      issuer: this.config.issuer,
      audience: this.config.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { complete: true, clockTolerance: this.config.clockToleranceSeconds },
    };
  }

  /** The public keys, as `/.well-known/jwks.json` serves them. Empty in single-secret mode. */
  jwks(): { keys: JWK[] } {
    return { keys: this.config.keys.jwks };
  }

  // The key a token names, from the configured set only; null when the header is unacceptable.
  private keyFor(header: ProtectedHeaderParameters): ResolvedKey | null {
    if (!isRecord(header)) return null;
    for (const name of FORBIDDEN_HEADERS) if (name in header) return null;
    if (typeof header.typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(header.typ)) return null;
    const key =
      header.kid === undefined
        ? this.config.keys.withoutKid
        : typeof header.kid === 'string'
          ? this.config.keys.byKid.get(header.kid)
          : undefined;
    return key && header.alg === key.alg ? key : null;
  }

  private verifyJws(token: string, key: ResolvedKey, now: number): unknown {
    return this.jwt.verify(token, {
      publicKey: key.verifyKey as unknown as Buffer,
      algorithms: [key.alg as jsonwebtoken.Algorithm],
      issuer: this.config.issuer,
      audience: this.config.audience,
      clockTolerance: this.config.clockToleranceSeconds,
      clockTimestamp: Math.floor(now / 1000),
    });
  }

  private async verifyEdDsa(token: string, key: ResolvedKey, now: number): Promise<unknown> {
    const { payload } = await jwtVerify(token, key.verifyKey, {
      algorithms: ['EdDSA'],
      issuer: this.config.issuer,
      audience: this.config.audience,
      clockTolerance: this.config.clockToleranceSeconds,
      currentDate: new Date(now),
      requiredClaims: ['exp'],
    });
    return payload;
  }

  // Claims every access token must have, well-typed; iat not in the future.
  private checkClaims(payload: unknown, now: number): AccessTokenClaims | null {
    if (!isRecord(payload)) return null;
    const { sub, sid, jti, iat, exp } = payload;
    if (!isId(sub) || !isId(sid) || !isId(jti)) return null;
    if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) return null;
    if (iat > Math.floor(now / 1000) + this.config.clockToleranceSeconds) return null;
    const { amr, auth_time: authTime } = payload;
    if (amr !== undefined && !isAmr(amr)) return null;
    if (authTime !== undefined && (typeof authTime !== 'number' || !Number.isFinite(authTime))) return null;
    return payload as unknown as AccessTokenClaims;
  }

  private remember(token: string, claims: AccessTokenClaims): Success {
    const result: Success = Object.freeze({ ok: true, claims: Object.freeze(claims) });
    // A token that verified in another spelling (say, base64 padding the decoder tolerated) is
    // checked in full every time: what verifyKnown answers must have passed isCompactJws.
    if (!isCompactJws(token)) return result;
    const index = cacheIndex(token);
    // Map keeps insertion order: drop the oldest entry. (Re-setting an existing index, which
    // only another token with the same signature tail could do, does not grow the map.)
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE && !this.verified.has(index)) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(index, { token, result });
    return result;
  }
}

/** Maps a verification error to the response code. */
export function tokenErrorCode(error: unknown): typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.TOKEN_EXPIRED {
  return error instanceof jsonwebtoken.TokenExpiredError || error instanceof joseErrors.JWTExpired
    ? AuthErrorCode.TOKEN_EXPIRED
    : AuthErrorCode.TOKEN_INVALID;
}

function cacheIndex(token: string): string {
  return token.length <= CACHE_INDEX_LENGTH ? token : token.slice(token.length - CACHE_INDEX_LENGTH);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAmr(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_AMR_VALUES &&
    value.every((entry) => typeof entry === 'string' && entry.length > 0 && entry.length <= MAX_AMR_LENGTH)
  );
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}
