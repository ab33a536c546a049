// A read-write share is the one place a VM writes host files. Its root must not be able to
// plant a device node (any host user could then write to the kernel through it), a
// set-user-ID or set-group-ID program, or file capabilities there; ordinary files work.
// As root (the dangerous case: files on the host belong to root) and rootless.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, NOBODY, umlabAsUser, umlabOk, vmExec } from '../vm/helpers.ts';

/** What the VM's root tries on the share, each reported as `name=<exit code>`. */
const ATTACKS = `
cd /mnt/rw
mknod kmsg c 1 11; echo mknod-char=$?
mknod disk b 8 0; echo mknod-block=$?
cp /bin/busybox sh-suid 2>/dev/null || cp /bin/sh sh-suid; chmod 4755 sh-suid; echo chmod-setuid=$?
chmod 2755 sh-suid; echo chmod-setgid=$?
touch plain; chmod 640 plain; echo chmod-plain=$?
echo hello > note; echo write=$?
mkfifo pipe; echo mkfifo=$?
`;

function assertNothingPlanted(dir: string): void {
  for (const name of readdirSync(dir)) {
    const st = lstatSync(join(dir, name));
    assert.ok(!st.isCharacterDevice() && !st.isBlockDevice(), `${name} is a device node on the host`);
    assert.equal(st.mode & 0o6000, 0, `${name} has set-ID bits on the host (mode ${st.mode.toString(8)})`);
  }
}

function assertAttacksRefused(out: string): void {
  for (const refused of ['mknod-char', 'mknod-block', 'chmod-setuid', 'chmod-setgid']) assert.match(out, new RegExp(`^${refused}=[1-9]`, 'm'), out);
  for (const allowed of ['chmod-plain', 'write', 'mkfifo']) assert.match(out, new RegExp(`^${allowed}=0$`, 'm'), out);
}

const labYaml = (name: string, dir: string) => `name: ${name}\ncapture: false\nvms:\n  h1:\n    shares: { /mnt/rw: { path: ${dir}, rw: true } }\n`;

describe('read-write shares', () => {
  it('a root-run VM cannot plant device nodes or set-ID files on the host', async () => {
    const home = makeHome();
    const dir = mkdtempSync(join(tmpdir(), 'umlab-rwshare-'));
    try {
      const file = join(home, 'lab.yaml');
      writeFileSync(file, labYaml('rw-root', dir));
      await umlabOk(home, ['up', '-q', file]);
      assertAttacksRefused(await vmExec(home, 'rw-root', 'h1', ATTACKS));
      assertNothingPlanted(dir);
      assert.equal(lstatSync(join(dir, 'note')).isFile(), true, 'ordinary writes reach the host');
      await umlabOk(home, ['down', 'rw-root']);
      await assertNothingLeft(home, 'rw-root');
    } finally {
      await cleanHome(home);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same in a rootless lab', { skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user' }, async () => {
    const home = makeHome();
    const dir = mkdtempSync(join(tmpdir(), 'umlab-rwshare-'));
    try {
      chmodSync(home, 0o777);
      chmodSync(dir, 0o777);
      const file = join(home, 'lab.yaml');
      writeFileSync(file, labYaml('rw-user', dir));
      chmodSync(file, 0o644);
      assert.equal((await umlabAsUser(NOBODY, home, ['up', '-q', file])).exitCode, 0);
      const r = await umlabAsUser(NOBODY, home, ['exec', '--lab', 'rw-user', 'h1', '--', ATTACKS]);
      assertAttacksRefused(r.stdout);
      assertNothingPlanted(dir);
      assert.equal((await umlabAsUser(NOBODY, home, ['down', 'rw-user'])).exitCode, 0);
      await assertNothingLeft(home, 'rw-user');
    } finally {
      await umlabAsUser(NOBODY, home, ['down', '--all']);
      rmSync(home, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
