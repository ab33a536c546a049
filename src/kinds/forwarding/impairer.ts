// What a link does to frames in one direction, in umlab's engine: loss, corruption, duplication,
// delay with jitter, reordering, a rate limit and a bounded queue, with netem's meaning of each.
// Frames leave in order of their departure time (jitter can reorder them, as in netem).
import type { LinkConditions } from '../../topology/link-conditions.ts';

/** netem's default `limit`. */
export const DEFAULT_QUEUE = 1000;
/** Frames due within this much of now leave together: timers fire late rather than early, and not finer than a millisecond. */
const SLACK_MS = 1;

interface Pending {
  frame: Buffer;
  at: number;
  deliver: (frame: Buffer) => void;
}

export interface ImpairerClock {
  now(): number;
  random(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

const realClock: ImpairerClock = {
  now: () => performance.now(),
  random: Math.random,
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

export class Impairer {
  private readonly pending: Pending[] = [];
  private timer: { cancel(): void } | null = null;
  private timerAt = Infinity;
  /** When the last frame finished "on the wire" (rate). */
  private wireFreeAt = 0;
  /** Frames dropped because the queue was full (the rest of the drops are `loss`). */
  queueDrops = 0;

  constructor(
    readonly conditions: LinkConditions,
    private readonly clock: ImpairerClock = realClock,
  ) {}

  /** Takes a frame; `deliver` gets it (or a corrupted copy, or twice) when the link lets it through. */
  push(frame: Buffer, deliver: (frame: Buffer) => void): void {
    const c = this.conditions;
    const chance = (pct: number | undefined) => pct !== undefined && this.clock.random() * 100 < pct;
    if (chance(c.lossPct)) return;
    const out = chance(c.corruptPct) ? corrupted(frame, this.clock.random()) : frame;
    this.enqueue(out, deliver);
    if (chance(c.duplicatePct)) this.enqueue(out, deliver);
  }

  /** Frames still waiting. */
  get queued(): number {
    return this.pending.length;
  }

  /** Drops what waits (a link taken away). */
  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.pending.length = 0;
  }

  private enqueue(frame: Buffer, deliver: (frame: Buffer) => void): void {
    const c = this.conditions;
    if (this.pending.length >= (c.queue ?? DEFAULT_QUEUE)) {
      this.queueDrops++;
      return;
    }
    const now = this.clock.now();
    let at = now;
    const reordered = c.reorderPct !== undefined && this.clock.random() * 100 < c.reorderPct;
    if (c.delayMs !== undefined && !reordered) {
      const jitter = c.jitterMs ? (this.clock.random() * 2 - 1) * c.jitterMs : 0;
      at += Math.max(0, c.delayMs + jitter);
    }
    if (c.rateBps !== undefined) {
      // Serialised: a frame starts when the wire is free, and takes its length in bits.
      const start = Math.max(at, this.wireFreeAt);
      this.wireFreeAt = start + (frame.length * 8 * 1000) / c.rateBps;
      at = this.wireFreeAt;
    }
    // Due now (no delay, or reordered): out at once, ahead of what waits.
    if (at - now <= SLACK_MS) return deliver(frame);
    // Sorted by departure; most frames go at the end.
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1].at > at) i--;
    this.pending.splice(i, 0, { frame, at, deliver });
    this.schedule();
  }

  private schedule(): void {
    const head = this.pending[0];
    if (!head || head.at >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = head.at;
    this.timer = this.clock.setTimer(() => this.release(), Math.max(0, Math.floor(head.at - this.clock.now())));
  }

  private release(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    while (this.pending.length && this.pending[0].at <= now + SLACK_MS) {
      const { frame, deliver } = this.pending.shift()!;
      deliver(frame);
    }
    this.schedule();
  }
}

/** A copy of the frame with one bit flipped after the Ethernet header (netem flips one anywhere in the packet). */
function corrupted(frame: Buffer, r: number): Buffer {
  const copy = Buffer.from(frame);
  if (copy.length <= 14) return copy;
  const bit = Math.floor(r * (copy.length - 14) * 8);
  copy[14 + (bit >> 3)] ^= 1 << (bit & 7);
  return copy;
}
