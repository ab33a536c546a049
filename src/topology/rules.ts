// Semantic rules: what the JSON schema cannot say. Each rule is a small function
// from the schema-valid lab to its diagnostics; parseLab runs them all and reports
// every problem at once. Positions follow the convention in load.ts (value node when
// a value is wrong, key node when the entry as a whole is wrong).
import type { Diagnostic } from '../errors.ts';
import { ipv4HostAt, isNetworkAddress, parseAddress, parseCidr, parseIPv4 } from './address.ts';
import type { NodePart, PathSegment } from './load.ts';
import { isMulticastMac } from './mac.ts';
import { kernelArgs } from './rules-kernel.ts';
import { rwShareTargets } from './rules-shares.ts';
import { filePaths } from './rules-files.ts';
import { diskSizes, imagePaths, memoryMaximum } from './rules-limits.ts';
import { INTERFACE_NAME, parseConnect, parseSerialTarget, SECTION_OF_KIND, SERIAL_LINE_NAME, TEST_KINDS, type FrameMatch, type Lab, type LabTest, type Segment, type Vm, type VmInterface } from './model.ts';

export interface RuleContext {
  lab: Lab;
  /** A diagnostic located at the key or value node of `path` in the lab file. */
  diag(path: PathSegment[], part: NodePart, message: string, hint: string): Diagnostic;
  /** Line of a node, for messages that point at a second place ("... by h1.eth0 (line 12)"). */
  lineOf(path: PathSegment[], part?: NodePart): number;
  /** Whether the lab file itself has a node at `path` (as opposed to a filled-in default). */
  has(path: PathSegment[]): boolean;
}

export type Rule = (ctx: RuleContext) => Diagnostic[];

export const MIN_MEMORY_MIB = 96;

// ---- helpers ----------------------------------------------------------------

const ifacePath = (vm: string, iface: string, ...rest: PathSegment[]): PathSegment[] => ['vms', vm, 'interfaces', iface, ...rest];
/** Path of the i-th address: `ip: x` is one scalar, `ip: [x, y]` a list. */
const addressPath = (ctx: RuleContext, vm: string, iface: string, i: number): PathSegment[] =>
  ctx.has(ifacePath(vm, iface, 'ip', i)) ? ifacePath(vm, iface, 'ip', i) : ifacePath(vm, iface, 'ip');
const segmentPath = (segment: Segment, ...rest: PathSegment[]): PathSegment[] => [SECTION_OF_KIND[segment.kind], segment.name, ...rest];
const KIND_WORD: Record<Segment['kind'], string> = { switch: 'switch', hub: 'hub', mcast: 'mcast segment', tap: 'tap bridge', slirp: 'gateway' };

/** The closest candidate within a small edit distance, for "did you mean" hints. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

interface IfaceRef {
  vm: Vm;
  iface: VmInterface;
}

function* allInterfaces(lab: Lab): Generator<IfaceRef> {
  for (const vm of lab.vms) for (const iface of vm.interfaces) yield { vm, iface };
}

function findInterface(lab: Lab, vm: string, iface: string): VmInterface | undefined {
  return lab.vms.find((v) => v.name === vm)?.interfaces.find((i) => i.name === iface);
}

/** A `connect: vm.ethN` whose target is well-formed (the VM exists, ethN is a valid name, not itself). */
interface Pointer {
  from: IfaceRef;
  toVm: string;
  toIface: string;
  /** The target interface if it is declared. */
  target?: VmInterface;
}

function pointers(lab: Lab): Pointer[] {
  const out: Pointer[] = [];
  for (const from of allInterfaces(lab)) {
    if (from.iface.connect === undefined) continue;
    const t = parseConnect(from.iface.connect);
    if (!('vm' in t) || !lab.vms.some((v) => v.name === t.vm) || !INTERFACE_NAME.test(t.iface)) continue;
    if (t.vm === from.vm.name && t.iface === from.iface.name) continue;
    const target = findInterface(lab, t.vm, t.iface);
    out.push({ from, toVm: t.vm, toIface: t.iface, ...(target && { target }) });
  }
  return out;
}

const refName = (vm: string, iface: string) => `${vm}.${iface}`;

/** A p2p pointer is mutual when its target connects straight back to it. */
const isMutual = (p: Pointer) => p.target?.connect === refName(p.from.vm.name, p.from.iface.name);

