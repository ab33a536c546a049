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
import { withoutPrefix } from './address.ts';
import { captureFile as capturePath, runLayout, vmLayout } from './layout.ts';
import { allInterfaces, pointers } from './link-graph.ts';
import { assignMacs, macKey } from './mac.ts';
import {
  AGENT_LINE,
  compareInterfaceNames,
  compareLineNames,
  parseConnect,
  parseSerialTarget,
  type Lab,
  type Segment,
  type SerialTarget,
  type Vm,
  type VmInterface,
} from './model.ts';
import { interfaceKernelArg } from './plan.ts';
import { LabAllocator } from './allocator.ts';
import { readImpairment } from './link-conditions.ts';
import { IMAGE_BOOTSTRAP_INIT, IMAGE_INIT_PARAM, withInits } from './init-script.ts';
import { describeReadyCondition, parseReadyCondition, readyCommand } from './readiness.ts';
import type { DiskPlan, InterfacePlan, LabPlan, LinePlan, LinkPlan, PlanContext, ReadyCheckPlan, SegmentPlan, SharePlan, VmPlan } from './plan.ts';
import { UmlabError } from '../errors.ts';

export { IMAGE_BOOTSTRAP_INIT, IMAGE_INIT_PARAM } from './init-script.ts';

/** "100M" -> bytes (K, M, G, T are powers of 1024). */
export function sizeBytes(size: string): number {
  const power = { K: 1, M: 2, G: 3, T: 4 }[size.slice(-1) as 'K' | 'M' | 'G' | 'T'];
  return Number(size.slice(0, -1)) * 1024 ** power;
}

/** A VM's copy-on-write file over its image, in the lab's disks directory. */
export const cowFile = (disksDir: string, vm: string) => `${disksDir}/${vm}.cow`;

/** Where a lab's disks live when the context does not say: $UMLAB_HOME/disks/<lab> next to $UMLAB_HOME/labs/<lab>. */
export function defaultDisksDir(runDir: string): string {
  return posix.join(posix.dirname(posix.dirname(runDir)), 'disks', posix.basename(runDir));
}

type SegmentSpec = Segment | P2pSegment;

/** A `ready:` entry (valid: the rules checked it) as the plan holds it. */
function readyCheck(spec: string, timeoutSeconds: number): ReadyCheckPlan {
  const c = parseReadyCondition(spec);
  if ('error' in c) throw new UmlabError(c.error);
  return { condition: describeReadyCondition(c), command: readyCommand(c, timeoutSeconds) };
}

/** The vector device that stands for ethN: vecN (UML's vector driver names its devices so). */
export const vectorDevice = (iface: string) => iface.replace(/^eth/, 'vec');

