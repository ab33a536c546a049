// Disks without VMs: the COW header parser (on a header uml_mkcow writes, made on the fly,
// and on hand-made v1/v2/old-v3 headers), the mismatch check, data disk files, the rw
// share script, the shares fstab, the apt mirror lookup.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { LabRuntimeError, NotFoundError, UsageError } from '../../src/errors.ts';
import { checkCow, prepareDisks, readCowHeader } from '../../src/runtime/disks.ts';
import { findCommand } from '../../src/runtime/host.ts';
import { aptMirror } from '../../src/runtime/image.ts';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan } from '../../src/topology/plan.ts';
import { COW_MAGIC, cowMismatch, parseCowHeader } from '../../src/vm/cow.ts';
import { sharesFstab } from '../../src/vm/init.ts';

const dir = mkdtempSync(join(tmpdir(), 'umlab-disks-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function planOf(yaml: string, labFile = join(dir, 'lab.yaml')): LabPlan {
  const r = parseLab(yaml, labFile);
  assert.ok('lab' in r, JSON.stringify(r));
  return compile(r.lab, { runDir: join(dir, 'home/labs/t'), kernel: '/usr/bin/linux.uml', kernelVersion: '6.1', modulesDir: '/usr/lib/uml/modules/6.1' });
}

describe('COW headers', () => {
  it(
    'reads the v3 header uml_mkcow writes (big-endian, as the UML kernel writes it)',
    { skip: !findCommand('uml_mkcow') && 'uml_mkcow (uml-utilities) is not installed' },
    async () => {
      const image = join(dir, 'img');
      writeFileSync(image, Buffer.alloc(3 * 1024 * 1024));
      utimesSync(image, 1_700_000_000, 1_700_000_000);
      await execa('uml_mkcow', [join(dir, 'img.cow'), image]);
      const header = readCowHeader(join(dir, 'img.cow'))!;
      assert.deepEqual(header, { version: 3, backingFile: image, mtime: 1_700_000_000, size: 3n * 1024n * 1024n, sectorSize: 512 });
      assert.equal(checkCow(join(dir, 'img.cow'), image), null);
      // What UML checks: the size and the mtime in whole seconds.
      utimesSync(image, 1_700_000_100, 1_700_000_100);
      assert.match(checkCow(join(dir, 'img.cow'), image)!, /changed since .* modification time is 2023-11-14T22:15:00Z, .* from 2023-11-14T22:13:20Z/);
      utimesSync(image, 1_700_000_000, 1_700_000_000);
      writeFileSync(image, Buffer.alloc(10), { flag: 'a' });
      utimesSync(image, 1_700_000_000, 1_700_000_000);
      assert.match(checkCow(join(dir, 'img.cow'), image)!, /size is 3145738 bytes, the copy-on-write file was made over 3145728 bytes/);
    },
  );

  it('reads v1 (host order), v2 and the old 64-bit v3 layout; rejects what is not a COW file', () => {
    const v1 = Buffer.alloc(8 + 256 + 4 + 8 + 4);
    v1.writeUInt32LE(COW_MAGIC, 0);
    v1.writeUInt32LE(1, 4);
    v1.write('/images/a.img', 8);
    v1.writeUInt32LE(1234, 264);
    v1.writeBigUInt64LE(4096n, 268);
    v1.writeUInt32LE(512, 276);
    assert.deepEqual(parseCowHeader(v1), { version: 1, backingFile: '/images/a.img', mtime: 1234, size: 4096n, sectorSize: 512 });

    const v2 = Buffer.alloc(8 + 4096 + 16);
    v2.writeUInt32BE(COW_MAGIC, 0);
    v2.writeUInt32BE(2, 4);
    v2.write('/images/b.img', 8);
    v2.writeUInt32BE(99, 4104);
    v2.writeBigUInt64BE(8192n, 4108);
    v2.writeUInt32BE(512, 4116);
    assert.deepEqual(parseCowHeader(v2), { version: 2, backingFile: '/images/b.img', mtime: 99, size: 8192n, sectorSize: 512 });

    const broken = Buffer.alloc(36 + 4096);
    broken.writeUInt32BE(COW_MAGIC, 0);
    broken.writeUInt32BE(3, 4);
    broken.writeBigUInt64BE(77n, 8);
    broken.writeBigUInt64BE(1024n, 16);
    broken.writeUInt32BE(512, 24);
    broken.write('/images/c.img', 36);
    assert.deepEqual(parseCowHeader(broken), { version: 3, backingFile: '/images/c.img', mtime: 77, size: 1024n, sectorSize: 512 });

    assert.equal(parseCowHeader(Buffer.from('hsqs not a cow at all')), null);
    assert.equal(parseCowHeader(Buffer.alloc(4)), null);
  });

  it('cowMismatch compares whole seconds and the size', () => {
    const header = { version: 3 as const, backingFile: '/x', mtime: 100, size: 10n, sectorSize: 512 };
    assert.equal(cowMismatch(header, { mtimeMs: 100_999, size: 10 }), null);
    assert.match(cowMismatch(header, { mtimeMs: 101_000, size: 10 })!, /modification time/);
    assert.match(cowMismatch(header, { mtimeMs: 100_000, size: 11n })!, /size is 11 bytes/);
  });
});

describe('prepareDisks', () => {
  it('creates data disks as sparse files of the size asked for, grows them, refuses to shrink them', () => {
    const plan = planOf('name: t\nvms: { d1: { disks: [ { size: 64M }, { size: 1M } ] } }\n');
    prepareDisks(plan);
    const [a, b] = plan.vms[0]!.disks;
    assert.equal(statSync(a!.file).size, 64 * 2 ** 20);
    assert.ok(statSync(a!.file).blocks * 512 < 2 ** 20, 'sparse: nothing allocated');
    assert.equal(statSync(b!.file).size, 2 ** 20);
    writeFileSync(a!.file, 'data', { flag: 'r+' });
    const bigger = planOf('name: t\nvms: { d1: { disks: [ { size: 128M } ] } }\n');
    prepareDisks(bigger);
    assert.equal(statSync(a!.file).size, 128 * 2 ** 20);
    assert.equal(readFileSync(a!.file).subarray(0, 4).toString(), 'data', 'growing keeps the data');
    assert.throws(
      () => prepareDisks(plan),
      (e: unknown) => e instanceof LabRuntimeError && /larger than the 64M/.test(e.message) && /umlab clean t/.test(e.hint!),
    );
  });

  it('refuses an image that is missing, and a COW file whose image changed, saying what to do', () => {
    const plan = planOf('name: t\nvms: { i1: { image: ./missing.img } }\n');
    assert.throws(
      () => prepareDisks(plan),
      (e: unknown) => e instanceof NotFoundError && /umlab image build/.test(e.hint!),
    );
    const image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(4096));
    const p2 = planOf('name: t\nvms: { i1: { image: ./disk.img } }\n');
    prepareDisks(p2); // no COW yet: UML makes it at the first boot
    assert.equal(existsSync(p2.vms[0]!.rootCow!), false);
    const header = Buffer.alloc(32 + 4096);
    header.writeUInt32BE(COW_MAGIC, 0);
    header.writeUInt32BE(3, 4);
    header.writeUInt32BE(Math.floor(statSync(image).mtimeMs / 1000), 8);
    header.writeBigUInt64BE(4096n, 12);
    header.writeUInt32BE(512, 20);
    header.writeUInt32BE(512, 24);
    header.write(image, 32);
    writeFileSync(p2.vms[0]!.rootCow!, header);
    prepareDisks(p2);
    writeFileSync(image, 'x', { flag: 'a' });
    assert.throws(
      () => prepareDisks(p2),
      (e: unknown) =>
        e instanceof LabRuntimeError &&
        /VM i1 cannot boot: the image .* changed/.test(e.message) &&
        /umlab clean t/.test(e.hint!) &&
        /umlab disk merge i1/.test(e.hint!),
    );
  });

  it('resolves shares to real paths and refuses a missing one', () => {
    mkdirSync(join(dir, 'real-share'));
    symlinkSync(join(dir, 'real-share'), join(dir, 'linked-share'));
    const plan = planOf('name: t\nvms: { s1: { shares: { /mnt/a: ./linked-share, /mnt/b: { path: ./real-share, rw: true } } } }\n');
    prepareDisks(plan);
    assert.deepEqual(
      plan.vms[0]!.shares.map((s) => s.hostPath),
      [join(dir, 'real-share'), join(dir, 'real-share')],
    );
    const missing = planOf('name: t\nvms: { s1: { shares: { /mnt/a: ./nope } } }\n');
    assert.throws(
      () => prepareDisks(missing),
      (e: unknown) => e instanceof NotFoundError && /mkdir -p/.test(e.hint!),
    );
  });
});