/** The next unused ethN of a VM, counting interfaces that links create implicitly. */
function freeInterfaceName(lab: Lab, vm: string): string {
  const used = new Set(lab.vms.find((v) => v.name === vm)?.interfaces.map((i) => i.name));
  for (const p of pointers(lab)) if (p.toVm === vm) used.add(p.toIface);
  let n = 0;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/** "128M" -> 128; K/M/G as UML's mem= reads them. */
export function memoryMiB(memory: string): number {
  const n = Number(memory.slice(0, -1));
  return { K: n / 1024, M: n, G: n * 1024 }[memory.slice(-1) as 'K' | 'M' | 'G'];
}

// ---- rules --------------------------------------------------------------------

/** Segments and VMs share one namespace: `connect: x` must mean one thing. */
export const uniqueNames: Rule = (ctx) => {
  const entries = [
    ...ctx.lab.segments.map((s) => ({ path: segmentPath(s), name: s.name, what: `a ${KIND_WORD[s.kind]}` })),
    ...ctx.lab.vms.map((v) => ({ path: ['vms', v.name], name: v.name, what: 'a VM' })),
  ]
    .map((e) => ({ ...e, line: ctx.lineOf(e.path) }))
    .sort((a, b) => a.line - b.line);
  const first = new Map<string, (typeof entries)[number]>();
  const out: Diagnostic[] = [];
  for (const e of entries) {
    const earlier = first.get(e.name);
    if (!earlier) {
      first.set(e.name, e);
      continue;
    }
    out.push(
      ctx.diag(e.path, 'key', `name "${e.name}" is already used by ${earlier.what} (line ${earlier.line})`, 'switches, hubs, mcast, taps, gateways and VMs share one set of names: rename one of them'),
    );
  }
  return out;
};

/** UML names its interfaces ethN; other names cannot be passed as `ethN=`. */
export const interfaceNames: Rule = (ctx) =>
  [...allInterfaces(ctx.lab)]
    .filter(({ iface }) => !INTERFACE_NAME.test(iface.name))
    .map(({ vm, iface }) =>
      ctx.diag(ifacePath(vm.name, iface.name), 'key', `interface name "${iface.name}" is not ethN`, 'name interfaces eth0, eth1, eth2, ... (UML numbers them; no leading zeros)'),
    );

/** `connect:` names a declared segment or an interface `vm.ethN` of a declared VM. */
export const connectTargetsExist: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const segmentNames = ctx.lab.segments.map((s) => s.name);
  const vmNames = ctx.lab.vms.map((v) => v.name);
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.connect === undefined) continue;
    const path = ifacePath(vm.name, iface.name, 'connect');
    const target = parseConnect(iface.connect);
    if ('segment' in target) {
      if (segmentNames.includes(target.segment)) continue;
      if (vmNames.includes(target.segment)) {
        out.push(ctx.diag(path, 'value', `"${target.segment}" is a VM, not a segment`, `to link point-to-point to one of its interfaces write \`connect: ${target.segment}.eth0\``));
        continue;
      }
      const guess = didYouMean(target.segment, segmentNames);
      const known = segmentNames.length ? `segments of this lab: ${segmentNames.join(', ')}` : 'this lab declares no segments';
      out.push(
        ctx.diag(path, 'value', `no segment named "${target.segment}"`, guess ? `did you mean "${guess}"?` : `declare it under switches, hubs, mcast, taps or gateways (${known})`),
      );
    } else if (!vmNames.includes(target.vm)) {
      const guess = didYouMean(target.vm, vmNames);
      out.push(ctx.diag(path, 'value', `no VM named "${target.vm}"`, guess ? `did you mean "${guess}.${target.iface}"?` : `VMs of this lab: ${vmNames.join(', ')}`));
    } else if (!INTERFACE_NAME.test(target.iface)) {
      out.push(ctx.diag(path, 'value', `"${target.iface}" is not an interface name`, `write the peer as vm.ethN, e.g. ${target.vm}.eth0`));
    } else if (target.vm === vm.name && target.iface === iface.name) {
      out.push(ctx.diag(path, 'value', 'an interface cannot connect to itself', 'connect it to a segment or to another interface'));
    }
  }
  return out;
};

/** A point-to-point peer either points back, or is free (no connect, or not declared). */
export const p2pPeerPointsBack: Rule = (ctx) => {
  const all = pointers(ctx.lab);
  const out: Diagnostic[] = [];
  const blamedTargets = new Set<string>();
  for (const p of all) {
    const target = p.target;
    if (target?.connect === undefined || isMutual(p)) continue;
    // If the target has a mutual link with someone else, interfaceUsedOnce explains it better.
    const targetHasMutualPeer = all.some((q) => q.toVm === p.toVm && q.toIface === p.toIface && isMutual(q));
    if (targetHasMutualPeer) continue;
    const from = refName(p.from.vm.name, p.from.iface.name);
    const to = refName(p.toVm, p.toIface);
    const hint = `remove \`connect:\` from ${to} (the link from ${from} creates it), or link ${from} elsewhere`;
    out.push(ctx.diag(ifacePath(p.from.vm.name, p.from.iface.name, 'connect'), 'value', `${to} connects to "${target.connect}", not back to ${from}`, hint));
    if (!blamedTargets.has(to)) {
      blamedTargets.add(to);
      out.push(ctx.diag(ifacePath(p.toVm, p.toIface, 'connect'), 'value', `${to} connects to "${target.connect}", but ${from} links to it point-to-point`, hint));
    }
  }
  return out;
};

