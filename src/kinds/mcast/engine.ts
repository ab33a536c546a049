// Multicast segments (`ethN=mcast,<mac>,<group>,<port>,<ttl>`): the VMs talk to each other
// directly through a UDP multicast group, so no engine sits in the data path. UML sends the
// group's datagrams with multicast loopback on; in the lab's network namespace the supervisor
// routes 224.0.0.0/4 to `lo` (and that namespace has no other interface), so the traffic
// never reaches a host interface.
//
// This engine only listens: it joins the group on 127.0.0.1 and records every frame.
// Capture: a multicast group is a shared medium (every member receives every frame, like
// a hub), so every frame goes into the capture of every link of the segment. Counters:
// a frame counts as rx on the link whose MAC sent it and as tx on every other link.
// Links cannot be cut: the engine cannot stop the kernel from delivering to a member.

import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { LabRuntimeError } from '../../errors.ts';
import { PcapWriter } from '../../capture/pcap-writer.ts';
import { linkOf as planLink, type SegmentPlan } from '../../topology/plan.ts';
import type { EngineOptions } from '../types.ts';
import type { FrameListener, LinkCounters, RunningSegment } from '../running.ts';

const LOOPBACK = '127.0.0.1';
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
const ETHERNET_HEADER_BYTES = 14;

interface McastLink {
  readonly name: string;
  readonly mac: number;
  readonly capture: PcapWriter | null;
  readonly counters: LinkCounters;
  listeners: readonly FrameListener[];
}

/** The group, port and TTL of an mcast segment's plan (checked: the plan is data from disk). */
export function mcastOptions(plan: SegmentPlan): { group: string; port: number; ttl: number } {
  const { group, port, ttl } = plan.options as { group?: unknown; port?: unknown; ttl?: unknown };
  const octets = typeof group === 'string' ? group.split('.').map(Number) : [];
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || octets[0] < 224 || octets[0] > 239)
    throw new LabRuntimeError(`segment ${plan.name}: options.group must be an IPv4 multicast address, got ${String(group)}`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new LabRuntimeError(`segment ${plan.name}: options.port must be a UDP port, got ${String(port)}`);
  return { group: group as string, port, ttl: typeof ttl === 'number' ? ttl : 1 };
}

const macNumber = (mac: string) => parseInt(mac.replace(/:/g, ''), 16);

export async function startMcastSegment(plan: SegmentPlan, options: EngineOptions): Promise<RunningSegment> {
  const log = options.log ?? (() => {});
  const { group, port } = mcastOptions(plan);
  const { links, captures } = openLinks(plan, options, log);
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await joinGroup(socket, group, port);
  } catch (err) {
    socket.close();
    await Promise.all(captures.map((w) => w.close()));
    throw new LabRuntimeError(`segment ${plan.name}: cannot join multicast group ${group} port ${port} on ${LOOPBACK}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  socket.on('error', (err) => log(`${plan.name}: ${err.message}`));
  socket.on('message', (frame: Buffer) => recordFrame(frame, links, captures, log));
  log(`${plan.name}: listening to multicast group ${group}:${port} on ${LOOPBACK} for ${links.length} links`);
  return runningGroup(plan, links, socket, captures);
}

/** One McastLink per port, and each capture file opened once (two links may share one). */
function openLinks(plan: SegmentPlan, options: EngineOptions, log: (msg: string) => void): { links: McastLink[]; captures: PcapWriter[] } {
  const writers = new Map<string, PcapWriter>();
  const writerFor = (path: string) => {
    let writer = writers.get(path);
    if (writer === undefined) {
      writer = PcapWriter.open(path, { onError: (err) => log(`${plan.name}: ${err.message}`) });
      writers.set(path, writer);
    }
    return writer;
  };
  const links: McastLink[] = plan.ports.map((p) => {
    const capture = planLink(options.links, p.link).capture;
    return {
      name: p.link,
      mac: macNumber(p.mac),
      capture: capture === null ? null : writerFor(capture),
      counters: { link: p.link, rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0 },
      listeners: [],
    };
  });
  return { links, captures: [...writers.values()] };
}

/** A frame of the group: into each capture file once, counted as sent by its source's link and received by the others. */
function recordFrame(frame: Buffer, links: McastLink[], captures: PcapWriter[], log: (msg: string) => void): void {
  if (frame.length < ETHERNET_HEADER_BYTES) return;
  const ts = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const source = frame.readUIntBE(6, 6);
  for (const capture of captures) capture.writeFrame(frame, ts);
  for (const link of links) {
    if (link.mac === source) {
      link.counters.rxFrames++;
      link.counters.rxBytes += frame.length;
    } else {
      link.counters.txFrames++;
      link.counters.txBytes += frame.length;
    }
    for (const listener of link.listeners) {
      try {
        listener(frame, ts);
      } catch (err) {
        log(`frame listener on ${link.name} threw: ${(err as Error).message}`);
      }
    }
  }
}

/** The running segment: counters and frame listeners; its links cannot be cut (umlab is not in the data path). */
function runningGroup(plan: SegmentPlan, links: McastLink[], socket: Socket, captures: PcapWriter[]): RunningSegment {
  const linkOf = (name: string) => {
    const link = links.find((l) => l.name === name);
    if (!link) throw new LabRuntimeError(`segment ${plan.name} has no link ${name} (links: ${links.map((l) => l.name).join(', ')})`);
    return link;
  };
  let stopping: Promise<void> | null = null;
  return {
    name: plan.name,
    counters: () => links.map((l) => ({ ...l.counters })),
    setLinkUp(name) {
      linkOf(name);
      throw new LabRuntimeError(`segment ${plan.name} is a multicast group: its links cannot be cut (the VMs talk to each other without umlab in between)`);
    },
    onFrame(name, cb) {
      const link = linkOf(name);
      link.listeners = [...link.listeners, cb];
      return () => {
        link.listeners = link.listeners.filter((l) => l !== cb);
      };
    },
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => socket.close(() => resolve()));
        await Promise.all(captures.map((w) => w.close()));
      })();
      return stopping;
    },
  };
}

function joinGroup(socket: Socket, group: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    // Bound to the group address: only the group's datagrams arrive, not other traffic to the port.
    socket.bind(port, group, () => {
      try {
        socket.addMembership(group, LOOPBACK);
        socket.setMulticastLoopback(true);
        socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      socket.off('error', reject);
      resolve();
    });
  });
}

export { startMcastSegment as start };
