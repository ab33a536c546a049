// What a running segment engine (switch, hub, wire, mcast, gateway, tap) offers to the runtime and the web view.
import type { LinkPlan, PortPlan } from '../topology/plan.ts';
import type { Impairment } from '../topology/link-conditions.ts';
import type { CaptureHealth } from '../capture/kept-capture.ts';
// Defined with the capture that keeps it; engines still find it here.
export type { CaptureHealth };

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
  addLink?(port: PortPlan, link: LinkPlan): Promise<void>;
  /** New link conditions for one VM end of a link (null: none); engines that cannot impair leave it out. */
  setConditions?(link: string, end: { vm: string; iface: string }, conditions: Impairment | null): void;
  /** Pulls a port out: its socket closes, its capture file is completed. */
  removeLink?(link: string): Promise<void>;
  /** A fault of the process behind a link (passt, tcpdump) that the engine noticed: null when healthy. */
  health?(link: string): LinkHealth | null;
  /** A link's capture that stopped or was restarted (a dead tcpdump, a full disk): null when whole. */
  captureHealth?(link: string): CaptureHealth | null;
  /** Closes sockets, flushes and closes pcap files. */
  stop(): Promise<void>;
}

/** What status shows of a link's helper process: the fault now, and how often it was restarted. */
export interface LinkHealth {
  /** e.g. "gateway down: passt exited (signal 9)"; null once it works again. */
  fault: string | null;
  restarts: number;
  lastFault: string | null;
}
