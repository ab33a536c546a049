// umlab doctor's checks against a fake probe: every check both ways, without touching the machine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatResult, summary } from '../../src/cli/commands/doctor.ts';
import { MissingDependencyError, UsageError, LabRuntimeError } from '../../src/errors.ts';
import { CHECKS, failed, runChecks, type CheckResult, type DoctorProbe } from '../../src/host/doctor.ts';
import { parseRuntimePackages } from '../../src/host/doctor-probe.ts';
import { availableMiB, mountFor, umlTempDir } from '../../src/host/proc.ts';

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw
25 24 0:23 / /dev/shm rw,nosuid,nodev - tmpfs tmpfs rw
30 27 0:40 / /home/my\\040labs rw,noexec - ext4 /dev/vdb rw
`;

/** A machine where everything is fine; each test breaks one thing. */
function probe(over: Partial<DoctorProbe> = {}): DoctorProbe {
  return {
    isRoot: false,
    env: { HOME: '/home/u', UMLAB_HOME: '/home/u/umlab' },
    findCommand: (name) => `/usr/bin/${name}`,
    runtimePackages: () => ['user-mode-linux', 'passt'],
    missingPackages: () => [],
    run: () => ({ ok: true, output: '6.1.176\n' }),
    exists: () => true,
    openError: () => null,
    writable: () => true,
    resolve: (p) => p,
    umlKernel: () => ({ kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.176', modulesDir: '/usr/lib/uml/modules/6.1.176' }),
    xstate: () => ({ hostBytes: 2696, needed: false, mode: 'auto' }),
    userNamespaces: async () => null,
    hasNetAdmin: () => false,
    mountinfo: () => MOUNTINFO,
    meminfo: () => 'MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n',
    testBoot: async () => ({ upMs: 1100, execMs: 200, downMs: 100 }),
    ...over,
  };
}

async function check(id: string, p: DoctorProbe, earlier: CheckResult[] = []): Promise<CheckResult> {
  const c = CHECKS.find((x) => x.id === id);
  assert.ok(c, `no check ${id}`);
  return { id: c.id, name: c.name, ...(await c.run(p, earlier)) };
}

describe('umlab doctor checks', () => {
  it('all fine: every check ok (tun warns for a user without CAP_NET_ADMIN), exit status ok', async () => {
    const results = await runChecks(probe());
    assert.deepEqual(
      results.filter((r) => r.status !== 'ok').map((r) => `${r.id}:${r.status}`),
      ['tun:warn'],
    );
    assert.ok(!results.some(failed));
    assert.match(summary(results, 1500), /umlab can run labs here; 13 ok, 1 warn; checked in 1\.5 s/);
  });

  it('commands: a missing command names its Debian package', async () => {
    const r = await check('commands', probe({ findCommand: (n) => (n === 'uml_mconsole' || n === 'ip' ? null : `/usr/bin/${n}`) }));
    assert.equal(r.status, 'missing');
    assert.match(r.detail, /uml_mconsole, ip/);
    assert.equal(r.fix, 'apt-get install -y iproute2 uml-utilities   (as root)');
  });

  it('packages: missing packages of setup.sh; no dpkg is a warning', async () => {
    assert.equal((await check('packages', probe())).status, 'ok');
    const r = await check('packages', probe({ isRoot: true, missingPackages: () => ['passt'] }));
    assert.equal(r.status, 'missing');
    assert.match(r.fix!, /^apt-get install -y passt {3}\(or: bash scripts\/setup\.sh\)$/);
    assert.equal((await check('packages', probe({ missingPackages: () => null }))).status, 'warn');
  });

  it('setup.sh RUNTIME_PACKAGES is read from the script', () => {
    assert.deepEqual(parseRuntimePackages('X=1\nRUNTIME_PACKAGES=(user-mode-linux  passt\n  tcpdump)\nTEST_PACKAGES=(tshark)\n'), [
      'user-mode-linux',
      'passt',
      'tcpdump',
    ]);
  });

  it('kernel: missing, broken (does not run), UMLAB_KERNEL pointing nowhere, ok with its version', async () => {
    assert.match((await check('kernel', probe())).detail, /linux\.uml, version 6\.1\.176/);
    const missing = await check('kernel', probe({ exists: () => false }));
    assert.equal(missing.status, 'missing');
    assert.match(missing.fix!, /apt-get install -y user-mode-linux/);
    const broken = await check('kernel', probe({ run: () => ({ ok: false, output: 'error while loading shared libraries' }) }));
    assert.equal(broken.status, 'broken');
    assert.match(broken.fix!, /--reinstall -y user-mode-linux/);
    const env = await check('kernel', probe({ env: { UMLAB_KERNEL: '/nope' }, exists: () => false }));
    assert.match(env.detail, /UMLAB_KERNEL/);
    assert.match(env.fix!, /unset UMLAB_KERNEL/);
  });

  it('modules: no modules dir, no overlay.ko, ok', async () => {
    assert.match((await check('modules', probe())).detail, /overlay\.ko present/);
    assert.equal((await check('modules', probe({ exists: (p) => !p.endsWith('6.1.176') }))).status, 'missing');
    const r = await check('modules', probe({ exists: (p) => !p.endsWith('overlay.ko') }));
    assert.equal(r.status, 'missing');
    assert.match(r.detail, /overlay\.ko is missing/);
  });

  it('compiler: no cc is missing with the apt-get line', async () => {
    assert.equal((await check('compiler', probe())).status, 'ok');
    const r = await check('compiler', probe({ isRoot: true, findCommand: (n) => (n === 'cc' ? null : `/usr/bin/${n}`) }));
    assert.equal(r.status, 'missing');
    assert.equal(r.fix, 'apt-get install -y gcc libc6-dev');
  });

  it('xstate: host size reported; fits, needed and preloaded, needed but off, library gone, no compiler, bad mode', async () => {
    const fits = await check('xstate', probe());
    assert.equal(fits.status, 'ok');
    assert.match(fits.detail, /host xstate 2696 bytes, UML 6\.1 moves 2696: fits/);
    const amx = { hostBytes: 11008, needed: true, mode: 'auto' as const, preload: '/x/xstate-fix.so' };
    const fixed = await check('xstate', probe({ xstate: () => amx }));
    assert.equal(fixed.status, 'ok');
    assert.match(fixed.detail, /11008 bytes.*too small.*\/x\/xstate-fix\.so is built and preloaded/);
    const off = await check('xstate', probe({ xstate: () => ({ hostBytes: 11008, needed: true, mode: 'off' }) }));
    assert.equal(off.status, 'broken');
    assert.equal(off.fix, 'unset UMLAB_XSTATE_FIX');
    const gone = await check('xstate', probe({ xstate: () => amx, exists: (p) => p !== amx.preload }));
    assert.equal(gone.status, 'broken');
    const noCc = await check(
      'xstate',
      probe({
        xstate: () => {
          throw new MissingDependencyError("no C compiler (cc) to build umlab's UML register fix", {
            hint: 'install one with: apt-get install -y gcc libc6-dev',
          });
        },
      }),
    );
    assert.equal(noCc.status, 'missing');
    assert.equal(noCc.fix, 'apt-get install -y gcc libc6-dev');
    const badMode = await check(
      'xstate',
      probe({
        xstate: () => {
          throw new UsageError('UMLAB_XSTATE_FIX must be auto, on or off, not "yes"');
        },
      }),
    );
    assert.equal(badMode.status, 'broken');
    assert.match(badMode.fix!, /unset UMLAB_XSTATE_FIX/);
  });

  for (const tool of ['tcpdump', 'passt']) {
    it(`${tool}: missing, broken, ok`, async () => {
      assert.equal((await check(tool, probe())).status, 'ok');
      const missing = await check(tool, probe({ findCommand: (n) => (n === tool ? null : `/usr/bin/${n}`) }));
      assert.equal(missing.status, 'missing');
      assert.equal(missing.fix, `apt-get install -y ${tool}   (as root)`);
      assert.equal((await check(tool, probe({ run: () => ({ ok: false, output: 'Illegal instruction' }) }))).status, 'broken');
    });
  }

  it('userns: broken for a user, only a warning for root', async () => {
    assert.equal((await check('userns', probe())).status, 'ok');
    const user = await check('userns', probe({ userNamespaces: async () => 'unshare: Operation not permitted' }));
    assert.equal(user.status, 'broken');
    assert.match(user.fix!, /sysctl -w kernel\.unprivileged_userns_clone=1/);
    assert.equal((await check('userns', probe({ isRoot: true, userNamespaces: async () => 'denied' }))).status, 'warn');
  });

  it('tun: missing device, cannot open as root, warn without privileges, ok as root or with CAP_NET_ADMIN', async () => {
    assert.equal((await check('tun', probe({ exists: (p) => p !== '/dev/net/tun' }))).status, 'missing');
    assert.equal((await check('tun', probe({ isRoot: true, openError: () => 'EPERM' }))).status, 'broken');
    assert.equal((await check('tun', probe())).status, 'warn');
    assert.equal((await check('tun', probe({ isRoot: true }))).status, 'ok');
    assert.equal((await check('tun', probe({ hasNetAdmin: () => true }))).status, 'ok');
  });

  it('tempdir: /dev/shm by default; a noexec mount or an unwritable TMPDIR is broken', async () => {
    const shm = await check('tempdir', probe());
    assert.equal(shm.status, 'ok');
    assert.match(shm.detail, /^\/dev\/shm on \/dev\/shm \(tmpfs\)/);
    const noexec = MOUNTINFO.replace('/dev/shm rw,nosuid,nodev', '/dev/shm rw,nosuid,nodev,noexec');
    const r = await check('tempdir', probe({ mountinfo: () => noexec, isRoot: true }));
    assert.equal(r.status, 'broken');
    assert.match(r.detail, /noexec/);
    assert.match(r.fix!, /^mount -o remount,exec \/dev\/shm; or export TMPDIR=/);
    const tmp = await check('tempdir', probe({ env: { TMPDIR: '/home/my labs/t' } }));
    assert.equal(tmp.status, 'broken', 'TMPDIR on the noexec mount (mountinfo escapes the space)');
    assert.match(tmp.fix!, /export TMPDIR=\/dev\/shm/);
    assert.equal((await check('tempdir', probe({ writable: () => false }))).status, 'broken');
  });

  it('rundir: UMLAB_HOME on a noexec mount is broken', async () => {
    assert.equal((await check('rundir', probe())).status, 'ok');
    const r = await check('rundir', probe({ env: { UMLAB_HOME: '/home/my labs/umlab' } }));
    assert.equal(r.status, 'broken');
    assert.match(r.fix!, /export UMLAB_HOME=/);
  });

  it('memory: enough, tight (warn), too little (broken), unknown (warn)', async () => {
    const mem = (kb: number) => probe({ meminfo: () => `MemAvailable: ${kb} kB\n` });
    assert.equal((await check('memory', mem(8_000_000))).status, 'ok');
    assert.equal((await check('memory', mem(250 * 1024))).status, 'warn');
    assert.equal((await check('memory', mem(100 * 1024))).status, 'broken');
    assert.equal((await check('memory', probe({ meminfo: () => 'MemTotal: 1 kB\n' }))).status, 'warn');
  });

  it('boot: ok with its time; skipped with --no-boot or when the basics fail; broken names a known cause', async () => {
    const ok = await check('boot', probe());
    assert.equal(ok.status, 'ok');
    assert.equal(ok.ms, 1100);
    assert.match(ok.detail, /ready in 1\.1 s/);
    assert.equal((await check('boot', probe({ testBoot: undefined }))).status, 'skipped');
    const blocked = await check('boot', probe(), [{ id: 'kernel', name: 'UML kernel', status: 'missing', detail: '' }]);
    assert.equal(blocked.status, 'skipped');
    assert.match(blocked.detail, /fix kernel first/);
    const failing = probe({
      testBoot: async () => {
        throw new LabRuntimeError('lab doctor failed to start: vm crashed', { hint: 'console of vm:\n  userspace - ptrace set fp regs failed, errno = 14\n' });
      },
    });
    const broken = await check('boot', failing);
    assert.equal(broken.status, 'broken');
    assert.match(broken.detail, /failed to start[\s\S]*ptrace set fp regs failed/);
    assert.match(broken.fix!, /see the xstate check/);
  });

  it('a check that throws is reported broken, and the rest still run', async () => {
    const results = await runChecks(
      probe({
        meminfo: () => {
          throw new Error('EACCES /proc/meminfo');
        },
      }),
    );
    const mem = results.find((r) => r.id === 'memory')!;
    assert.equal(mem.status, 'broken');
    assert.match(mem.detail, /EACCES/);
    assert.equal(results.at(-1)!.id, 'boot');
  });

  it('text output: one line per check, fix under a problem, detail lines indented', () => {
    const text = formatResult({ id: 'passt', name: 'passt', status: 'missing', detail: 'passt not found\nsecond', fix: 'apt-get install -y passt' });
    assert.equal(text, `missing   ${'passt'.padEnd(28)}  passt not found\n${' '.repeat(40)}second\n          fix: apt-get install -y passt\n`);
    assert.doesNotMatch(formatResult({ id: 'x', name: 'x', status: 'ok', detail: 'fine', fix: 'unused' }), /fix:/);
  });
});

describe('reading /proc for doctor', () => {
  it('mountFor: the longest mount point holding the path; the last of stacked mounts; octal escapes', () => {
    assert.equal(mountFor('/dev/shm/x', MOUNTINFO)?.mountPoint, '/dev/shm');
    assert.equal(mountFor('/devices', MOUNTINFO)?.mountPoint, '/');
    assert.deepEqual(mountFor('/home/my labs/a', MOUNTINFO)?.options, ['rw', 'noexec']);
    const stacked = MOUNTINFO + '31 24 0:27 / /dev/shm rw,noexec - tmpfs tmpfs rw\n';
    assert.ok(mountFor('/dev/shm', stacked)?.options.includes('noexec'));
  });

  it("umlTempDir: TMPDIR/TMP/TEMP first, then /dev/shm on tmpfs, else /tmp (UML 6.1's choose_tempdir)", () => {
    assert.equal(umlTempDir({ TMP: '/var/tmp' }, MOUNTINFO), '/var/tmp');
    assert.equal(umlTempDir({}, MOUNTINFO), '/dev/shm');
    assert.equal(umlTempDir({}, MOUNTINFO.replace('- tmpfs tmpfs', '- ext4 x')), '/tmp');
  });

  it('availableMiB', () => {
    assert.equal(availableMiB('MemTotal: 2 kB\nMemAvailable:    2097152 kB\n'), 2048);
    assert.equal(availableMiB('MemFree: 1 kB\n'), null);
  });
});
