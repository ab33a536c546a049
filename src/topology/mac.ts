// MAC addresses of VM interfaces. Given ones are kept; the others are derived:
//   fe:fd:<first IPv4 address>        as the UML HOWTO does (fe:fd:0a:00:00:01 for 10.0.0.1)
//   fe:fc:<4 bytes of a name hash>    when there is no IPv4 address, or that MAC is taken
// fe is even (unicast) with the locally-administered bit set; fd vs fc keeps the two
// derivations from ever producing each other's values.
import { createHash } from 'node:crypto';
import { parseCidr } from './address.ts';

export interface MacRequest {
  vm: string;
  iface: string;
  /** CIDRs of the interface; the first IPv4 one names the MAC. */
  addresses: string[];
  /** MAC given in the lab file, if any. */
  mac?: string;
}

const hex = (byte: number) => byte.toString(16).padStart(2, '0');

/** fe:fd + the first IPv4 address of the interface, or null when it has none. */
export function macFromIPv4(addresses: string[]): string | null {
  for (const address of addresses) {
    const cidr = parseCidr(address);
    if (cidr?.family === 4) return ['fe', 'fd', ...cidr.bytes.map(hex)].join(':');
  }
  return null;
}

/** fe:fc + 4 bytes of sha256(lab/vm/iface[/attempt]): stable across runs and machines. */
export function macFromNames(lab: string, vm: string, iface: string, attempt = 0): string {
  const input = attempt === 0 ? `${lab}/${vm}/${iface}` : `${lab}/${vm}/${iface}/${attempt}`;
  const digest = createHash('sha256').update(input).digest();
  return ['fe', 'fc', ...[...digest.subarray(0, 4)].map(hex)].join(':');
}

/** A MAC whose first byte is odd is a multicast address (HOWTO 6.3): a NIC cannot have it. */
export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export const macKey = (vm: string, iface: string) => `${vm}.${iface}`;

/**
 * MAC of every interface, keyed "vm.ethN". Given MACs win (rules have already
 * rejected duplicates among them); derived ones go in the order of `requests`
 * and fall back to the name hash, then to further hash attempts, on collision.
 */
export function assignMacs(lab: string, requests: MacRequest[]): Map<string, string> {
  const result = new Map<string, string>();
  const taken = new Set<string>();
  for (const r of requests) {
    if (r.mac === undefined) continue;
    const mac = r.mac.toLowerCase();
    result.set(macKey(r.vm, r.iface), mac);
    taken.add(mac);
  }
  for (const r of requests) if (r.mac === undefined) result.set(macKey(r.vm, r.iface), freeMac(lab, r, taken));
  return result;
}

/** The derived MAC of one interface not in `taken` (which it joins): compile's and a live `link add`'s. */
export function freeMac(lab: string, r: MacRequest, taken: Set<string>): string {
  let mac = macFromIPv4(r.addresses);
  for (let attempt = 0; mac === null || taken.has(mac); attempt++) mac = macFromNames(lab, r.vm, r.iface, attempt);
  taken.add(mac);
  return mac;
}
