// Forwards Ethernet frames between UML VMs that use the `ucast` transport
// (`ethN=ucast,<mac>,127.0.0.1,<vmPort>,<enginePort>`): each frame is one UDP datagram.
// One UDP socket per segment port, bound to 127.0.0.1:enginePort and connected to
// 127.0.0.1:vmPort (connected: no address lookup per send, and only that VM can feed the port).
//
// Engines:
//   switch: learns source MAC -> port (with ageing), sends known unicast to one port,
//           floods broadcast, multicast and unknown destinations.
//   hub:    floods every frame.
//   wire:   two ports, each frame goes to the other one; both share one capture file.
//
// Capture: a frame is written to its ingress port's pcap and to the pcap of every port it
// leaves by, each file at most once. Everything runs on the one JS thread, in arrival order,
// so frames on a link are never reordered, unless its conditions say so (jitter, reorder).
//
// Link conditions (impairer.ts) sit between the VM and the switching: what a VM sends is
// captured and counted, then delayed/dropped/rate-limited, then switched; what it receives is
// delayed/dropped first, then captured, counted and sent. So the capture of a VM's link shows
// what the VM sent and what it received. A switch with VLAN ports switches per VLAN (vlan.ts).
//
// A link is what the runtime names and counts: usually one port, but the two ports of a
// point-to-point wire are one link ("a.eth0--b.eth0"), with one capture and one set of counters.
// Other engines (the passt gateway) add ports of their own with attachPort().

import { createSocket, type Socket } from 'node:dgram';
import { LabRuntimeError } from '../../errors.ts';
import { PcapWriter } from '../../capture/pcap-writer.ts';
import { linkOf, type LinkPlan, type PortPlan, type SegmentPlan } from '../../topology/plan.ts';
import type { EngineOptions } from '../types.ts';
import { describeImpairment, type Impairment } from '../../topology/link-conditions.ts';
import { macKey, notify, nowMicros, setConditions, type LearnedMac, type Link, type Port, type PortSettings } from './ucast-ports.ts';
import { carries, egressFrame, ingressVlan, portVlans } from './vlan.ts';
import type { CaptureHealth, FrameListener, LinkCounters, RunningSegment } from '../running.ts';
export type { PortSettings } from './ucast-ports.ts';
import { DEFAULT_AGEING } from '../switch/model.ts';

export type { FrameListener, LinkCounters, RunningSegment } from '../running.ts';

const LOOPBACK = '127.0.0.1';
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Shortest possible Ethernet header; anything shorter cannot be forwarded meaningfully. */
const ETHERNET_HEADER_BYTES = 14;

export type UcastEngine = 'switch' | 'hub' | 'wire';

export type UcastSegmentOptions = Partial<EngineOptions> & Pick<EngineOptions, 'links'>;

/** Starts a switch, hub or wire; `as` runs another kind's plan (a slirp gateway's) as that engine. */
export async function startUcastSegment(plan: SegmentPlan, options: UcastSegmentOptions, as?: UcastEngine): Promise<UcastSegment> {
  const engine = checkPlan(plan, as ?? plan.engine);
  const log = options.log ?? (() => {});
  // A switch with a port in a VLAN is VLAN-aware: every port then belongs to VLANs (vlan.ts).
  const vlanAware = engine === 'switch' && plan.ports.some((p) => p.vlans !== undefined);
  const segment = new UcastSegment(plan.name, engine, ageingSeconds(plan), log, vlanAware);
  try {
    for (const portPlan of plan.ports) await segment.addPort(portPlan, linkOf(options.links, portPlan.link));
  } catch (err) {
    await segment.stop();
    throw err;
  }
  log(`${plan.name}: ${engine} running with ${plan.ports.length} ports`);
  return segment;
}

function checkPlan(plan: SegmentPlan, engine: SegmentPlan['engine']): UcastEngine {
  if (engine !== 'switch' && engine !== 'hub' && engine !== 'wire') {
    throw new LabRuntimeError(`segment ${plan.name}: engine '${engine}' is not a ucast engine (supported: switch, hub, wire)`);
  }
  if (engine === 'wire' && plan.ports.length !== 2) {
    throw new LabRuntimeError(`segment ${plan.name}: a wire joins exactly 2 ports, got ${plan.ports.length}`);
  }
  const links = new Set<string>();
  for (const port of plan.ports) {
    if (port.vmPort === undefined || port.enginePort === undefined) {
      throw new LabRuntimeError(`segment ${plan.name}: link ${port.link} has no vmPort/enginePort`);
    }
    // The two ports of a wire are one link; elsewhere a link names one port.
    if (links.has(port.link) && engine !== 'wire') throw new LabRuntimeError(`segment ${plan.name}: link ${port.link} appears twice`);
    links.add(port.link);
  }
  return engine;
}

