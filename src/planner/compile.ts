// compile(): the validated Lab -> the LabPlan the runtime executes. Pure: no fs, no
// processes; everything host-specific comes in through PlanContext. Links are resolved here;
// each segment is planned by its kind (src/kinds/), with the counters of PlanEnv below.
//
// Stable numbering, so the same lab always gives the same plan:
//   - segments: declared ones in file order, then point-to-point links sorted by name;
//   - ports of a segment: sorted by VM name, then interface number;
//   - UDP ports: the k-th ucast port of the lab (in that order) gets
//     enginePort 20000+2k and vmPort 20001+2k (each lab has its own network namespace);
//   - switches, hubs and point-to-point links: Linux bridge br<n> for the n-th of them,
//     veth pair vp<k> / vp<k>-br for the k-th port (names inside the lab's namespace);
//   - a kind's own devices: numbered lab-wide by PlanEnv.next (e.g. tap devices, src/kinds/tap/).
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { p2pKind, planSegment, type Member, type P2pSegment, type PlanEnv } from '../kinds/index.ts';
import { withoutPrefix } from '../topology/address.ts';
import { captureFile as capturePath, runLayout } from '../topology/layout.ts';
import { allInterfaces, pointers } from '../topology/link-graph.ts';
import { assignMacs, macKey } from '../topology/mac.ts';
import {
  compareInterfaceNames,
  compareLineNames,
  parseConnect,
  parseSerialTarget,
  type Lab,
  type Segment,
  type SerialTarget,
  type VmInterface,
} from '../topology/model.ts';
import { LabAllocator } from '../topology/allocator.ts';
import { readImpairment } from '../topology/link-conditions.ts';
import { withInits } from '../topology/init-script.ts';
import type { LabPlan, LinkPlan, PlanContext, SegmentPlan } from '../topology/plan.ts';
import { planVm, type Attachment } from '../topology/vm-plan.ts';

export { IMAGE_BOOTSTRAP_INIT, IMAGE_INIT_PARAM } from '../topology/init-script.ts';
// Where callers have always found them; they live with the VM's plan.
export { cowFile, sizeBytes, vectorDevice } from '../topology/vm-plan.ts';

/** Where a lab's disks live when the context does not say: $UMLAB_HOME/disks/<lab> next to $UMLAB_HOME/labs/<lab>. */
export function defaultDisksDir(runDir: string): string {
  return posix.join(posix.dirname(posix.dirname(runDir)), 'disks', posix.basename(runDir));
}

type SegmentSpec = Segment | P2pSegment;

// ---- links ---------------------------------------------------------------------

interface Endpoint {
  vm: string;
  iface: string;
}

interface ResolvedLinks {
  /** Every interface of every VM, including those point-to-point links create, in ethN order. */
  interfaces: Map<string, VmInterface[]>;
  /** Segment name -> attached interfaces (sorted by VM, then interface). */
  members: Map<string, Endpoint[]>;
  /** Point-to-point links, sorted by name; endpoints sorted by VM, then interface. */
  p2p: { name: string; endpoints: [Endpoint, Endpoint] }[];
}

const compareEndpoints = (a: Endpoint, b: Endpoint) => (a.vm < b.vm ? -1 : a.vm > b.vm ? 1 : compareInterfaceNames(a.iface, b.iface));
const endpointName = (e: Endpoint) => `${e.vm}.${e.iface}`;

/** Who is attached to what. A p2p target that is not declared is created without address;
 *  a declared one without `connect` joins the link (rules have rejected everything else). */
