import { describe, expect, it } from '@jest/globals';
import { clientIp, requestMeta } from './request-meta.js';

const req = (peer: string | undefined, forwarded?: string | string[]) => ({
  socket: peer === undefined ? {} : { remoteAddress: peer },
  headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
});

describe('clientIp', () => {
  it('uses the TCP peer and ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientIp(req('10.0.0.5', '1.2.3.4'), false)).toBe('10.0.0.5');
  });

  it('unwraps IPv4-mapped IPv6 addresses', () => {
    expect(clientIp(req('::ffff:127.0.0.1'), false)).toBe('127.0.0.1');
    expect(clientIp(req('::1'), false)).toBe('::1');
  });

  it('with n trusted proxies takes the address n hops from the right', () => {
    expect(clientIp(req('10.0.0.5', '203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5', 'spoofed-by-client, 203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5', '1.1.1.1, 203.0.113.9, 10.0.0.4'), 2)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5', ['1.1.1.1', '203.0.113.9']), 1)).toBe('203.0.113.9');
  });

  it('falls back to the farthest address when the chain is shorter than the proxies', () => {
    expect(clientIp(req('10.0.0.5', '203.0.113.9'), 5)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5'), 1)).toBe('10.0.0.5');
  });

  it('with trustProxy true takes the leftmost address', () => {
    expect(clientIp(req('10.0.0.5', '203.0.113.9, 10.0.0.4'), true)).toBe('203.0.113.9');
  });

  it('drops entries that are not IP addresses', () => {
    expect(clientIp(req('10.0.0.5', '<script>, 203.0.113.9'), true)).toBe('203.0.113.9');
    expect(clientIp(req('not-an-ip'), false)).toBeUndefined();
  });
});

describe('requestMeta', () => {
  it('truncates the user agent to 256 characters', () => {
    const meta = requestMeta({ socket: { remoteAddress: '127.0.0.1' }, headers: { 'user-agent': 'x'.repeat(400) } });
    expect(meta).toEqual({ ip: '127.0.0.1', userAgent: 'x'.repeat(256) });
  });
});