/** An interface joins at most one link: two p2p links cannot share an end. */
export const interfaceUsedOnce: Rule = (ctx) => {
  const byTarget = new Map<string, Pointer[]>();
  for (const p of pointers(ctx.lab)) {
    const key = refName(p.toVm, p.toIface);
    byTarget.set(key, [...(byTarget.get(key) ?? []), p]);
  }
  const out: Diagnostic[] = [];
  for (const [to, group] of byTarget) {
    const target = group[0]!.target;
    // The one link the interface keeps: the mutual one, or (for a free target) the first in the file.
    const owner = group.find(isMutual) ?? (target?.connect === undefined ? group[0] : undefined);
    if (!owner) continue; // the target connects elsewhere: p2pPeerPointsBack reports it
    const ownerName = refName(owner.from.vm.name, owner.from.iface.name);
    const ownerLine = ctx.lineOf(ifacePath(owner.from.vm.name, owner.from.iface.name, 'connect'), 'value');
    for (const p of group) {
      if (p === owner) continue;
      out.push(
        ctx.diag(
          ifacePath(p.from.vm.name, p.from.iface.name, 'connect'),
          'value',
          `${to} is already linked with ${ownerName} (line ${ownerLine})`,
          `a VM interface joins at most one link: link to another interface of ${p.toVm}, e.g. ${refName(p.toVm, freeInterfaceName(ctx.lab, p.toVm))}`,
        ),
      );
    }
  }
  return out;
};

/** An interface without `connect:` must be the far end of some point-to-point link. */
export const interfaceConnected: Rule = (ctx) => {
  const targets = new Set(pointers(ctx.lab).map((p) => refName(p.toVm, p.toIface)));
  return [...allInterfaces(ctx.lab)]
    .filter(({ vm, iface }) => iface.connect === undefined && !targets.has(refName(vm.name, iface.name)))
    .map(({ vm, iface }) =>
      ctx.diag(
        ifacePath(vm.name, iface.name),
        'key',
        `${refName(vm.name, iface.name)} is not connected to anything`,
        'add `connect: <segment>` or `connect: <vm>.ethN`, or remove the interface',
      ),
    );
};

/** Interface addresses and tap host addresses are CIDRs with a prefix length. */
export const validCidrs: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const check = (path: PathSegment[], text: string) => {
    if (parseCidr(text)) return;
    const hint = text.includes('/')
      ? 'write an IPv4 (10.0.0.1/24) or IPv6 (fd00::1/64) address with its prefix length (0-32, 0-128)'
      : `add the prefix length, e.g. ${text}/${text.includes(':') ? 64 : 24}`;
    out.push(ctx.diag(path, 'value', `"${text}" is not a valid CIDR address`, hint));
  };
  for (const { vm, iface } of allInterfaces(ctx.lab)) iface.addresses.forEach((a, i) => check(addressPath(ctx, vm.name, iface.name, i), a));
  for (const s of ctx.lab.segments) if (s.kind === 'tap' && s.hostIp !== undefined) check(segmentPath(s, 'host_ip'), s.hostIp);
  return out;
};

