// A VM, even one root started, sees no host secrets: from inside a VM, try to read root's
// and users' homes, /etc/shadow, SSH host keys and root-only files the test plants, directly
// and through a fresh hostfs mount of the host's "/"; and try to write. Then the same from a
// rootless lab of an unprivileged user.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, NOBODY, umlabAsUser, umlabOk, vmExec } from '../vm/helpers.ts';

const SECRET = `umlab-secret-${randomBytes(8).toString('hex')}`;
// Root-only and user-owned places the test plants its secret in (removed afterwards).
const PLANTED = {
  rootHome: `/root/umlab-canary-${process.pid}`,
  userHome: `/home/umlab-canary-${process.pid}/notes.txt`,
  etcSecret: `/etc/umlab-canary-${process.pid}.key`,
  varSecret: `/var/lib/umlab-canary-${process.pid}/db`,
};
// What any local user can make in /var/tmp: a private file whose name holds a newline and a tab
// (a line-by-line scan once misread it, and every lab failed to start).
const ODD_NAME = `/var/tmp/umlab-canary-${process.pid}\n\todd`;
// A private directory with a filesystem mounted below it (as a container's under /var/lib/docker):
// once the directory is hidden, the mount below is gone from the view, and the lab still starts.
const PRIVATE_MOUNT = `/var/tmp/umlab-canary-${process.pid}-dir/mnt`;

function plant(): void {
  writeFileSync(PLANTED.rootHome, SECRET, { mode: 0o600 });
  mkdirSync(dirname(PLANTED.userHome), { recursive: true });
  writeFileSync(PLANTED.userHome, SECRET, { mode: 0o644 }); // even world-readable: homes are not in the view
  writeFileSync(PLANTED.etcSecret, SECRET, { mode: 0o600 });
  mkdirSync(dirname(PLANTED.varSecret), { recursive: true });
  writeFileSync(PLANTED.varSecret, SECRET, { mode: 0o600 });
  chmodSync(dirname(PLANTED.varSecret), 0o700);
  writeFileSync(ODD_NAME, SECRET, { mode: 0o600 });
  mkdirSync(PRIVATE_MOUNT, { recursive: true });
  chmodSync(dirname(PRIVATE_MOUNT), 0o700);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'umlab-canary', PRIVATE_MOUNT]);
  writeFileSync(join(PRIVATE_MOUNT, 'secret'), SECRET, { mode: 0o644 });
}

function unplant(): void {
  rmSync(PLANTED.rootHome, { force: true });
  rmSync(dirname(PLANTED.userHome), { recursive: true, force: true });
  rmSync(PLANTED.etcSecret, { force: true });
  rmSync(dirname(PLANTED.varSecret), { recursive: true, force: true });
  rmSync(ODD_NAME, { force: true });
  spawnSync('umount', [PRIVATE_MOUNT]);
  rmSync(dirname(PRIVATE_MOUNT), { recursive: true, force: true });
}

const places = Object.values(PLANTED).join(' ');
/** A shell script for the VM: names every planted or host secret it can read, and any write. */
const PROBE = `
out=""
for f in ${places} /etc/shadow /etc/gshadow /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key; do
  [ -s "$f" ] && out="$out LEAK:$f"
done
grep -rl ${SECRET} /root /home /etc /var/lib /var/tmp 2>/dev/null | sed 's/^/LEAK-GREP:/'
mkdir -p /mnt/h && mount -t hostfs none /mnt/h -o / 2>/dev/null && {
  for f in ${places} /etc/shadow; do [ -s "/mnt/h$f" ] && out="$out LEAK-HOSTFS:$f"; done
  ls -A /mnt/h/root /mnt/h/home | grep -v ':$' | grep . | sed 's/^/LISTED:/'
  touch /mnt/h/etc/umlab-written 2>/dev/null && out="$out WROTE:/etc/umlab-written"
  umount /mnt/h
}
echo "RESULT:$out"
`;

const labYaml = (name: string) => `name: ${name}\ncapture: false\nvms:\n  h1: {}\n  h2: {}\n`;

/** Run from h2: through a fresh hostfs mount, read h1's files (the paths from h2's own
 *  umlab_boot= argument, as an attacker in the VM would find them); its own must stay readable. */
const PEER_PROBE = `
own=$(sed -n 's/.* umlab_boot=\\([^ ]*\\).*/\\1/p' /proc/cmdline); own=\${own%/boot.conf}
peer=\${own%/h2}/h1
mkdir -p /mnt/p && mount -t hostfs none /mnt/p -o / || echo MOUNT-FAILED
[ -s "/mnt/p$own/init.sh" ] && echo OWN-READABLE
for f in init.sh console.log layer/etc/hostname layer/etc/hosts; do [ -e "/mnt/p$peer/$f" ] && echo "PEER:$f"; done
ls -A "/mnt/p$peer" 2>/dev/null | sed 's/^/PEER-LISTED:/'
umount /mnt/p
echo PEER-DONE
`;

function assertPeerHidden(out: string): void {
  assert.match(out, /^OWN-READABLE$/m, out); // the probe can see: its own files are there
  assert.match(out, /^PEER-DONE$/m, out);
  assert.doesNotMatch(out, /PEER:|PEER-LISTED:|MOUNT-FAILED/, out);
}

function assertNoLeak(out: string): void {
  assert.match(out, /^RESULT:$/m, out);
  assert.doesNotMatch(out, /LEAK|LISTED|WROTE/, out);
}

describe('what a VM sees of the host', () => {
  before(plant);
  after(unplant);

  it("a root-run VM reads none of root's, users' or the admin's secrets, and writes nothing", async () => {
    const home = makeHome();
    try {
      const file = join(home, 'lab.yaml');
      writeFileSync(file, labYaml('view-root'));
      await umlabOk(home, ['up', '-q', file]);
      assertNoLeak(await vmExec(home, 'view-root', 'h1', PROBE));
      assertPeerHidden(await vmExec(home, 'view-root', 'h2', PEER_PROBE));
      // The VM still has what programs need: the passwd database, the kernel modules, tools.
      assert.match(await vmExec(home, 'view-root', 'h1', 'grep -c ^root: /etc/passwd; ls /usr/lib/uml/modules | head -1; ip -V'), /^1\n6\.1[\s\S]*iproute2/);
      await umlabOk(home, ['down', 'view-root']);
      await assertNothingLeft(home, 'view-root');
    } finally {
      await cleanHome(home);
    }
  });

  it('a rootless VM sees the same curated view', { skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user' }, async () => {
    const home = makeHome();
    try {
      chmodSync(home, 0o777);
      const file = join(home, 'lab.yaml');
      writeFileSync(file, labYaml('view-user'));
      chmodSync(file, 0o644);
      const up = await umlabAsUser(NOBODY, home, ['up', '-q', file]);
      assert.equal(up.exitCode, 0, up.stderr);
      const r = await umlabAsUser(NOBODY, home, ['exec', '--lab', 'view-user', 'h1', '--', PROBE]);
      assert.equal(r.exitCode, 0, r.stderr);
      assertNoLeak(r.stdout);
      const peer = await umlabAsUser(NOBODY, home, ['exec', '--lab', 'view-user', 'h2', '--', PEER_PROBE]);
      assert.equal(peer.exitCode, 0, peer.stderr);
      assertPeerHidden(peer.stdout);
      assert.equal((await umlabAsUser(NOBODY, home, ['down', 'view-user'])).exitCode, 0);
      await assertNothingLeft(home, 'view-user');
    } finally {
      await umlabAsUser(NOBODY, home, ['down', '--all']);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