function ageingSeconds(plan: SegmentPlan): number {
  const ageing = plan.options['ageing'];
  if (ageing === undefined) return DEFAULT_AGEING;
  if (typeof ageing !== 'number' || !(ageing >= 0)) {
    throw new LabRuntimeError(`segment ${plan.name}: options.ageing must be a number of seconds >= 0, got ${String(ageing)}`);
  }
  return ageing;
}

export class UcastSegment implements RunningSegment {
  private readonly ports: Port[] = [];
  private readonly links = new Map<string, Link>();
  /** Capture files by path, so the two ports of a wire share one writer. */
  private readonly writers = new Map<string, PcapWriter>();
  private readonly macTable = new Map<number, LearnedMac>();
  /** A VLAN-aware switch learns per VLAN. */
  private readonly vlanTables = new Map<number, Map<number, LearnedMac>>();
  private readonly ageingMicros: number;
  private lastSweepMicros = 0;
  private stopping: Promise<void> | null = null;

  constructor(
    readonly name: string,
    private readonly engine: UcastEngine,
    ageingSeconds: number,
    private readonly log: (msg: string) => void,
    private readonly vlanAware = false,
  ) {
    // 0 means never forget (the lab format's promise).
    this.ageingMicros = ageingSeconds === 0 ? Infinity : ageingSeconds * 1_000_000;
  }

  async addPort(plan: PortPlan, link: LinkPlan): Promise<void> {
    const socket = createSocket({ type: 'udp4' });
    await bindAndConnect(socket, plan.enginePort!, plan.vmPort!).catch((err: Error) => {
      socket.close();
      throw new LabRuntimeError(`segment ${this.name}: link ${plan.link}: cannot use UDP port ${plan.enginePort}: ${err.message}`, { cause: err });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A VM that is not listening (still booting, crashed) makes a connected socket report
      // ECONNREFUSED; that is normal lab life, not an engine problem.
      if (err.code !== 'ECONNREFUSED') this.log(`${this.name}: link ${plan.link}: ${err.message}`);
    });
    try {
      socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    } catch (err) {
      this.log(`${this.name}: link ${plan.link}: could not enlarge socket buffers: ${(err as Error).message}`);
    }
    const end = link.endpoints.find((e) => e.vm === plan.vm && e.iface === plan.iface);
    const settings: PortSettings = {
      end: { vm: plan.vm, iface: plan.iface },
      ...(plan.vlans && { vlans: plan.vlans }),
      ...(end?.conditions && { conditions: end.conditions }),
    };
    const receive = this.attachPort(
      plan.link,
      link.capture,
      { send: (frame) => socket.send(frame), close: () => new Promise<void>((resolve) => socket.close(() => resolve())) },
      settings,
    );
    socket.on('message', receive);
  }

  /** Adds a port whose frames come and go some other way; returns the function to call with
   *  each frame that arrives from behind the port. */
  attachPort(
    linkName: string,
    capture: string | null,
    io: { send: (frame: Buffer) => void; close: () => Promise<void> },
    settings: PortSettings = {},
  ): (frame: Buffer) => void {
    let link = this.links.get(linkName);
    if (link === undefined) {
      link = {
        name: linkName,
        capture: capture === null ? null : this.writerFor(capture),
        counters: { link: linkName, rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0 },
        up: true,
        listeners: [],
      };
      this.links.set(linkName, link);
    }
    const port: Port = {
      link,
      ...(settings.end && { end: settings.end }),
      vlans: this.vlanAware ? portVlans(settings.vlans) : null,
      fromVm: null,
      toVm: null,
      send: io.send,
      close: io.close,
    };
    setConditions(port, settings.conditions ?? null);
    this.ports.push(port);
    return (frame) => this.receive(port, frame);
  }

  private writerFor(path: string): PcapWriter {
    let writer = this.writers.get(path);
    if (writer === undefined) {
      writer = PcapWriter.open(path, { onError: (err) => this.log(`${this.name}: ${err.message}`) });
      this.writers.set(path, writer);
    }
    return writer;
  }

