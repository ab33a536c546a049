// Decodes Ethernet frames into structured fields plus a one-line summary, tcpdump style:
//   12:00:01.000123 fe:fd:0a:00:00:01 > ff:ff:ff:ff:ff:ff ARP request who-has 10.0.0.2 tell 10.0.0.1
//   12:00:01.000456 fe:fd:0a:00:00:01 > fe:fd:0a:00:00:02 IPv4 10.0.0.1 > 10.0.0.2 ttl 64 ICMP echo request id 7 seq 1
// decodeFrame() is pure; readCapture() reads a whole pcap file (records: pcap-records.ts).
// Lengths come from the IP headers, not the frame size, because short frames carry Ethernet padding.

import { readFile } from 'node:fs/promises';
import { PcapRecords } from './pcap-records.ts';
import { formatIPv6 } from '../topology/address.ts';
import { icmpName } from './icmp-names.ts';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export interface ArpFields {
  /** 1 = request, 2 = reply. */
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface IpFields {
  version: 4 | 6;
  src: string;
  dst: string;
  /** TTL (IPv4) or hop limit (IPv6). */
  ttl: number;
  /** Upper-layer protocol number (after IPv6 extension headers). */
  proto: number;
  /** Set when this is a non-first IPv4 fragment or an IPv6 fragment: no transport header follows. */
  fragment?: boolean;
}

export interface IcmpFields {
  /** 4 for ICMP, 6 for ICMPv6. */
  version: 4 | 6;
  type: number;
  code: number;
  /** Human name, e.g. "echo request", "destination unreachable (port unreachable)". */
  name: string;
  id?: number;
  seq?: number;
  /** Neighbour solicitation / advertisement: the address asked about. */
  target?: string;
  /** Neighbour advertisement: link-layer address from the target option, when present. */
  targetMac?: string;
}

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  /** tcpdump letters: S, F, R, P, U, E, W, and "." for ACK; e.g. "S.". */
  flags: string;
  payloadLength: number;
}

export interface UdpFields {
  srcPort: number;
  dstPort: number;
  payloadLength: number;
}

export interface DecodedFrame {
  /** Microseconds since the epoch. */
  time: number;
  /** Length of the frame on the wire. */
  length: number;
  src: string;
  dst: string;
  /** After an 802.1Q tag, if any. */
  ethertype: number;
  vlan?: number;
  arp?: ArpFields;
  ip?: IpFields;
  icmp?: IcmpFields;
  tcp?: TcpFields;
  udp?: UdpFields;
  /** Set when the frame ended before a header it announced. */
  truncated?: boolean;
  summary: string;
}

/** Decodes one Ethernet frame. `originalLength` is the on-wire length when the capture cut the frame short. */
export function decodeFrame(frame: Buffer, tsMicros: number, originalLength = frame.length): DecodedFrame {
  const out: DecodedFrame = { time: tsMicros, length: originalLength, src: '', dst: '', ethertype: 0, summary: '' };
  const parts: string[] = [formatTime(tsMicros)];
  if (frame.length < 14) {
    out.truncated = true;
    parts.push(`runt frame, ${frame.length} bytes`);
    out.summary = parts.join(' ');
    return out;
  }
  out.dst = formatMac(frame, 0);
  out.src = formatMac(frame, 6);
  parts.push(`${out.src} > ${out.dst}`);
  let ethertype = frame.readUInt16BE(12);
  let offset = 14;
  if (ethertype === ETHERTYPE_VLAN && frame.length >= 18) {
    out.vlan = frame.readUInt16BE(14) & 0x0fff;
    ethertype = frame.readUInt16BE(16);
    offset = 18;
    parts.push(`vlan ${out.vlan}`);
  }
  out.ethertype = ethertype;
  const payload = frame.subarray(offset);
  switch (ethertype) {
    case ETHERTYPE_ARP:
      decodeArp(payload, out, parts);
      break;
    case ETHERTYPE_IPV4:
      decodeIpv4(payload, out, parts);
      break;
    case ETHERTYPE_IPV6:
      decodeIpv6(payload, out, parts);
      break;
    default:
      // Values below 0x0600 are an 802.3 length, not an ethertype (e.g. STP, LLC).
      parts.push(ethertype < 0x0600 ? `802.3 length ${ethertype}` : `ethertype 0x${ethertype.toString(16).padStart(4, '0')}`);
  }
  if (out.truncated) parts.push('[truncated]');
  out.summary = parts.join(' ');
  return out;
}

