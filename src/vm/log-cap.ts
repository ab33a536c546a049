// Console and serial logs with a size cap: a VM running `yes > /dev/console` must not fill the
// host's disk. A log that reaches its cap is renamed to <log>.1 (replacing the previous one) and
// starts again empty, so at most twice the cap is kept per log. UMLAB_LOG_MAX_BYTES sets the cap.
import { createWriteStream, fstatSync, openSync, renameSync, type WriteStream } from 'node:fs';
import { UsageError } from '../errors.ts';

export const LOG_MAX_ENV = 'UMLAB_LOG_MAX_BYTES';
export const DEFAULT_LOG_MAX_BYTES = 8 * 1024 * 1024;
/** Bytes queued for the disk beyond which output is dropped (counted): a VM outrunning the disk must not grow the supervisor. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** The cap from UMLAB_LOG_MAX_BYTES (bytes, or with a K/M/G suffix); throws on a value that is not a size. */
export function logMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[LOG_MAX_ENV]?.trim();
  if (!raw) return DEFAULT_LOG_MAX_BYTES;
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(raw);
  const bytes = m ? Number(m[1]) * 1024 ** ('KMG'.indexOf((m[2] ?? ' ')[0].toUpperCase()) + 1) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 4096)
    throw new UsageError(`${LOG_MAX_ENV}=${raw} is not a log size`, { hint: `give bytes (at least 4096) or a size like 8M; the default is 8M` });
  return bytes;
}

/** Where a log's older half goes when it is rotated. */
export const rotatedLog = (path: string) => `${path}.1`;

export class CappedLog {
  private stream: WriteStream;
  private size: number;
  private dropped = 0;
  private failed: Error | null = null;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.stream = this.open();
    this.size = fstatSync((this.stream as unknown as { fd: number }).fd).size;
  }

  /** Opened synchronously, so a rename right after never races the open. */
  private open(): WriteStream {
    const fd = openSync(this.path, 'a', 0o600);
    const stream = createWriteStream('', { fd });
    stream.on('error', (err) => {
      // ENOSPC and the like: the log stops, the supervisor and the VM go on.
      if (!this.failed) this.onError(`log ${this.path}: ${err.message}; output is no longer logged`);
      this.failed = err;
    });
    return stream;
  }

  write(chunk: Buffer): void {
    if (this.failed || this.stream.destroyed || this.stream.writableLength > MAX_PENDING_BYTES) {
      this.dropped += chunk.length;
      return;
    }
    if (this.size > 0 && this.size + chunk.length > this.maxBytes) this.rotate();
    if (this.dropped > 0) {
      this.stream.write(`\n[umlab: ${this.dropped} bytes of output dropped: the disk did not keep up]\n`);
      this.dropped = 0;
    }
    this.stream.write(chunk);
    this.size += chunk.length;
  }

  private rotate(): void {
    try {
      // The old stream's queued bytes still go to its file, now <log>.1: the order is kept.
      renameSync(this.path, rotatedLog(this.path));
    } catch (err) {
      this.onError(`log ${this.path}: cannot rotate: ${(err as Error).message}`);
      return;
    }
    this.stream.end();
    try {
      this.stream = this.open();
    } catch (err) {
      this.failed = err as Error;
      this.onError(`log ${this.path}: cannot reopen: ${(err as Error).message}`);
    }
    this.size = 0;
  }

  end(done?: () => void): void {
    if (this.stream.destroyed || this.stream.closed) return void done?.();
    this.stream.end(() => done?.());
  }
}
