// The capture check's filter: which decoded frames match a FrameMatch. Pure.
import type { DecodedFrame } from '../capture/decode.ts';
import { FRAME_MATCH_KEYS, type FrameMatch } from '../topology/model.ts';
import type { Resolver } from './resolve.ts';

/** A FrameMatch with every name resolved to the MACs and addresses it stands for. */
export interface ResolvedMatch {
  src?: string[];
  dst?: string[];
  proto?: FrameMatch['proto'];
  arp?: FrameMatch['arp'];
  arpSenderIp?: string[];
  arpTargetIp?: string[];
  arpSenderMac?: string[];
  ipSrc?: string[];
  ipDst?: string[];
  port?: number;
}

export function resolveMatch(match: FrameMatch, resolver: Resolver): ResolvedMatch {
  const out: ResolvedMatch = {};
  if (match.src !== undefined) out.src = resolver.macsOf(match.src);
  if (match.dst !== undefined) out.dst = resolver.macsOf(match.dst);
  if (match.arpSenderMac !== undefined) out.arpSenderMac = resolver.macsOf(match.arpSenderMac);
  if (match.arpSenderIp !== undefined) out.arpSenderIp = resolver.addressesOf(match.arpSenderIp);
  if (match.arpTargetIp !== undefined) out.arpTargetIp = resolver.addressesOf(match.arpTargetIp);
  if (match.ipSrc !== undefined) out.ipSrc = resolver.addressesOf(match.ipSrc);
  if (match.ipDst !== undefined) out.ipDst = resolver.addressesOf(match.ipDst);
  if (match.proto !== undefined) out.proto = match.proto;
  if (match.arp !== undefined) out.arp = match.arp;
  if (match.port !== undefined) out.port = match.port;
  return out;
}

const PROTO_TEST: Record<NonNullable<FrameMatch['proto']>, (f: DecodedFrame) => boolean> = {
  arp: (f) => f.arp !== undefined,
  ipv4: (f) => f.ip?.version === 4,
  ipv6: (f) => f.ip?.version === 6,
  icmp: (f) => f.icmp !== undefined,
  tcp: (f) => f.tcp !== undefined,
  udp: (f) => f.udp !== undefined,
};

export function frameMatches(f: DecodedFrame, m: ResolvedMatch): boolean {
  const among = (list: string[] | undefined, value: string | undefined) => list === undefined || (value !== undefined && list.includes(value.toLowerCase()));
  if (!among(m.src, f.src) || !among(m.dst, f.dst)) return false;
  if (m.proto !== undefined && !PROTO_TEST[m.proto](f)) return false;
  if (m.arp !== undefined && f.arp?.op !== (m.arp === 'request' ? 1 : 2)) return false;
  const arpFields = m.arpSenderIp ?? m.arpTargetIp ?? m.arpSenderMac;
  if (arpFields !== undefined && !f.arp) return false;
  if (!among(m.arpSenderIp, f.arp?.senderIp) || !among(m.arpTargetIp, f.arp?.targetIp) || !among(m.arpSenderMac, f.arp?.senderMac)) return false;
  if (!among(m.ipSrc, f.ip?.src) || !among(m.ipDst, f.ip?.dst)) return false;
  if (m.port !== undefined) {
    const l4 = f.tcp ?? f.udp;
    if (!l4 || (l4.srcPort !== m.port && l4.dstPort !== m.port)) return false;
  }
  return true;
}

/** "ARP reply, arp_sender_ip 10.0.0.3, src fe:fd:0a:00:00:fe" for messages. */
export function describeMatch(match: FrameMatch): string {
  return FRAME_MATCH_KEYS.filter(([k]) => match[k] !== undefined)
    .map(([k, yaml]) => `${yaml} ${match[k]}`)
    .join(', ');
}
