// Fault injection on captures (issue 12, item 6): the lab's capture helper killed with SIGKILL is
// noticed, restarted and said in status and `down --json`; a full disk (a small tmpfs as UMLAB_HOME) stops
// the captures with whole records, says so, and takes neither the supervisor nor a VM down.
// Lab traffic stays inside the lab's namespace.
import assert from 'node:assert/strict';
import { chownSync, closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { readCapture } from '../../src/capture/decode.ts';
import { PcapWriter } from '../../src/capture/pcap-writer.ts';
import { pidAlive } from '../../src/runtime/lab.ts';
import { assertNothingLeft, cleanHome, eventually, makeHome, NOBODY, processesMentioning, umlab, umlabAsUser, umlabOk, vmExec } from '../vm/helpers.ts';

const isRoot = process.getuid?.() === 0;
const LAB = 'cap-fault';
const LAB_YAML = `name: ${LAB}
switches: { sw0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.9.0.1/24 } } }
  h2: { interfaces: { eth0: { connect: sw0, ip: 10.9.0.2/24 } } }
`;

interface Link {
  link: string;
  capture: string | null;
  captureState?: string;
  captureReason?: string;
  captureRestarts?: number;
  captureParts?: string[];
}
interface Incomplete {
  capture: string;
  missingFrames: number;
  reason: string;
  framesInFile?: number;
  framesOnLink?: number;
}

/** Asserts that a classic pcap holds whole records up to its last byte (no cut last record). */
function assertWholeRecords(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = Buffer.alloc(16);
    readSync(fd, h, 0, 4, 0);
    assert.equal(h.readUInt32LE(0), 0xa1b2c3d4, `${path}: a pcap header`);
    let at = 24;
    let records = 0;
    while (at < size) {
      assert.ok(at + 16 <= size, `${path}: a cut record header at ${at} of ${size}`);
      readSync(fd, h, 0, 16, at);
      at += 16 + h.readUInt32LE(8);
      assert.ok(at <= size, `${path}: the last record is cut (it ends at ${at}, the file at ${size})`);
      records++;
    }
    return records;
  } finally {
    closeSync(fd);
  }
}

async function assertArchiveParses(archive: string): Promise<string[]> {
  const pcaps = readdirSync(archive).filter((f) => f.endsWith('.pcap'));
  for (const f of pcaps) {
    const records = assertWholeRecords(join(archive, f));
    assert.equal((await readCapture(join(archive, f))).length, records, `${f}: every record decodes`);
  }
  return pcaps;
}

