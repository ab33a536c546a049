// decodeFrame on hand-built frames: bytes are assembled here field by field, so each
// expectation can be checked against the RFC layout rather than against another decoder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, formatIpv6, formatTime, tcpFlags } from '../../src/capture/decode.ts';

const MAC_A = 'fe:fd:0a:00:00:01';
const MAC_B = 'fe:fd:0a:00:00:02';
const TS = Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123; // 03:04:05.000123 UTC

const mac = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
const ipv4 = (a: string) => Buffer.from(a.split('.').map(Number));
function ipv6(a: string): Buffer {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Pads like a NIC does, to the 60-byte minimum: the decoder must not count padding as payload. */
function ethernet(dst: string, src: string, ethertype: number, payload: Buffer): Buffer {
  const f = Buffer.concat([mac(dst), mac(src), u16(ethertype), payload]);
  return f.length >= 60 ? f : Buffer.concat([f, Buffer.alloc(60 - f.length)]);
}

function ipv4Packet(src: string, dst: string, proto: number, ttl: number, l4: Buffer): Buffer {
  const header = Buffer.concat([
    Buffer.from([0x45, 0]),
    u16(20 + l4.length),
    u16(0x1234),
    u16(0x4000), // DF, offset 0
    Buffer.from([ttl, proto]),
    u16(0),
    ipv4(src),
    ipv4(dst),
  ]);
  return Buffer.concat([header, l4]);
}

function ipv6Packet(src: string, dst: string, next: number, hopLimit: number, l4: Buffer): Buffer {
  return Buffer.concat([u32(0x60000000), u16(l4.length), Buffer.from([next, hopLimit]), ipv6(src), ipv6(dst), l4]);
}

function tcp(srcPort: number, dstPort: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.concat([u16(srcPort), u16(dstPort), u32(1000), u32(0), Buffer.from([5 << 4, flags]), u16(65535), u16(0), u16(0)]);
  return Buffer.concat([header, payload]);
}

function arp(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string): Buffer {
  return Buffer.concat([u16(1), u16(0x0800), Buffer.from([6, 4]), u16(op), mac(senderMac), ipv4(senderIp), mac(targetMac), ipv4(targetIp)]);
}

test('ARP request and reply', () => {
  const request = decodeFrame(ethernet('ff:ff:ff:ff:ff:ff', MAC_A, 0x0806, arp(1, MAC_A, '10.0.0.1', '00:00:00:00:00:00', '10.0.0.2')), TS);
  assert.equal(request.summary, `03:04:05.000123 ${MAC_A} > ff:ff:ff:ff:ff:ff ARP request who-has 10.0.0.2 tell 10.0.0.1`);
  assert.deepEqual(request.arp, { op: 1, senderMac: MAC_A, senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' });
  assert.equal(request.ethertype, 0x0806);
  assert.equal(request.length, 60);

  const reply = decodeFrame(ethernet(MAC_A, MAC_B, 0x0806, arp(2, MAC_B, '10.0.0.2', MAC_A, '10.0.0.1')), TS);
  assert.match(reply.summary, /ARP reply 10\.0\.0\.2 is-at fe:fd:0a:00:00:02$/);
  assert.equal(reply.src, MAC_B);
  assert.equal(reply.dst, MAC_A);
});

test('ICMP echo request/reply and destination unreachable', () => {
  const echo = Buffer.concat([Buffer.from([8, 0]), u16(0), u16(77), u16(3), Buffer.from('abcdefgh')]);
  const request = decodeFrame(ethernet(MAC_B, MAC_A, 0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 1, 64, echo)), TS);
  assert.equal(request.summary, `03:04:05.000123 ${MAC_A} > ${MAC_B} IPv4 10.0.0.1 > 10.0.0.2 ttl 64 ICMP echo request id 77 seq 3`);
  assert.deepEqual(request.ip, { version: 4, src: '10.0.0.1', dst: '10.0.0.2', ttl: 64, proto: 1 });
  assert.deepEqual(request.icmp, { version: 4, type: 8, code: 0, name: 'echo request', id: 77, seq: 3 });

  echo[0] = 0;
  const reply = decodeFrame(ethernet(MAC_A, MAC_B, 0x0800, ipv4Packet('10.0.0.2', '10.0.0.1', 1, 63, echo)), TS);
  assert.match(reply.summary, /ttl 63 ICMP echo reply id 77 seq 3$/);

  const unreachable = Buffer.concat([Buffer.from([3, 3]), u16(0), u32(0), Buffer.alloc(28)]);
  const portUnreachable = decodeFrame(ethernet(MAC_A, MAC_B, 0x0800, ipv4Packet('10.0.0.2', '10.0.0.1', 1, 64, unreachable)), TS);
  assert.equal(portUnreachable.icmp?.name, 'destination unreachable (port unreachable)');
  assert.equal(portUnreachable.icmp?.code, 3);

  const timeExceeded = Buffer.concat([Buffer.from([11, 0]), u16(0), u32(0), Buffer.alloc(28)]);
  assert.match(decodeFrame(ethernet(MAC_A, MAC_B, 0x0800, ipv4Packet('10.0.1.1', '10.0.0.1', 1, 64, timeExceeded)), TS).summary, /ICMP time exceeded \(ttl\)$/);
});

test('TCP flags and payload length ignore Ethernet padding', () => {
  const syn = decodeFrame(ethernet(MAC_B, MAC_A, 0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 6, 64, tcp(40000, 80, 0x02, Buffer.alloc(0)))), TS);
  assert.equal(syn.length, 60, 'padded to the minimum');
  assert.deepEqual(syn.tcp, { srcPort: 40000, dstPort: 80, flags: 'S', payloadLength: 0 });
  assert.match(syn.summary, /IPv4 10\.0\.0\.1 > 10\.0\.0\.2 ttl 64 TCP 40000 > 80 \[S\] len 0$/);

  const synAck = decodeFrame(ethernet(MAC_A, MAC_B, 0x0800, ipv4Packet('10.0.0.2', '10.0.0.1', 6, 64, tcp(80, 40000, 0x12, Buffer.alloc(0)))), TS);
  assert.equal(synAck.tcp?.flags, 'S.');
  const rstAck = decodeFrame(ethernet(MAC_A, MAC_B, 0x0800, ipv4Packet('10.0.0.2', '10.0.0.1', 6, 64, tcp(80, 40000, 0x14, Buffer.alloc(0)))), TS);
  assert.equal(rstAck.tcp?.flags, 'R.');
  const data = decodeFrame(
    ethernet(MAC_B, MAC_A, 0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 6, 64, tcp(40000, 80, 0x18, Buffer.from('GET / HTTP/1.0\r\n\r\n')))),
    TS,
  );
  assert.deepEqual([data.tcp?.flags, data.tcp?.payloadLength], ['P.', 18]);
  assert.equal(tcpFlags(0x11), 'F.');
  assert.equal(tcpFlags(0), 'none');
});