/** Two interfaces on one segment (or both ends of a p2p link) cannot share an address. */
export const uniqueAddressPerSegment: Rule = (ctx) => {
  interface Holder {
    label: string;
    path: PathSegment[];
    address: string;
  }
  const groups = new Map<string, Holder[]>();
  const add = (group: string, holder: Holder) => groups.set(group, [...(groups.get(group) ?? []), holder]);
  // Host-side addresses first, so the error lands on the VM interface that repeats them.
  for (const s of ctx.lab.segments) {
    if (s.kind === 'tap' && s.hostIp !== undefined) {
      const cidr = parseCidr(s.hostIp);
      if (cidr) add(s.name, { label: `the host side of ${s.name}`, path: segmentPath(s, 'host_ip'), address: cidr.address });
    }
    if (s.kind === 'slirp') {
      const network = parseCidr(s.network);
      if (network?.family === 4 && isNetworkAddress(network) && network.prefix <= 27) {
        add(s.name, { label: `gateway ${s.name} (its router)`, path: segmentPath(s), address: ipv4HostAt(network, 2) });
        add(s.name, { label: `gateway ${s.name} (its DNS forwarder)`, path: segmentPath(s), address: ipv4HostAt(network, 3) });
      }
    }
  }
  const addInterface = (group: string, vm: string, iface: VmInterface) =>
    iface.addresses.forEach((text, i) => {
      const cidr = parseCidr(text);
      if (cidr) add(group, { label: refName(vm, iface.name), path: addressPath(ctx, vm, iface.name, i), address: cidr.address });
    });
  const segmentNames = new Set(ctx.lab.segments.map((s) => s.name));
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.connect !== undefined && segmentNames.has(iface.connect)) addInterface(iface.connect, vm.name, iface);
  }
  for (const p of pointers(ctx.lab)) {
    // Only links that will exist: mutual (counted once) or to a free interface.
    if (p.target?.connect !== undefined && !isMutual(p)) continue;
    const ends = [refName(p.from.vm.name, p.from.iface.name), refName(p.toVm, p.toIface)].sort();
    const group = `p2p:${ends.join('--')}`;
    if (groups.has(group)) continue;
    addInterface(group, p.from.vm.name, p.from.iface);
    if (p.target) addInterface(group, p.toVm, p.target);
  }
  const out: Diagnostic[] = [];
  for (const [group, holders] of groups) {
    const first = new Map<string, Holder>();
    for (const h of holders) {
      const earlier = first.get(h.address);
      if (!earlier) {
        first.set(h.address, h);
        continue;
      }
      const where = group.startsWith('p2p:') ? `the link ${group.slice(4)}` : group;
      out.push(
        ctx.diag(h.path, 'value', `address ${h.address} is already used on ${where} by ${earlier.label} (line ${ctx.lineOf(earlier.path, 'value')})`, 'give every interface on a segment its own address'),
      );
    }
  }
  return out;
};

/** A NIC's MAC must be unicast: an odd first byte is a multicast address (HOWTO 6.3). */
export const macFirstByteEven: Rule = (ctx) =>
  [...allInterfaces(ctx.lab)]
    .filter(({ iface }) => iface.mac !== undefined && isMulticastMac(iface.mac))
    .map(({ vm, iface }) =>
      ctx.diag(
        ifacePath(vm.name, iface.name, 'mac'),
        'value',
        `${iface.mac} is a multicast MAC (its first byte is odd)`,
        'use an even first byte; UML labs use fe:fd:... (e.g. fe:fd:0a:00:00:01), or leave `mac:` out to derive one',
      ),
    );

/** Given MACs are unique in the lab (derived ones are made unique by the compiler). */
export const macUnique: Rule = (ctx) => {
  const first = new Map<string, { label: string; path: PathSegment[] }>();
  const out: Diagnostic[] = [];
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.mac === undefined) continue;
    const path = ifacePath(vm.name, iface.name, 'mac');
    const earlier = first.get(iface.mac);
    if (!earlier) {
      first.set(iface.mac, { label: refName(vm.name, iface.name), path });
      continue;
    }
    out.push(
      ctx.diag(path, 'value', `MAC ${iface.mac} is already used by ${earlier.label} (line ${ctx.lineOf(earlier.path, 'value')})`, 'every interface needs its own MAC: change one, or leave `mac:` out to derive one'),
    );
  }
  return out;
};

/** UML deadlocked at boot with less memory (DESIGN.md: mem=48M, "System is deadlocked on memory"). */
export const memoryMinimum: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const hint = `give it at least ${MIN_MEMORY_MIB}M; UML can deadlock at boot below that (memory a VM does not touch costs nothing)`;
  const tooSmall = (memory: string) => memoryMiB(memory) < MIN_MEMORY_MIB;
  if (ctx.has(['defaults', 'memory'])) {
    const memory = ctx.lab.vms.find((v) => !ctx.has(['vms', v.name, 'memory']))?.memory;
    if (memory !== undefined && tooSmall(memory)) out.push(ctx.diag(['defaults', 'memory'], 'value', `default memory ${memory} is below ${MIN_MEMORY_MIB}M`, hint));
  }
  for (const vm of ctx.lab.vms) {
    if (ctx.has(['vms', vm.name, 'memory']) && tooSmall(vm.memory)) out.push(ctx.diag(['vms', vm.name, 'memory'], 'value', `memory ${vm.memory} is below ${MIN_MEMORY_MIB}M`, hint));
  }
  return out;
};

/** Directories the VM's init mounts its own filesystems on: a share there would be hidden or hide them. */
export const RESERVED_MOUNT_POINTS = ['/proc', '/sys', '/dev', '/run'];

/** A share's mount point is a plain absolute path inside the VM, outside the init's own mounts. */
export const shareMountPoints: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms)
    for (const share of vm.shares) {
      const path = ['vms', vm.name, 'shares', share.mountPoint];
      const parts = share.mountPoint.split('/');
      const reserved = RESERVED_MOUNT_POINTS.find((r) => share.mountPoint === r || share.mountPoint.startsWith(r + '/'));
      if (parts.includes('.') || parts.includes('..'))
        out.push(ctx.diag(path, 'key', `mount point "${share.mountPoint}" has a "." or ".." component`, 'write the mount point as a plain absolute path, e.g. /mnt/lab'));
      else if (reserved)
        out.push(ctx.diag(path, 'key', `mount point "${share.mountPoint}" is under ${reserved}, which the VM's init mounts itself`, 'mount shares elsewhere, e.g. under /mnt'));
    }
  return out;
};

