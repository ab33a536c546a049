// The record layer of pcap files, shared by the whole-file reader (`readCapture`) and the
// web's incremental tail: feed it bytes as they come, get back every complete record.
// A record cut short (a capture still being written, or a crash) waits for the next chunk.

const GLOBAL_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
/** Larger than any snaplen a capture uses: a record claiming more means the file is not a pcap. */
const MAX_RECORD_BYTES = 1 << 20;

/** Magic numbers as read little-endian: byte order and timestamp resolution of the file. */
const MAGICS: Record<number, { littleEndian: boolean; nanoseconds: boolean }> = {
  0xa1b2c3d4: { littleEndian: true, nanoseconds: false },
  0xd4c3b2a1: { littleEndian: false, nanoseconds: false },
  0xa1b23c4d: { littleEndian: true, nanoseconds: true },
  0x4d3cb2a1: { littleEndian: false, nanoseconds: true },
};

export interface PcapRecord {
  /** Microseconds since the epoch. */
  micros: number;
  data: Buffer;
  originalLength: number;
}

export class PcapRecords {
  private pending: Buffer = Buffer.alloc(0);
  private format: { littleEndian: boolean; nanoseconds: boolean } | null = null;
  /** Bytes of the header and the complete records so far: where a valid copy of the file ends. */
  completeBytes = 0;

  /** The complete records in `chunk` (plus whatever an earlier chunk left over). Throws on what is not an Ethernet pcap. */
  push(chunk: Buffer): PcapRecord[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    if (!this.format) {
      if (this.pending.length < GLOBAL_HEADER_BYTES) return [];
      const magic = this.pending.readUInt32LE(0);
      const format = MAGICS[magic];
      if (!format) throw new Error(`not a pcap file (magic 0x${magic.toString(16).padStart(8, '0')})`);
      const linkType = format.littleEndian ? this.pending.readUInt32LE(20) : this.pending.readUInt32BE(20);
      if (linkType !== 1) throw new Error(`link type ${linkType} is not Ethernet`);
      this.format = format;
      offset = GLOBAL_HEADER_BYTES;
      this.completeBytes = GLOBAL_HEADER_BYTES;
    }
    const { littleEndian, nanoseconds } = this.format;
    const u32 = (at: number) => (littleEndian ? this.pending.readUInt32LE(at) : this.pending.readUInt32BE(at));
    const records: PcapRecord[] = [];
    while (this.pending.length - offset >= RECORD_HEADER_BYTES) {
      const capturedLength = u32(offset + 8);
      if (capturedLength > MAX_RECORD_BYTES) throw new Error(`corrupt record: ${capturedLength} bytes claimed`);
      const end = offset + RECORD_HEADER_BYTES + capturedLength;
      if (end > this.pending.length) break;
      const seconds = u32(offset);
      const fraction = u32(offset + 4);
      const micros = seconds * 1_000_000 + (nanoseconds ? Math.floor(fraction / 1000) : fraction);
      records.push({ micros, data: this.pending.subarray(offset + RECORD_HEADER_BYTES, end), originalLength: u32(offset + 12) });
      this.completeBytes += end - offset;
      offset = end;
    }
    // Copy the leftover so the big chunk it came from can be collected.
    this.pending = Buffer.from(this.pending.subarray(offset));
    return records;
  }
}
