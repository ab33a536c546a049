// The LabPlan: everything needed to run a lab, as plain data (JSON-serialisable).
// Computed by compile() (pure); applied by the runtime (I/O). `umlab compile --json`
// prints exactly this object.
import { UmlabError } from '../errors.ts';
import type { Impairment } from './link-conditions.ts';
import type { LabLayout, PortVlans } from './model.ts';

/** Where things live for one lab on this host; an input of compile(), so compile stays pure. */
export interface PlanContext {
  /** Per-lab run directory (sockets, console logs, captures, generated init scripts). */
  runDir: string;
  /** UML kernel binary. */
  kernel: string;
  /** Kernel version, names the modules directory (/usr/lib/uml/modules/<version>). */
  kernelVersion: string;
  /** Directory of UML modules for kernelVersion. */
  modulesDir: string;
  /** Environment the UML process gets, e.g. LD_PRELOAD of umlab's register fix on hosts
   *  with a large XSAVE area (src/vm/xstate-fix.ts). */
  kernelEnv?: Record<string, string>;
  /** The host kernel's delay-loop speed (`lpj=`), from the host CPU's clock: its VMs then skip
   *  calibrating it at boot. Unset: each VM calibrates. */
  loopsPerJiffy?: number;
  /** Where the lab's disks live (COW files, data disks): they outlive the run directory.
   *  Default: $UMLAB_HOME/disks/<lab>, i.e. <runDir>/../../disks/<lab>. */
  disksDir?: string;
  /** Whether tcpdump can capture on the lab's bridges (default true): it needs real root, as
   *  it will not run in a user namespace. Without it, a switch, hub or wire with a captured
   *  link runs on umlab's own userspace engine, which writes its captures itself; one
   *  without captures still runs on a Linux bridge. */
  bridgeCaptures?: boolean;
  /** Whether the lab runs without real root (in a user namespace): the VMs' init then mounts
   *  its overlay root nosuid (default false). */
  rootless?: boolean;
}

/** The k-th ucast port pair of a lab (compile's numbering) is enginePort FIRST_UDP_PORT+2k, vmPort +1. */
export const FIRST_UDP_PORT = 20000;

export interface LabPlan {
  lab: string;
  description?: string;
  /** The lab file's drawing hint for `umlab web` (`layout:`), as is. */
  layout?: LabLayout;
  /** Absolute path of the lab file it was compiled from. */
  source: string;
  runDir: string;
  /** The read-only view of the host that every VM's own view is made from (src/runtime/host-view.ts). */
  rootfs: string;
  /** `uml_dir=`: each VM's mconsole socket is <umlDir>/<umid>/mconsole. */
  umlDir: string;
  /** COW files and data disks of the lab's VMs; kept by `umlab down`, removed by `umlab clean`. */
  disksDir: string;
  /** Kernel facts from PlanContext, for the VMs' init and file layer: the UML kernel's version,
   *  its modules directory, and whether the lab runs rootless (init mounts its root nosuid). */
  kernelVersion: string;
  modulesDir: string;
  rootless: boolean;
  /** Captures written while the lab runs; false when the lab turns capture off. */
  capture: boolean;
  vms: VmPlan[];
  segments: SegmentPlan[];
  links: LinkPlan[];
  /** Every VM with its addresses, for /etc/hosts inside each VM. */
  hosts: { name: string; addresses: string[] }[];
}

