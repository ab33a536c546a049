// Images on real UML VMs (slow: builds a Debian image with debootstrap, a minute or a few,
// mostly downloading). UMLAB_SKIP_SLOW_TESTS=1 skips it, and says so; CI runs it.
//
// `umlab image build`, a VM booting from the image on its own sparse COW file, changes kept
// across down/up, `up` refusing a COW file whose image changed (with what to do), and
// `umlab disk merge --into` making an image that boots with the VM's changes.
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, umlab, umlabAsUser, umlabOk, vmExec, NOBODY } from './helpers.ts';

const skipSlow = process.env.UMLAB_SKIP_SLOW_TESTS === '1';
if (skipSlow) process.stderr.write('== UMLAB_SKIP_SLOW_TESTS=1: test/vm/image.test.ts (image build, boot, COW, merge) is NOT run\n');
const notRoot = process.getuid?.() !== 0;

const skip = (skipSlow && 'UMLAB_SKIP_SLOW_TESTS=1 (slow: debootstrap)') || (notRoot && 'umlab image build needs root');

describe('disk images', () => {
  const home = makeHome();
  const images = join(home, 'images');
  const image = join(images, 'base.img');
  const labDir = join(home, 'lab');
  const labFile = join(labDir, 'img.yaml');
  const cow = join(home, 'disks', 'img', 'i1.cow');
  // Skipped per test, so the summary counts each skipped test.
  const slow = { timeout: 20 * 60_000, skip };
  after(() => cleanHome(home));

  mkdirSync(labDir, { recursive: true });
  const writeLab = (file: string, name: string, img: string) =>
    writeFileSync(
      file,
      `name: ${name}
switches: { sw0: {} }
vms:
  i1:
    image: ${img}
    files: { /etc/motd: "from the lab\\n" }
    interfaces: { eth0: { connect: sw0, ip: 10.6.0.1/24 } }
  i2:
    image: ${img}
    interfaces: { eth0: { connect: sw0, ip: 10.6.0.3/24 } }
  h2:
    interfaces: { eth0: { connect: sw0, ip: 10.6.0.2/24 } }
`,
    );
  writeLab(labFile, 'img', '../images/base.img');

  it("umlab image build makes a Debian image with umlab's bootstrap init", slow, async () => {
    const r = await umlabOk(home, ['image', 'build', image, '--json'], 0, slow);
    const built = JSON.parse(r.stdout);
    assert.equal(built.image, image);
    assert.ok(built.allocated < built.bytes, 'sparse');
    assert.match(r.stderr, /debootstrap bookworm from http/);
    const again = await umlab(home, ['image', 'build', image]);
    assert.equal(again.exitCode, 2, 'never overwrites without --force');
    assert.match(again.stderr, /already exists/);
  });

  it('a VM boots from the image on its own sparse COW file; changes survive down and up', slow, async () => {
    const up = await umlabOk(home, ['up', labFile]);
    assert.match(up.stdout, /i1\s+ready/);
    assert.match(await vmExec(home, 'img', 'i1', 'cat /etc/debian_version'), /^12\./);
    assert.equal(await vmExec(home, 'img', 'i1', 'cat /etc/motd; hostname'), 'from the lab\ni1\n', "the lab's files and hostname");
    assert.match(await vmExec(home, 'img', 'i1', 'ping -c1 -W5 h2 && ping -c1 -W5 i2'), /1 received[^]*1 received/);
    assert.match(await vmExec(home, 'img', 'i1', 'grep " / " /proc/mounts'), /^\/dev\/(ubda|root) \/ ext4 rw/);
    await vmExec(home, 'img', 'i1', 'echo kept > /root/mark'); // no sync: `down` does it
    const merging = await umlab(home, ['disk', 'merge', 'i1']);
    assert.equal(merging.exitCode, 2, 'no merge while the VM writes to its COW file');
    assert.match(merging.stderr, /lab img is running; merging a disk needs it down\n\s+first: umlab down img/);
    await umlabOk(home, ['down', 'img']);
    await assertNothingLeft(home, 'img');

    const st = statSync(cow);
    assert.equal(st.size > statSync(image).size, true, 'the COW file covers the whole image (plus its bitmap)');
    assert.ok(st.blocks * 512 < 16 * 2 ** 20, `small on disk (ls -s): ${st.blocks * 512} bytes`);
    const list = JSON.parse((await umlabOk(home, ['disk', 'list', 'img', '--json'])).stdout);
    assert.deepEqual(
      list.map((d: { file: string; image: string; state: string }) => [d.file, d.image, d.state]),
      [
        ['i1.cow', image, 'ok'],
        ['i2.cow', image, 'ok'],
      ],
    );
    assert.ok(list[1].allocated < 16 * 2 ** 20, 'each VM has its own small COW file over the one image');

    await umlabOk(home, ['up', labFile]);
    assert.equal(await vmExec(home, 'img', 'i1', 'cat /root/mark'), 'kept\n');
    assert.notEqual((await umlab(home, ['exec', 'i2', '--', 'cat /root/mark'])).exitCode, 0, "i1's change is not i2's");
    await umlabOk(home, ['down', 'img']);
  });

  it('up refuses a COW file whose image changed, before anything starts, and says what to do', slow, async () => {
    const before = statSync(image);
    utimesSync(image, before.atime, new Date(before.mtimeMs + 60_000));
    const r = await umlab(home, ['up', labFile]);
    assert.equal(r.exitCode, 6, r.stderr);
    assert.match(r.stderr, /VM i1 cannot boot: the image .*base\.img changed since .*i1\.cow was made over it: its modification time is/);
    assert.match(r.stderr, /umlab clean img/);
    assert.match(r.stderr, /umlab disk merge i1/);
    await assertNothingLeft(home, 'img');
    utimesSync(image, before.atime, before.mtime);
  });

  it("rootless: an ordinary user boots a VM from the image; its COW file is that user's", slow, async () => {
    const userHome = makeHome();
    try {
      const dir = join(userHome, 'lab');
      mkdirSync(dir);
      await execa('cp', ['--sparse=always', image, join(dir, 'base.img')]);
      writeLab(join(dir, 'img.yaml'), 'img', './base.img');
      for (const p of [userHome, dir, join(dir, 'base.img'), join(dir, 'img.yaml')]) chownSync(p, NOBODY, NOBODY);
      const asNobody = async (args: string[]) => {
        const r = await umlabAsUser(NOBODY, userHome, args);
        assert.equal(r.exitCode, 0, `umlab ${args.join(' ')}: ${r.stdout}${r.stderr}`);
        return r.stdout;
      };
      await asNobody(['up', join(dir, 'img.yaml')]);
      assert.equal(await asNobody(['exec', 'i1', '--', 'id -u; echo w > /root/w; cat /etc/motd']), '0\nfrom the lab\n');
      await asNobody(['down']);
      assert.equal(statSync(join(userHome, 'disks/img/i1.cow')).uid, NOBODY);
      await asNobody(['clean', 'img']);
      await assertNothingLeft(userHome, 'img');
    } finally {
      rmSync(userHome, { recursive: true, force: true });
    }
  });

  it('umlab disk merge --into makes a new image with the changes; the old one is untouched', slow, async () => {
    const before = statSync(image);
    const merged = join(images, 'merged.img');
    const r = await umlabOk(home, ['disk', 'merge', 'i1', '--lab', 'img', '--into', merged]);
    assert.match(r.stdout, /base\.img is unchanged/);
    assert.ok(existsSync(merged));
    const after = statSync(image);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(after.size, before.size);

    const mergedLab = join(labDir, 'merged.yaml');
    writeLab(mergedLab, 'merged', '../images/merged.img');
    await umlabOk(home, ['up', mergedLab]);
    assert.equal(await vmExec(home, 'merged', 'i1', 'cat /root/mark'), 'kept\n', 'the change is in the merged image');
    await umlabOk(home, ['down', 'merged']);

    // The original image still boots without the change once the lab's COW file is dropped.
    await umlabOk(home, ['clean', 'img']);
    assert.equal(existsSync(cow), false);
    await umlabOk(home, ['up', labFile]);
    assert.notEqual((await umlab(home, ['exec', 'i1', '--', 'cat /root/mark'])).exitCode, 0);
    await umlabOk(home, ['down', 'img']);
    await umlabOk(home, ['clean', '--all']);
    await assertNothingLeft(home, 'img');
    await assertNothingLeft(home, 'merged');
  });
});