test('UDP ports and payload length', () => {
  const udp = Buffer.concat([u16(5353), u16(53), u16(8 + 5), u16(0), Buffer.from('hello')]);
  const f = decodeFrame(ethernet(MAC_B, MAC_A, 0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 17, 64, udp)), TS);
  assert.deepEqual(f.udp, { srcPort: 5353, dstPort: 53, payloadLength: 5 });
  assert.match(f.summary, /IPv4 10\.0\.0\.1 > 10\.0\.0\.2 ttl 64 UDP 5353 > 53 len 5$/);
});

test('IPv6: ICMPv6 echo, neighbour solicitation and advertisement, TCP', () => {
  const echo = Buffer.concat([Buffer.from([128, 0]), u16(0), u16(9), u16(1), Buffer.from('ping')]);
  const request = decodeFrame(ethernet(MAC_B, MAC_A, 0x86dd, ipv6Packet('fd00::1', 'fd00::2', 58, 64, echo)), TS);
  assert.deepEqual(request.ip, { version: 6, src: 'fd00::1', dst: 'fd00::2', ttl: 64, proto: 58 });
  assert.deepEqual(request.icmp, { version: 6, type: 128, code: 0, name: 'echo request', id: 9, seq: 1 });
  assert.match(request.summary, /IPv6 fd00::1 > fd00::2 hlim 64 ICMPv6 echo request id 9 seq 1$/);

  const solicitation = Buffer.concat([Buffer.from([135, 0]), u16(0), u32(0), ipv6('fd00::2'), Buffer.from([1, 1]), mac(MAC_A)]);
  const ns = decodeFrame(ethernet('33:33:ff:00:00:02', MAC_A, 0x86dd, ipv6Packet('fd00::1', 'ff02::1:ff00:2', 58, 255, solicitation)), TS);
  assert.equal(ns.icmp?.target, 'fd00::2');
  assert.match(ns.summary, /ICMPv6 neighbor solicitation who-has fd00::2$/);

  const advert = Buffer.concat([Buffer.from([136, 0]), u16(0), u32(0x60000000), ipv6('fd00::2'), Buffer.from([2, 1]), mac(MAC_B)]);
  const na = decodeFrame(ethernet(MAC_A, MAC_B, 0x86dd, ipv6Packet('fd00::2', 'fd00::1', 58, 255, advert)), TS);
  assert.deepEqual([na.icmp?.target, na.icmp?.targetMac], ['fd00::2', MAC_B]);
  assert.match(na.summary, /ICMPv6 neighbor advertisement fd00::2 is-at fe:fd:0a:00:00:02$/);

  // A hop-by-hop header (8 bytes: next=TCP, len=0, padding) is skipped to reach TCP.
  const hopByHop = Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]);
  const overHbh = decodeFrame(
    ethernet(MAC_B, MAC_A, 0x86dd, ipv6Packet('fd00::1', 'fd00::2', 0, 64, Buffer.concat([hopByHop, tcp(1, 2, 0x02, Buffer.from('xyz'))]))),
    TS,
  );
  assert.equal(overHbh.ip?.proto, 6);
  assert.deepEqual(overHbh.tcp, { srcPort: 1, dstPort: 2, flags: 'S', payloadLength: 3 });
});