  // The hot path: keep it free of allocations and of anything not needed for forwarding.
  private receive(ingress: Port, frame: Buffer): void {
    const link = ingress.link;
    if (!link.up || frame.length < ETHERNET_HEADER_BYTES) return;
    const ts = nowMicros();
    link.counters.rxFrames++;
    link.counters.rxBytes += frame.length;
    if (link.capture !== null) link.capture.writeFrame(frame, ts);
    if (link.listeners.length !== 0) notify(link, frame, ts, this.log);
    // The capture above is what the VM sent; the link's conditions apply after it.
    if (ingress.fromVm !== null) ingress.fromVm.push(frame, (f) => ingress.link.up && this.forward(ingress, f, nowMicros()));
    else this.forward(ingress, frame, ts);
  }

  private forward(ingress: Port, frame: Buffer, ts: number): void {
    if (this.vlanAware) this.vlanSwitch(ingress, frame, ts);
    else if (this.engine === 'switch') this.switchFrame(ingress, frame, ts);
    else this.flood(ingress, frame, ts); // a hub floods; a wire's only other port is its flood
  }

  /** A VLAN-aware switch: learns per VLAN, sends only to ports of the frame's VLAN, tagged as each port wants. */
  private vlanSwitch(ingress: Port, frame: Buffer, ts: number): void {
    const vid = ingressVlan(frame, ingress.vlans!);
    if (vid === null) return;
    let table = this.vlanTables.get(vid);
    if (table === undefined) this.vlanTables.set(vid, (table = new Map()));
    if ((frame[6] & 1) === 0) this.learn(macKey(frame, 6), ingress, ts, table);
    const learned = (frame[0] & 1) === 0 ? table.get(macKey(frame, 0)) : undefined;
    const known = learned !== undefined && ts - learned.lastSeenMicros < this.ageingMicros && carries(learned.port.vlans!, vid);
    if (known && learned.port === ingress) return;
    for (const egress of known ? [learned.port] : this.ports)
      if (egress !== ingress && carries(egress.vlans!, vid)) this.transmit(egress, ingress, egressFrame(frame, egress.vlans!, vid), ts);
  }

  private switchFrame(ingress: Port, frame: Buffer, ts: number): void {
    // Group (broadcast/multicast) addresses have the low bit of the first byte set.
    const sourceIsGroup = (frame[6] & 1) === 1;
    if (!sourceIsGroup) this.learn(macKey(frame, 6), ingress, ts);
    if ((frame[0] & 1) === 1) {
      this.flood(ingress, frame, ts);
      return;
    }
    const learned = this.macTable.get(macKey(frame, 0));
    if (learned === undefined || ts - learned.lastSeenMicros >= this.ageingMicros) {
      this.flood(ingress, frame, ts);
    } else if (learned.port !== ingress) {
      this.transmit(learned.port, ingress, frame, ts);
    }
    // else: the destination sits behind the ingress port, so the frame has already arrived.
  }

  private learn(key: number, port: Port, ts: number, table = this.macTable): void {
    const learned = table.get(key);
    if (learned === undefined) table.set(key, { port, lastSeenMicros: ts });
    else {
      learned.port = port; // re-learned when a MAC moves to another port
      learned.lastSeenMicros = ts;
    }
    if (ts - this.lastSweepMicros > this.ageingMicros) this.sweepAgedEntries(ts);
  }

  /** Forgets aged MACs, at most once per ageing period, so the table cannot grow forever. */
  private sweepAgedEntries(ts: number): void {
    this.lastSweepMicros = ts;
    for (const table of [this.macTable, ...this.vlanTables.values()])
      for (const [key, learned] of table) if (ts - learned.lastSeenMicros >= this.ageingMicros) table.delete(key);
  }

  /** Forgets what was learned on a link (cut or taken away), so traffic floods until re-learned. */
  private forget(link: Link): void {
    for (const table of [this.macTable, ...this.vlanTables.values()]) for (const [key, learned] of table) if (learned.port.link === link) table.delete(key);
  }

