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

/**
 * The client IP: the TCP peer unless proxies are trusted, then from `X-Forwarded-For`.
 *
 * Every hop keeps its place in the chain whatever it holds, so the count of trusted proxies
 * never shifts onto an entry the client wrote: a peer with no address (a Unix socket behind
 * nginx) is still the nearest hop, and an entry a proxy wrote as `unknown` or garbage still
 * occupies its hop (`ip:port` and `[v6]:port` are read as the address). When the hop that
 * names the client holds no address, the answer is `undefined`, never a neighbour's address.
 * The framework's `request.ip` is never used: Express and Fastify derive it from their own
 * proxy settings, which nest-warden does not control.
 */
export function clientIp(request: HttpRequestLike, trustProxy: boolean | number): string | undefined {
  const peer = normalize(request.socket?.remoteAddress);
  if (trustProxy === false) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => normalize(withoutPort(part)));
  const chain = [...forwarded, peer];
  // Every hop trusted: the leftmost address any of them wrote.
  if (trustProxy === true) return chain.find((hop) => hop !== undefined);
  // The peer is the nearest proxy; each trusted proxy vouches for the hop before it. A chain
  // shorter than the proxies ends at an entry the farthest trusted proxy wrote.
  return chain[Math.max(0, chain.length - 1 - trustProxy)];
}

// "203.0.113.7:4711" -> "203.0.113.7"; "[2001:db8::1]:443" or "[2001:db8::1]" -> "2001:db8::1".
function withoutPort(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(entry);
  return v4 ? v4[1]! : entry;
}

function normalize(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return isIP(plain) ? plain : undefined;
}
