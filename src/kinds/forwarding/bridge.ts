// Switches, hubs and point-to-point wires on the kernel's own bridge, inside the lab's network
// namespace. Each VM port is a veth pair: the VM's vector driver (`vecN:transport=raw,...`)
// reads and writes one end in batches, with TCP segmentation offload, and the other end is a
// port of the segment's Linux bridge. No umlab process sits in the data path, which is what
// makes a switched link about as fast as UML networking gets (see bench/throughput.ts).
//
//   switch: the bridge learns MACs (ageing from the lab, default 300 s);
//   hub:    ageing 0, so nothing stays learned and every frame is flooded;
//   wire:   a bridge with two ports.
// Every bridge floods multicast (no IGMP/MLD snooping) and forwards the link-local group
// addresses a bridge may forward (01:80:c2:00:00:03-0f; STP BPDUs too, as STP is off): a
// dumb switch, so labs can run STP, LLDP or 802.1X in their VMs.
//
// Capture: the lab's capture helper (capture/capture-helper.ts, one process for every link)
// reads each captured link on the VM's end of its veth, which sees both directions. The VM's end also gives the counters (/proc/net/dev of this namespace).
// Cutting a link sets the bridge's end of each of its veths down: nothing passes either way,
// and the capture (on the VM's end) still shows what the VM sent into the cut cable.
import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { LabRuntimeError } from '../../errors.ts';
import { dirname } from 'node:path';
import { KeptCapture } from '../../capture/kept-capture.ts';
import { captureHelperFor } from '../../capture/capture-helper.ts';
import { linkOf, type LinkPlan, type PortPlan, type SegmentPlan } from '../../topology/plan.ts';
import type { EngineOptions } from '../types.ts';
import { bridgePortOf } from './plan.ts';
import type { CaptureHealth, LinkCounters, RunningSegment } from '../running.ts';
import { DEFAULT_AGEING } from '../switch/model.ts';

/** The longest a bridge keeps a MAC (2^32-1 centiseconds, 497 days): the lab format's "0 never forgets". */
const NEVER_FORGET_CENTISECONDS = 4294967295;
/** A bridge that forgets at once floods every frame: a hub. */
const HUB_AGEING_CENTISECONDS = 0;
/** Group addresses 01:80:c2:00:00:0X a bridge may be told to forward (0-2 never are). */
const FORWARD_LINK_LOCAL_GROUPS = '0xfff8';

export async function startBridgeSegment(plan: SegmentPlan, options: Partial<EngineOptions> & Pick<EngineOptions, 'links'>): Promise<RunningSegment> {
  const bridge = plan.options['bridge'];
  if (typeof bridge !== 'string') throw new LabRuntimeError(`segment ${plan.name}: options.bridge (its Linux bridge) is missing`);
  for (const port of plan.ports) if (port.device === undefined) throw new LabRuntimeError(`segment ${plan.name}: link ${port.link} has no veth device`);
  const segment = new BridgeSegment(plan.name, bridge, options.log ?? (() => {}));
  const filter = plan.options['vectorFilter'];
  if (typeof filter === 'string') writeFileSync(filter, NOT_OUTGOING_BPF);
  try {
    // One `ip` for the bridge and every port, then the captures side by side.
    await ip([
      `link add ${bridge} type bridge ageing_time ${ageingCentiseconds(plan)} mcast_snooping 0 group_fwd_mask ${FORWARD_LINK_LOCAL_GROUPS}`,
      `link set ${bridge} up`,
      ...plan.ports.flatMap((port) => vethCommands(port.device!, bridge)),
    ]);
    // One capture per link, on its first port: a wire's two ports are one link. Settled, not
    // raced, so that stop() below sees every tcpdump that did start.
    const first = (port: PortPlan) => plan.ports.find((p) => p.link === port.link) === port;
    const plugged = await Promise.allSettled(plan.ports.map((port) => segment.plugIn(port, first(port) ? linkOf(options.links, port.link).capture : null)));
    for (const p of plugged) if (p.status === 'rejected') throw p.reason;
  } catch (err) {
    await segment.stop();
    throw err;
  }
  return segment;
}

function ageingCentiseconds(plan: SegmentPlan): number {
  if (plan.engine === 'hub') return HUB_AGEING_CENTISECONDS;
  const ageing = plan.options['ageing'] ?? DEFAULT_AGEING;
  if (typeof ageing !== 'number' || !(ageing >= 0))
    throw new LabRuntimeError(`segment ${plan.name}: options.ageing must be a number of seconds >= 0, got ${String(ageing)}`);
  return ageing === 0 ? NEVER_FORGET_CENTISECONDS : Math.min(Math.round(ageing * 100), NEVER_FORGET_CENTISECONDS);
}

/** Classic BPF for the VM ports' packet sockets (vectorUmlArg): `tcpdump -dd 'not outbound'`,
 *  as struct sock_filter {u16 code; u8 jt, jf; u32 k} in the host's (little-endian) order. */
const NOT_OUTGOING_BPF = Buffer.from(
  [
    [0x28, 0, 0, 0xfffff004], // load the packet type (SKF_AD_PKTTYPE)
    [0x15, 0, 1, 4], // PACKET_OUTGOING?
    [0x06, 0, 0, 0], // yes: drop
    [0x06, 0, 0, 0x40000], // no: accept
  ].flatMap(([code, jt, jf, k]) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(code, 0);
    b.writeUInt8(jt, 2);
    b.writeUInt8(jf, 3);
    b.writeUInt32LE(k, 4);
    return [...b];
  }),
);