  private flood(ingress: Port, frame: Buffer, ts: number): void {
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) {
      const egress = ports[i];
      if (egress !== ingress) this.transmit(egress, ingress, frame, ts);
    }
  }

  private transmit(egress: Port, ingress: Port, frame: Buffer, ts: number): void {
    if (!egress.link.up) return;
    // The capture shows what the VM received: after the link's conditions.
    if (egress.toVm !== null) egress.toVm.push(frame, (f) => egress.link.up && this.deliver(egress, ingress, f, nowMicros()));
    else this.deliver(egress, ingress, frame, ts);
  }

  private deliver(egress: Port, ingress: Port, frame: Buffer, ts: number): void {
    const link = egress.link;
    egress.send(frame);
    link.counters.txFrames++;
    link.counters.txBytes += frame.length;
    // A wire's two ports are one link (or at least share one file): the frame is already in it.
    if (link === ingress.link) return;
    if (link.capture !== null && link.capture !== ingress.link.capture) link.capture.writeFrame(frame, ts);
    if (link.listeners.length !== 0) notify(link, frame, ts, this.log);
  }

  addLink(port: PortPlan, link: LinkPlan): Promise<void> {
    return this.addPort(port, link);
  }

  /** New link conditions for one VM end of a link (null: none), from the next frame on. */
  setConditions(name: string, end: { vm: string; iface: string }, conditions: Impairment | null): void {
    const port = this.ports.find((p) => p.link.name === name && p.end?.vm === end.vm && p.end.iface === end.iface);
    if (!port) throw new LabRuntimeError(`segment ${this.name} has no port ${end.vm}.${end.iface} on link ${name}`);
    setConditions(port, conditions);
    this.log(`${this.name}: ${end.vm}.${end.iface}: ${conditions ? describeImpairment(conditions) || 'no conditions' : 'no conditions'}`);
  }

  async removeLink(name: string): Promise<void> {
    const link = this.linkOf(name);
    const ports = this.ports.filter((p) => p.link === link);
    for (const port of ports) {
      this.ports.splice(this.ports.indexOf(port), 1);
      port.fromVm?.close();
      port.toVm?.close();
    }
    this.forget(link);
    this.links.delete(name);
    link.listeners = [];
    await Promise.all(ports.map((p) => p.close()));
    // Close the capture unless another link still writes to the same file.
    const writer = link.capture;
    if (writer !== null && ![...this.links.values()].some((l) => l.capture === writer)) {
      this.writers.delete(writer.path);
      await writer.close();
    }
  }

  counters(): LinkCounters[] {
    return [...this.links.values()].map((link) => ({ ...link.counters }));
  }

  setLinkUp(name: string, up: boolean): void {
    const link = this.linkOf(name);
    if (link.up === up) return;
    link.up = up;
    if (!up) {
      // Like a real switch on link loss: forget what was learned there, so traffic floods until re-learned.
      this.forget(link);
    }
    this.log(`${this.name}: link ${name} ${up ? 'up' : 'down'}`);
  }

  isLinkUp(name: string): boolean {
    return this.linkOf(name).up;
  }

  /** A capture whose writer failed (a full disk): the link keeps forwarding, the file ends in a whole record. */
  captureHealth(name: string): CaptureHealth | null {
    const writer = this.links.get(name)?.capture;
    const reason = writer?.failedBecause ?? null;
    return reason === null ? null : { state: 'failed', reason, restarts: 0, earlierParts: [], missingFrames: writer!.droppedFrames };
  }

  onFrame(name: string, cb: FrameListener): () => void {
    const link = this.linkOf(name);
    link.listeners = [...link.listeners, cb];
    return () => {
      link.listeners = link.listeners.filter((listener) => listener !== cb);
    };
  }

  stop(): Promise<void> {
    this.stopping ??= this.closeEverything();
    return this.stopping;
  }

  private async closeEverything(): Promise<void> {
    for (const port of this.ports) {
      port.fromVm?.close();
      port.toVm?.close();
    }
    await Promise.all(this.ports.map((port) => port.close()));
    for (const link of this.links.values()) link.listeners = [];
    await Promise.all([...this.writers.values()].map((writer) => writer.close()));
    for (const writer of this.writers.values()) {
      if (writer.droppedFrames > 0) this.log(`${this.name}: ${writer.droppedFrames} frames missing from ${writer.path}`);
    }
  }

  private linkOf(name: string): Link {
    const link = this.links.get(name);
    if (link === undefined) {
      throw new LabRuntimeError(`segment ${this.name} has no link ${name} (links: ${[...this.links.keys()].join(', ')})`);
    }
    return link;
  }
}

function bindAndConnect(socket: Socket, enginePort: number, vmPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(enginePort, LOOPBACK, () => {
      socket.connect(vmPort, LOOPBACK, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  });
}
