// The Lab model: a lab file after schema validation, with defaults filled in.
// Plain data, no positions: rules find positions through the YAML paths the
// names imply (a VM's name is its key under `vms`, and so on).
import type { RawImpairment } from './link-conditions.ts';

export type ConsoleKind = 'log' | 'pty' | 'port';

export interface Lab {
  name: string;
  description?: string;
  /** The lab file as given to the loader (used in diagnostics). */
  file: string;
  /** Absolute path of the lab file; `image:` paths resolve relative to its directory. */
  source: string;
  /** Record pcap files (lab-wide switch; interfaces can opt out). */
  capture: boolean;
  /** Declared segments, in file order. */
  segments: Segment[];
  /** VMs, in file order. */
  vms: Vm[];
  tests: LabTest[];
  /** How `umlab web` draws it, when the lab file says (`layout:`). */
  layout?: LabLayout;
}

/** The drawing's tiers from top to bottom, each a list of device names or patterns with `*`. */
export interface LabLayout {
  tiers: string[][];
}

/** A declared segment, as every kind's model extends it (point-to-point links are not declared:
 *  they come from `connect: vm.ethN`). Each kind declares its own model type and defaults in its
 *  folder (src/kinds/<kind>/); their union is `KindSegment` of src/kinds/index.ts. */
export interface Segment {
  kind: string;
  name: string;
}

export interface Vm {
  name: string;
  /** e.g. "128M" */
  memory: string;
  kernel: KernelSettings;
  console: ConsoleKind;
  consolePort?: number;
  /** Disk image as written in the lab file (relative to the lab file's directory). */
  image?: string;
  /** Extra data disks, in ubd1, ubd2, ... order. */
  disks: DataDisk[];
  /** Host directories mounted into the VM with hostfs, in file order. */
  shares: Share[];
  /** Declared interfaces, in numeric ethN order. */
  interfaces: VmInterface[];
  /** Serial lines (`serial:`), in numeric sslN order. */
  serial: SerialLine[];
  routes: string[];
  /** sysctl name -> value, e.g. {"net.ipv4.ip_forward": "1"}. */
  sysctl: Record<string, string>;
  startup: string[];
  /** Shell commands run when the VM is stopped (`down`, `vm halt`), while it still runs. */
  shutdown: string[];
  /** VMs that must be ready before this one boots (`start_after:`, Kathará's lab.dep). */
  startAfter: string[];
  files: Record<string, string>;
  /** `ready:` conditions as written (`tcp:80`, `file:/x`, `cmd: ...`; src/topology/readiness.ts), checked after startup. */
  ready: string[];
  /** Seconds the conditions may take (`ready_timeout:`); NaN when the lab file's value is not a duration (a rule says so). */
  readyTimeout: number;
}

/** The lab's `kernel:` merged with the VM's own. */
export interface KernelSettings {
  /** As written (relative to the lab file's directory, or absolute); absent: the host's linux.uml. */
  binary?: string;
  /** Extra kernel arguments: the lab's, then the VM's. */
  args: string[];
  /** Initcalls the kernel skips (initcall_blacklist=). */
  skipInitcalls: string[];
}

/** Defaults the loader fills in, each defined here only (other layers import them, never repeat them). */
export const DEFAULT_MEMORY = '128M';
/** Seconds a port check waits for an answer before it counts the port as filtered. */
export const DEFAULT_PORT_TIMEOUT = 2;

/** "128M" -> 128; K/M/G as UML's mem= reads them. */
export function memoryMiB(memory: string): number {
  const n = Number(memory.slice(0, -1));
  return { K: n / 1024, M: n, G: n * 1024 }[memory.slice(-1) as 'K' | 'M' | 'G'];
}

/** Skipped unless a lab says otherwise: the RAID6 benchmark is ~0.9 s of a ~1.4 s boot, and
 *  no lab uses md RAID6 (a VM that did would oops). */
export const DEFAULT_SKIP_INITCALLS = ['raid6_select_algo', 'init_zswap'];

/** Kernel arguments every VM boots with, before the lab's own (which can override them).
 *  - No legacy BSD ptys (/dev/ptyp*: nothing uses them; devpts ptys stay): their 512 devices
 *    each start the kernel's hotplug helper, ~1.8 s of a 2.2 s boot on a host with slow ptrace.
 *  - No proactive compaction: kcompactd woke an idle VM twice a second to check fragmentation,
 *    two thirds of its wake-ups (a VM of 128M has no huge pages to make). */
export const DEFAULT_KERNEL_ARGS = ['pty.legacy_count=0', 'sysctl.vm.compaction_proactiveness=0'];