async function links(home: string, runAs?: number): Promise<Link[]> {
  const r = runAs === undefined ? await umlabOk(home, ['status', LAB, '--json']) : await umlabAsUser(runAs, home, ['status', LAB, '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout).status.links as Link[];
}

describe('faults: captures', { skip: !isRoot && 'needs root (captures on Linux bridges, tmpfs mounts)' }, () => {
  describe('the capture helper killed with SIGKILL', () => {
    const home = makeHome();
    const runDir = join(home, 'labs', LAB);
    after(() => cleanHome(home));

    it('is restarted, shown in status, captures the frames after it, and is named by down --json', async () => {
      const file = join(home, `${LAB}.yaml`);
      writeFileSync(file, LAB_YAML);
      await umlabOk(home, ['up', file]);
      const capture = (await links(home)).find((l) => l.link === 'h1.eth0')!.capture!;
      // One process writes every link's capture: its command line names the capture directory.
      const helper = () => processesMentioning(join(runDir, 'captures')).find((p) => /(^|\/)umlab-capture /.test(p.cmdline))?.pid;
      const first = helper();
      assert.ok(first, 'the capture helper writes the captures');
      process.kill(first, 'SIGKILL');

      const reason = 'capture helper exited (signal 9)';
      for (const name of ['h1.eth0', 'h2.eth0']) {
        const link = await eventually(async () => {
          const l = (await links(home)).find((k) => k.link === name)!;
          assert.equal(l.captureState, 'restarted', JSON.stringify(l));
          return l;
        });
        assert.equal(link.captureReason, reason);
        assert.equal(link.captureRestarts, 1);
        assert.deepEqual(link.captureParts, [join(runDir, 'captures', `${name}.1.pcap`)]);
      }
      assert.ok(helper() && helper() !== first, 'a new capture helper writes the captures');
      const text = (await umlabOk(home, ['status', LAB])).stdout;
      assert.match(text, /h1\.eth0 .*capture restarted \(1x\): capture helper exited \(signal 9\)/);

      // Frames after the restart are in the live capture file.
      await vmExec(home, LAB, 'h1', 'ping -c3 -i0.2 -W2 10.9.0.2');
      await eventually(async () => {
        const echo = (await readCapture(capture)).filter((f) => f.icmp?.type === 8 && f.ip?.dst === '10.9.0.2');
        assert.ok(echo.length >= 3, `3 echo requests after the restart, got ${echo.length}`);
      });

      const down = JSON.parse((await umlabOk(home, ['down', LAB, '--json'])).stdout) as { archive: string; incompleteCaptures: Incomplete[] };
      const named = down.incompleteCaptures.find((c) => c.capture === join(down.archive, 'h1.eth0.pcap'));
      assert.ok(named, `down names h1.eth0.pcap: ${JSON.stringify(down.incompleteCaptures)}`);
      assert.match(named.reason, /capture helper exited \(signal 9\)/);
      // Its frames are counted over the file and the part before the restart.
      const inFiles = (await readCapture(named.capture)).length + (await readCapture(join(down.archive, 'h1.eth0.1.pcap'))).length;
      assert.equal(named.framesInFile, inFiles, JSON.stringify(named));
      assert.ok(named.framesOnLink !== undefined && named.framesOnLink >= 6, JSON.stringify(named));
      const pcaps = await assertArchiveParses(down.archive);
      assert.ok(pcaps.includes('h1.eth0.1.pcap') && pcaps.includes('h1.eth0.pcap'), pcaps.join(' '));
      await assertNothingLeft(home, LAB);
    });
  });

  describe("umlab's pcap writer on a full disk", () => {
    const dir = makeHome('umlab-pcapfull-');
    before(() => execa('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', dir]));
    after(async () => {
      await execa('umount', [dir], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    });

    it('stops at the last whole record, says no space left on device, and counts what it dropped', async () => {
      const errors: string[] = [];
      const writer = PcapWriter.open(join(dir, 'x.pcap'), { onError: (e) => errors.push(e.message) });
      // 1001-byte frames: records never end on a page boundary, so the failing write cuts one.
      const frame = Buffer.alloc(1001, 0xab);
      for (let i = 0; i < 2000; i++) {
        writer.writeFrame(frame, Date.now() * 1000);
        if (i % 100 === 99) await writer.flush();
      }
      await writer.close();
      assert.equal(writer.failedBecause, 'no space left on device');
      assert.equal(errors.length, 1, errors.join('\n'));
      const kept = assertWholeRecords(join(dir, 'x.pcap'));
      assert.ok(kept > 0 && kept < 2000, `${kept} records kept`);
      assert.equal(kept + writer.droppedFrames, 2000, 'every frame is either in the file or counted as dropped');
    });
  });

  // Root: captures by the capture helper on the bridges; rootless (as nobody): umlab's own pcap writer.
  for (const mode of ['root', 'rootless'] as const)
    describe(`a full disk (${mode} lab)`, () => {
      const home = makeHome('umlab-enospc-');
      const runAs = mode === 'rootless' ? NOBODY : undefined;
      const cli = (args: string[]) => (runAs === undefined ? umlab(home, args) : umlabAsUser(runAs, home, args));
      before(async () => {
        await execa('mount', ['-t', 'tmpfs', '-o', `size=8m,mode=0700${runAs ? `,uid=${runAs},gid=${runAs}` : ''}`, 'tmpfs', home]);
      });
      after(async () => {
        await cli(['down', '--all']);
        await execa('umount', [home], { reject: false });
        rmSync(home, { recursive: true, force: true });
      });

      it('stops the captures with whole records, keeps the lab running, and down says which and why', async () => {
        const file = join(home, `${LAB}.yaml`);
        writeFileSync(file, LAB_YAML);
        if (runAs) chownSync(file, runAs, runAs);
        const up = await cli(['up', file]);
        assert.equal(up.exitCode, 0, up.stderr);
        // ~6 KB of capture per round trip: 8 MB are full within a few seconds.
        const flood = await cli(['exec', '--lab', LAB, 'h1', '--', 'ping -f -q -s 1400 -w 6 10.9.0.2 >/dev/null; echo flooded']);
        assert.equal(flood.stdout, 'flooded\n', flood.stderr);
        const failed = await eventually(async () => {
          const f = (await links(home, runAs)).filter((l) => l.captureState === 'failed');
          assert.ok(f.length > 0, 'a capture is marked failed');
          return f;
        });
        for (const l of failed) assert.equal(l.captureReason, 'no space left on device');
        const status = JSON.parse((await cli(['status', LAB, '--json'])).stdout);
        assert.ok(pidAlive(status.status.supervisorPid), 'the supervisor is alive');
        for (const vm of ['h1', 'h2']) {
          const r = await cli(['exec', '--lab', LAB, vm, '--', 'echo alive']);
          assert.equal(r.stdout, 'alive\n', `${vm} runs commands: ${r.stderr}`);
        }
        // Forwarding goes on without the capture.
        const ping = await cli(['exec', '--lab', LAB, 'h1', '--', 'ping -c2 -W2 10.9.0.2']);
        assert.match(ping.stdout, / 2 received/);

        const down = await cli(['down', LAB, '--json']);
        assert.equal(down.exitCode, 0, down.stderr);
        const result = JSON.parse(down.stdout) as { archive: string; incompleteCaptures: Incomplete[] };
        for (const l of failed) {
          const named = result.incompleteCaptures.find((c) => c.capture === join(result.archive, `${l.link}.pcap`));
          assert.ok(named, `down names ${l.link}: ${JSON.stringify(result.incompleteCaptures)}`);
          assert.match(named.reason, /no space left on device/);
          // How much is missing: what the file holds against what the link carried.
          const inFile = (await readCapture(named.capture)).length;
          assert.equal(named.framesInFile, inFile, JSON.stringify(named));
          assert.ok(named.framesOnLink !== undefined && named.framesOnLink > inFile, JSON.stringify(named));
        }
        await assertArchiveParses(result.archive);
        assert.match(readFileSync(join(result.archive, 'supervisor.log'), 'utf8'), /no space left on device/i);
        await assertNothingLeft(home, LAB);
      });
    });
});
