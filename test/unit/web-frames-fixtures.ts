// Hand-built Ethernet frames and pcap bytes for the web view's unit tests.
import { pcapGlobalHeader } from '../../src/capture/pcap-writer.ts';

export const MAC_1 = 'fe:fd:0a:00:00:01';
export const MAC_2 = 'fe:fd:0a:00:00:02';
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';
/** 2024-01-02 03:04:05.000123 UTC, in microseconds. */
export const TS = Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123;

const mac = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
const ipv4 = (a: string) => Buffer.from(a.split('.').map(Number));
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

function ethernet(dst: string, src: string, ethertype: number, payload: Buffer): Buffer {
  const f = Buffer.concat([mac(dst), mac(src), u16(ethertype), payload]);
  return f.length >= 60 ? f : Buffer.concat([f, Buffer.alloc(60 - f.length)]);
}

function ipv4Packet(src: string, dst: string, proto: number, l4: Buffer, ttl = 64): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h[8] = ttl;
  h[9] = proto;
  ipv4(src).copy(h, 12);
  ipv4(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export function arpRequest(senderIp: string, targetIp: string): Buffer {
  const p = Buffer.concat([u16(1), u16(0x0800), Buffer.from([6, 4]), u16(1), mac(MAC_1), ipv4(senderIp), Buffer.alloc(6), ipv4(targetIp)]);
  return ethernet(BROADCAST, MAC_1, 0x0806, p);
}

export function echo(type: 'request' | 'reply', src: string, dst: string, seq: number): Buffer {
  const icmp = Buffer.concat([Buffer.from([type === 'request' ? 8 : 0, 0, 0, 0]), u16(7), u16(seq), Buffer.alloc(56)]);
  return ethernet(type === 'request' ? MAC_2 : MAC_1, type === 'request' ? MAC_1 : MAC_2, 0x0800, ipv4Packet(src, dst, 1, icmp));
}

export function udp(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  const l4 = Buffer.concat([u16(srcPort), u16(dstPort), u16(12), u16(0), Buffer.from('ping')]);
  return ethernet(MAC_2, MAC_1, 0x0800, ipv4Packet(src, dst, 17, l4));
}

export function tcpSyn(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  const l4 = Buffer.alloc(20);
  l4.writeUInt16BE(srcPort, 0);
  l4.writeUInt16BE(dstPort, 2);
  l4[12] = 5 << 4;
  l4[13] = 0x02;
  return ethernet(MAC_2, MAC_1, 0x0800, ipv4Packet(src, dst, 6, l4));
}

/** One little-endian, microsecond pcap record. */
export function record(frame: Buffer, tsMicros: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(Math.floor(tsMicros / 1_000_000), 0);
  h.writeUInt32LE(tsMicros % 1_000_000, 4);
  h.writeUInt32LE(frame.length, 8);
  h.writeUInt32LE(frame.length, 12);
  return Buffer.concat([h, frame]);
}

/** A whole capture file as umlab's writer makes it. */
export function pcapFile(frames: Buffer[], start = TS): Buffer {
  return Buffer.concat([pcapGlobalHeader(), ...frames.map((f, i) => record(f, start + i * 1000))]);
}
