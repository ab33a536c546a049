// Frames as the page lists them (one row each) and the filter box's language. Pure.
//
// Filter: words are ANDed, `or` separates alternatives, `!` or `not` negates a word.
// A word is a protocol (arp, ip, ipv4, ipv6, icmp, icmpv6, tcp, udp, vlan), an address
// (IPv4, IPv4/prefix, IPv6 or MAC: matches either end, ARP fields included), a port
// number (TCP or UDP, either end), or else text looked for in the frame's summary
// ("quoted words" keep their spaces). An empty filter matches every frame.
// tcpdump's words work too: `host ADDR`, `port N`, `net CIDR`, each maybe after `src` or
// `dst` (`src host 10.0.0.1`, `dst port 80`; `src 10.0.0.1` is `src host 10.0.0.1`).
import { formatTime, type DecodedFrame } from '../capture/decode.ts';
import type { TailFrame } from './pcap-tail.ts';

export interface FrameRow {
  number: number;
  /** UTC wall clock with microseconds. */
  time: string;
  source: string;
  destination: string;
  protocol: string;
  length: number;
  info: string;
}

export function frameRow({ number, frame }: TailFrame): FrameRow {
  const time = formatTime(frame.time);
  const protocol = protocolName(frame);
  return {
    number,
    time,
    source: frame.ip?.src ?? frame.src,
    destination: frame.ip?.dst ?? frame.dst,
    protocol,
    length: frame.length,
    info: frameInfo(frame, time, protocol),
  };
}

/** The summary without what the other columns show (time, addresses, protocol); TTL last. */
function frameInfo(frame: DecodedFrame, time: string, protocol: string): string {
  let info = frame.summary;
  const strip = (prefix: string) => {
    if (info.startsWith(prefix)) info = info.slice(prefix.length);
  };
  strip(`${time} `);
  strip(`${frame.src} > ${frame.dst} `);
  if (frame.vlan !== undefined) strip(`vlan ${frame.vlan} `);
  let ttl = '';
  if (frame.ip) {
    strip(`IPv${frame.ip.version} ${frame.ip.src} > ${frame.ip.dst} `);
    const hops = /^(ttl|hlim) (\d+) /.exec(info);
    if (hops) {
      info = info.slice(hops[0].length);
      ttl = `, ${hops[1]} ${hops[2]}`;
    }
  }
  strip(`${protocol} `);
  return `${frame.vlan !== undefined ? `vlan ${frame.vlan}, ` : ''}${info}${ttl}`;
}

/** The highest layer decoded, as the Protocol column shows it. */
export function protocolName(frame: DecodedFrame): string {
  if (frame.arp) return 'ARP';
  if (frame.icmp) return frame.icmp.version === 4 ? 'ICMP' : 'ICMPv6';
  if (frame.tcp) return 'TCP';
  if (frame.udp) return 'UDP';
  if (frame.ip) return `IPv${frame.ip.version}`;
  if (frame.ethertype === 0x0806) return 'ARP';
  if (frame.ethertype < 0x0600) return '802.3';
  return `0x${frame.ethertype.toString(16).padStart(4, '0')}`;
}

export type FramePredicate = (frame: DecodedFrame) => boolean;

const PROTOCOLS: Record<string, FramePredicate> = {
  eth: () => true,
  ether: () => true,
  arp: (f) => f.ethertype === 0x0806,
  ip: (f) => f.ip !== undefined,
  ipv4: (f) => f.ip?.version === 4,
  ip4: (f) => f.ip?.version === 4,
  ipv6: (f) => f.ip?.version === 6,
  ip6: (f) => f.ip?.version === 6,
  icmp: (f) => f.icmp?.version === 4 || (f.ip?.version === 4 && f.ip.proto === 1),
  icmpv6: (f) => f.icmp?.version === 6 || (f.ip?.version === 6 && f.ip.proto === 58),
  icmp6: (f) => f.icmp?.version === 6 || (f.ip?.version === 6 && f.ip.proto === 58),
  tcp: (f) => f.tcp !== undefined || f.ip?.proto === 6,
  udp: (f) => f.udp !== undefined || f.ip?.proto === 17,
  vlan: (f) => f.vlan !== undefined,
};

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV4_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV6 = /^[0-9a-f:]*:[0-9a-f:]*$/;

/** Every address a frame carries: IP ends, ARP sender/target, neighbour-discovery target. */
function addressesOf(f: DecodedFrame): string[] {
  const found = [f.src, f.dst];
  if (f.ip) found.push(f.ip.src, f.ip.dst);
  if (f.arp) found.push(f.arp.senderIp, f.arp.targetIp, f.arp.senderMac, f.arp.targetMac);
  if (f.icmp?.target) found.push(f.icmp.target);
  return found;
}

