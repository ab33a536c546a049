// IPv4/IPv6 address and CIDR parsing, just what lab validation and compilation need.
// Hand-written (not node:net) because we need the bytes, the prefix and a canonical form.

export interface Cidr {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: number[];
  prefix: number;
  /** Canonical address without prefix: dotted quad, or RFC 5952 IPv6; equal addresses compare equal. */
  address: string;
}

/** "10.0.0.1" -> [10,0,0,1]; null unless exactly four decimal octets without leading zeros. */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    // Leading zeros are rejected: some tools read "010" as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** "fd00::1" -> 16 bytes; accepts "::" compression and an IPv4 tail ("::ffff:1.2.3.4"). */
export function parseIPv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string): number[] | null => {
    if (half === '') return [];
    const groups: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (!v4) return null;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
        groups.push(parseInt(part, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return null;
  // An IPv4 tail is only allowed at the very end of the address.
  if (halves.length === 2 && halves[0].includes('.')) return null;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...tail];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

export function formatIPv4(bytes: number[]): string {
  return bytes.join('.');
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::" (the first of equal runs).
 *  Takes the 16 bytes at `offset`, so a packet decoder can pass its Buffer as it is. */
export function formatIPv6(bytes: ArrayLike<number>, offset = 0): string {
  const groups: number[] = [];
  for (let i = offset; i < offset + 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** Parses an address without prefix, IPv4 or IPv6. */
export function parseAddress(text: string): { family: 4 | 6; bytes: number[]; address: string } | null {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4, address: formatIPv4(v4) };
  const v6 = text.includes(':') ? parseIPv6(text) : null;
  if (v6) return { family: 6, bytes: v6, address: formatIPv6(v6) };
  return null;
}

/** "10.0.0.1/24" or "fd00::1/64"; the prefix length is required. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > address.bytes.length * 8) return null;
  return { ...address, prefix };
}

/** The address part of a CIDR as written ("10.0.0.1/24" -> "10.0.0.1"). */
export function withoutPrefix(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

/** True when all host bits (after the prefix) are zero, i.e. the CIDR names a network. */
export function isNetworkAddress(cidr: Cidr): boolean {
  return cidr.bytes.every((byte, i) => {
    const networkBits = Math.min(8, Math.max(0, cidr.prefix - i * 8));
    return (byte & (0xff >> networkBits)) === 0;
  });
}

/** The n-th address of an IPv4 network (n = 0 is the network address itself). */
export function ipv4HostAt(network: Cidr, n: number): string {
  const base = network.bytes.reduce((acc, b) => acc * 256 + b, 0);
  const value = base + n;
  return formatIPv4([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}

/** Number of addresses in an IPv4 network. */
export function ipv4Size(network: Cidr): number {
  return 2 ** (32 - network.prefix);
}
