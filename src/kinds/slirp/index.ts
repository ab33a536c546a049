// Slirp gateway (`gateways:`): user-mode NAT to the host by passt, behind a switch of umlab's userspace engine.
import { MissingDependencyError } from '../../errors.ts';
import { parseCidr } from '../../topology/address.ts';
import { DEFAULT_SLIRP_NETWORK, isSlirpNetwork, passtLayout, slirpAddresses, type PortForward, type SlirpSegment } from './model.ts';
import type { KindPlan, SegmentKind } from '../types.ts';
import { ucastPorts } from '../forwarding/plan.ts';
import { forwardPorts, forwardTargets, gatewayNetworks } from './rules.ts';

export type { PortForward, SlirpSegment } from './model.ts';

export type SlirpPlan = KindPlan<
  'slirp',
  {
    network: string;
    gateway: string;
    dns: string;
    dhcpRange: { start: string; end: string };
    dhcp: boolean;
    forward: { proto: 'tcp' | 'udp'; hostPort: number; guestPort: number; vm?: string }[];
    /** passt's unix socket, in the run directory. */
    socket: string;
    /** passt's log and its keeper's state file ("running <pid>" / "exited <status>"), in the run directory. */
    log: string;
    state: string;
    passtArgs: string[];
  }
>;

/** "tcp:8080:80" or "tcp:8080:h1:80" (the schema guarantees the shape). */
function parseForward(spec: string): PortForward {
  const parts = spec.split(':');
  const [proto, hostPort] = parts;
  const guestPort = parts[parts.length - 1];
  return { proto: proto as PortForward['proto'], hostPort: Number(hostPort), guestPort: Number(guestPort), ...(parts.length === 4 && { vm: parts[2] }), spec };
}

export const slirpKind: SegmentKind<SlirpSegment, SlirpPlan> = {
  name: 'slirp',
  section: 'gateways',
  word: 'gateway',
  fromRaw(name, raw) {
    const g = raw as { network?: string; dhcp?: boolean; forward?: string[] } | null;
    return { kind: 'slirp', name, network: g?.network ?? DEFAULT_SLIRP_NETWORK, dhcp: g?.dhcp ?? true, forward: (g?.forward ?? []).map(parseForward) };
  },
  rules: [gatewayNetworks, forwardTargets, forwardPorts],
  addresses(s) {
    const network = parseCidr(s.network);
    if (!isSlirpNetwork(network)) return [];
    const { gateway, dns } = slirpAddresses(network);
    return [
      { path: [], label: `gateway ${s.name} (its router)`, address: gateway },
      { path: [], label: `gateway ${s.name} (its DNS forwarder)`, address: dns },
    ];
  },
  plan(segment, members, env) {
    const { ports, umlArgs, range } = ucastPorts(members, env);
    // Rules guarantee an IPv4 network of /27 or larger.
    const network = parseCidr(segment.network)!;
    const { gateway, dns, dhcpRange } = slirpAddresses(network);
    const { socket, log, state } = passtLayout(env.runDir, segment.name);
    const forward = segment.forward.map((f) => ({ proto: f.proto, hostPort: f.hostPort, guestPort: f.guestPort, ...(f.vm !== undefined && { vm: f.vm }) }));
    // passt hands out one address by DHCP (the first of the range) and forwards host ports to
    // the guest it last heard from; forwards listen on the host's loopback only.
    const passtArgs = [
      '--socket',
      socket,
      '--ipv4-only',
      // UML's network driver refuses passt's default DHCP MTU (65520).
      '--mtu',
      '1500',
      '--address',
      dhcpRange.start,
      '--netmask',
      String(network.prefix),
      '--gateway',
      gateway,
      '--dns',
      dns,
      '--dns-forward',
      dns,
      ...(segment.dhcp ? [] : ['--no-dhcp']),
      ...forward.flatMap((f) => [f.proto === 'tcp' ? '-t' : '-u', `127.0.0.1/${f.hostPort}:${f.guestPort}`]),
    ];
    return {
      ports,
      umlArgs,
      options: { network: segment.network, gateway, dns, dhcpRange, dhcp: segment.dhcp, forward, socket, log, state, passtArgs },
      needs: [`umlab switch engine (node:dgram) on ${range}, with a port to passt`, `passt ${passtArgs.join(' ')} (in the host's network namespace)`],
    };
  },
  engineName: 'passt',
  engine: () => import('./engine.ts'),
  hostCheck(gateways, _plan, host) {
    if (gateways.length > 0 && !host.findCommand('passt'))
      throw new MissingDependencyError('slirp gateways need passt, which is not installed', { hint: 'install it with: sudo apt-get install -y passt' });
  },
  hostSide: () => import('./host-side.ts'),
  web: {
    node: 'gateway',
    style: { shape: 'octagon', color: '#b0562f', label: 'gateway' },
    detail: ({ options }) => `slirp gateway${options.network ? ` ${String(options.network)}` : ''}`,
  },
};
