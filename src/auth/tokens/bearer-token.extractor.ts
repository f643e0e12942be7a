/** Longest `Authorization` header value looked at. */
const MAX_HEADER_LENGTH = 4200;

// Exactly "Bearer <jws-compact>": one space, scheme case-insensitive (RFC 7235), base64url parts.
const BEARER = /^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/i;
const SCHEME_LENGTH = 'Bearer '.length;

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
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return null;
  // test() and a slice rather than exec(): no match array on every request.
  if (!BEARER.test(header)) return null;
  // Node keeps only the first of repeated Authorization lines; a proxy may read another one.
  // Refuse ambiguity rather than guess which caller is meant.
  return hasRepeatedAuthorization(request.rawHeaders ?? request.raw?.rawHeaders) ? null : header.slice(SCHEME_LENGTH);
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
  for (let i = 0; i < AUTHORIZATION.length; i++) {
    // Setting bit 0x20 lowercases ASCII letters; no other character maps onto a lowercase letter.
    if ((name.charCodeAt(i) | 0x20) !== AUTHORIZATION.charCodeAt(i)) return false;
  }
  return true;
}