/** Console and serial lines a VM's command line does not give stay unconfigured ("none"), not
 *  null devices: each configured line is a tty device whose registration starts the kernel's
 *  hotplug helper; 63 consoles and 64 serial lines made ssl_init alone ~0.17 s of every boot. */
export const UNUSED_LINES_ARGS = ['con=none', 'ssl=none'];

export interface DataDisk {
  /** As written, e.g. "100M" (K, M, G or T). */
  size: string;
}

export interface Share {
  /** Absolute mount point inside the VM. */
  mountPoint: string;
  /** Host directory as written (relative to the lab file's directory, or absolute). */
  path: string;
  rw: boolean;
}

export interface VmInterface {
  name: string;
  /** Segment name or "vm.ethN"; absent when the interface waits for a point-to-point peer to link to it. */
  connect?: string;
  /** CIDRs as written (IPv4 and IPv6). */
  addresses: string[];
  dhcp: boolean;
  proxyArp: boolean;
  /** MAC as written (lowercase); derived at compile time when absent. */
  mac?: string;
  capture: boolean;
  /** `link:` as written: delay, loss, rate... both ways or per direction (link-conditions.ts reads it). */
  link?: RawImpairment;
  /** Switch port VLANs: `vlan: 10` (access) or `vlans: [10, 20]` with `native:` (trunk). */
  vlans?: PortVlans;
}

/** A VLAN-aware switch port: the VLAN its untagged frames belong to, and the VLANs it carries tagged. */
export interface PortVlans {
  untagged?: number;
  tagged: number[];
}

/** One check of the `tests:` section, run by `umlab test` (src/checks/). */
export type LabTest = ReachTest | PortTest | CommandTest | CaptureTest | StateTest | ThroughputTest | LatencyTest;

interface TestBase {
  name: string;
  /** Names of checks that must finish before this one starts (e.g. a capture check after the traffic it looks for). */
  after: string[];
  /** `within:` in seconds: retry the check until it passes or this time is up (NaN: not a duration, a rule says so). */
  within?: number;
}

/** ICMP echo from a VM to an address or VM name; optionally the reply's TTL or the routers on the way. */
export interface ReachTest extends TestBase {
  kind: 'reach';
  from: string;
  /** An IP address, a VM name (its first address) or vm.ethN (that interface's first address). */
  to: string;
  expect: 'success' | 'failure';
  /** TTL of the echo reply as it arrives at `from`. */
  ttl?: number;
  /** Routers (VM names or addresses) a traceroute passes before `to`, in order. */
  path?: string[];
}

/** A TCP or UDP port as seen from a VM: open (answered), closed (RST / ICMP unreachable) or filtered (no answer). */
export interface PortTest extends TestBase {
  kind: 'tcp' | 'udp';
  from: string;
  to: string;
  port: number;
  expect: 'open' | 'closed' | 'filtered';
  /** Seconds without an answer after which the port counts as filtered. */
  timeout: number;
}

export interface CommandTest extends TestBase {
  kind: 'command';
  vm: string;
  run: string;
  /** Expected exit code; when neither exit nor stdout is given, 0. */
  exit?: number;
  /** Regular expression the output must match. */
  stdout?: string;
}

/** Matches decoded frames; every field given must match. */
export interface FrameMatch {
  /** Source / destination MAC: a MAC, a VM (any of its interfaces) or vm.ethN. */
  src?: string;
  dst?: string;
  proto?: 'arp' | 'ipv4' | 'ipv6' | 'icmp' | 'tcp' | 'udp';
  arp?: 'request' | 'reply';
  /** ARP sender / target IPv4 address (or a VM: any of its addresses). */
  arpSenderIp?: string;
  arpTargetIp?: string;
  /** ARP sender hardware address: a MAC, VM or vm.ethN. */
  arpSenderMac?: string;
  ipSrc?: string;
  ipDst?: string;
  /** TCP or UDP port, either direction. */
  port?: number;
}

/** Each FrameMatch field and its name in a lab file's `match:`. */
export const FRAME_MATCH_KEYS: [keyof FrameMatch, string][] = [
  ['proto', 'proto'],
  ['arp', 'arp'],
  ['src', 'src'],
  ['dst', 'dst'],
  ['arpSenderIp', 'arp_sender_ip'],
  ['arpTargetIp', 'arp_target_ip'],
  ['arpSenderMac', 'arp_sender_mac'],
  ['ipSrc', 'ip_src'],
  ['ipDst', 'ip_dst'],
  ['port', 'port'],
];

export interface TrafficStep {
  vm: string;
  run: string;
}

