// Live state for the page: polls the supervisor's status about once a second and turns
// successive counters into rates. `snapshot()` is pure; LabWatcher does the polling.
import { LabClient } from '../client/lab-client.ts';
import { conditionsText } from './graph.ts';
import type { LabPhase, LabStatus, VmStatus } from '../client/control.ts';

export interface LinkLive {
  link: string;
  /** Frames and bytes both ways (VM to segment and back). */
  frames: number;
  bytes: number;
  rxFrames: number;
  txFrames: number;
  framesPerSecond: number;
  bytesPerSecond: number;
  up: boolean;
  /** Its link conditions, e.g. "h1.eth0: delay 50ms loss 1%" ('' when none; `umlab link set` changes them). */
  conditions: string;
}

/** What the page receives: either the running lab's state, or that it is gone. */
export type LiveEvent = { running: true; phase: LabPhase; at: number; vms: VmStatus[]; links: LinkLive[] } | { running: false; at: number; reason: string };

export interface Sample {
  at: number;
  status: LabStatus;
}

/** Counters of `current`, with rates against `previous` (zero on the first sample or a reset). */
export function snapshot(current: Sample, previous: Sample | null): LiveEvent {
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  const before = new Map((previous?.status.links ?? []).map((l) => [l.link, l]));
  const links = current.status.links.map((l): LinkLive => {
    const frames = l.rxFrames + l.txFrames;
    const bytes = l.rxBytes + l.txBytes;
    const old = before.get(l.link);
    const oldFrames = old ? old.rxFrames + old.txFrames : frames;
    const oldBytes = old ? old.rxBytes + old.txBytes : bytes;
    // Counters only go down when the lab was restarted: no meaningful rate then.
    const rate = (now: number, then: number) => (seconds > 0 && now >= then ? (now - then) / seconds : 0);
    return {
      link: l.link,
      frames,
      bytes,
      rxFrames: l.rxFrames,
      txFrames: l.txFrames,
      framesPerSecond: rate(frames, oldFrames),
      bytesPerSecond: rate(bytes, oldBytes),
      up: l.up,
      conditions: conditionsText(l.conditions),
    };
  });
  return { running: true, phase: current.status.phase, at: current.at, vms: current.status.vms, links };
}

/** Polls a lab's control socket and reports each state (or that the lab is gone) to `onEvent`;
 *  while `wanted()` says no, it stops after a poll until the next wake(). */
export class LabWatcher {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private previous: Sample | null = null;
  private stopped = false;
  last: LiveEvent | null = null;

  constructor(
    private readonly controlSocket: string,
    private readonly onEvent: (event: LiveEvent) => void,
    private readonly intervalMs = 1000,
    private readonly wanted: () => boolean = () => true,
  ) {}

  /** Resolves after the first poll, so the first page served already has a state. */
  start(): Promise<void> {
    return this.wake();
  }

  /** Polls now unless a poll is under way or due within the interval (then `last` is fresh enough). */
  wake(): Promise<void> {
    if (this.polling) return this.polling;
    if (this.timer || this.stopped) return Promise.resolve();
    this.polling = this.poll().finally(() => (this.polling = null));
    return this.polling;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    let event: LiveEvent;
    const at = Date.now();
    try {
      const sample = { at, status: await new LabClient(this.controlSocket).status() };
      event = snapshot(sample, this.previous);
      this.previous = sample;
    } catch (err) {
      this.previous = null;
      event = { running: false, at, reason: err instanceof Error ? err.message : String(err) };
    }
    if (this.stopped) return;
    this.last = event;
    this.onEvent(event);
    if (!this.wanted()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.wake();
    }, this.intervalMs);
  }
}
