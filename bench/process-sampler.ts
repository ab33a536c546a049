// One process's CPU time and memory, sampled from /proc while a benchmark runs: utime + stime of
// /proc/PID/stat (procStat, in clock ticks, 100 per second on Linux), and Rss and Pss of
// /proc/PID/smaps_rollup, whose maxima are kept.
import { readFileSync } from 'node:fs';
import { procStat } from '../src/vm/processes.ts';

const TICKS_PER_SECOND = 100;

export class ProcessSampler {
  maxRssMiB = 0;
  maxPssMiB = 0;
  private firstTicks: number | null = null;
  private lastTicks = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pid: number) {}

  start(everyMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /** CPU seconds the process used between the first and the last sample. */
  cpuSeconds(): number {
    return this.firstTicks === null ? 0 : (this.lastTicks - this.firstTicks) / TICKS_PER_SECOND;
  }

  private sample(): void {
    try {
      const ticks = procStat(this.pid)?.cpuTicks;
      if (ticks === undefined) return; // the process has exited
      this.firstTicks ??= ticks;
      this.lastTicks = ticks;
      const rollup = readFileSync(`/proc/${this.pid}/smaps_rollup`, 'utf8');
      const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
      this.maxRssMiB = Math.max(this.maxRssMiB, kb('Rss') / 1024);
      this.maxPssMiB = Math.max(this.maxPssMiB, kb('Pss') / 1024);
    } catch {
      // the process has exited
    }
  }
}