export interface VmPlan {
  name: string;
  umid: string;
  /** e.g. "128M" */
  memory: string;
  /** Complete command line: argv[0] is the kernel binary. Stdio contract:
   *  fd 0/1 console (con0=fd:0,fd:1), fd 3/4 agent serial line (ssl63=fd:3,fd:4),
   *  then two fds per serial line of `lines` (sslN=fd:5,fd:6, ...). */
  argv: string[];
  /** Environment variables set for the UML process only (run as `env K=V argv...`). */
  env: Record<string, string>;
  /** The directory hostfs is confined to (`hostfs=`): the lab's view of the host plus this VM's
   *  own directory, so no VM reads another's console log, init or layer. */
  hostView: string;
  /** Generated init script (path as seen both on the host and inside the VM). */
  initPath: string;
  /** The init script's text, which the runtime writes to initPath (src/topology/init-script.ts). */
  init: string;
  /** Stage 1's settings (native/boot.c reads them; umlab_boot= on the kernel command line), for a VM on the host root. */
  bootSettings: string;
  /** The VM's file layer (`files:`, /etc/hosts...), written by the supervisor, mounted by the init with hostfs. */
  layerDir: string;
  /** Where the console output is logged. */
  consoleLog: string;
  /** The console (con0, always first) and the VM's serial lines, each with where it goes. */
  lines: LinePlan[];
  /** Root filesystem image instead of the host root (ubd0), if any. */
  image?: string;
  /** The VM's copy-on-write file over `image` (created by UML at first boot). */
  rootCow?: string;
  /** Extra data disks (ubd1, ubd2, ...). */
  disks: DiskPlan[];
  /** Host directories mounted with hostfs. */
  shares: SharePlan[];
  interfaces: InterfacePlan[];
  /** e.g. "default via 10.0.0.254", passed to `ip route add`. */
  routes: string[];
  /** sysctl name -> value, e.g. {"net.ipv4.ip_forward": "1"}. */
  sysctl: Record<string, string>;
  /** Absolute path inside the VM -> file content. */
  files: Record<string, string>;
  /** Shell commands run in order after the network is configured. */
  startup: string[];
  /** Shell commands run through the agent before the VM is halted (bounded by a timeout). */
  shutdown: string[];
  /** VMs that must be ready before this one boots. */
  startAfter: string[];
  /** What must hold, in order, before the VM counts as ready (`ready:`): polled through the agent after startup. */
  ready: ReadyCheckPlan[];
  /** Seconds the `ready` conditions may take together. */
  readyTimeout: number;
}

/** One `ready:` condition: as written (normalised, e.g. "tcp:80") and the command that exits 0 once it holds. */
export interface ReadyCheckPlan {
  condition: string;
  command: string;
}

/** A console or serial line of a VM and where the supervisor connects it (HOWTO section 5).
 *  Every line is a pair of pipes of the UML process (`fd:<in>,fd:<out>`); the supervisor
 *  logs it, relays it to the peer VM's line, to a pty (socat) or to a TCP port on the
 *  host's 127.0.0.1 (a socket bound by `umlab up` in its own namespace, handed down). */
export interface LinePlan {
  /** UML's name: con0, ssl1, ssl2, ... */
  name: string;
  /** The device inside the VM: /dev/tty0, /dev/ttyS1, ... */
  device: string;
  /** log: only logged (and `umlab console` for con0); pty; port (telnet 127.0.0.1:port); vm: joined to a peer's line. */
  to: 'log' | 'pty' | 'port' | 'vm';
  /** The value after `con0=` / `sslN=` on the kernel command line, e.g. "fd:5,fd:6". */
  umlArg: string;
  /** The UML process's fds of the line: [it reads, it writes]. */
  fds: [number, number];
  /** Where the line's output is logged (con0: the console log). */
  log: string;
  /** to: pty: a symlink to the pty, made by socat while the lab runs. */
  pty?: string;
  /** to: port: TCP port on the host's 127.0.0.1. */
  port?: number;
  /** to: vm: the line at the other end. */
  peer?: { vm: string; line: string };
}

export interface DiskPlan {
  /** UML device: ubd1, ubd2, ... */
  ubd: string;
  /** The device inside the VM: /dev/ubdb, /dev/ubdc, ... */
  guestDevice: string;
  /** Sparse file on the host. */
  file: string;
  /** As written, e.g. "100M". */
  size: string;
  bytes: number;
}

export interface SharePlan {
  /** Absolute mount point inside the VM. */
  mountPoint: string;
  /** Absolute host directory. */
  hostPath: string;
  rw: boolean;
}