describe('the run directory', () => {
  it('must not go through a symlink (VMs reach it through a view where the host follows none)', () => {
    mkdirSync(join(dir, 'real-home'));
    symlinkSync(join(dir, 'real-home'), join(dir, 'link-home'));
    const r = parseLab('name: t\nvms: { s1: {} }\n', join(dir, 'lab.yaml'));
    assert.ok('lab' in r);
    const plan = compile(r.lab, { runDir: join(dir, 'link-home/labs/t'), kernel: 'k', kernelVersion: '6.1', modulesDir: '/m' });
    assert.throws(
      () => prepareDisks(plan),
      (e: unknown) => e instanceof UsageError && /goes through a symlink/.test(e.message) && e.hint!.endsWith(`UMLAB_HOME=${join(dir, 'real-home')}`),
    );
  });
});

describe('shares', () => {
  it('fstab lines: hostfs with the host directory as option, ro unless rw, spaces escaped', () => {
    assert.equal(
      sharesFstab([
        { mountPoint: '/mnt/a/b', hostPath: '/srv/x y', rw: false },
        { mountPoint: '/mnt/a', hostPath: '/srv/a', rw: true },
      ]),
      'umlab-share /mnt/a hostfs X-mount.mkdir,rw,/srv/a 0 0\numlab-share /mnt/a/b hostfs X-mount.mkdir,ro,/srv/x\\040y 0 0\n',
    );
  });
});

describe('aptMirror', () => {
  it('finds the Debian mirror in deb822 and one-line sources, skipping security and updates', () => {
    const deb822 = join(dir, 'debian.sources');
    writeFileSync(
      deb822,
      'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
        'Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n',
    );
    const list = join(dir, 'sources.list');
    writeFileSync(list, '# nothing\ndeb [arch=amd64] http://ftp.example/debian bookworm main\n');
    const other = join(dir, 'other.list');
    writeFileSync(other, 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n');
    assert.equal(aptMirror([join(dir, 'absent'), other, deb822, list]), 'http://mirror.example/debian');
    assert.equal(aptMirror([list]), 'http://ftp.example/debian');
    assert.equal(aptMirror([other]), null);
  });
});