/** hostfs takes the host directory as its mount options: a comma would split it. */
export const sharePaths: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms)
    for (const share of vm.shares) {
      if (!/[,\n]/.test(share.path)) continue;
      const asObject = ctx.has(['vms', vm.name, 'shares', share.mountPoint, 'path']);
      const path = ['vms', vm.name, 'shares', share.mountPoint, ...(asObject ? ['path'] : [])];
      out.push(ctx.diag(path, 'value', `shared directory "${share.path}" has a comma or newline`, 'hostfs takes the directory as its mount option, where a comma separates options: rename the directory'));
    }
  return out;
};

/** `console: port` needs its own `console_port`; `console_port` alone does nothing. */
export const consolePorts: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<number, string>();
  for (const vm of ctx.lab.vms) {
    const portPath = ['vms', vm.name, 'console_port'];
    if (vm.console === 'port' && vm.consolePort === undefined) {
      const own = ctx.has(['vms', vm.name, 'console']);
      out.push(
        ctx.diag(own ? ['vms', vm.name, 'console'] : ['vms', vm.name], own ? 'value' : 'key', `${vm.name} has console: port but no console_port`, `add \`console_port: 4001\` (a free TCP port) to ${vm.name}`),
      );
    }
    if (vm.console !== 'port' && vm.consolePort !== undefined) {
      out.push(ctx.diag(portPath, 'key', `console_port is set but ${vm.name}'s console is "${vm.console}"`, 'add `console: port`, or remove console_port'));
    }
    if (vm.consolePort !== undefined) {
      const earlier = used.get(vm.consolePort);
      if (earlier) out.push(ctx.diag(portPath, 'value', `console port ${vm.consolePort} is already used by ${earlier}`, 'give each VM its own console port'));
      else used.set(vm.consolePort, vm.name);
    }
  }
  return out;
};

/** Serial lines (`serial:`): a joined line names an existing VM and a usable line, not itself,
 *  whose far end points back or is free and is joined once; a port is 1-65535 and used once
 *  (console ports included). */
export const serialLines: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const vmNames = ctx.lab.vms.map((v) => v.name);
  const declared = (vm: string, line: string) => ctx.lab.vms.find((v) => v.name === vm)?.serial.find((l) => l.name === line);
  /** "vm.sslN" of a free far end -> the first line joined to it. */
  const joined = new Map<string, { from: string; path: PathSegment[] }>();
  const ports = new Map<number, string>();
  for (const vm of ctx.lab.vms) if (vm.consolePort !== undefined) ports.set(vm.consolePort, `${vm.name}'s console`);
  for (const vm of ctx.lab.vms)
    for (const line of vm.serial) {
      const path: PathSegment[] = ['vms', vm.name, 'serial', line.name];
      const from = `${vm.name}.${line.name}`;
      const target = parseSerialTarget(line.to);
      if (target.kind === 'port') {
        if (target.port < 1 || target.port > 65535) {
          out.push(ctx.diag(path, 'value', `port ${target.port} of ${from} is not a TCP port`, 'use a port from 1024 to 65535, e.g. port:4002'));
          continue;
        }
        const earlier = ports.get(target.port);
        if (earlier) out.push(ctx.diag(path, 'value', `port ${target.port} is already used by ${earlier}`, 'give each console and serial line its own port'));
        else ports.set(target.port, from);
        continue;
      }
      if (target.kind !== 'vm') continue;
      const to = `${target.vm}.${target.line}`;
      if (!vmNames.includes(target.vm)) {
        const guess = didYouMean(target.vm, vmNames);
        out.push(ctx.diag(path, 'value', `no VM named "${target.vm}" for ${from}`, guess ? `did you mean "${guess}.${target.line}"?` : `VMs: ${vmNames.join(', ')}`));
        continue;
      }
      if (!SERIAL_LINE_NAME.test(target.line)) {
        out.push(ctx.diag(path, 'value', `"${target.line}" is not a serial line a lab can use`, 'use ssl0 ... ssl62 (ssl63 is umlab\'s agent line)'));
        continue;
      }
      if (target.vm === vm.name && target.line === line.name) {
        out.push(ctx.diag(path, 'value', `${from} is joined to itself`, 'join it to a line of another VM, e.g. r2.ssl1'));
        continue;
      }
      const far = declared(target.vm, target.line);
      if (far) {
        if (far.to !== from)
          out.push(ctx.diag(path, 'value', `${to} goes to "${far.to}", not back to ${from}`, `write \`${target.line}: ${from}\` in ${target.vm}, or leave ${target.line} out there (this join creates it)`));
        continue;
      }
      const earlier = joined.get(to);
      if (earlier)
        out.push(ctx.diag(path, 'value', `${to} is already joined with ${earlier.from} (line ${ctx.lineOf(earlier.path, 'value')})`, `a serial line joins one other line: use another line of ${target.vm}`));
      else joined.set(to, { from, path });
    }
  return out;
};

