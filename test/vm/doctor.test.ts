// `umlab doctor` for real: every check on this machine, a real test boot with its time,
// and nothing of the test lab left afterwards (processes, netns, temp dirs, the user's home).
import assert from 'node:assert/strict';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { cleanHome, lab, makeHome, NOBODY, processesMentioning, umlab, umlabAsUser } from './helpers.ts';

interface Report {
  ok: boolean;
  checks: { id: string; name: string; status: string; detail: string; fix?: string; ms?: number }[];
}

const doctorDirs = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('umlab-doctor-')));
const doctorNetns = async () =>
  String((await execa('ip', ['netns', 'list'], { reject: false })).stdout)
    .split('\n')
    .filter((l) => /^umlab-\S*-doctor\b/.test(l));

/** Nothing of doctor's test lab survives: no temp dir, no process in one, no netns. */
async function assertTestLabGone(before: Set<string>): Promise<void> {
  const left = [...doctorDirs()].filter((d) => !before.has(d));
  assert.deepEqual(left, [], 'doctor removed its temporary UMLAB_HOME');
  assert.deepEqual(processesMentioning(join(tmpdir(), 'umlab-doctor-')), [], 'no process of the test lab');
  assert.deepEqual(await doctorNetns(), [], 'no netns of the test lab');
}

const byId = (r: Report, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} in ${JSON.stringify(r.checks.map((x) => x.id))}`);
  return c;
};

describe('umlab doctor on this machine', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  let hostNeedsFix = false;

  it('--json: every check passes, the test boot is ok with its time, the xstate check reports the host size', async (t) => {
    const before = doctorDirs();
    const started = Date.now();
    const r = await umlab(home, ['doctor', '--json']);
    const tookMs = Date.now() - started;
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.filter((c) => c.status === 'missing' || c.status === 'broken'),
      [],
    );

    const boot = byId(report, 'boot');
    assert.equal(boot.status, 'ok', boot.detail);
    assert.ok(typeof boot.ms === 'number' && boot.ms > 100 && boot.ms < 60_000, `boot took ${boot.ms} ms`);
    assert.match(boot.detail, /ready in \d+\.\d s.*nothing left behind/);

    const xstate = byId(report, 'xstate');
    const m = xstate.detail.match(/host xstate (\d+) bytes, UML 6\.1 moves 2696: (too small|fits)/);
    assert.ok(m, xstate.detail);
    assert.ok(Number(m[1]) >= 512, `a plausible XSAVE size: ${m[1]}`);
    hostNeedsFix = m[2] === 'too small';
    if (hostNeedsFix) assert.match(xstate.detail, /xstate-fix\.so is built and preloaded/);
    const amx = /\bamx_tile\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    if (amx) assert.ok(hostNeedsFix, 'an AMX CPU has an XSAVE area larger than UML 6.1 moves');

    await assertTestLabGone(before);
    assert.ok(!existsSync(join(home, 'labs')), "the caller's UMLAB_HOME is untouched");
    t.diagnostic(`doctor --json took ${tookMs} ms; test boot ${boot.ms} ms; xstate ${m[1]} bytes`);
  });

  it('text output: a line per check and the verdict; --no-boot skips the boot', async () => {
    const r = await umlab(home, ['doctor', '--no-boot']);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok +UML kernel +\/\S+linux\.uml, version /m);
    assert.match(r.stdout, /^skipped +test boot of one VM +--no-boot$/m);
    assert.match(r.stdout, /umlab can run labs here; /);
  });

  it('with the register fix turned off on a host that needs it: doctor says broken (exit 5), and a failed up names the cause before the tail', async (t) => {
    if (!hostNeedsFix) return t.skip("this host fits UML 6.1's register buffer: nothing to break");
    const env = { UMLAB_XSTATE_FIX: 'off' };
    const r = await umlab(home, ['doctor', '--json'], { env });
    assert.equal(r.exitCode, 5, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(byId(report, 'xstate').status, 'broken');
    assert.equal(byId(report, 'xstate').fix, 'unset UMLAB_XSTATE_FIX');
    assert.equal(byId(report, 'boot').status, 'skipped');

    const up = await umlab(home, ['up', lab('two-hosts.yaml')], { env });
    assert.equal(up.exitCode, 6, up.stderr);
    const cause = up.stderr.indexOf("cause: the VM's kernel could not move its FPU registers");
    assert.ok(cause >= 0, up.stderr);
    assert.ok(up.stderr.indexOf('umlab doctor', cause) < up.stderr.indexOf('console of'), 'cause and doctor before the tail');
  });

  it(
    'as an ordinary user (rootless): the test boot runs in a user namespace and leaves nothing',
    { skip: process.getuid?.() !== 0 && 'needs root to switch users' },
    async () => {
      chownSync(home, NOBODY, NOBODY);
      const before = doctorDirs();
      const r = await umlabAsUser(NOBODY, home, ['doctor', '--json']);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(byId(report, 'boot').status, 'ok', byId(report, 'boot').detail);
      assert.equal(byId(report, 'userns').status, 'ok');
      await assertTestLabGone(before);
    },
  );
});