function decodeArp(p: Buffer, out: DecodedFrame, parts: string[]): void {
  // Only Ethernet/IPv4 ARP (hlen 6, plen 4) is decoded; that is all a lab produces.
  if (p.length < 28 || p[4] !== 6 || p[5] !== 4) {
    out.truncated = p.length < 28;
    parts.push('ARP');
    return;
  }
  const arp: ArpFields = {
    op: p.readUInt16BE(6),
    senderMac: formatMac(p, 8),
    senderIp: formatIpv4(p, 14),
    targetMac: formatMac(p, 18),
    targetIp: formatIpv4(p, 24),
  };
  out.arp = arp;
  if (arp.op === 1) parts.push(`ARP request who-has ${arp.targetIp} tell ${arp.senderIp}`);
  else if (arp.op === 2) parts.push(`ARP reply ${arp.senderIp} is-at ${arp.senderMac}`);
  else parts.push(`ARP op ${arp.op} ${arp.senderIp} > ${arp.targetIp}`);
}

function decodeIpv4(p: Buffer, out: DecodedFrame, parts: string[]): void {
  if (p.length < 20 || p[0] >> 4 !== 4) {
    out.truncated = true;
    parts.push('IPv4');
    return;
  }
  const headerLength = (p[0] & 0x0f) * 4;
  const totalLength = p.readUInt16BE(2);
  const fragmentOffset = p.readUInt16BE(6) & 0x1fff;
  const ip: IpFields = { version: 4, src: formatIpv4(p, 12), dst: formatIpv4(p, 16), ttl: p[8], proto: p[9] };
  out.ip = ip;
  parts.push(`IPv4 ${ip.src} > ${ip.dst} ttl ${ip.ttl}`);
  if (fragmentOffset !== 0) {
    ip.fragment = true;
    parts.push(`${protoName(ip.proto)} fragment offset ${fragmentOffset * 8}`);
    return;
  }
  // Padding after totalLength is Ethernet filler, not payload.
  const end = Math.min(totalLength, p.length);
  if (totalLength > p.length) out.truncated = true;
  decodeTransport(ip.proto, p.subarray(headerLength, Math.max(end, headerLength)), totalLength - headerLength, out, parts);
}

/** IPv6 extension headers that are skipped to reach the transport header. */
const IPV6_SKIPPABLE_HEADERS = new Set([0 /* hop-by-hop */, 43 /* routing */, 60 /* destination options */]);
const IPV6_FRAGMENT_HEADER = 44;

function decodeIpv6(p: Buffer, out: DecodedFrame, parts: string[]): void {
  if (p.length < 40 || p[0] >> 4 !== 6) {
    out.truncated = true;
    parts.push('IPv6');
    return;
  }
  const payloadLength = p.readUInt16BE(4);
  let next = p[6];
  let offset = 40;
  while (IPV6_SKIPPABLE_HEADERS.has(next) && offset + 8 <= p.length) {
    const extensionLength = (p[offset + 1] + 1) * 8;
    next = p[offset]!;
    offset += extensionLength;
  }
  const ip: IpFields = { version: 6, src: formatIpv6(p, 8), dst: formatIpv6(p, 24), ttl: p[7], proto: next };
  out.ip = ip;
  parts.push(`IPv6 ${ip.src} > ${ip.dst} hlim ${ip.ttl}`);
  if (next === IPV6_FRAGMENT_HEADER) {
    ip.fragment = true;
    parts.push('fragment');
    return;
  }
  const end = 40 + payloadLength;
  if (end > p.length || offset > p.length) out.truncated = true;
  const transport = p.subarray(Math.min(offset, p.length), Math.min(end, p.length));
  decodeTransport(next, transport, end - offset, out, parts);
}

/** `declaredLength` is the transport length according to the IP header (may exceed the captured bytes). */
function decodeTransport(proto: number, t: Buffer, declaredLength: number, out: DecodedFrame, parts: string[]): void {
  switch (proto) {
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      decodeIcmp(proto === IPPROTO_ICMP ? 4 : 6, t, out, parts);
      return;
    case IPPROTO_TCP: {
      if (t.length < 20) break;
      const dataOffset = (t[12] >> 4) * 4;
      out.tcp = {
        srcPort: t.readUInt16BE(0),
        dstPort: t.readUInt16BE(2),
        flags: tcpFlags(t[13]),
        payloadLength: Math.max(0, declaredLength - dataOffset),
      };
      parts.push(`TCP ${out.tcp.srcPort} > ${out.tcp.dstPort} [${out.tcp.flags}] len ${out.tcp.payloadLength}`);
      return;
    }
    case IPPROTO_UDP: {
      if (t.length < 8) break;
      out.udp = {
        srcPort: t.readUInt16BE(0),
        dstPort: t.readUInt16BE(2),
        payloadLength: Math.max(0, t.readUInt16BE(4) - 8),
      };
      parts.push(`UDP ${out.udp.srcPort} > ${out.udp.dstPort} len ${out.udp.payloadLength}`);
      return;
    }
    default:
      parts.push(protoName(proto));
      return;
  }
  out.truncated = true;
  parts.push(protoName(proto));
}

