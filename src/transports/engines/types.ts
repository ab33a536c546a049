// What a running frame-forwarding engine (switch, hub, wire) offers to the runtime and the web view.
import type { PortPlan } from '../../topology/plan.ts';

/** Per-link traffic counters. rx = from the VM into the engine, tx = from the engine to the VM. */
export interface LinkCounters {
  link: string;
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
}

/** Called for every frame seen on a link (both directions); tsMicros is microseconds since the epoch. */
export type FrameListener = (frame: Buffer, tsMicros: bigint | number) => void;

export interface RunningSegment {
  name: string;
  counters(): LinkCounters[];
  /** Cut or restore a cable: while down, frames from and to that port are dropped (both ways). */
  setLinkUp(link: string, up: boolean): void | Promise<void>;
  /** Whether a link is up (not cut by setLinkUp); engines whose links cannot be cut leave it out. */
  isLinkUp?(link: string): boolean;
  /** Subscribe to frames on a link, where the engine sees them: returns an unsubscribe function. */
  onFrame?(link: string, cb: FrameListener): () => void;
  /** Plugs in a new port while running (switches and hubs): captured from its first frame. */
  addLink?(port: PortPlan): Promise<void>;
  /** Pulls a port out: its socket closes, its capture file is completed. */
  removeLink?(link: string): Promise<void>;
  /** Closes sockets, flushes and closes pcap files. */
  stop(): Promise<void>;
}