function ipv4Number(address: string): number | null {
  const m = IPV4.exec(address);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

/** Addresses at one end of a frame: its source side or its destination side. */
function endAddresses(f: DecodedFrame, end: 'src' | 'dst'): string[] {
  if (end === 'src') return [f.src, ...(f.ip ? [f.ip.src] : []), ...(f.arp ? [f.arp.senderIp, f.arp.senderMac] : [])];
  return [f.dst, ...(f.ip ? [f.ip.dst] : []), ...(f.arp ? [f.arp.targetIp, f.arp.targetMac] : [])];
}

function endPorts(f: DecodedFrame, end: 'src' | 'dst' | null): (number | undefined)[] {
  const src = [f.tcp?.srcPort, f.udp?.srcPort];
  const dst = [f.tcp?.dstPort, f.udp?.dstPort];
  return end === 'src' ? src : end === 'dst' ? dst : [...src, ...dst];
}

/** `[src|dst] host|port|net VALUE`; null when VALUE does not fit the keyword (then it is text). */
function qualifiedPredicate(end: 'src' | 'dst' | null, keyword: 'host' | 'port' | 'net', value: string): FramePredicate | null {
  const w = value.toLowerCase();
  const addresses = (f: DecodedFrame) => (end ? endAddresses(f, end) : addressesOf(f));
  if (keyword === 'port') {
    if (!/^\d{1,5}$/.test(w)) return null;
    const port = Number(w);
    return (f) => endPorts(f, end).includes(port);
  }
  const cidr = IPV4_CIDR.exec(keyword === 'net' && IPV4.test(w) ? `${w}/32` : w);
  if (cidr && ipv4Number(cidr[1]) !== null && Number(cidr[2]) <= 32) {
    const size = 2 ** (32 - Number(cidr[2]));
    const network = Math.floor(ipv4Number(cidr[1])! / size);
    return (f) =>
      addresses(f).some((a) => {
        const n = ipv4Number(a);
        return n !== null && Math.floor(n / size) === network;
      });
  }
  if (keyword === 'host' && (IPV4.test(w) || MAC.test(w) || (IPV6.test(w) && w.length >= 2))) return (f) => addresses(f).includes(w);
  return null;
}

const KEYWORDS = new Set(['host', 'port', 'net']);

/** Reads one word (or a qualified `[src|dst] host|port|net VALUE`) at `i`: its predicate and the next index. */
function readWord(words: string[], i: number): { check: FramePredicate; next: number } {
  const word = words[i].toLowerCase();
  const end = word === 'src' || word === 'dst' ? word : null;
  let j = end ? i + 1 : i;
  const keyword = KEYWORDS.has(words[j]?.toLowerCase() ?? '') ? (words[j].toLowerCase() as 'host' | 'port' | 'net') : null;
  if (keyword) j++;
  if ((end || keyword) && words[j] !== undefined) {
    const check = qualifiedPredicate(end, keyword ?? (/^\d{1,5}$/.test(words[j]) ? 'port' : 'host'), words[j]);
    if (check) return { check, next: j + 1 };
  }
  return { check: wordPredicate(words[i]), next: i + 1 };
}

function wordPredicate(word: string): FramePredicate {
  const w = word.toLowerCase();
  const protocol = PROTOCOLS[w];
  if (protocol) return protocol;
  if (/^\d{1,5}$/.test(w)) {
    const port = Number(w);
    return (f) => [f.tcp?.srcPort, f.tcp?.dstPort, f.udp?.srcPort, f.udp?.dstPort].includes(port);
  }
  const cidr = IPV4_CIDR.exec(w);
  if (cidr && ipv4Number(cidr[1]) !== null && Number(cidr[2]) <= 32) {
    const bits = Number(cidr[2]);
    const size = 2 ** (32 - bits);
    const network = Math.floor(ipv4Number(cidr[1])! / size);
    return (f) =>
      addressesOf(f).some((a) => {
        const n = ipv4Number(a);
        return n !== null && Math.floor(n / size) === network;
      });
  }
  if (IPV4.test(w) || MAC.test(w) || (IPV6.test(w) && w.length >= 2)) return (f) => addressesOf(f).includes(w);
  return (f) => f.summary.toLowerCase().includes(w);
}

/** Splits on spaces, keeping "quoted words" whole. */
function tokens(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]).filter((t) => t !== '');
}

/** Compiles the filter box's text into a predicate over decoded frames. */
export function parseFilter(text: string): FramePredicate {
  const alternatives = text
    .split(/\s+or\s+|\s*\|\|\s*/i)
    .map((alternative) => {
      const checks: FramePredicate[] = [];
      let negate = false;
      const words = tokens(alternative);
      for (let i = 0; i < words.length;) {
        const token = words[i];
        const lower = token.toLowerCase();
        if (lower === 'and' || lower === '&&' || lower === 'not' || lower === '!') {
          if (lower === 'not' || lower === '!') negate = !negate;
          i++;
          continue;
        }
        const negated = token.startsWith('!') && token.length > 1;
        const { check, next } = readWord(negated ? [token.slice(1), ...words.slice(i + 1)] : words, negated ? 0 : i);
        i = negated ? i + next : next;
        const invert = negate !== negated;
        checks.push(invert ? (f) => !check(f) : check);
        negate = false;
      }
      return checks;
    })
    .filter((checks) => checks.length > 0);
  if (alternatives.length === 0) return () => true;
  return (frame) => alternatives.some((checks) => checks.every((check) => check(frame)));
}