function decodeIcmp(version: 4 | 6, t: Buffer, out: DecodedFrame, parts: string[]): void {
  const label = version === 4 ? 'ICMP' : 'ICMPv6';
  if (t.length < 4) {
    out.truncated = true;
    parts.push(label);
    return;
  }
  const type = t[0];
  const code = t[1];
  const icmp: IcmpFields = { version, type, code, name: icmpName(version, type, code) };
  out.icmp = icmp;
  let detail = '';
  if (isEcho(version, type) && t.length >= 8) {
    icmp.id = t.readUInt16BE(4);
    icmp.seq = t.readUInt16BE(6);
    detail = ` id ${icmp.id} seq ${icmp.seq}`;
  } else if (version === 6 && (type === 135 || type === 136) && t.length >= 24) {
    icmp.target = formatIpv6(t, 8);
    const mac = ndLinkLayerOption(t, type === 135 ? 1 : 2);
    if (type === 135) {
      detail = ` who-has ${icmp.target}`;
    } else {
      if (mac !== undefined) icmp.targetMac = mac;
      detail = ` ${icmp.target}${mac ? ` is-at ${mac}` : ''}`;
    }
  }
  parts.push(`${label} ${icmp.name}${detail}`);
}

function isEcho(version: 4 | 6, type: number): boolean {
  return version === 4 ? type === 8 || type === 0 : type === 128 || type === 129;
}

/** Reads the source (1) or target (2) link-layer address option of a neighbour discovery message. */
function ndLinkLayerOption(t: Buffer, wanted: number): string | undefined {
  let offset = 24;
  while (offset + 8 <= t.length) {
    const optionType = t[offset];
    const optionLength = t[offset + 1] * 8;
    if (optionLength === 0) return undefined; // malformed: would loop forever
    if (optionType === wanted && optionLength >= 8) return formatMac(t, offset + 2);
    offset += optionLength;
  }
  return undefined;
}

function protoName(proto: number): string {
  switch (proto) {
    case IPPROTO_ICMP:
      return 'ICMP';
    case IPPROTO_TCP:
      return 'TCP';
    case IPPROTO_UDP:
      return 'UDP';
    case IPPROTO_ICMPV6:
      return 'ICMPv6';
    case 2:
      return 'IGMP';
    case 89:
      return 'OSPF';
    default:
      return `proto ${proto}`;
  }
}

/** In tcpdump's order: F S R P . U E W, e.g. SYN+ACK is "S.". */
const TCP_FLAG_LETTERS: [number, string][] = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, '.'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];

export function tcpFlags(bits: number): string {
  let flags = '';
  for (const [bit, letter] of TCP_FLAG_LETTERS) if (bits & bit) flags += letter;
  return flags === '' ? 'none' : flags;
}

export function formatMac(b: Buffer, offset: number): string {
  let mac = '';
  for (let i = 0; i < 6; i++) mac += (i ? ':' : '') + b[offset + i].toString(16).padStart(2, '0');
  return mac;
}

export function formatIpv4(b: Buffer, offset: number): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 5952 text form: lowercase, leading zeros dropped, the longest run of two or more zero groups as "::". */
export const formatIpv6 = (b: Buffer, offset: number): string => formatIPv6(b, offset);

/** UTC wall-clock time with microseconds, e.g. "12:00:01.000123". */
export function formatTime(tsMicros: number): string {
  const seconds = Math.floor(tsMicros / 1_000_000);
  const micros = tsMicros - seconds * 1_000_000;
  const clock = new Date(seconds * 1000).toISOString().slice(11, 19);
  return `${clock}.${String(micros).padStart(6, '0')}`;
}

/** Reads and decodes a whole pcap file. A record cut short at the end (a capture still
 *  being written, or a crash) is ignored: every complete record before it is returned. */
export async function readCapture(path: string): Promise<DecodedFrame[]> {
  try {
    return decodeCapture(await readFile(path));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Decodes a whole pcap file's bytes (throws on what is not an Ethernet pcap; a record cut short at the end is left out). */
export function decodeCapture(bytes: Buffer): DecodedFrame[] {
  // The same record reader as the web's tail (pcap-records.ts), fed the whole file at once.
  return new PcapRecords().push(bytes).map((r) => decodeFrame(r.data, r.micros, r.originalLength));
}
