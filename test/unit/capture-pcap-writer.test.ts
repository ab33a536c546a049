// PcapWriter: the file is a valid capture at every moment (at open, mid-run, after close,
// after a crash of the writing process), and readCapture tolerates a cut-short last record.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PcapWriter, PCAP_GLOBAL_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from '../../src/capture/pcap-writer.ts';
import { readCapture } from '../../src/capture/decode.ts';
import { eventually } from '../vm/helpers.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-pcap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A 60-byte frame whose source MAC ends with `n` (mod 256) and whose payload starts with n as u32. */
function numberedFrame(n: number, size = 60): Buffer {
  const f = Buffer.alloc(size);
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xfd, 0, 0, 0, n & 0xff, 0x88, 0xb5]).copy(f);
  f.writeUInt32BE(n, 14);
  return f;
}

test('global header is on disk as soon as the writer is open', async (t) => {
  const path = join(tempDir(t), 'sub', 'dir', 'link.pcap'); // missing directories are created
  const writer = PcapWriter.open(path);
  const header = readFileSync(path);
  assert.equal(header.length, PCAP_GLOBAL_HEADER_BYTES);
  assert.equal(header.readUInt32LE(0), 0xa1b2c3d4);
  assert.deepEqual([header.readUInt16LE(4), header.readUInt16LE(6)], [2, 4]);
  assert.equal(header.readUInt32LE(16), 262144, 'snaplen');
  assert.equal(header.readUInt32LE(20), 1, 'linktype Ethernet');
  assert.deepEqual(await readCapture(path), []);
  await writer.close();
  await writer.close(); // idempotent
});

test('records: microsecond timestamps, lengths, order; flushed by the timer while open', async (t) => {
  const path = join(tempDir(t), 'link.pcap');
  t.mock.timers.enable({ apis: ['setTimeout'] }); // the flush timer on a fake clock
  const writer = PcapWriter.open(path);
  const base = 1_700_000_000_000_000;
  writer.writeFrame(numberedFrame(1), base + 1);
  writer.writeFrame(numberedFrame(2, 1514), base + 999_999);
  writer.writeFrame(numberedFrame(3), base + 1_000_000);
  assert.equal(statSync(path).size, PCAP_GLOBAL_HEADER_BYTES, 'records are buffered, not written synchronously');

  t.mock.timers.tick(50); // the flush delay has passed; the writer is still open
  t.mock.timers.reset();
  // The timer has handed the records to the OS; the write itself finishes in the thread pool.
  const midRun = await eventually(async () => {
    const frames = await readCapture(path);
    assert.deepEqual(
      frames.map((f) => f.time),
      [base + 1, base + 999_999, base + 1_000_000],
    );
    return frames;
  });
  assert.deepEqual(
    midRun.map((f) => f.length),
    [60, 1514, 60],
  );

  const raw = readFileSync(path);
  const first = PCAP_GLOBAL_HEADER_BYTES;
  assert.equal(raw.readUInt32LE(first), 1_700_000_000, 'seconds');
  assert.equal(raw.readUInt32LE(first + 4), 1, 'microseconds');
  assert.equal(raw.readUInt32LE(first + 8), 60, 'captured length');
  assert.equal(raw.readUInt32LE(first + 12), 60, 'original length');
  await writer.close();
});

test('a big burst is written in order, and flush() waits until it is in the file', async (t) => {
  const path = join(tempDir(t), 'burst.pcap');
  const writer = PcapWriter.open(path);
  const count = 20_000; // about 1.5 MB: many chunks, several flushes by size
  for (let i = 0; i < count; i++) writer.writeFrame(numberedFrame(i), 1_700_000_000_000_000 + i);
  await writer.flush();
  assert.equal(statSync(path).size, PCAP_GLOBAL_HEADER_BYTES + count * (PCAP_RECORD_HEADER_BYTES + 60));
  await writer.close();
  const frames = await readCapture(path);
  assert.equal(frames.length, count);
  assert.ok(
    frames.every((f, i) => f.time === 1_700_000_000_000_000 + i),
    'frames reordered',
  );
  if (existsSync('/usr/bin/tshark')) {
    const out = execFileSync('/usr/bin/tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 24,
    });
    assert.equal(out.trim().split('\n').length, count);
  }
  assert.equal(writer.droppedFrames, 0);
  writer.writeFrame(numberedFrame(0), 0);
  assert.equal(writer.droppedFrames, 1, 'frames after close are counted as dropped');
});

test('readCapture returns the complete records of a file whose last record is cut short', async (t) => {
  const path = join(tempDir(t), 'cut.pcap');
  const writer = PcapWriter.open(path);
  for (let i = 0; i < 5; i++) writer.writeFrame(numberedFrame(i), 1_700_000_000_000_000 + i);
  await writer.close();
  const recordBytes = PCAP_RECORD_HEADER_BYTES + 60;
  truncateSync(path, PCAP_GLOBAL_HEADER_BYTES + 4 * recordBytes + 30); // inside the 5th record's data
  assert.equal((await readCapture(path)).length, 4);
  truncateSync(path, PCAP_GLOBAL_HEADER_BYTES + 3 * recordBytes + 7); // inside the 4th record's header
  assert.equal((await readCapture(path)).length, 3);
  if (existsSync('/usr/bin/tshark')) {
    // tshark reports the cut record as an error but still prints the complete ones.
    const run = spawnSync('/usr/bin/tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(run.stdout.trim().split('\n').length, 3);
  }
  await assert.rejects(readCapture(join(tempDir(t), 'missing.pcap')), /ENOENT/);
});

test('after the writing process is killed with SIGKILL, the file holds every flushed frame', async (t) => {
  const path = join(tempDir(t), 'crash.pcap');
  const writerModule = fileURLToPath(new URL('../../src/capture/pcap-writer.ts', import.meta.url));
  // The child writes 100 frames, waits until they are in the file, writes 3 more, then dies at once.
  const script = `
    const { PcapWriter } = await import(${JSON.stringify(writerModule)});
    const w = PcapWriter.open(${JSON.stringify(path)});
    const frame = Buffer.alloc(60);
    for (let i = 0; i < 100; i++) w.writeFrame(frame, 1_700_000_000_000_000 + i);
    await w.flush();
    for (let i = 0; i < 3; i++) w.writeFrame(frame, 1_800_000_000_000_000 + i);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const frames = await readCapture(path);
  assert.equal(frames.length, 100, 'the flushed frames survive; the 3 still buffered are lost');
});
