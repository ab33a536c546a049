// Incremental pcap reading for a capture that is still being written: feed it the
// bytes appended since the last read, get back the decoded, numbered frames of every
// complete record (the record layer is capture/pcap-records.ts, shared with readCapture).
import { decodeFrame, type DecodedFrame } from '../capture/decode.ts';
import { PcapRecords } from '../capture/pcap-records.ts';

export interface TailFrame {
  /** 1-based position in the file, as Wireshark numbers frames. */
  number: number;
  frame: DecodedFrame;
}

export class PcapTail {
  private records = new PcapRecords();
  private count = 0;

  /** Bytes of the header and the complete records so far: where a valid copy of the file ends. */
  get completeBytes(): number {
    return this.records.completeBytes;
  }

  /** Decodes the complete records in `chunk` (plus whatever an earlier chunk left over). */
  push(chunk: Buffer): TailFrame[] {
    return this.records.push(chunk).map((r) => ({ number: ++this.count, frame: decodeFrame(r.data, r.micros, r.originalLength) }));
  }
}