export function resolveLinks(lab: Lab): ResolvedLinks {
  const interfaces = new Map(lab.vms.map((vm) => [vm.name, [...vm.interfaces]]));
  const members = new Map<string, Endpoint[]>(lab.segments.map((s) => [s.name, []]));
  for (const { vm, iface } of allInterfaces(lab)) {
    if (iface.connect === undefined) continue;
    const target = parseConnect(iface.connect);
    if ('segment' in target) members.get(target.segment)?.push({ vm: vm.name, iface: iface.name });
  }
  // The same pointers the rules checked (link-graph.ts); in a valid lab that is every `connect: vm.ethN`.
  const p2p = new Map<string, [Endpoint, Endpoint]>();
  for (const p of pointers(lab)) {
    const peers = interfaces.get(p.toVm)!;
    if (!peers.some((i) => i.name === p.toIface)) {
      peers.push({ name: p.toIface, addresses: [], dhcp: false, proxyArp: false, capture: lab.capture });
      peers.sort((a, b) => compareInterfaceNames(a.name, b.name));
    }
    const ends = [
      { vm: p.from.vm.name, iface: p.from.iface.name },
      { vm: p.toVm, iface: p.toIface },
    ].sort(compareEndpoints) as [Endpoint, Endpoint];
    p2p.set(ends.map(endpointName).join('--'), ends);
  }
  for (const list of members.values()) list.sort(compareEndpoints);
  const names = [...p2p.keys()].sort();
  return { interfaces, members, p2p: names.map((name) => ({ name, endpoints: p2p.get(name)! })) };
}

// ---- compile -------------------------------------------------------------------

/** Turns a validated lab into the plan the runtime executes. */
export function compile(lab: Lab, ctx: PlanContext): LabPlan {
  const runDir = ctx.runDir.replace(/\/+$/, '') || '/';
  const { rootfs, umlDir } = runLayout(runDir);
  const disksDir = (ctx.disksDir ?? defaultDisksDir(runDir)).replace(/\/+$/, '') || '/';
  const resolved = resolveLinks(lab);
  const ends = endpointFacts(lab, resolved, runDir);
  const { segments, links, attachment } = planSegments(lab, resolved, ends, planEnv(lab.name, runDir, ctx));
  const serial = resolveSerial(lab);
  const vms = lab.vms.map((vm) => planVm(vm, resolved.interfaces.get(vm.name)!, { lab, ctx, runDir, umlDir, disksDir, macs: ends.macs, attachment, serial }));
  return withInits({
    lab: lab.name,
    ...(lab.description !== undefined && { description: lab.description }),
    ...(lab.layout && { layout: lab.layout }),
    source: lab.source,
    runDir,
    rootfs,
    umlDir,
    disksDir,
    kernelVersion: ctx.kernelVersion,
    modulesDir: ctx.modulesDir,
    rootless: ctx.rootless ?? false,
    capture: lab.capture,
    vms,
    segments,
    links,
    hosts: lab.vms.map((vm) => ({
      name: vm.name,
      addresses: [...new Set(vm.interfaces.flatMap((i) => i.addresses.map(withoutPrefix)))],
    })),
  });
}

/** What compile knows of each VM interface: its MAC, its port settings, its end of a link, its capture file. */
interface EndpointFacts {
  macs: Map<string, string>;
  /** A segment's member for this interface, on `link` with `capture`. */
  member(e: Endpoint, link: string, capture: string | null): Member;
  /** The interface's end of its LinkPlan (with its link conditions). */
  linkEnd(e: Endpoint): LinkPlan['endpoints'][number];
  /** The link's pcap file, or null when the lab or one of its ends does not capture. */
  captureFile(link: string, ...ends: Endpoint[]): string | null;
}

function endpointFacts(lab: Lab, resolved: ResolvedLinks, runDir: string): EndpointFacts {
  const iface = (e: Endpoint) => resolved.interfaces.get(e.vm)!.find((i) => i.name === e.iface)!;
  const everyEndpoint = [...resolved.interfaces].flatMap(([vm, list]) => list.map((i) => ({ vm, iface: i.name }))).sort(compareEndpoints);
  const macs = assignMacs(
    lab.name,
    everyEndpoint.map((e) => ({ vm: e.vm, iface: e.iface, addresses: iface(e).addresses, ...(iface(e).mac !== undefined && { mac: iface(e).mac }) })),
  );
  /** A member's link conditions and VLANs, from its interface. */
  const portSettings = (e: Endpoint) => {
    const i = iface(e);
    const impairment = i.link === undefined ? undefined : readImpairment(i.link).impairment;
    return { ...(impairment && { impairment }), ...(i.vlans && { vlans: i.vlans }) };
  };
  return {
    macs,
    member: (e, link, capture) => ({ vm: e.vm, iface: e.iface, mac: macs.get(macKey(e.vm, e.iface))!, link, capture, ...portSettings(e) }),
    linkEnd(e) {
      const { impairment } = portSettings(e);
      return { vm: e.vm, iface: e.iface, ...(impairment && { conditions: impairment }) };
    },
    captureFile: (link, ...ends) => (lab.capture && ends.every((e) => iface(e).capture) ? capturePath(runDir, link) : null),
  };
}

