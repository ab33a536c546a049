// A capture that is watched (issue 12, item 6): a tcpdump or capture helper that dies is noticed, said
// in status and `down`, and restarted; a disk that fills up stops the capture cleanly instead
// of leaving tcpdump writing half records into it.
//
// Restart: the dead tcpdump's file (cut back to its last whole record) is renamed to
// <link>.<n>.pcap (n = 1 for the first restart, then 2, ...), its log with it, and the new
// tcpdump writes <link>.pcap again, so `capture show`, the web view and tests keep finding the
// live capture under the name the plan gives. Concatenated in order (mergecap -a), the parts
// are the link's whole capture, less what passed while no tcpdump ran.
import { existsSync, renameSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { startTcpdump, tcpdumpLogOf, type RunningCapture } from './tcpdump.ts';

/** Starts one capture of `device` into `file`: a tcpdump of its own, or the lab's capture helper. */
export type StartCapture = (device: string, file: string) => Promise<RunningCapture>;

const ownTcpdump: StartCapture = (device, file) => startTcpdump(device, file, { detached: false });

/** What status and `down` say of a capture that misses frames. Not part of `fault`: the link
 *  itself still carries frames. */
export interface CaptureHealth {
  /** failed: nothing more is captured; restarted: capturing again after a gap. */
  state: 'failed' | 'restarted';
  /** e.g. "tcpdump exited (signal 9)", "no space left on device". */
  reason: string;
  restarts: number;
  /** The capture files of the link before each restart, oldest first (docs/transports.md). */
  earlierParts: string[];
  /** Frames known to be missing from the file, where the engine can count them. */
  missingFrames?: number;
}

/** Restarts in a row before the capture is given up as failed (a tcpdump that dies at once). */
const MAX_RESTARTS = 5;
/** Wait before a restart, doubled each time: a crash loop must not eat the CPU. */
const FIRST_RESTART_DELAY_MS = 200;
/** Below this much free space the capture stops, while tcpdump can still write whole records. */
export const CAPTURE_RESERVE_BYTES = 1024 * 1024;
/** How often free space is checked (a statfs: cheap). */
const SPACE_CHECK_MS = 250;

export const NO_SPACE = 'no space left on device';

export class KeptCapture {
  private current: RunningCapture;
  private health: CaptureHealth | null = null;
  private stopped = false;
  private restarting: Promise<void> | null = null;
  private readonly unwatchSpace: () => void;

  private constructor(
    private readonly device: string,
    readonly file: string,
    first: RunningCapture,
    private readonly log: (msg: string) => void,
    private readonly startCapture: StartCapture,
  ) {
    this.current = first;
    this.watch(first);
    this.unwatchSpace = watchSpace(dirname(file), (free) => this.checkSpace(free));
  }

  static async start(device: string, file: string, log: (msg: string) => void, startCapture: StartCapture = ownTcpdump): Promise<KeptCapture> {
    return new KeptCapture(device, file, await startCapture(device, file), log, startCapture);
  }

  /** null while the capture is whole. */
  captureHealth(): CaptureHealth | null {
    return this.health && { ...this.health, earlierParts: [...this.health.earlierParts] };
  }

  /** Stops tcpdump for good; resolves to the frames it said it dropped. */
  async stop(): Promise<number> {
    this.stopped = true;
    this.unwatchSpace();
    await this.restarting;
    return this.current.stop();
  }

  private watch(capture: RunningCapture): void {
    void capture.died.then((reason) => {
      if (this.stopped || capture !== this.current) return;
      this.restarting = this.restart(reason);
    });
  }

  private fail(reason: string): void {
    this.health = { state: 'failed', reason, restarts: this.health?.restarts ?? 0, earlierParts: this.health?.earlierParts ?? [] };
  }

  private async restart(reason: string): Promise<void> {
    this.fail(reason);
    this.log(`capture ${this.file} stopped: ${reason}`);
    const restarts = this.health!.restarts;
    // A full disk stays full: restarting would only write more half records.
    if (reason === NO_SPACE || restarts >= MAX_RESTARTS) {
      this.log(`capture ${this.file}: not restarted (${reason === NO_SPACE ? reason : `${restarts} restarts already`}); the link still carries frames`);
      return;
    }
    await new Promise((r) => setTimeout(r, FIRST_RESTART_DELAY_MS * 2 ** restarts));
    if (this.stopped) return;
    const part = this.file.replace(/\.pcap$/, '') + `.${this.health!.earlierParts.length + 1}.pcap`;
    try {
      if (existsSync(this.file)) renameSync(this.file, part);
      if (existsSync(tcpdumpLogOf(this.file))) renameSync(tcpdumpLogOf(this.file), tcpdumpLogOf(part));
      const next = await this.startCapture(this.device, this.file);
      this.current = next;
      this.health = { state: 'restarted', reason, restarts: restarts + 1, earlierParts: [...this.health!.earlierParts, part] };
      this.log(`capture ${this.file}: restarted (restart ${restarts + 1}); the frames before it are in ${part}`);
      if (this.stopped) return; // stop() waits for this restart, then stops `next`
      this.watch(next);
    } catch (err) {
      this.fail(`${reason}; restart failed: ${(err as Error).message}`);
      this.log(`capture ${this.file}: ${this.health!.reason}`);
    }
  }

  private checkSpace(free: number): void {
    if (this.stopped || this.health?.state === 'failed' || free >= CAPTURE_RESERVE_BYTES) return;
    // Stopped while the capture can still write out what it holds: the file ends in a whole record.
    this.fail(NO_SPACE);
    this.log(`capture ${this.file} stopped: ${NO_SPACE} (${free} bytes free); the link still carries frames`);
    const capture = this.current;
    this.restarting = capture.stop().then(() => {});
  }
}

/** Free space of each directory captures write to: one statfs per directory and tick, however
 *  many captures (a lab of 150 links would otherwise make 600 a second). */
const spaceWatches = new Map<string, { timer: NodeJS.Timeout; listeners: Set<(free: number) => void> }>();

function watchSpace(dir: string, listener: (free: number) => void): () => void {
  let watch = spaceWatches.get(dir);
  if (!watch) {
    const listeners = new Set<(free: number) => void>();
    const timer = setInterval(() => {
      let free: number;
      try {
        const s = statfsSync(dir);
        free = s.bavail * s.bsize;
      } catch {
        return;
      }
      for (const l of listeners) l(free);
    }, SPACE_CHECK_MS);
    timer.unref();
    spaceWatches.set(dir, (watch = { timer, listeners }));
  }
  watch.listeners.add(listener);
  return () => {
    watch.listeners.delete(listener);
    if (watch.listeners.size === 0) {
      clearInterval(watch.timer);
      spaceWatches.delete(dir);
    }
  };
}