test('IPv6 text form follows RFC 5952', () => {
  assert.equal(formatIpv6(ipv6('fe80::fcfd:aff:fe00:1'), 0), 'fe80::fcfd:aff:fe00:1');
  assert.equal(formatIpv6(ipv6('2001:db8:0:1:1:1:1:1'), 0), '2001:db8:0:1:1:1:1:1', 'a single zero group is not shortened');
  assert.equal(formatIpv6(ipv6('2001:0:0:1::1'), 0), '2001:0:0:1::1', 'the longest zero run wins');
  assert.equal(formatIpv6(Buffer.alloc(16), 0), '::');
});

test('truncated and unknown frames still give a summary', () => {
  const full = ethernet(MAC_B, MAC_A, 0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 6, 64, tcp(1, 2, 0x02, Buffer.alloc(100))));
  const cut = decodeFrame(full.subarray(0, 40), TS, full.length);
  assert.equal(cut.truncated, true);
  assert.equal(cut.length, full.length, 'original length is kept');
  assert.equal(cut.ip?.src, '10.0.0.1');
  assert.match(cut.summary, /\[truncated\]$/);

  assert.match(decodeFrame(Buffer.alloc(10), TS).summary, /runt frame, 10 bytes/);
  assert.match(decodeFrame(ethernet(MAC_B, MAC_A, 0x88b5, Buffer.from('x')), TS).summary, /ethertype 0x88b5$/);
  assert.equal(formatTime(0), '00:00:00.000000');
});