/** The lab-wide counters and names the kinds' planners share. */
function planEnv(labName: string, runDir: string, ctx: PlanContext): PlanEnv {
  const labHash = createHash('sha256').update(labName).digest('hex').slice(0, 4);
  const ports = new LabAllocator();
  const counters = new Map<string, number>();
  let segmentBridgeIndex = 0;
  return {
    runDir,
    bridgeCaptures: ctx.bridgeCaptures ?? true,
    nextUcastPorts: () => ports.nextUcastPorts(),
    nextVmPortDevice: () => ports.nextVmPortDevice(),
    nextSegmentBridge: () => `br${segmentBridgeIndex++}`,
    labHash,
    next: (counter) => {
      const n = counters.get(counter) ?? 0;
      counters.set(counter, n + 1);
      return n;
    },
  };
}

/** Every segment planned by its kind, declared ones first, then the point-to-point links; their links, and what each interface is attached to. */
function planSegments(lab: Lab, resolved: ResolvedLinks, ends: EndpointFacts, env: PlanEnv) {
  const segments: SegmentPlan[] = [];
  const links: LinkPlan[] = [];
  /** "vm.ethN" -> what the interface is attached to. */
  const attachment = new Map<string, Attachment>();
  const planOne = (spec: SegmentSpec, members: Member[], linkOf: (m: Member) => LinkPlan | undefined) => {
    const { umlArgs, vector, ...plan } = planSegment(spec, members, env);
    segments.push(plan);
    members.forEach((m, i) => {
      attachment.set(macKey(m.vm, m.iface), { segment: spec.name, link: m.link, umlArg: umlArgs[i], vector });
      const link = linkOf(m);
      if (link) links.push(link);
    });
  };
  for (const segment of lab.segments) {
    const members = resolved.members.get(segment.name)!.map((e) => {
      const link = endpointName(e);
      return ends.member(e, link, ends.captureFile(link, e));
    });
    planOne(segment, members, (m) => ({ name: m.link, segment: segment.name, endpoints: [ends.linkEnd(m)], capture: m.capture }));
  }
  for (const { name, endpoints } of resolved.p2p) {
    // Both ports of a wire write one capture file.
    const capture = ends.captureFile(name, ...endpoints);
    const members = endpoints.map((e) => ends.member(e, name, capture));
    planOne({ kind: p2pKind.name, name }, members, (m) =>
      m === members[0] ? { name, segment: name, endpoints: endpoints.map(ends.linkEnd), capture } : undefined,
    );
  }
  return { segments, links, attachment };
}

/** Every VM's serial lines, including the far ends of joined lines that their VM does not
 *  declare (rules have rejected joins that do not point back), in sslN order. */
export function resolveSerial(lab: Lab): Map<string, { name: string; target: SerialTarget }[]> {
  const lines = new Map(lab.vms.map((vm) => [vm.name, vm.serial.map((l) => ({ name: l.name, target: parseSerialTarget(l.to) }))]));
  for (const vm of lab.vms)
    for (const l of vm.serial) {
      const t = parseSerialTarget(l.to);
      if (t.kind !== 'vm') continue;
      const peer = lines.get(t.vm);
      if (peer && !peer.some((p) => p.name === t.line)) peer.push({ name: t.line, target: { kind: 'vm', vm: vm.name, line: l.name } });
    }
  for (const list of lines.values()) list.sort((a, b) => compareLineNames(a.name, b.name));
  return lines;
}