export interface InterfacePlan {
  /** eth0, eth1, ... */
  name: string;
  mac: string;
  /** CIDRs, IPv4 and IPv6, e.g. ["10.0.0.1/24", "fd00::1/64"]. */
  addresses: string[];
  /** Ask for an address by DHCP (slirp gateways hand them out). */
  dhcp: boolean;
  proxyArp: boolean;
  /** Name of its LinkPlan (which says the segment and the capture). */
  link: string;
  /** The value after `ethN=` on the kernel command line, e.g. "ucast,fe:fd:0a:00:00:01,127.0.0.1,10001,10000";
   *  for a vector device, what follows `vecN:`, e.g. "transport=raw,ifname=vp0,...". */
  umlArg: string;
  /** Set for UML vector devices: the name the kernel gives the interface (vecN, N as in ethN);
   *  the VM's init renames it to `name`. */
  device?: string;
}

/** The kernel parameter that creates an interface: `eth0=ucast,...`, or `vec0:transport=raw,...`. */
export const interfaceKernelArg = (i: InterfacePlan) => (i.device === undefined ? `${i.name}=${i.umlArg}` : `${i.device}:${i.umlArg}`);

/** What mconsole's `remove` calls the interface: the kernel's device name. */
export const interfaceKernelDevice = (i: InterfacePlan) => i.device ?? i.name;

/** A segment as plain data. Its kind (src/kinds/<kind>/) types its options (KindPlan in src/kinds/types.ts). */
export interface SegmentPlan {
  name: string;
  /** A kind of the registry (src/kinds/index.ts): switch, hub, p2p, mcast, slirp, tap. */
  kind: string;
  /** Which engine of its kind runs it: switch, hub, wire, mcast, passt, tap. */
  engine: string;
  ports: PortPlan[];
  /** Kind-specific settings (mcast group/port/ttl, gateway network/forwards, tap host side...), typed by the kind. */
  options: Record<string, unknown>;
  /** Host processes or devices the segment needs, human readable, shown by `umlab compile`. */
  needs: string[];
}

/** One VM interface attached to a segment: `link` names its LinkPlan (segment, capture). For ucast-based engines the VM listens
 *  on vmPort and sends to enginePort, both UDP on 127.0.0.1 in the lab's netns. For
 *  bridge-based engines the VM's vector driver uses the veth `device` in the lab's netns,
 *  whose peer `<device>-br` is a port of the segment's Linux bridge (src/kinds/forwarding/). */
export interface PortPlan {
  link: string;
  vm: string;
  iface: string;
  mac: string;
  vmPort?: number;
  enginePort?: number;
  device?: string;
  /** A port of a VLAN-aware switch: its untagged VLAN and the VLANs it carries tagged. */
  vlans?: PortVlans;
}

/** The one record of a link: interfaces (InterfacePlan.link) and ports (PortPlan.link) point to it by name. */
export interface LinkPlan {
  /** "h1.eth0" for a VM-to-segment link; "r1.eth1--h2.eth0" for a point-to-point link. */
  name: string;
  segment: string;
  /** Each VM end, with what the link does to its frames when the lab (or `umlab link set`) says so. */
  endpoints: LinkEnd[];
  /** pcap file of this link, or null when capture is off for it. */
  capture: string | null;
}

export interface LinkEnd {
  vm: string;
  iface: string;
  /** egress: what the VM sends; ingress: what it receives (src/topology/link-conditions.ts). */
  conditions?: Impairment;
}

/** The links of a plan by name, for code that follows a port's or interface's pointer. */
export const linkTable = (links: LinkPlan[]): ReadonlyMap<string, LinkPlan> => new Map(links.map((l) => [l.name, l]));

/** The link a port or interface points to (the plan was made so that it exists). */
export function linkOf(links: ReadonlyMap<string, LinkPlan>, name: string): LinkPlan {
  const link = links.get(name);
  if (!link) throw new UmlabError(`the plan has no link ${name}`);
  return link;
}