/** What a VM interface is attached to. */
interface Attachment {
  segment: string;
  link: string;
  umlArg: string;
  vector: boolean;
}

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
  const iface = (e: Endpoint) => resolved.interfaces.get(e.vm)!.find((i) => i.name === e.iface)!;

  const everyEndpoint = [...resolved.interfaces].flatMap(([vm, list]) => list.map((i) => ({ vm, iface: i.name }))).sort(compareEndpoints);
  const macs = assignMacs(
    lab.name,
    everyEndpoint.map((e) => ({ vm: e.vm, iface: e.iface, addresses: iface(e).addresses, ...(iface(e).mac !== undefined && { mac: iface(e).mac }) })),
  );
  /** A member's link conditions and VLANs, and its end of the LinkPlan, from its interface. */
  const portSettings = (e: Endpoint) => {
    const i = iface(e);
    const impairment = i.link === undefined ? undefined : readImpairment(i.link).impairment;
    return { ...(impairment && { impairment }), ...(i.vlans && { vlans: i.vlans }) };
  };
  const linkEnd = (e: Endpoint) => {
    const { impairment } = portSettings(e);
    return { vm: e.vm, iface: e.iface, ...(impairment && { conditions: impairment }) };
  };
  const captureFile = (link: string, ...ends: Endpoint[]) => (lab.capture && ends.every((e) => iface(e).capture) ? capturePath(runDir, link) : null);

  const labHash = createHash('sha256').update(lab.name).digest('hex').slice(0, 4);
  const ports = new LabAllocator();
  const counters = new Map<string, number>();
  let segmentBridgeIndex = 0;
  const env: PlanEnv = {
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

  const segments: SegmentPlan[] = [];
  const links: LinkPlan[] = [];
  /** "vm.ethN" -> what the interface is attached to. */
  const attachment = new Map<string, Attachment>();
  const planOne = (spec: SegmentSpec, members: Member[], linkOf: (m: Member) => LinkPlan | undefined) => {
    const { umlArgs, vector, ...plan } = planSegment(spec, members, env);
    segments.push(plan);
    members.forEach((m, i) => {
      attachment.set(macKey(m.vm, m.iface), { segment: spec.name, link: m.link, umlArg: umlArgs[i]!, vector });
      const link = linkOf(m);
      if (link) links.push(link);
    });
  };
  for (const segment of lab.segments) {
    const members = resolved.members.get(segment.name)!.map((e): Member => {
      const link = endpointName(e);
      return { vm: e.vm, iface: e.iface, mac: macs.get(macKey(e.vm, e.iface))!, link, capture: captureFile(link, e), ...portSettings(e) };
    });
    planOne(segment, members, (m) => ({ name: m.link, segment: segment.name, endpoints: [linkEnd(m)], capture: m.capture }));
  }
  for (const { name, endpoints } of resolved.p2p) {
    // Both ports of a wire write one capture file.
    const capture = captureFile(name, ...endpoints);
    const members = endpoints.map((e): Member => ({
      vm: e.vm,
      iface: e.iface,
      mac: macs.get(macKey(e.vm, e.iface))!,
      link: name,
      capture,
      ...portSettings(e),
    }));
    planOne({ kind: p2pKind.name, name }, members, (m) => (m === members[0] ? { name, segment: name, endpoints: endpoints.map(linkEnd), capture } : undefined));
  }

  const serial = resolveSerial(lab);
  const vms = lab.vms.map((vm) => planVm(vm, resolved.interfaces.get(vm.name)!, { lab, ctx, runDir, umlDir, disksDir, macs, attachment, serial }));
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

interface VmPlanInput {
  lab: Lab;
  ctx: PlanContext;
  runDir: string;
  umlDir: string;
  disksDir: string;
  macs: Map<string, string>;
  attachment: Map<string, Attachment>;
  serial: Map<string, { name: string; target: SerialTarget }[]>;
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

/** The console (con0 on the supervisor's stdio pipes) and the serial lines (fds 5, 6, 7, ...). */
function planLines(vm: Vm, files: ReturnType<typeof vmLayout>, serial: { name: string; target: SerialTarget }[]): LinePlan[] {
  const con0: LinePlan = {
    name: 'con0',
    device: '/dev/tty0',
    to: vm.console,
    umlArg: 'fd:0,fd:1',
    fds: [0, 1],
    log: files.consoleLog,
    ...(vm.console === 'pty' && { pty: files.consolePty }),
    ...(vm.console === 'port' && vm.consolePort !== undefined && { port: vm.consolePort }),
  };
  const lines = serial.map(({ name, target }, k): LinePlan => {
    const fds: [number, number] = [5 + 2 * k, 6 + 2 * k];
    return {
      name,
      device: `/dev/ttyS${name.slice(3)}`,
      to: target.kind,
      umlArg: `fd:${fds[0]},fd:${fds[1]}`,
      fds,
      log: files.lineLog(name),
      ...(target.kind === 'pty' && { pty: files.linePty(name) }),
      ...(target.kind === 'port' && { port: target.port }),
      ...(target.kind === 'vm' && { peer: { vm: target.vm, line: target.line } }),
    };
  });
  return [con0, ...lines];
}

function planVm(vm: Vm, interfaces: VmInterface[], input: VmPlanInput): VmPlan {
  const { lab, ctx, runDir, umlDir, disksDir, macs, attachment } = input;
  const files = vmLayout(runDir, vm.name);
  const { initPath, layerDir, consoleLog, hostView } = files;
  const lines = planLines(vm, files, input.serial.get(vm.name) ?? []);
  const labDir = posix.dirname(lab.source);
  const image = vm.image === undefined ? undefined : posix.resolve(labDir, vm.image);
  // With an image the VM boots from its copy-on-write file over it instead of the read-only
  // host root; the COW lives with the lab's disks, so the VM's changes survive `down`.
  const rootCow = image === undefined ? undefined : cowFile(disksDir, vm.name);
  // hostfs= in both cases: it confines every hostfs mount (shares, the image's bootstrap) to the read-only view.
  const root =
    image === undefined ? [`hostfs=${hostView}`, 'rootfstype=hostfs', 'rootflags=/'] : [`ubd0=${rootCow},${image}`, 'root=/dev/ubda', `hostfs=${hostView}`];
  const disks = vm.disks.map((d, i): DiskPlan => ({
    ubd: `ubd${i + 1}`,
    guestDevice: `/dev/ubd${String.fromCharCode('b'.charCodeAt(0) + i)}`,
    file: `${disksDir}/${vm.name}.disk${i + 1}.img`,
    size: d.size,
    bytes: sizeBytes(d.size),
  }));
  const shares = vm.shares.map((s): SharePlan => ({ mountPoint: s.mountPoint, hostPath: posix.resolve(labDir, s.path), rw: s.rw }));
  const init = image === undefined ? [`init=${initPath}`] : [`init=${IMAGE_BOOTSTRAP_INIT}`, `${IMAGE_INIT_PARAM}=${initPath}`];
  const interfacePlans = interfaces.map((i): InterfacePlan => {
    const key = macKey(vm.name, i.name);
    const attached = attachment.get(key)!;
    const device = attached.vector ? vectorDevice(i.name) : undefined;
    return {
      name: i.name,
      mac: macs.get(key)!,
      addresses: i.addresses,
      dhcp: i.dhcp,
      proxyArp: i.proxyArp,
      link: attached.link,
      umlArg: attached.umlArg,
      ...(device !== undefined && { device }),
    };
  });
  const { binary, args: extraArgs, skipInitcalls } = vm.kernel;
  const argv = [
    binary === undefined ? ctx.kernel : posix.resolve(labDir, binary),
    `mem=${vm.memory}`,
    `umid=${vm.name}`,
    `uml_dir=${umlDir}`,
    ...root,
    ...disks.map((d) => `${d.ubd}=${d.file}`),
    'ro',
    'quiet',
    ...(skipInitcalls.length > 0 ? [`initcall_blacklist=${skipInitcalls.join(',')}`] : []),
    ...extraArgs,
    ...init,
    ...lines.filter((l) => l.name === 'con0').map((l) => `con0=${l.umlArg}`),
    'con=null',
    'ssl=null',
    ...lines.filter((l) => l.name !== 'con0').map((l) => `${l.name}=${l.umlArg}`),
    // The agent's line: the last of the kernel's 64, so ssl1... stay free for the lab.
    `${AGENT_LINE}=fd:3,fd:4`,
    ...interfacePlans.map(interfaceKernelArg),
  ];
  return {
    name: vm.name,
    umid: vm.name,
    memory: vm.memory,
    argv,
    env: { ...ctx.kernelEnv },
    hostView,
    initPath,
    init: '', // filled in by withInits, from the whole plan
    layerDir,
    consoleLog,
    lines,
    ...(image !== undefined && { image, rootCow }),
    disks,
    shares,
    interfaces: interfacePlans,
    routes: vm.routes,
    sysctl: vm.sysctl,
    files: vm.files,
    startup: vm.startup,
    shutdown: vm.shutdown,
    startAfter: vm.startAfter,
    ready: vm.ready.map((spec) => readyCheck(spec, vm.readyTimeout)),
    readyTimeout: vm.readyTimeout,
  };
}
