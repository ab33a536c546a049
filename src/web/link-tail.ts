// Follows one link's pcap file while the lab writes it: polls for appended bytes,
// decodes complete records (PcapTail), keeps the latest frames for pages that open the
// link later, and hands new frames to every page watching it.
import { open } from 'node:fs/promises';
import { PcapTail, type TailFrame } from './pcap-tail.ts';

const READ_CHUNK_BYTES = 1 << 20;

export type TailListener = (frames: TailFrame[]) => void;

export class LinkTail {
  private decoder = new PcapTail();
  private offset = 0;
  private recent: TailFrame[] = [];
  private readonly listeners = new Set<TailListener>();
  private timer: NodeJS.Timeout | null = null;
  /** Reads run one after another: each continues from where the previous stopped. */
  private reading: Promise<void> = Promise.resolve();
  /** Set when the file turned out not to be a readable capture; reading stops. */
  error: string | null = null;

  constructor(
    readonly path: string,
    private readonly keep = 2000,
    private readonly intervalMs = 250,
  ) {}

  /** Catches up with the file, then reports new frames to `listener` until unsubscribed. */
  async subscribe(listener: TailListener): Promise<{ recent: TailFrame[]; unsubscribe: () => void }> {
    await this.readNew();
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.readNew(), this.intervalMs);
    return {
      recent: [...this.recent],
      unsubscribe: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      },
    };
  }

  /** Reads what was appended, then says how many bytes of the file are whole records. */
  async completeBytes(): Promise<number> {
    await this.readNew();
    return this.decoder.completeBytes;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  readNew(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce());
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    if (this.error) return;
    let file;
    try {
      file = await open(this.path, 'r');
    } catch {
      return; // not created yet, or the lab is gone and took it along: nothing new
    }
    try {
      const { size } = await file.stat();
      if (size < this.offset) this.reset(); // the lab was started again: a new file
      const fresh: TailFrame[] = [];
      while (this.offset < size) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, size - this.offset));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        fresh.push(...this.decoder.push(buffer.subarray(0, bytesRead)));
        // A page shows the latest frames only: a big backlog need not be held.
        if (fresh.length > this.keep) fresh.splice(0, fresh.length - this.keep);
      }
      if (fresh.length === 0) return;
      this.recent.push(...fresh);
      if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
      for (const listener of this.listeners) listener(fresh);
    } catch (err) {
      this.error = `${this.path}: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      await file.close();
    }
  }

  private reset(): void {
    this.decoder = new PcapTail();
    this.offset = 0;
    this.recent = [];
  }
}
