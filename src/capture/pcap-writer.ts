// Classic pcap writer (libpcap 2.4, Ethernet, microsecond timestamps) built for the
// forwarding hot path: frames are copied into a buffer and written out in whole records,
// in order, one asynchronous write at a time. The file is a valid capture at every moment:
// the global header is written synchronously at open, and a crash only loses the tail
// that was still buffered.

import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, write, writeSync, close } from 'node:fs';
import { dirname } from 'node:path';

export const PCAP_MAGIC = 0xa1b2c3d4;
const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const PCAP_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

/** Hand buffered records to the OS once this much is waiting (every few ms on a link at full
 *  speed: fewer hand-offs to the thread pool, each one a wake-up on both sides)... */
const FLUSH_THRESHOLD_BYTES = 256 * 1024;
/** ...or this long after the first unflushed frame, whichever comes first. */
const FLUSH_DELAY_MS = 50;
/** Room for the threshold plus one more maximal UDP-carried frame, so most frames fit without a
 *  flush first. Allocated uninitialised: an idle link's chunk costs address space, not memory. */
const CHUNK_BYTES = 512 * 1024;
/** If the disk cannot keep up, stop queueing (and count drops) rather than growing without bound. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Chunks kept for reuse, so a busy link does not allocate a new chunk per flush. */
const SPARE_CHUNKS = 2;

export interface PcapWriterOptions {
  /** Called once when a write fails; the writer then drops further frames. */
  onError?: (err: Error) => void;
}

/** A run of whole records waiting to be written; `written` advances on partial writes. */
interface QueuedChunk {
  buf: Buffer;
  written: number;
  end: number;
}

export class PcapWriter {
  /** Frames not captured because a write failed or the disk could not keep up. */
  droppedFrames = 0;

  private chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private readonly queue: QueuedChunk[] = [];
  private queuedBytes = 0;
  private writing = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly spareChunks: Buffer[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  /** File offset where the chunk at the head of the queue starts (everything before it is written). */
  private fileBytes = PCAP_GLOBAL_HEADER_BYTES;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly options: PcapWriterOptions,
  ) {}

