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

  it('with trustProxy true skips entries that are not IP addresses', () => {
    expect(clientIp(req('10.0.0.5', '<script>, 203.0.113.9'), true)).toBe('203.0.113.9');
    expect(clientIp(req('not-an-ip'), false)).toBeUndefined();
  });

  it.each([
    [
      'no peer address (Unix socket): the peer slot still counts as the nearest hop',
      req(undefined, '198.51.100.66, 203.0.113.9'),
      1,
      '203.0.113.9',
    ],
    ['no peer address, two proxies', req(undefined, '198.51.100.66, 203.0.113.9, 10.0.0.4'), 2, '203.0.113.9'],
    ['a proxy that writes ip:port', req('10.0.0.5', '198.51.100.66, 203.0.113.9:4711'), 1, '203.0.113.9'],
    ['a proxy that writes [v6]:port', req('10.0.0.5', '198.51.100.66, [2001:db8::7]:443'), 1, '2001:db8::7'],
    ['a proxy that writes unknown: no address, not the client-written neighbour', req('10.0.0.5', '198.51.100.66, unknown'), 1, undefined],
    ['garbage in the selected hop', req('10.0.0.5', '198.51.100.66, <script>'), 1, undefined],
    ['garbage further left does not shift the count', req('10.0.0.5', '<script>, 203.0.113.9, 10.0.0.4'), 2, '203.0.113.9'],
    ['an empty entry a proxy wrote is a hop with no address', req('10.0.0.5', '198.51.100.66,'), 1, undefined],
    ['an empty entry between two keeps the count', req('10.0.0.5', '198.51.100.66,, 203.0.113.9'), 1, '203.0.113.9'],
    ['an empty entry in the selected hop', req('10.0.0.5', '198.51.100.66, , 10.0.0.4'), 2, undefined],
    ['an empty header is no hop', req('10.0.0.5', '  '), 1, '10.0.0.5'],
    ['no peer address and a port on the selected hop', req(undefined, '198.51.100.66, 203.0.113.9:4711'), 1, '203.0.113.9'],
    ['no peer address and no header', req(undefined), 1, undefined],
    ['[v6] without a port', req('10.0.0.5', '198.51.100.66, [2001:db8::7]'), 1, '2001:db8::7'],
    ['an IPv6 hop in another spelling', req('10.0.0.5', '198.51.100.66, 2001:0DB8:0:0::7'), 1, '2001:db8::7'],
    ['an IPv4-mapped hop with a port', req('10.0.0.5', '198.51.100.66, [::ffff:203.0.113.9]:443'), 1, '203.0.113.9'],
    ['a hop with a bad port is garbage', req('10.0.0.5', '198.51.100.66, 203.0.113.9:http'), 1, undefined],
    [
      'trustProxy true: leftmost address, ports read, garbage skipped',
      req('10.0.0.5', 'unknown, 203.0.113.9:4711, 10.0.0.4'),
      true,
      '203.0.113.9',
    ],
    ['trustProxy true and no peer address', req(undefined, '[2001:db8::7]:443'), true, '2001:db8::7'],
    ['trustProxy true and no address anywhere', req(undefined, 'unknown'), true, undefined],
  ])('%s', (_label, request, trustProxy, expected) => {
    expect(clientIp(request, trustProxy)).toBe(expected);
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['2001:DB8:0000::1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::1', '::1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['fe80::1%', undefined],
    ['1.2.3.04', undefined],
  ])('gives the peer %s in one spelling: %s', (peer, expected) => {
    expect(clientIp(req(peer), false)).toBe(expected);
  });

  it("never falls back to the framework's request.ip", () => {
    expect(clientIp({ ip: '198.51.100.66', socket: {}, headers: {} }, false)).toBeUndefined();
    expect(clientIp({ ip: '198.51.100.66', socket: {}, headers: { 'x-forwarded-for': 'unknown' } }, 1)).toBeUndefined();
  });
});

describe('requestMeta', () => {
  it('truncates the user agent to 256 characters', () => {
    const meta = requestMeta({ socket: { remoteAddress: '127.0.0.1' }, headers: { 'user-agent': 'x'.repeat(400) } });
    expect(meta).toEqual({ ip: '127.0.0.1', userAgent: 'x'.repeat(256) });
  });
});
