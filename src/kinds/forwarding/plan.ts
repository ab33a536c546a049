// The base of switches, hubs and wires (pure): a Linux bridge with veth ports, or the userspace engine when bridges cannot capture.
import { MissingDependencyError } from '../../errors.ts';
import { captureFile, runLayout } from '../../topology/layout.ts';
import type { LabAllocator } from '../../topology/allocator.ts';
import { describeImpairment } from '../../topology/link-conditions.ts';
import { describeVlans } from './vlan.ts';
import { linkOf, linkTable, type LabPlan, type PortPlan, type SegmentPlan } from '../../topology/plan.ts';
import type { HostProbe, KindPlan, LivePort, Member, PlanEnv, PlannedSegment } from '../types.ts';

/** Options of a switch, hub or wire plan: its Linux bridge when it runs on one. */
export type ForwardingOptions = {
  bridge?: string;
  /** Where the VM ports' socket filter is written (vectorUmlArg). */
  vectorFilter?: string;
  /** On a bridge of a lab whose bridges cannot capture (rootless): links added live stay uncaptured. */
  uncaptured?: true;
};
export type ForwardingPlan = KindPlan<string, ForwardingOptions>;

/** Whether a switch, hub or wire runs on a Linux bridge (else on the userspace engine). */
export const isBridged = (segment: SegmentPlan) => 'bridge' in segment.options;

/** The bridge's end of the veth pair whose other end a VM port uses. */
export const bridgePortOf = (device: string) => `${device}-br`;

/** What follows `vecN:` for a VM port on a veth device: UML's vector driver in raw mode
 *  (batched reads and writes, TCP segmentation offload through the virtio-net header).
 *  bpffile: the raw transport reads with one packet socket and sends with another, so it sees
 *  its own sends again; its default filter drops only those with the port's MAC, so a VM that
 *  is itself a bridge got every frame it forwarded back (a broadcast storm). */
export const vectorUmlArg = (device: string, mac: string, runDir?: string) =>
  `transport=raw,ifname=${device},mac=${mac},depth=128,gro=1${runDir === undefined ? '' : `,bpffile=${runLayout(runDir).vectorFilter}`}`;

/** The `ethN=` value of a ucast port: the VM listens on vmPort and sends to enginePort. */
export const ucastUmlArg = (p: { mac: string; vmPort?: number; enginePort?: number }) => `ucast,${p.mac},127.0.0.1,${p.vmPort},${p.enginePort}`;

/** Ports on the ucast-based userspace engine (also slirp gateways'). */
export function ucastPorts(members: Member[], env: PlanEnv): { ports: PortPlan[]; umlArgs: string[]; range: string } {
  const ports = members.map((m): PortPlan => ({
    link: m.link,
    vm: m.vm,
    iface: m.iface,
    mac: m.mac,
    ...env.nextUcastPorts(),
    ...(m.vlans && { vlans: m.vlans }),
  }));
  const numbers = ports.flatMap((p) => [p.enginePort!, p.vmPort!]);
  const range = numbers.length ? `127.0.0.1 UDP ${Math.min(...numbers)}-${Math.max(...numbers)}` : 'no ports (nothing is connected)';
  return { ports, umlArgs: ports.map(ucastUmlArg), range };
}

/** A switch, hub or wire on a Linux bridge in the lab's namespace: a veth pair per VM port. */
function bridgeSegment<O extends object>(members: Member[], env: PlanEnv, what: string, options: O): PlannedSegment<O & ForwardingOptions> {
  const bridge = env.nextSegmentBridge();
  const ports = members.map((m): PortPlan => ({ link: m.link, vm: m.vm, iface: m.iface, mac: m.mac, device: env.nextVmPortDevice() }));
  const devices = ports.map((p) => p.device!);
  const captured = new Set(members.filter((m) => m.capture !== null).map((m) => m.link)).size;
  return {
    ports,
    umlArgs: ports.map((p) => vectorUmlArg(p.device!, p.mac, env.runDir)),
    vector: true,
    // A bridge of a lab whose bridges cannot capture (rootless) says so, for links added live.
    options: { ...options, bridge, vectorFilter: runLayout(env.runDir).vectorFilter, ...(!env.bridgeCaptures && { uncaptured: true as const }) },
    needs: [
      `Linux bridge ${bridge} as ${what}, with veth pairs ${devices.map((d) => `${d}/${bridgePortOf(d)}`).join(', ') || '(none)'} (in the lab's network namespace)`,
      ...(captured > 0 ? [`tcpdump on ${captured} link(s), writing the captures`] : []),
    ],
  };
}

/** A switch, hub or wire: on a Linux bridge, or, when its captures cannot be made there, on
 *  umlab's userspace engine (see PlanContext.bridgeCaptures). */
export function forwardingSegment<O extends object>(
  members: Member[],
  env: PlanEnv,
  engine: string,
  what: string,
  options: O,
): PlannedSegment<O & ForwardingOptions> {
  // Link conditions and VLANs are umlab's engine's work (this host class's kernel has neither netem nor bridge VLAN filtering).
  const needsEngine = members.some((m) => m.impairment !== undefined || m.vlans !== undefined);
  if (!needsEngine && (env.bridgeCaptures || members.every((m) => m.capture === null))) return bridgeSegment(members, env, what, options);
  const { ports, umlArgs, range } = ucastPorts(members, env);
  const impaired = members.filter((m) => m.impairment).map((m) => `${m.vm}.${m.iface} (${describeImpairment(m.impairment!)})`);
  const vlanPorts = members.filter((m) => m.vlans).map((m) => `${m.vm}.${m.iface} (${describeVlans(m.vlans!)})`);
  return {
    ports,
    umlArgs,
    options,
    needs: [
      `umlab ${engine} engine (node:dgram) on ${range}`,
      ...(impaired.length ? [`link conditions on ${impaired.join(', ')}`] : []),
      ...(vlanPorts.length ? [`VLAN ports ${vlanPorts.join(', ')}; other ports untagged in VLAN 1`] : []),
    ],
  };
}

/** tcpdump captures the links of bridged segments; one check for all of them, naming them all. */
export function bridgeCaptureCheck(segments: SegmentPlan[], plan: LabPlan, host: HostProbe): void {
  const links = linkTable(plan.links);
  const bridged = segments.filter((s) => isBridged(s) && s.ports.some((p) => linkOf(links, p.link).capture !== null));
  if (bridged.length > 0 && !host.findCommand('tcpdump'))
    throw new MissingDependencyError(`capturing the links of ${bridged.map((s) => s.name).join(', ')} needs tcpdump, which is not installed`, {
      hint: 'install it with: sudo apt-get install -y tcpdump   (or set `capture: false` in the lab)',
    });
}

/** A new port of a running switch or hub: a veth pair on its bridge, or a UDP pair in user space,
 *  from the allocator compile() numbers with, seeded with what the running plan uses. */
export function addForwardingPort(segment: ForwardingPlan, m: Member, plan: LabPlan, ports: LabAllocator): LivePort {
  const capture = plan.capture && segment.options.uncaptured !== true ? captureFile(plan.runDir, m.link) : null;
  const base = { link: m.link, vm: m.vm, iface: m.iface, mac: m.mac };
  if (isBridged(segment)) {
    const device = ports.nextVmPortDevice();
    return { port: { ...base, device }, capture, umlArg: vectorUmlArg(device, m.mac, plan.runDir), vector: true };
  }
  const port = { ...base, ...ports.nextUcastPorts() };
  return { port, capture, umlArg: ucastUmlArg(port), vector: false };
}
