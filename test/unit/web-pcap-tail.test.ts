// PcapTail (pure) and LinkTail (a growing file): records split anywhere across reads
// decode exactly as the whole file does, cross-checked against pcap-parser (readCapture).
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/decode.ts';
import { LinkTail } from '../../src/web/link-tail.ts';
import { PcapTail, type TailFrame } from '../../src/web/pcap-tail.ts';
import { arpRequest, echo, pcapFile, record, TS, udp } from './web-frames-fixtures.ts';

const FRAMES = [
  arpRequest('10.0.0.1', '10.0.0.2'),
  echo('request', '10.0.0.1', '10.0.0.2', 1),
  echo('reply', '10.0.0.2', '10.0.0.1', 1),
  udp('10.0.0.1', '10.0.0.2', 5000, 53),
];
const FILE = pcapFile(FRAMES);
const summaries = (frames: TailFrame[]) => frames.map((f) => `${f.number} ${f.frame.summary}`);

describe('PcapTail', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'umlab-web-tail-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('decodes a whole file like readCapture does, numbering frames from 1', async () => {
    const path = join(tmp, 'whole.pcap');
    writeFileSync(path, FILE);
    const expected = await readCapture(path);
    const got = new PcapTail().push(FILE);
    assert.deepEqual(
      got.map((f) => f.frame),
      expected,
    );
    assert.deepEqual(
      got.map((f) => f.number),
      [1, 2, 3, 4],
    );
  });

  it('gives the same frames whatever the chunk boundaries, a cut record waiting for its rest', () => {
    const whole = summaries(new PcapTail().push(FILE));
    for (const size of [1, 7, 16, 23, 24, 25, 40, 100]) {
      const tail = new PcapTail();
      const got: TailFrame[] = [];
      for (let at = 0; at < FILE.length; at += size) got.push(...tail.push(FILE.subarray(at, at + size)));
      assert.deepEqual(summaries(got), whole, `chunks of ${size} bytes`);
    }
  });

  it('returns nothing for a partial record and counts only complete records in completeBytes', () => {
    const tail = new PcapTail();
    const header = 24;
    const first = record(FRAMES[0]!, TS);
    assert.deepEqual(tail.push(FILE.subarray(0, 10)), []);
    assert.equal(tail.completeBytes, 0, 'not even the header yet');
    assert.deepEqual(tail.push(FILE.subarray(10, header + 15)), [], 'record header cut');
    assert.equal(tail.completeBytes, header);
    assert.deepEqual(tail.push(FILE.subarray(header + 15, header + first.length - 1)), [], 'frame cut one byte short');
    const done = tail.push(FILE.subarray(header + first.length - 1, header + first.length));
    assert.equal(done.length, 1);
    assert.match(done[0]!.frame.summary, /ARP request who-has 10\.0\.0\.2 tell 10\.0\.0\.1/);
    assert.equal(tail.completeBytes, header + first.length);
  });

  it('reads big-endian and nanosecond captures too', () => {
    const be = Buffer.alloc(24);
    be.writeUInt32BE(0xa1b23c4d, 0); // nanosecond magic, big-endian file
    be.writeUInt16BE(2, 4);
    be.writeUInt16BE(4, 6);
    be.writeUInt32BE(65535, 16);
    be.writeUInt32BE(1, 20);
    const frame = FRAMES[1]!;
    const rec = Buffer.alloc(16);
    rec.writeUInt32BE(Math.floor(TS / 1e6), 0);
    rec.writeUInt32BE((TS % 1e6) * 1000 + 999, 4); // nanoseconds: the extra 999 ns are dropped
    rec.writeUInt32BE(frame.length, 8);
    rec.writeUInt32BE(frame.length, 12);
    const [got] = new PcapTail().push(Buffer.concat([be, rec, frame]));
    assert.equal(got!.frame.time, TS);
    assert.match(got!.frame.summary, /ICMP echo request id 7 seq 1/);
  });

  it('refuses what is not an Ethernet pcap', () => {
    assert.throws(() => new PcapTail().push(Buffer.alloc(24, 0x41)), /not a pcap file/);
    const linux = Buffer.from(FILE.subarray(0, 24));
    linux.writeUInt32LE(113, 20); // LINKTYPE_LINUX_SLL
    assert.throws(() => new PcapTail().push(linux), /link type 113 is not Ethernet/);
    const huge = Buffer.concat([FILE.subarray(0, 24), Buffer.alloc(16, 0xff)]);
    assert.throws(() => new PcapTail().push(huge), /corrupt record/);
  });

  it('LinkTail follows a file that grows, hands new frames to subscribers and keeps the latest', async () => {
    const path = join(tmp, 'growing.pcap');
    const tail = new LinkTail(path, 3, 10_000);
    const missing = await tail.subscribe(() => {});
    assert.deepEqual(missing.recent, [], 'no file yet: nothing, no error');
    missing.unsubscribe();

    const first = 24 + record(FRAMES[0]!, TS).length;
    writeFileSync(path, FILE.subarray(0, first + 5)); // one record and a bit of the next
    const seen: TailFrame[] = [];
    const { recent, unsubscribe } = await tail.subscribe((fresh) => seen.push(...fresh));
    assert.deepEqual(summaries(recent), summaries(new PcapTail().push(FILE)).slice(0, 1));
    assert.equal(await tail.completeBytes(), first, 'a download would stop before the cut record');

    appendFileSync(path, FILE.subarray(first + 5));
    await tail.readNew();
    assert.deepEqual(
      seen.map((f) => f.number),
      [2, 3, 4],
    );
    unsubscribe();
    const again = await tail.subscribe(() => {});
    assert.deepEqual(
      again.recent.map((f) => f.number),
      [2, 3, 4],
      'keeps only the latest 3',
    );
    again.unsubscribe();

    writeFileSync(path, pcapFile([FRAMES[3]!])); // the lab was started again: a new, shorter file
    const restarted = await tail.subscribe(() => {});
    assert.deepEqual(summaries(restarted.recent), summaries(new PcapTail().push(pcapFile([FRAMES[3]!]))));
    restarted.unsubscribe();
    assert.equal(tail.error, null);
  });
});
