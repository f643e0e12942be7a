import { isIPv6 } from 'node:net';

/**
 * The per-IP throttle key of a client address: an IPv4 address as it is, an IPv6 address by
 * its /64 prefix, as one host usually holds a whole /64 and could otherwise rotate addresses
 * to dodge the per-IP limit.
 */
export function throttleClientKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  // WHATWG URL serialises IPv6 canonically: lower case, zeros compressed, an IPv4 tail as hex.
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array.from({ length: 8 - left.length - right.length }, () => '0'), ...right];
  return `${groups.slice(0, 4).join(':')}::/64`;
}