  /** Creates (or truncates) the file and writes the global header before returning. */
  static open(path: string, options: PcapWriterOptions = {}): PcapWriter {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, pcapGlobalHeader());
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new PcapWriter(path, fd, options);
  }

  /** Appends one frame; tsMicros is microseconds since the epoch. Never blocks on the disk. */
  writeFrame(frame: Buffer, tsMicros: number): void {
    if (this.failure !== null || this.closing !== null) {
      this.droppedFrames++;
      return;
    }
    const capturedLength = frame.length < PCAP_SNAPLEN ? frame.length : PCAP_SNAPLEN;
    const recordLength = PCAP_RECORD_HEADER_BYTES + capturedLength;
    if (this.used + recordLength > this.chunk.length) {
      this.handOffBuffered();
      if (recordLength > this.chunk.length) this.chunk = Buffer.allocUnsafe(recordLength);
    }
    if (this.queuedBytes > MAX_QUEUED_BYTES) {
      this.droppedFrames++;
      return;
    }
    const seconds = Math.floor(tsMicros / 1_000_000);
    const buf = this.chunk;
    let at = this.used;
    // Written little-endian, like libpcap on x86: readers detect the order from the magic.
    buf.writeUInt32LE(seconds, at);
    buf.writeUInt32LE(tsMicros - seconds * 1_000_000, at + 4);
    buf.writeUInt32LE(capturedLength, at + 8);
    buf.writeUInt32LE(frame.length, at + 12);
    at += PCAP_RECORD_HEADER_BYTES;
    frame.copy(buf, at, 0, capturedLength);
    this.used = at + capturedLength;

    if (this.used >= FLUSH_THRESHOLD_BYTES) {
      this.handOffBuffered();
    } else if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => this.handOffBuffered(), FLUSH_DELAY_MS);
      // A capture alone must not keep the process alive; close() is what guarantees the tail.
      this.flushTimer.unref();
    }
  }

  /** Resolves once every frame written so far is in the file (handed to the OS). */
  flush(): Promise<void> {
    this.handOffBuffered();
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes and closes the file. Safe to call more than once. */
  close(): Promise<void> {
    if (this.closing === null) {
      const flushed = this.flush();
      this.closing = flushed.then(
        () =>
          new Promise<void>((resolve, reject) => {
            close(this.fd, (err) => (err ? reject(err) : resolve()));
          }),
      );
    }
    return this.closing;
  }

  /** Moves the buffered records to the write queue and starts writing if idle. */
  private handOffBuffered(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.used === 0) return;
    this.queue.push({ buf: this.chunk, written: 0, end: this.used });
    this.queuedBytes += this.used;
    this.chunk = this.spareChunks.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    if (!this.writing) {
      this.writing = true;
      this.writeHeadOfQueue();
    }
  }

  // One write in flight at a time: concurrent fs.write calls may complete out of order.
  private writeHeadOfQueue(): void {
    const head = this.queue[0];
    write(this.fd, head.buf, head.written, head.end - head.written, null, (err, bytesWritten) => {
      if (err) {
        this.fail(err);
        return;
      }
      head.written += bytesWritten;
      if (head.written < head.end) {
        this.writeHeadOfQueue();
        return;
      }
      this.queue.shift();
      this.queuedBytes -= head.end;
      this.fileBytes += head.end;
      if (head.buf.length === CHUNK_BYTES && this.spareChunks.length < SPARE_CHUNKS) {
        this.spareChunks.push(head.buf);
      }
      if (this.queue.length > 0) {
        this.writeHeadOfQueue();
      } else {
        this.becomeIdle();
      }
    });
  }

  /** Why the capture stopped ("no space left on device"), or null while it works. */
  get failedBecause(): string | null {
    if (this.failure === null) return null;
    return (this.failure as NodeJS.ErrnoException).code === 'ENOSPC' ? 'no space left on device' : this.failure.message;
  }

  private fail(err: Error): void {
    this.failure = err;
    // A partial write left part of a record: cut the file back to the last whole one, so
    // the capture reads to its end (ftruncate needs no free space).
    const head = this.queue[0];
    if (head !== undefined && head.written > 0) {
      const whole = wholeRecordBytes(head.buf, head.written);
      try {
        ftruncateSync(this.fd, this.fileBytes + whole);
      } catch {
        // the reader still stops at the cut record; nothing better to do
      }
      head.written = whole;
      this.droppedFrames -= countRecords({ buf: head.buf, written: 0, end: whole });
    }
    for (const dropped of this.queue) this.droppedFrames += countRecords(dropped);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.options.onError?.(new Error(`pcap ${this.path}: write failed: ${err.message}`, { cause: err }));
    this.becomeIdle();
  }

  private becomeIdle(): void {
    this.writing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** The 24-byte libpcap 2.4 file header (little-endian, Ethernet, microsecond timestamps). */
export function pcapGlobalHeader(): Buffer {
  const header = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES);
  header.writeUInt32LE(PCAP_MAGIC, 0);
  header.writeUInt16LE(2, 4); // version major
  header.writeUInt16LE(4, 6); // version minor
  header.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(PCAP_SNAPLEN, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return header;
}

/** Bytes of `buf` up to `limit` that hold whole records. */
function wholeRecordBytes(buf: Buffer, limit: number): number {
  let at = 0;
  while (at + PCAP_RECORD_HEADER_BYTES <= limit) {
    const next = at + PCAP_RECORD_HEADER_BYTES + buf.readUInt32LE(at + 8);
    if (next > limit) break;
    at = next;
  }
  return at;
}

/** Cuts a classic pcap file back to its last whole record (tcpdump killed mid-write, a full
 *  disk): returns the bytes removed. Never throws. */
export function trimToWholeRecords(path: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    const walk = walkRecords(fd, size);
    if (!walk) return 0; // no header yet (nothing to keep), or not a classic pcap
    if (walk.end < size) ftruncateSync(fd, walk.end);
    return size - walk.end;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The number of whole records in a classic pcap file; null when it cannot be read as one. */
export function countPcapRecords(path: string): number | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return walkRecords(fd, fstatSync(fd).size)?.records ?? null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Walks the record headers in 1 MiB reads: where the whole records end, and how many there are. */
function walkRecords(fd: number, size: number): { end: number; records: number } | null {
  if (size < PCAP_GLOBAL_HEADER_BYTES) return null;
  const buf = Buffer.allocUnsafe(1024 * 1024);
  readSync(fd, buf, 0, 4, 0);
  const magic = buf.readUInt32LE(0);
  const littleEndian = magic === PCAP_MAGIC || magic === PCAP_MAGIC_NANOSECONDS;
  if (!littleEndian && buf.readUInt32BE(0) !== PCAP_MAGIC && buf.readUInt32BE(0) !== PCAP_MAGIC_NANOSECONDS) return null;
  let at = PCAP_GLOBAL_HEADER_BYTES;
  let records = 0;
  let windowStart = 0;
  let windowEnd = 0;
  while (at + PCAP_RECORD_HEADER_BYTES <= size) {
    if (at < windowStart || at + PCAP_RECORD_HEADER_BYTES > windowEnd) {
      windowStart = at;
      windowEnd = at + readSync(fd, buf, 0, buf.length, at);
      if (windowEnd < at + PCAP_RECORD_HEADER_BYTES) break;
    }
    const o = at - windowStart + 8;
    const next = at + PCAP_RECORD_HEADER_BYTES + (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    if (next > size) break;
    at = next;
    records++;
  }
  return { end: at, records };
}

/** Number of records in a queued chunk (used only to account for drops). */
function countRecords(chunk: QueuedChunk): number {
  let count = 0;
  let at = 0;
  while (at + PCAP_RECORD_HEADER_BYTES <= chunk.end) {
    at += PCAP_RECORD_HEADER_BYTES + chunk.buf.readUInt32LE(at + 8);
    count++;
  }
  return count;
}
