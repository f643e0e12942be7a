/** Longest `Authorization` header value looked at. */
const MAX_HEADER_LENGTH = 4200;

// A compact JWS: three base64url parts (the signature may be empty; the verifier refuses that).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// The scheme, compared case-insensitively (RFC 7235), and exactly one space.
const SCHEME = 'bearer ';

/** The request shape the extractor needs: Express and Fastify both fit. */
export interface RequestWithHeaders {
  headers: Record<string, string | string[] | undefined>;
  /** Express: the header lines as received. */
  rawHeaders?: string[];
  /** Fastify: the Node request underneath. */
  raw?: { rawHeaders?: string[] };
}

/**
 * The token from `Authorization: Bearer <token>`, or `null`. Strict: one header, exactly one
 * space, a compact JWS; query-string and body tokens are never looked at.
 */
export function extractBearerToken(request: RequestWithHeaders): string | null {
  const credentials = bearerCredentials(request);
  return credentials !== null && isCompactJws(credentials) ? credentials : null;
}

/**
 * What follows `Bearer ` in the one `Authorization` header, or `null`: {@link extractBearerToken}
 * without the check that it is a compact JWS, for a caller that makes that check itself
 * (`JwtStrategy` skips it for a token it has already verified, which passed it then).
 */
export function bearerCredentials(request: RequestWithHeaders): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length <= SCHEME.length || header.length > MAX_HEADER_LENGTH) return null;
  if (!startsWithScheme(header)) return null;
  // Node keeps only the first of repeated Authorization lines; a proxy may read another one.
  // Refuse ambiguity rather than guess which caller is meant.
  return hasRepeatedAuthorization(request.rawHeaders ?? request.raw?.rawHeaders) ? null : header.slice(SCHEME.length);
}

/** Whether a token has the shape of a compact JWS: three base64url parts, the last possibly empty. */
export function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token);
}

function startsWithScheme(header: string): boolean {
  // The usual spellings first: startsWith is cheaper than the loop.
  if (header.startsWith('Bearer ') || header.startsWith('bearer ')) return true;
  return startsWithIgnoringAsciiCase(header, SCHEME);
}

function hasRepeatedAuthorization(rawHeaders: string[] | undefined): boolean {
  if (!rawHeaders) return false;
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === AUTHORIZATION.length && isAuthorization(name) && ++seen > 1) return true;
  }
  return false;
}

const AUTHORIZATION = 'authorization';

// Case-insensitive comparison with "authorization" without a lowercased copy of the name.
function isAuthorization(name: string): boolean {
  return name === 'Authorization' || name === 'authorization' || startsWithIgnoringAsciiCase(name, AUTHORIZATION);
}

// Whether `value` starts with `lower` with its ASCII letters in any case; every other character must match exactly.
function startsWithIgnoringAsciiCase(value: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const expected = lower.charCodeAt(i);
    const actual = value.charCodeAt(i);
    if (actual === expected) continue;
    // Setting bit 0x20 lowercases an ASCII letter; only that letter's capital maps onto it.
    if (expected < 0x61 || expected > 0x7a || (actual | 0x20) !== expected) return false;
  }
  return true;
}