/** An expectation on one link's capture, over the frames captured since the test run began. */
export interface CaptureTest extends TestBase {
  kind: 'capture';
  /** A link name (as `umlab capture list` shows it) or vm.ethN (the link of that interface). */
  link: string;
  /** Commands run first to make the traffic; their exit codes do not matter. */
  do: TrafficStep[];
  match: FrameMatch;
  expect: 'present' | 'absent';
}

/** Facts about one VM's state: each entry must be present. */
export interface StateTest extends TestBase {
  kind: 'state';
  vm: string;
  /** Routes as `ip route` prints them, e.g. "10.0.2.0/24 via 10.0.1.1 dev eth0"; a route matches when it starts with the entry. */
  routes: string[];
  /** CIDRs, optionally as "eth0 10.0.0.1/24". */
  addresses: string[];
  sysctl: Record<string, string>;
  /** "tcp:80", "udp:53". */
  listening: string[];
}

/** iperf3 from `from` to `to` (`reverse`: `to` sends); bounds in bit/s (NaN: not a rate, a rule says so). */
export interface ThroughputTest extends TestBase {
  kind: 'throughput';
  from: string;
  to: string;
  seconds: number;
  reverse: boolean;
  /** The iperf3 server's TCP port in `to`: 5201 + n for the lab's n-th throughput check. */
  port: number;
  min?: number;
  max?: number;
}

/** Ping round-trip times from `from` to `to`; bounds in seconds (NaN: not a duration, a rule says so). */
export interface LatencyTest extends TestBase {
  kind: 'latency';
  from: string;
  to: string;
  count: number;
  /** The smallest RTT is at least this. */
  min?: number;
  /** The average RTT is at least / at most this. */
  avgMin?: number;
  avgMax?: number;
  /** The largest RTT is at most this. */
  max?: number;
}

export const TEST_KINDS = ['reach', 'tcp', 'udp', 'command', 'capture', 'state', 'throughput', 'latency'] as const;

/** Seconds of iperf3 when a throughput check does not say; pings of a latency check. */
export const DEFAULT_THROUGHPUT_SECONDS = 3;
export const DEFAULT_LATENCY_COUNT = 5;
export const IPERF3_FIRST_PORT = 5201;

/** What a `connect:` value refers to: a segment, or another VM's interface. */
export type ConnectTarget = { segment: string } | { vm: string; iface: string };

/** Splits a `connect:` value; "h2.eth0" is a VM interface, anything without a dot a segment. */
export function parseConnect(connect: string): ConnectTarget {
  const dot = connect.indexOf('.');
  if (dot < 0) return { segment: connect };
  return { vm: connect.slice(0, dot), iface: connect.slice(dot + 1) };
}

/** eth0, eth1, ... (no leading zeros, so eth01 cannot alias eth1). */
export const INTERFACE_NAME = /^eth(0|[1-9][0-9]*)$/;

/** Numeric order of interface names: eth2 before eth10. Non-ethN names sort last, by name. */
export function compareInterfaceNames(a: string, b: string): number {
  const na = INTERFACE_NAME.test(a) ? Number(a.slice(3)) : Number.MAX_SAFE_INTEGER;
  const nb = INTERFACE_NAME.test(b) ? Number(b.slice(3)) : Number.MAX_SAFE_INTEGER;
  return na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

// ---- serial lines ------------------------------------------------------------

/** A serial line of a VM as written: `ssl1: r2.ssl1`, `ssl2: pty`, `ssl3: port:4002`, `ssl4: log`. */
export interface SerialLine {
  /** ssl0 ... ssl62 */
  name: string;
  /** As written. */
  to: string;
}

export type SerialTarget = { kind: 'log' } | { kind: 'pty' } | { kind: 'port'; port: number } | { kind: 'vm'; vm: string; line: string };

/** ssl0 ... ssl62: Debian's UML kernel has 64 serial lines; umlab's agent uses the last one, ssl63. */
export const SERIAL_LINE_NAME = /^ssl([0-9]|[1-5][0-9]|6[0-2])$/;
export const AGENT_LINE = 'ssl63';

export function parseSerialTarget(to: string): SerialTarget {
  if (to === 'log' || to === 'pty') return { kind: to };
  if (to.startsWith('port:')) return { kind: 'port', port: Number(to.slice(5)) };
  const dot = to.indexOf('.');
  return { kind: 'vm', vm: to.slice(0, dot), line: to.slice(dot + 1) };
}

/** Numeric order of line names: ssl2 before ssl10. */
export const compareLineNames = (a: string, b: string) => Number(a.replace(/^\D+/, '')) - Number(b.replace(/^\D+/, '')) || (a < b ? -1 : a > b ? 1 : 0);
