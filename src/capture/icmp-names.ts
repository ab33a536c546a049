// The names of ICMP and ICMPv6 messages in frame summaries (decode.ts).

const ICMP4_UNREACHABLE_CODES = [
  'net unreachable',
  'host unreachable',
  'protocol unreachable',
  'port unreachable',
  'fragmentation needed',
  'source route failed',
  'net unknown',
  'host unknown',
  'source host isolated',
  'net prohibited',
  'host prohibited',
  'net unreachable for TOS',
  'host unreachable for TOS',
  'communication prohibited',
];
const ICMP6_UNREACHABLE_CODES = [
  'no route',
  'administratively prohibited',
  'beyond scope',
  'address unreachable',
  'port unreachable',
  'source address failed policy',
  'reject route',
];

/** ICMP's and ICMPv6's name for a type and code, as tcpdump words them. */
export function icmpName(version: 4 | 6, type: number, code: number): string {
  if (version === 4) {
    switch (type) {
      case 0:
        return 'echo reply';
      case 8:
        return 'echo request';
      case 3:
        return `destination unreachable (${ICMP4_UNREACHABLE_CODES[code] ?? `code ${code}`})`;
      case 5:
        return `redirect (code ${code})`;
      case 11:
        return code === 0 ? 'time exceeded (ttl)' : 'time exceeded (reassembly)';
      case 12:
        return 'parameter problem';
      default:
        return `type ${type} code ${code}`;
    }
  }
  switch (type) {
    case 1:
      return `destination unreachable (${ICMP6_UNREACHABLE_CODES[code] ?? `code ${code}`})`;
    case 2:
      return 'packet too big';
    case 3:
      return code === 0 ? 'time exceeded (hop limit)' : 'time exceeded (reassembly)';
    case 4:
      return 'parameter problem';
    case 128:
      return 'echo request';
    case 129:
      return 'echo reply';
    case 133:
      return 'router solicitation';
    case 134:
      return 'router advertisement';
    case 135:
      return 'neighbor solicitation';
    case 136:
      return 'neighbor advertisement';
    case 137:
      return 'redirect';
    case 143:
      return 'multicast listener report v2';
    default:
      return `type ${type} code ${code}`;
  }
}