/** A VM port: the veth pair, its bridge end on the bridge, both ends up. */
function vethCommands(device: string, bridge: string): string[] {
  const bridgeEnd = bridgePortOf(device);
  return [`link add ${device} type veth peer name ${bridgeEnd}`, `link set ${bridgeEnd} master ${bridge}`, `link set ${bridgeEnd} up`, `link set ${device} up`];
}

/** Runs `ip -batch`: one process for many changes. */
async function ip(commands: string[], force = false): Promise<void> {
  const r = await execa('ip', [...(force ? ['-force'] : []), '-batch', '-'], { input: commands.join('\n') + '\n', reject: false });
  if (r.exitCode === 0 || force) return;
  const said = String(r.stderr).trim();
  // The kernel lacks bridge or veth support (a module that cannot be loaded here).
  const unsupported = /unknown device type|not supported/i.test(said);
  throw new LabRuntimeError(`ip failed: ${said} (while doing: ${commands.join('; ')})`, {
    ...(unsupported && { hint: "switches, hubs and point-to-point links need the host kernel's bridge and veth support (as root: modprobe bridge veth)" }),
  });
}

class BridgeSegment implements RunningSegment {
  private readonly ports: PortPlan[] = [];
  private readonly captures = new Map<string, KeptCapture>();
  private readonly cutLinks = new Set<string>();
  /** What stopped captures went through, for `down`'s report after stop(). */
  private readonly stoppedHealth = new Map<string, CaptureHealth>();
  private stopping: Promise<void> | null = null;

  constructor(
    readonly name: string,
    private readonly bridge: string,
    private readonly log: (msg: string) => void,
  ) {}

  /** A new port while running: a veth pair on the bridge, then its capture. */
  async addLink(port: PortPlan, link: LinkPlan): Promise<void> {
    await ip(vethCommands(port.device!, this.bridge));
    await this.plugIn(port, link.capture);
  }

  /** Takes a port whose veth pair exists; with a `capture` file, starts capturing its link there. */
  async plugIn(port: PortPlan, capture: string | null): Promise<void> {
    this.ports.push(port);
    if (capture === null) return;
    // Watched: a killed capture is restarted and said in status (kept-capture.ts).
    const helper = captureHelperFor(dirname(capture));
    const log = (m: string) => this.log(`${this.name}: ${m}`);
    this.captures.set(port.link, await KeptCapture.start(port.device!, capture, log, (device, file) => helper.start(device, file)));
  }

  async removeLink(link: string): Promise<void> {
    const ports = this.portsOf(link);
    await this.stopCapture(link);
    this.cutLinks.delete(link);
    for (const port of ports) this.ports.splice(this.ports.indexOf(port), 1);
    // Deleting one end of a veth pair deletes both.
    await ip(ports.map((p) => `link del ${p.device}`));
  }

  counters(): LinkCounters[] {
    const stats = interfaceStats();
    const byLink = new Map<string, LinkCounters>();
    for (const port of this.ports) {
      const counters = byLink.get(port.link) ?? { link: port.link, rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0 };
      const s = stats.get(port.device!);
      if (s) {
        // What the VM sends leaves its veth end (tx there) and enters the segment (rx here).
        counters.rxFrames += s.txPackets;
        counters.rxBytes += s.txBytes;
        counters.txFrames += s.rxPackets;
        counters.txBytes += s.rxBytes;
      }
      byLink.set(port.link, counters);
    }
    return [...byLink.values()];
  }

  async setLinkUp(link: string, up: boolean): Promise<void> {
    const ports = this.portsOf(link);
    await ip(ports.map((p) => `link set ${bridgePortOf(p.device!)} ${up ? 'up' : 'down'}`));
    if (up) this.cutLinks.delete(link);
    else this.cutLinks.add(link);
    this.log(`${this.name}: link ${link} ${up ? 'up' : 'down'}`);
  }

  isLinkUp(link: string): boolean {
    this.portsOf(link);
    return !this.cutLinks.has(link);
  }

  captureHealth(link: string): CaptureHealth | null {
    return this.captures.get(link)?.captureHealth() ?? this.stoppedHealth.get(link) ?? null;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.captures.keys()].map((link) => this.stopCapture(link)));
      // The namespace takes them along anyway; deleting them keeps a reused namespace clean.
      await ip([...this.ports.map((p) => `link del ${p.device}`), `link del ${this.bridge}`], true);
    })();
    return this.stopping;
  }

  /** Like the userspace engine, says how many frames a capture misses (it fell behind). */
  private async stopCapture(link: string): Promise<void> {
    const capture = this.captures.get(link);
    if (!capture) return;
    this.captures.delete(link);
    const dropped = await capture.stop();
    const health = capture.captureHealth();
    if (health) this.stoppedHealth.set(link, health);
    if (dropped > 0) this.log(`${this.name}: ${dropped} frames missing from ${capture.file} (the capture could not keep up; the network carried them)`);
  }

  private portsOf(link: string): PortPlan[] {
    const ports = this.ports.filter((p) => p.link === link);
    if (ports.length === 0) {
      const links = [...new Set(this.ports.map((p) => p.link))];
      throw new LabRuntimeError(`segment ${this.name} has no link ${link} (links: ${links.join(', ') || 'none'})`);
    }
    return ports;
  }
}

interface InterfaceStats {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/** Per-device counters of this process's network namespace (/proc/net is per namespace;
 *  /sys/class/net is not: it shows the namespace that mounted /sys). */
function interfaceStats(): Map<string, InterfaceStats> {
  const stats = new Map<string, InterfaceStats>();
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    stats.set(m[1], { rxBytes: f[0], rxPackets: f[1], txBytes: f[8], txPackets: f[9] });
  }
  return stats;
}
