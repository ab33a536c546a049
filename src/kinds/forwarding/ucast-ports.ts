// The userspace engine's ports and links (ucast-engine.ts): their shape, their link
// conditions, and the small per-frame helpers the forwarding path shares.
import { performance } from 'node:perf_hooks';
import type { PcapWriter } from '../../capture/pcap-writer.ts';
import { isUnimpaired, type Impairment } from '../../topology/link-conditions.ts';
import type { PortVlans } from '../../topology/model.ts';
import type { FrameListener, LinkCounters } from '../running.ts';
import { Impairer } from './impairer.ts';

/** A named link: shared by both ports of a wire, otherwise one per port. */
export interface Link {
  readonly name: string;
  readonly capture: PcapWriter | null;
  readonly counters: LinkCounters;
  up: boolean;
  /** Replaced, never mutated, so a listener unsubscribing mid-delivery is safe. */
  listeners: readonly FrameListener[];
}

export interface Port {
  readonly link: Link;
  /** The VM interface behind the port (none for a gateway's own port). */
  readonly end?: { vm: string; iface: string };
  /** Its VLANs on a VLAN-aware switch; null elsewhere. */
  readonly vlans: PortVlans | null;
  /** Link conditions: on what the VM sends (before forwarding) and on what it receives (before sending). */
  fromVm: Impairer | null;
  toVm: Impairer | null;
  /** Hands a frame to whatever sits behind the port (a VM's UDP socket, passt's stream). */
  readonly send: (frame: Buffer) => void;
  readonly close: () => Promise<void>;
}

/** How a port is attached: its VM end, VLANs and link conditions (from the plan). */
export interface PortSettings {
  end?: { vm: string; iface: string };
  vlans?: PortVlans;
  conditions?: Impairment;
}

/** Where a switch last saw a MAC address as a source. */
export interface LearnedMac {
  port: Port;
  lastSeenMicros: number;
}

/** Replaces a port's link conditions; frames already waiting still leave as planned. */
export function setConditions(port: Port, conditions: Impairment | null): void {
  port.fromVm = conditions && !isUnimpaired(conditions.egress) ? new Impairer(conditions.egress) : null;
  port.toVm = conditions && !isUnimpaired(conditions.ingress) ? new Impairer(conditions.ingress) : null;
}

/** Microseconds since the epoch with sub-millisecond resolution, without allocating (hrtime.bigint would). */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** The 48-bit MAC at `offset` as a number: an allocation-free Map key. */
export function macKey(frame: Buffer, offset: number): number {
  return frame.readUIntBE(offset, 6);
}

/** Kept out of the hot path: a throwing subscriber (e.g. a web view) must not stop forwarding. */
export function notify(link: Link, frame: Buffer, ts: number, log: (msg: string) => void): void {
  for (const listener of link.listeners) {
    try {
      listener(frame, ts);
    } catch (err) {
      log(`frame listener on ${link.name} threw: ${(err as Error).message}`);
    }
  }
}
