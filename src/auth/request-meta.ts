import { isIPv4, isIPv6 } from 'node:net';
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

/** Longest user agent kept, in sessions and audit events. */
export const USER_AGENT_MAX_LENGTH = 256;

/** `userAgent` cut to {@link USER_AGENT_MAX_LENGTH}: meta may come from a caller, not only from {@link requestMeta}. */
export function boundedUserAgent(userAgent: string): string {
  return userAgent.length > USER_AGENT_MAX_LENGTH ? userAgent.slice(0, USER_AGENT_MAX_LENGTH) : userAgent;
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
  if (typeof userAgent === 'string' && userAgent.length > 0) meta.userAgent = boundedUserAgent(userAgent);
  return meta;
}

/**
 * The client IP: the TCP peer unless proxies are trusted, then from `X-Forwarded-For`.
 *
 * Every hop keeps its place in the chain whatever it holds, so the count of trusted proxies
 * never shifts onto an entry the client wrote: a peer with no address (a Unix socket behind
 * nginx) is still the nearest hop, and an entry a proxy wrote as `unknown`, garbage or nothing
 * still occupies its hop (`ip:port` and `[v6]:port` are read as the address). When the hop
 * that names the client holds no address, the answer is `undefined`, never a neighbour's.
 * Addresses come out in one spelling: IPv6 canonical and without a zone id, IPv4-mapped IPv6
 * as IPv4.
 * The framework's `request.ip` is never used: Express and Fastify derive it from their own
 * proxy settings, which nest-warden does not control.
 */
export function clientIp(request: HttpRequestLike, trustProxy: boolean | number): string | undefined {
  const peer = normalize(request.socket?.remoteAddress);
  if (trustProxy === false) return peer;
  const header = request.headers['x-forwarded-for'];
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  // An empty entry ("a,,b") is a hop too: dropping it would shift the count one entry left.
  const forwarded = joined.trim() === '' ? [] : joined.split(',').map((part) => normalize(withoutPort(part.trim())));
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

// One spelling per address, so throttle counters, sessions and audit events agree: IPv6 in its
// canonical form (lower case, zeros compressed) without a zone id, and an IPv4-mapped address
// (`::ffff:192.0.2.1`, `::ffff:c000:201`, `0:0:0:0:0:ffff:192.0.2.1`) as its IPv4 address.
function normalize(address: string | undefined): string | undefined {
  if (!address) return undefined;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return undefined;
  // The zone ("fe80::1%eth0") names the server's interface, not the client.
  const zone = address.indexOf('%');
  const unscoped = zone === -1 ? address : address.slice(0, zone);
  let canonical: string;
  try {
    // WHATWG URL serialises IPv6 canonically and writes an IPv4 tail as two hex groups.
    canonical = new URL(`http://[${unscoped}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}
