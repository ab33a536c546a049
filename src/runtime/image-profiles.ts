// Named package profiles for `umlab image build --packages` and the shared image cache that
// Kathará/Netkit labs boot from: pure (names, package lists, cache file names), no I/O.
import { createHash } from 'node:crypto';

/** A profile name stands for the Debian packages of what labs call it (bookworm names). */
export const PACKAGE_PROFILES: Readonly<Record<string, readonly string[]>> = {
  frr: ['frr'],
  bind9: ['bind9', 'bind9-dnsutils'],
  apache2: ['apache2'],
  'isc-dhcp-server': ['isc-dhcp-server'],
  'isc-dhcp-client': ['isc-dhcp-client'],
  tcpdump: ['tcpdump'],
  iperf3: ['iperf3'],
  curl: ['curl'],
  dnsutils: ['bind9-dnsutils'],
  'net-tools': ['net-tools'],
  traceroute: ['traceroute'],
  iptables: ['iptables'],
  // Devices that are switches: brctl (switching labs) and vconfig (802.1Q interfaces the old way).
  'bridge-utils': ['bridge-utils'],
  vlan: ['vlan'],
  // IPv6 router advertisements (basic-ipv6 starts radvd).
  radvd: ['radvd'],
  tools: ['procps', 'psmisc', 'socat', 'less', 'vim-tiny', 'netcat-openbsd', 'ethtool', 'iputils-tracepath', 'arping', 'wget'],
};

/** What Kathará's own base image carries (routing daemons, DNS, web, DHCP, the usual tools):
 *  every Kathará image name that umlab can run maps to this one image, so a lab builds one. */
export const KATHARA_PROFILE = [
  'tools',
  'net-tools',
  'iptables',
  'tcpdump',
  'traceroute',
  'curl',
  'dnsutils',
  'iperf3',
  'frr',
  'bind9',
  'apache2',
  'isc-dhcp-server',
  'isc-dhcp-client',
  'bridge-utils',
  'vlan',
  'radvd',
];
export const ALL_PROFILES: Readonly<Record<string, readonly string[]>> = { ...PACKAGE_PROFILES, kathara: KATHARA_PROFILE.flatMap((p) => PACKAGE_PROFILES[p]) };

/** Expands profile names in a package list (anything else is a package name); sorted, once each. */
export function expandPackages(names: readonly string[]): string[] {
  return [...new Set(names.flatMap((n) => ALL_PROFILES[n] ?? [n]))].sort();
}

/** The Debian release cached images are built from. */
export const CACHE_SUITE = 'bookworm';

/** File name of a cached image: the profile, then a hash of suite and packages, so a changed profile builds anew. */
export function cachedImageName(profile: string, suite = CACHE_SUITE): string {
  const packages = expandPackages([profile]);
  const hash = createHash('sha256')
    .update(`${suite}\n${packages.join(' ')}`)
    .digest('hex')
    .slice(0, 10);
  return `${profile}-${suite}-${hash}.img`;
}
