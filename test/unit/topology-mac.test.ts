// MAC derivation: fe:fd + IPv4 (HOWTO), else fe:fc + name hash; never two equal MACs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignMacs, isMulticastMac, macFromIPv4, macFromNames } from '../../src/topology/mac.ts';

describe('MAC derivation', () => {
  it('derives fe:fd + the first IPv4 address, skipping IPv6 ones', () => {
    assert.equal(macFromIPv4(['10.0.0.1/24']), 'fe:fd:0a:00:00:01');
    assert.equal(macFromIPv4(['fd00::1/64', '192.168.255.254/24', '10.0.0.1/24']), 'fe:fd:c0:a8:ff:fe');
    assert.equal(macFromIPv4(['fd00::1/64']), null);
    assert.equal(macFromIPv4([]), null);
  });

  it('derives a stable unicast, locally administered fe:fc MAC from the names', () => {
    const mac = macFromNames('lab', 'h1', 'eth0');
    assert.equal(mac, macFromNames('lab', 'h1', 'eth0'));
    // Pinned: a change would renumber every running lab's interfaces.
    assert.equal(mac, 'fe:fc:e6:a9:4a:26');
    assert.match(mac, /^fe:fc(:[0-9a-f]{2}){4}$/);
    assert.notEqual(mac, macFromNames('lab', 'h1', 'eth1'));
    assert.notEqual(mac, macFromNames('lab2', 'h1', 'eth0'));
    assert.notEqual(mac, macFromNames('lab', 'h1', 'eth0', 1));
  });

  it('tells multicast MACs by the odd first byte', () => {
    assert.equal(isMulticastMac('01:00:5e:00:00:01'), true);
    assert.equal(isMulticastMac('ff:ff:ff:ff:ff:ff'), true);
    assert.equal(isMulticastMac('fe:fd:00:00:00:01'), false);
    assert.equal(isMulticastMac('02:00:00:00:00:01'), false);
  });

  it('keeps given MACs (lowercased) and derives the others', () => {
    const macs = assignMacs('lab', [
      { vm: 'h1', iface: 'eth0', addresses: ['10.0.0.1/24'] },
      { vm: 'h1', iface: 'eth1', addresses: ['10.0.1.1/24'], mac: 'FE:FD:AA:BB:CC:DD' },
      { vm: 'h2', iface: 'eth0', addresses: ['fd00::2/64'] },
    ]);
    assert.deepEqual(Object.fromEntries(macs), {
      'h1.eth0': 'fe:fd:0a:00:00:01',
      'h1.eth1': 'fe:fd:aa:bb:cc:dd',
      'h2.eth0': macFromNames('lab', 'h2', 'eth0'),
    });
  });

  it('falls back to the name hash when the IPv4 MAC is taken (same address twice, or given)', () => {
    const macs = assignMacs('lab', [
      { vm: 'r1', iface: 'eth0', addresses: ['10.0.0.254/24'] },
      { vm: 'r1', iface: 'eth1', addresses: ['10.0.0.254/32'] },
      { vm: 'h1', iface: 'eth0', addresses: ['10.0.0.1/24'] },
      { vm: 'h9', iface: 'eth0', addresses: [], mac: 'fe:fd:0a:00:00:01' },
    ]);
    assert.equal(macs.get('r1.eth0'), 'fe:fd:0a:00:00:fe');
    assert.equal(macs.get('r1.eth1'), macFromNames('lab', 'r1', 'eth1'));
    assert.equal(macs.get('h1.eth0'), macFromNames('lab', 'h1', 'eth0'));
    assert.equal(macs.get('h9.eth0'), 'fe:fd:0a:00:00:01');
  });

  it('tries further hashes when even the name hash is taken', () => {
    const taken = macFromNames('lab', 'h1', 'eth0');
    const macs = assignMacs('lab', [
      { vm: 'h0', iface: 'eth0', addresses: [], mac: taken },
      { vm: 'h1', iface: 'eth0', addresses: [] },
    ]);
    assert.equal(macs.get('h1.eth0'), macFromNames('lab', 'h1', 'eth0', 1));
  });

  it('never gives two interfaces the same MAC in a large lab', () => {
    const requests = Array.from({ length: 500 }, (_, i) => ({ vm: `h${i % 50}`, iface: `eth${Math.floor(i / 50)}`, addresses: [`10.0.0.${i % 7}/24`] }));
    const macs = assignMacs('big', requests);
    assert.equal(new Set(macs.values()).size, 500);
    for (const mac of macs.values()) assert.equal(isMulticastMac(mac), false);
  });
});