/** An mcast segment's group is an IPv4 multicast address, and two segments never share group and port. */
export const mcastGroups: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<string, string>();
  for (const s of ctx.lab.segments) {
    if (s.kind !== 'mcast') continue;
    const groupPath = ctx.has(segmentPath(s, 'group')) ? segmentPath(s, 'group') : segmentPath(s);
    const part: NodePart = groupPath.length === 3 ? 'value' : 'key';
    const bytes = parseIPv4(s.group);
    if (!bytes || bytes[0]! < 224 || bytes[0]! > 239) {
      out.push(ctx.diag(groupPath, part, `"${s.group}" is not an IPv4 multicast group`, 'use an address in 224.0.0.0/4; 239.192.0.0/14 is meant for local use, e.g. 239.192.0.1'));
      continue;
    }
    const key = `${s.group}:${s.port}`;
    const earlier = used.get(key);
    if (earlier) out.push(ctx.diag(groupPath, part, `${key} is already the group of ${earlier}: the two segments would be one`, 'give each mcast segment its own group or port'));
    else used.set(key, s.name);
  }
  return out;
};

/** A slirp network is an IPv4 network (host bits zero) big enough for gateway, DNS and DHCP range. */
export const gatewayNetworks: Rule = (ctx) =>
  ctx.lab.segments.flatMap((s) => {
    if (s.kind !== 'slirp') return [];
    const cidr = parseCidr(s.network);
    if (cidr?.family === 4 && isNetworkAddress(cidr) && cidr.prefix <= 27) return [];
    const path = ctx.has(segmentPath(s, 'network')) ? segmentPath(s, 'network') : segmentPath(s);
    return [ctx.diag(path, 'value', `"${s.network}" is not an IPv4 network of /27 or larger`, 'write the network address with its prefix, e.g. 10.0.2.0/24 (gateway .2, DNS .3, DHCP from .15)')];
  });

/** A forward's VM exists and has an interface on that gateway. */
export const forwardTargets: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const vmNames = ctx.lab.vms.map((v) => v.name);
  for (const s of ctx.lab.segments) {
    if (s.kind !== 'slirp') continue;
    const onGateway = ctx.lab.vms.filter((v) => v.interfaces.some((i) => i.connect === s.name)).map((v) => v.name);
    s.forward.forEach((f, i) => {
      if (f.vm === undefined) return;
      const path = segmentPath(s, 'forward', i);
      if (!vmNames.includes(f.vm)) {
        const guess = didYouMean(f.vm, vmNames);
        out.push(ctx.diag(path, 'value', `forward "${f.spec}" names no VM "${f.vm}"`, guess ? `did you mean "${guess}"?` : `VMs of this lab: ${vmNames.join(', ')}`));
      } else if (!onGateway.includes(f.vm)) {
        const on = onGateway.length ? `VMs on ${s.name}: ${onGateway.join(', ')}` : `no VM is on ${s.name} yet`;
        out.push(ctx.diag(path, 'value', `forward "${f.spec}" targets ${f.vm}, which has no interface on ${s.name}`, `connect an interface of ${f.vm} to ${s.name}, or forward to a VM on it (${on})`));
      }
    });
  }
  return out;
};

/** Forward ports are 1-65535, and a host port is forwarded once per protocol. */
export const forwardPorts: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<string, string>();
  for (const s of ctx.lab.segments) {
    if (s.kind !== 'slirp') continue;
    s.forward.forEach((f, i) => {
      const path = segmentPath(s, 'forward', i);
      const bad = [f.hostPort, f.guestPort].find((p) => p < 1 || p > 65535);
      if (bad !== undefined) {
        out.push(ctx.diag(path, 'value', `port ${bad} in forward "${f.spec}" is out of range`, 'ports are 1-65535'));
        return;
      }
      const key = `${f.proto}:${f.hostPort}`;
      const earlier = used.get(key);
      if (earlier) out.push(ctx.diag(path, 'value', `host port ${key} is already forwarded by "${earlier}"`, 'forward each host port once; pick another host port'));
      else used.set(key, f.spec);
    });
  }
  return out;
};


// ---- tests: the checks of `umlab test` ----------------------------------------

