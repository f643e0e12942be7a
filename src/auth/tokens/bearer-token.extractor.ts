/** Longest `Authorization` header value looked at. */
const MAX_HEADER_LENGTH = 4200;

// Exactly "Bearer <jws-compact>": one space, scheme case-insensitive (RFC 7235), base64url parts.
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/** The request shape the extractor needs: Express and Fastify both fit. */
export interface RequestWithHeaders {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The token from `Authorization: Bearer <token>`, or `null`. Strict: one header, exactly one
 * space, a compact JWS; query-string and body tokens are never looked at.
 */
export function extractBearerToken(request: RequestWithHeaders): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return null;
  const match = BEARER.exec(header);
  return match ? match[1]! : null;
}
