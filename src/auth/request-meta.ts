import { isIP } from 'node:net';
import type { RequestMeta } from './interfaces/request-meta.interface.js';

/** The parts of a request nest-warden reads; Express and Fastify requests both fit. */
export interface HttpRequestLike {
  ip?: string;
  method?: string;
  /** Express: the path as requested, before routing strips mount points. */
  originalUrl?: string;
  url?: string;
  socket?: { remoteAddress?: string };
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Client address and user agent of a request, for throttling, sessions and audit events.
 * `trustProxy` says how far to believe `X-Forwarded-For` (see the `trustProxy` option).
 */
export function requestMeta(request: HttpRequestLike, trustProxy: boolean | number = false): RequestMeta {
  const meta: RequestMeta = {};
  const ip = clientIp(request, trustProxy);
  if (ip !== undefined) meta.ip = ip;
  const userAgent = request.headers['user-agent'];
  if (typeof userAgent === 'string' && userAgent.length > 0) meta.userAgent = userAgent.slice(0, 256);
  return meta;
}

/** The client IP: the TCP peer unless proxies are trusted, then from `X-Forwarded-For`. */
export function clientIp(request: HttpRequestLike, trustProxy: boolean | number): string | undefined {
  // The socket's peer, not request.ip: Express and Fastify derive request.ip from their own
  // proxy settings, which nest-warden does not control.
  const peer = normalize(request.socket?.remoteAddress ?? request.ip);
  if (trustProxy === false) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => normalize(part.trim()))
    .filter((part): part is string => part !== undefined);
  const chain = peer === undefined ? forwarded : [...forwarded, peer];
  if (chain.length === 0) return undefined;
  if (trustProxy === true) return chain[0];
  // The peer is the nearest proxy; each trusted proxy vouches for the address before it.
  return chain[Math.max(0, chain.length - 1 - trustProxy)];
}

function normalize(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return isIP(plain) ? plain : undefined;
}