const testPath = (i: number, ...rest: PathSegment[]): PathSegment[] => ['tests', i, ...rest];
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Interface names a VM will have: declared ones and those point-to-point links create on it. */
function interfaceNamesOf(lab: Lab, vm: string): string[] {
  const names = new Set(lab.vms.find((v) => v.name === vm)?.interfaces.map((i) => i.name));
  for (const p of pointers(lab)) if (p.toVm === vm) names.add(p.toIface);
  return [...names];
}

/** Checks a reference to a VM or vm.ethN; returns a problem description or undefined. */
function badEndpoint(lab: Lab, ref: string, opts: { mac?: boolean; ip?: boolean; needsAddress?: boolean }): { message: string; hint: string } | undefined {
  if (opts.mac && MAC.test(ref)) return undefined;
  if (opts.ip && parseAddress(ref)) return undefined;
  const vmNames = lab.vms.map((v) => v.name);
  const [vmName, iface, ...more] = ref.split('.');
  const accepted = [opts.ip && 'an IP address', opts.mac && 'a MAC', 'a VM name', 'vm.ethN'].filter(Boolean).join(', ');
  if (more.length > 0 || !vmName) return { message: `"${ref}" is not ${accepted}`, hint: `write ${accepted}` };
  const vm = lab.vms.find((v) => v.name === vmName);
  if (!vm) {
    const guess = didYouMean(vmName, vmNames);
    const looksLikeIp = /^[0-9.:a-f]+$/i.test(vmName) && /[.:]/.test(ref);
    return looksLikeIp
      ? { message: `"${ref}" is not a valid address`, hint: `write ${accepted}` }
      : { message: `no VM named "${vmName}"`, hint: guess ? `did you mean "${guess}"?` : `VMs of this lab: ${vmNames.join(', ')}` };
  }
  if (iface !== undefined) {
    const names = interfaceNamesOf(lab, vm.name);
    if (!names.includes(iface)) return { message: `${vm.name} has no interface "${iface}"`, hint: `interfaces of ${vm.name}: ${names.join(', ') || 'none'}` };
    if (opts.needsAddress && !vm.interfaces.find((i) => i.name === iface)?.addresses.length)
      return { message: `${ref} has no static address to aim at`, hint: `give ${ref} an \`ip:\`, or write the address itself` };
    return undefined;
  }
  if (opts.needsAddress && !vm.interfaces.some((i) => i.addresses.length > 0))
    return { message: `${vm.name} has no static address to aim at`, hint: `give ${vm.name} an address, or write the address itself` };
  return undefined;
}

/** Every check has exactly one kind. */
export const testKindGiven: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  ctx.lab.tests.forEach((_, i) => {
    const given = TEST_KINDS.filter((k) => ctx.has(testPath(i, k)));
    if (given.length === 1) return;
    const message = given.length === 0 ? 'the check has no kind' : `the check has ${given.length} kinds (${given.join(', ')})`;
    out.push(ctx.diag(testPath(i), 'value', message, `give exactly one of ${TEST_KINDS.join(', ')}; write two checks for two things`));
  });
  return out;
};

/** Check names are unique; `after:` names other checks, without cycles. */
export const testOrder: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const tests = ctx.lab.tests;
  const firstIndex = new Map<string, number>();
  tests.forEach((t, i) => {
    const earlier = firstIndex.get(t.name);
    if (earlier === undefined) firstIndex.set(t.name, i);
    else out.push(ctx.diag(testPath(i, 'name'), 'value', `check name "${t.name}" is already used (line ${ctx.lineOf(testPath(earlier, 'name'), 'value')})`, 'give every check its own name: reports and `after:` refer to checks by name'));
  });
  tests.forEach((t, i) =>
    t.after.forEach((name, j) => {
      if (name === t.name) out.push(ctx.diag(testPath(i, 'after', j), 'value', 'a check cannot run after itself', 'remove it from `after:`'));
      else if (!firstIndex.has(name)) {
        const guess = didYouMean(name, firstIndex.keys());
        out.push(ctx.diag(testPath(i, 'after', j), 'value', `no check named "${name}"`, guess ? `did you mean "${guess}"?` : 'name a check of this lab'));
      }
    }),
  );
  // A cycle would deadlock the runner: find one by depth-first search.
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(tests.map((t) => [t.name, t]));
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const next of byName.get(name)?.after ?? []) {
      if (next === name || !byName.has(next)) continue;
      const cycle = visit(next, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const t of tests) {
    const cycle = visit(t.name, []);
    if (cycle) {
      const i = firstIndex.get(t.name)!;
      out.push(ctx.diag(testPath(i, 'after'), 'key', `checks wait for each other in a circle: ${cycle.join(' -> ')}`, 'remove one of these `after:` entries'));
      break;
    }
  }
  return out;
};

