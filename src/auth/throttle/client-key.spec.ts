import { throttleClientKey } from './client-key.js';

describe('throttleClientKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1:2:3:4', 'fe80:0:0:0::/64'],
    ['::ffff:c000:280', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
  ])('%s -> %s', (ip, key) => {
    expect(throttleClientKey(ip)).toBe(key);
  });

  it('keeps two /64s apart', () => {
    expect(throttleClientKey('2001:db8:1:2::1')).not.toBe(throttleClientKey('2001:db8:1:3::1'));
  });
});
