// The slirp kind's model: what a `gateways:` entry becomes, its default network, the addresses
// passt takes on it and passt's files in the run directory. Pure.
import { ipv4HostAt, ipv4Size, isNetworkAddress, type Cidr } from '../../topology/address.ts';

export const DEFAULT_SLIRP_NETWORK = '10.0.2.0/24';

export interface SlirpSegment {
  kind: 'slirp';
  name: string;
  /** IPv4 network CIDR, e.g. "10.0.2.0/24". */
  network: string;
  dhcp: boolean;
  forward: PortForward[];
}

export interface PortForward {
  proto: 'tcp' | 'udp';
  hostPort: number;
  guestPort: number;
  /** Target VM; when absent the gateway's guest gets it. */
  vm?: string;
  /** The entry as written, for messages. */
  spec: string;
}

/** A slirp gateway's network: IPv4, host bits zero, and /27 or larger so that gateway, DNS and DHCP range fit. */
export function isSlirpNetwork(cidr: Cidr | null): cidr is Cidr {
  return cidr?.family === 4 && isNetworkAddress(cidr) && cidr.prefix <= 27;
}

/** The addresses a slirp gateway (passt) takes on its network: router .2, DNS .3, DHCP from .15 to the last but one.
 *  The one place they are computed: the compiler plans them, the rules keep VMs off them. */
export function slirpAddresses(network: Cidr): { gateway: string; dns: string; dhcpRange: { start: string; end: string } } {
  return {
    gateway: ipv4HostAt(network, 2),
    dns: ipv4HostAt(network, 3),
    dhcpRange: { start: ipv4HostAt(network, 15), end: ipv4HostAt(network, ipv4Size(network) - 2) },
  };
}

/** A slirp gateway's passt: its socket, log and keeper state file. */
export const passtLayout = (runDir: string, segment: string) => ({
  socket: `${runDir}/${segment}.passt.sock`,
  log: `${runDir}/${segment}.passt.log`,
  state: `${runDir}/${segment}.passt.state`,
});