/** What a check refers to exists: VMs, targets, routers of a path, links, frame endpoints; regexes compile. */
export const testReferences: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const lab = ctx.lab;
  ctx.lab.tests.forEach((t: LabTest, i) => {
    if (!ctx.has(testPath(i, t.kind))) return; // no kind: testKindGiven reports it
    const at = (...rest: PathSegment[]) => testPath(i, t.kind, ...rest);
    const endpoint = (path: PathSegment[], ref: string, opts: Parameters<typeof badEndpoint>[2]) => {
      const bad = badEndpoint(lab, ref, opts);
      if (bad) out.push(ctx.diag(path, 'value', bad.message, bad.hint));
    };
    const vm = (path: PathSegment[], name: string) => {
      if (name.includes('.')) out.push(ctx.diag(path, 'value', `"${name}" is not a VM name`, `name the VM alone, e.g. ${name.split('.')[0]}`));
      else endpoint(path, name, {});
    };
    switch (t.kind) {
      case 'reach':
        vm(at('from'), t.from);
        endpoint(at('to'), t.to, { ip: true, needsAddress: true });
        t.path?.forEach((hop, j) => endpoint(at('path', j), hop, { ip: true }));
        break;
      case 'tcp':
      case 'udp':
        vm(at('from'), t.from);
        endpoint(at('to'), t.to, { ip: true, needsAddress: true });
        break;
      case 'command':
        vm(at('vm'), t.vm);
        if (t.stdout !== undefined) {
          try {
            new RegExp(t.stdout, 'm');
          } catch (error) {
            out.push(ctx.diag(at('stdout'), 'value', `not a valid regular expression: ${(error as Error).message}`, 'JavaScript regex syntax; escape special characters such as ( . * with a backslash'));
          }
        }
        break;
      case 'state':
        vm(at('vm'), t.vm);
        break;
      case 'capture': {
        t.do.forEach((step, j) => vm(at('do', j, 'vm'), step.vm));
        checkLink(ctx, lab, t.link, at('link'), out);
        const keys: [keyof FrameMatch, string, Parameters<typeof badEndpoint>[2]][] = [
          ['src', 'src', { mac: true }],
          ['dst', 'dst', { mac: true }],
          ['arpSenderMac', 'arp_sender_mac', { mac: true }],
          ['arpSenderIp', 'arp_sender_ip', { ip: true, needsAddress: true }],
          ['arpTargetIp', 'arp_target_ip', { ip: true, needsAddress: true }],
          ['ipSrc', 'ip_src', { ip: true, needsAddress: true }],
          ['ipDst', 'ip_dst', { ip: true, needsAddress: true }],
        ];
        for (const [key, yamlKey, opts] of keys) {
          const value = t.match[key];
          if (typeof value === 'string') endpoint(at('match', yamlKey), value, opts);
        }
        break;
      }
    }
  });
  return out;
};

/** A capture check's link: a link name or vm.ethN, on a link that is captured. */
function checkLink(ctx: RuleContext, lab: Lab, link: string, path: PathSegment[], out: Diagnostic[]): void {
  const ends = link.split('--');
  if (ends.length > 2) {
    out.push(ctx.diag(path, 'value', `"${link}" is not a link name`, 'write vm.ethN, or a link as `umlab capture list` shows it'));
    return;
  }
  for (const end of ends) {
    if (!end.includes('.')) {
      out.push(ctx.diag(path, 'value', `"${end}" is not an interface`, 'name the link by one of its VM interfaces, e.g. h1.eth0'));
      return;
    }
    const bad = badEndpoint(lab, end, {});
    if (bad) {
      out.push(ctx.diag(path, 'value', bad.message, bad.hint));
      return;
    }
  }
  const [vmName, ifName] = ends[0]!.split('.') as [string, string];
  const declared = findInterface(lab, vmName, ifName);
  const peer = pointers(lab).find((p) => p.toVm === vmName && p.toIface === ifName);
  const captured = (declared?.capture ?? lab.capture) && (peer ? peer.from.iface.capture : true);
  if (!captured) out.push(ctx.diag(path, 'value', `the link of ${ends[0]} is not captured`, 'remove `capture: false` from the lab or the interface, or check another link'));
}

/** Every rule, in the order the README's format reference documents them. */
export const RULES: Rule[] = [
  uniqueNames,
  interfaceNames,
  connectTargetsExist,
  p2pPeerPointsBack,
  interfaceUsedOnce,
  interfaceConnected,
  validCidrs,
  uniqueAddressPerSegment,
  macFirstByteEven,
  macUnique,
  memoryMinimum,
  memoryMaximum,
  diskSizes,
  imagePaths,
  filePaths,
  kernelArgs,
  consolePorts,
  serialLines,
  shareMountPoints,
  sharePaths,
  rwShareTargets,
  mcastGroups,
  gatewayNetworks,
  forwardTargets,
  forwardPorts,
  testKindGiven,
  testOrder,
  testReferences,
];
