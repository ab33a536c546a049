// Data disks and host shares on real UML VMs: a sparse data disk whose filesystem survives
// down/up until `umlab clean`; a read-only and a writable share, and that a VM cannot get
// out of a share (.., symlinks it plants, remounts) to write anything else on the host.
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, umlab, umlabAsUser, umlabOk, vmExec, NOBODY } from './helpers.ts';

describe('data disks and host shares', () => {
  const home = makeHome();
  const labDir = join(home, 'lab');
  const files = join(labDir, 'files');
  const outDir = join(labDir, 'out');
  const labFile = join(labDir, 'disks.yaml');
  const disk = join(home, 'disks', 'disks', 'd1.disk1.img');
  after(() => cleanHome(home));

  mkdirSync(files, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(files, 'hello.txt'), 'hello from the host\n');
  writeFileSync(
    labFile,
    `name: disks
switches: { sw0: {} }
vms:
  d1:
    disks: [ { size: 64M } ]
    shares:
      /mnt/lab: ./files
      /mnt/out: { path: ./out, rw: true }
    interfaces: { eth0: { connect: sw0, ip: 10.7.0.1/24 } }
`,
  );

  it('a data disk is a sparse file on /dev/ubdb; its filesystem survives down and up, until umlab clean', async () => {
    await umlabOk(home, ['up', labFile]);
    const st = statSync(disk);
    assert.equal(st.size, 64 * 2 ** 20, 'the size the lab asks for');
    assert.ok(st.blocks * 512 < 2 ** 20, `sparse: ${st.blocks * 512} bytes allocated`);
    // Left mounted, not synced: `down` flushes it (UML's mconsole halt alone would lose it).
    await vmExec(home, 'disks', 'd1', 'mkfs.ext4 -q /dev/ubdb && mkdir -p /mnt/data && mount /dev/ubdb /mnt/data && echo kept > /mnt/data/file');
    const clean = await umlab(home, ['clean', 'disks']);
    assert.equal(clean.exitCode, 2, 'clean refuses while the lab runs');
    assert.match(clean.stderr, /lab disks is running.*\n.*umlab down disks/);
    await umlabOk(home, ['down', 'disks']);
    await assertNothingLeft(home, 'disks');
    assert.ok(existsSync(disk), 'down keeps the disk');
    assert.ok(statSync(disk).blocks * 512 < 16 * 2 ** 20, 'still sparse after mkfs');

    await umlabOk(home, ['up', labFile]);
    assert.equal(await vmExec(home, 'disks', 'd1', 'mkdir -p /mnt/data && mount /dev/ubdb /mnt/data && cat /mnt/data/file'), 'kept\n');
    // `umlab vm reboot` and `vm halt` flush it too. (Checked after a fresh up: after an in-place
    // reboot UML can leave stopped processes of the previous boot that keep the disk file
    // locked, and mounting it again fails with EAGAIN.)
    const remount = (file: string) => vmExec(home, 'disks', 'd1', `mkdir -p /mnt/data && mount /dev/ubdb /mnt/data && cat /mnt/data/${file}`);
    await vmExec(home, 'disks', 'd1', 'echo after reboot > /mnt/data/file2');
    await umlabOk(home, ['vm', 'reboot', 'd1']);
    await umlabOk(home, ['down', 'disks']);
    await umlabOk(home, ['up', labFile]);
    assert.equal(await remount('file2'), 'after reboot\n');
    await vmExec(home, 'disks', 'd1', 'echo after halt > /mnt/data/file3');
    await umlabOk(home, ['vm', 'halt', 'd1']);
    await umlabOk(home, ['down', 'disks']);
    await umlabOk(home, ['up', labFile]);
    assert.equal(await remount('file3'), 'after halt\n');
    await umlabOk(home, ['down', 'disks']);
    const cleaned = await umlabOk(home, ['clean', 'disks']);
    assert.match(cleaned.stdout, /lab disks: removed 1 disk file/);
    assert.equal(existsSync(join(home, 'disks', 'disks')), false);
    await assertNothingLeft(home, 'disks');
  });

  it('shares: read-only by default, rw when asked; nothing outside the share is writable from the VM', async () => {
    await umlabOk(home, ['up', labFile]);
    const vm = (cmd: string) => umlab(home, ['exec', 'd1', '--', cmd]);
    assert.equal(await vmExec(home, 'disks', 'd1', 'cat /mnt/lab/hello.txt'), 'hello from the host\n');
    const mounts = await vmExec(home, 'disks', 'd1', 'grep umlab-share /proc/mounts');
    assert.match(mounts, new RegExp(`/mnt/lab hostfs ro,.*${files}`));
    assert.match(mounts, new RegExp(`/mnt/out hostfs rw,.*${outDir}`));

    // Read-only: the VM cannot write, not even after remounting it rw (the host's view is read-only).
    assert.notEqual((await vm('echo x > /mnt/lab/new.txt')).exitCode, 0);
    assert.notEqual((await vm('mount -o remount,rw /mnt/lab && echo x > /mnt/lab/new.txt')).exitCode, 0);
    assert.equal(existsSync(join(files, 'new.txt')), false);

    // Writable: what the VM writes appears on the host.
    await vmExec(home, 'disks', 'd1', 'echo from the vm > /mnt/out/result.txt && mkdir /mnt/out/sub && echo deep > /mnt/out/sub/f');
    assert.equal(readFileSync(join(outDir, 'result.txt'), 'utf8'), 'from the vm\n');
    assert.equal(readFileSync(join(outDir, 'sub/f'), 'utf8'), 'deep\n');

    // Out of the writable share: "..", on the VM's side and as a hostfs mount of the share's parent.
    await vm('cd /mnt/out && echo x > ../../escape-dotdot');
    assert.equal(existsSync(join(labDir, 'escape-dotdot')), false);
    assert.equal(existsSync('/escape-dotdot'), false, "written in the VM's own root, not the host's");
    const parent = await vm(`mkdir -p /mnt/p && mount -t hostfs none /mnt/p -o ${outDir}/.. && echo x > /mnt/p/escape-parent`);
    assert.notEqual(parent.exitCode, 0, 'the parent of a share is in the read-only view');
    assert.equal(existsSync(join(labDir, 'escape-parent')), false);

    // A symlink the VM plants in the share is a real host symlink; the VM follows it inside
    // itself, and the host never follows it (the view is nosymfollow).
    await vmExec(home, 'disks', 'd1', `ln -s ${labDir} /mnt/out/up && ln -s /etc /mnt/out/etc`);
    assert.equal(readlinkSync(join(outDir, 'up')), labDir);
    await vm('echo x > /mnt/out/up/escape-link; echo x > /mnt/out/etc/umlab-escape-link');
    assert.equal(existsSync(join(labDir, 'escape-link')), false);
    assert.equal(existsSync('/etc/umlab-escape-link'), false);
    const viaLink = await vm(`mkdir -p /mnt/l && mount -t hostfs none /mnt/l -o ${outDir}/up && echo x > /mnt/l/escape-mount`);
    assert.notEqual(viaLink.exitCode, 0, viaLink.stdout + viaLink.stderr);
    assert.equal(existsSync(join(labDir, 'escape-mount')), false);

    // The rest of the host: readable (VMs boot from it), never writable, also through an
    // absolute symlink of the host (/var/run -> /run) or /proc/self/root.
    for (const [name, source] of [
      ['run', '/var/run'],
      ['root', '/proc/self/root'],
    ] as const) {
      const r = await vm(`mkdir -p /mnt/${name} && mount -t hostfs none /mnt/${name} -o ${source} && echo x > /mnt/${name}/umlab-escape-${name}`);
      assert.notEqual(r.exitCode, 0, `${source}: ${r.stdout}${r.stderr}`);
    }
    assert.equal(existsSync('/run/umlab-escape-run'), false);
    assert.equal(existsSync('/umlab-escape-root'), false);

    await umlabOk(home, ['down', 'disks']);
    await umlabOk(home, ['clean', 'disks']);
    await assertNothingLeft(home, 'disks');
    for (const f of ['/run/umlab-escape-run', '/umlab-escape-root', '/etc/umlab-escape-link']) rmSync(f, { force: true });
  });

  it(
    "rootless: disks and shares work for an ordinary user, files on the host are that user's",
    { skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user' },
    async () => {
      const userHome = makeHome();
      try {
        const dir = join(userHome, 'lab');
        mkdirSync(join(dir, 'files'), { recursive: true });
        mkdirSync(join(dir, 'out'));
        writeFileSync(join(dir, 'files/a'), 'ro\n');
        writeFileSync(join(dir, 'disks.yaml'), readFileSync(labFile, 'utf8'));
        for (const p of [userHome, dir, join(dir, 'files'), join(dir, 'files/a'), join(dir, 'out'), join(dir, 'disks.yaml')]) chownSync(p, NOBODY, NOBODY);
        const asNobody = async (args: string[], expected = 0) => {
          const r = await umlabAsUser(NOBODY, userHome, args);
          assert.equal(r.exitCode, expected, `umlab ${args.join(' ')}: ${r.stdout}${r.stderr}`);
          return r;
        };
        await asNobody(['up', join(dir, 'disks.yaml')]);
        assert.equal((await asNobody(['exec', 'd1', '--', 'cat /mnt/lab/a && echo w > /mnt/out/w && mkfs.ext4 -q /dev/ubdb && echo ok'])).stdout, 'ro\nok\n');
        await asNobody(['exec', 'd1', '--', 'echo x > /mnt/lab/x'], 2);
        assert.equal(statSync(join(dir, 'out/w')).uid, NOBODY);
        assert.equal(statSync(join(userHome, 'disks/disks/d1.disk1.img')).uid, NOBODY);
        await asNobody(['down']);
        await asNobody(['clean', 'disks']);
        await assertNothingLeft(userHome, 'disks');
      } finally {
        rmSync(userHome, { recursive: true, force: true });
      }
    },
  );

  it('a missing shared directory fails up before anything starts, saying what to do', async () => {
    rmSync(files, { recursive: true });
    const r = await umlab(home, ['up', labFile]);
    assert.equal(r.exitCode, 4, r.stderr);
    assert.match(r.stderr, /shared directory .*files of VM d1 \(\/mnt\/lab\) does not exist\n\s+create it first: mkdir -p/);
    await assertNothingLeft(home, 'disks');
  });
});
