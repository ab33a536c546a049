// Tap bridge (`taps:`): a host tap device per VM interface, bridged when several; host side as in the UML HOWTO.
import { MissingDependencyError } from '../../errors.ts';
import { parseCidr } from '../../topology/address.ts';
import type { KindPlan, SegmentKind } from '../types.ts';

export interface TapSegment {
  kind: 'tap';
  name: string;
  /** CIDR of the host side, if it has an address. */
  hostIp?: string;
  proxyArp: boolean;
  ipForward: boolean;
}

/** What the tap kind's host side changed on the host, for undoing it (in the run directory). */
export const tapHostSideRecord = (runDir: string) => `${runDir}/host-side.json`;

export type TapPlan = KindPlan<
  'tap',
  {
    hostIp: string | null;
    proxyArp: boolean;
    ipForward: boolean;
    bridge: boolean;
    bridgeDevice: string | null;
    /** link name -> host tap device */
    devices: Record<string, string>;
  }
>;

export const tapKind: SegmentKind<TapSegment, TapPlan> = {
  name: 'tap',
  section: 'taps',
  word: 'tap bridge',
  fromRaw(name, raw) {
    const t = raw as { host_ip?: string; proxy_arp?: boolean; ip_forward?: boolean } | null;
    return { kind: 'tap', name, ...(t?.host_ip !== undefined && { hostIp: t.host_ip }), proxyArp: t?.proxy_arp ?? false, ipForward: t?.ip_forward ?? false };
  },
  addresses(s) {
    if (s.hostIp === undefined) return [];
    const cidr = parseCidr(s.hostIp);
    return [{ path: ['host_ip'], label: `the host side of ${s.name}`, cidr: s.hostIp, ...(cidr && { address: cidr.address }) }];
  },
  plan(segment, members, env) {
    // ul-<lab hash>-<n> for the lab's n-th tap port, ulb-<lab hash>-<n> for its n-th bridge (at most 15 characters, as Linux requires).
    const devices = members.map(() => `ul-${env.labHash}-${env.next('tap device')}`);
    const bridge = members.length > 1;
    const bridgeDevice = bridge ? `ulb-${env.labHash}-${env.next('tap bridge')}` : null;
    const hostSide = [segment.hostIp ?? 'no address', `proxy_arp ${segment.proxyArp ? 'on' : 'off'}`, `ip_forward ${segment.ipForward ? 'on' : 'off'}`].join(
      ', ',
    );
    return {
      ports: members.map((m) => ({ link: m.link, vm: m.vm, iface: m.iface, mac: m.mac })),
      umlArgs: members.map((m, i) => `tuntap,${devices[i]},${m.mac}`),
      options: {
        hostIp: segment.hostIp ?? null,
        proxyArp: segment.proxyArp,
        ipForward: segment.ipForward,
        bridge,
        bridgeDevice,
        devices: Object.fromEntries(members.map((m, i) => [m.link, devices[i]])),
      },
      needs: [
        ...devices.map((d) => `tap device ${d} (needs root or CAP_NET_ADMIN, /dev/net/tun)`),
        ...(bridgeDevice ? [`Linux bridge ${bridgeDevice} joining ${devices.join(', ')}`] : []),
        `host side of ${segment.name}: ${hostSide} (in the lab's network namespace)`,
      ],
    };
  },
  engineName: 'tap',
  engine: () => import('./engine.ts'),
  hostCheck(taps, plan, host) {
    if (taps.length === 0) return;
    if (!host.isRoot)
      throw new MissingDependencyError(
        `tap segments (${taps.map((s) => s.name).join(', ')}) need root: they create devices and a bridge in your network namespace`,
        {
          hint: 'run umlab as root, or use a switch or a slirp gateway instead of a tap',
        },
      );
    if (!host.exists('/dev/net/tun'))
      throw new MissingDependencyError('tap segments need /dev/net/tun, which this machine lacks', { hint: 'sudo modprobe tun' });
    if (plan.capture && !host.findCommand('tcpdump'))
      throw new MissingDependencyError('capturing tap links needs tcpdump', {
        hint: 'install it with: sudo apt-get install -y tcpdump   (or turn capture off for the tap links)',
      });
  },
  hostSide: () => import('./host-side.ts'),
  web: {
    node: 'tap',
    style: { shape: 'diamond', color: '#2e8b74', label: 'tap to host' },
    detail: ({ options }) => `tap to the host${options.hostIp ? `, host side ${String(options.hostIp)}` : ''}`,
  },
};
