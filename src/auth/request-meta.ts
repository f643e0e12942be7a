import type { RequestMeta } from './interfaces/request-meta.interface.js';

/** The parts of a request nest-warden reads; Express and Fastify requests both fit. */
export interface HttpRequestLike {
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Client address and user agent of a request, for sessions and audit events. */
export function requestMeta(request: HttpRequestLike): RequestMeta {
  const meta: RequestMeta = {};
  if (typeof request.ip === 'string') meta.ip = request.ip;
  const userAgent = request.headers['user-agent'];
  if (typeof userAgent === 'string' && userAgent.length > 0) meta.userAgent = userAgent.slice(0, 256);
  return meta;
}
