// Address parsing used by the rules and the compiler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIPv6, ipv4HostAt, isNetworkAddress, parseCidr, parseIPv4, parseIPv6, withoutPrefix } from '../../src/topology/address.ts';

describe('addresses', () => {
  it('parses IPv4 strictly', () => {
    assert.deepEqual(parseIPv4('10.0.0.1'), [10, 0, 0, 1]);
    for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', '10.0.0.1.', 'a.b.c.d', '', '1e1.0.0.1']) assert.equal(parseIPv4(bad), null, bad);
  });

  it('parses IPv6 with compression and an IPv4 tail', () => {
    assert.deepEqual(parseIPv6('::1'), [...Array(15).fill(0), 1]);
    assert.deepEqual(parseIPv6('::ffff:10.0.0.1')?.slice(10), [0xff, 0xff, 10, 0, 0, 1]);
    assert.equal(formatIPv6(parseIPv6('fd00:0:0:0:0:0:0:1')!), 'fd00::1');
    assert.equal(formatIPv6(parseIPv6('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
    assert.equal(formatIPv6(parseIPv6('FD00:0000::0001')!), 'fd00::1');
    assert.equal(formatIPv6(parseIPv6('1:0:2:3:4:5:6:7')!), '1:0:2:3:4:5:6:7');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', '::g', '1.2.3.4::', ':', '1:2:3:4:5:6:7::8'])
      assert.equal(parseIPv6(bad), null, bad);
  });

  it('parses CIDRs, requiring a prefix within range', () => {
    assert.deepEqual(parseCidr('10.0.0.1/24'), { family: 4, bytes: [10, 0, 0, 1], prefix: 24, address: '10.0.0.1' });
    assert.equal(parseCidr('fd00:0::1/64')?.address, 'fd00::1');
    for (const bad of ['10.0.0.1', '10.0.0.1/33', 'fd00::1/129', '10.0.0.1/', '10.0.0.1/024', '/24']) assert.equal(parseCidr(bad), null, bad);
  });

  it('does IPv4 network arithmetic', () => {
    const net = parseCidr('10.0.2.0/24')!;
    assert.equal(isNetworkAddress(net), true);
    assert.equal(isNetworkAddress(parseCidr('10.0.2.1/24')!), false);
    assert.equal(isNetworkAddress(parseCidr('10.0.2.128/25')!), true);
    assert.equal(ipv4HostAt(net, 2), '10.0.2.2');
    assert.equal(ipv4HostAt(parseCidr('10.0.255.0/23')!, 256), '10.1.0.0');
    assert.equal(withoutPrefix('10.0.0.1/24'), '10.0.0.1');
  });
});
