// What happens when things go wrong: a failing startup command or route, a VM killed from
// outside, a supervisor killed with SIGKILL. Each case must leave nothing behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, eventually, makeHome, processesMentioning, ROOT, umlab, umlabOk } from './helpers.ts';

const fixture = (name: string) => join(ROOT, 'test/vm/labs', name);

describe('lab lifecycle when things go wrong', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('a failing startup command fails `up` with its output and rolls the whole lab back', async () => {
    const r = await umlab(home, ['up', fixture('bad-startup.yaml')]);
    assert.equal(r.exitCode, 6, r.stderr);
    assert.match(r.stderr, /VM b: configuration step failed \(exit code 2\): startup\[1\]/);
    assert.match(r.stderr, /about to fail/, 'the output of the failing command');
    assert.match(r.stderr, /No such file or directory/);
    assert.match(r.stderr, /console of b:/, "the VM's console tail");
    assert.match(r.stderr, /rolled back/);
    await assertNothingLeft(home, 'bad-startup');
  });

  it('a route umlab-boot cannot add fails `up` with the route and the reason, and rolls the lab back', async () => {
    const r = await umlab(home, ['up', fixture('bad-route.yaml')]);
    assert.equal(r.exitCode, 6, r.stderr);
    assert.match(r.stderr, /VM r: configuration step failed \(exit code 1\): add routes/);
    assert.match(r.stderr, /route add 10\.8\.0\.0\/16 via 10\.99\.0\.1: Network is unreachable/);
    assert.match(r.stderr, /rolled back/);
    await assertNothingLeft(home, 'bad-route');
  });

  it('a VM killed from outside shows as crashed', async () => {
    await umlabOk(home, ['up', fixture('single.yaml')]);
    const before = JSON.parse((await umlabOk(home, ['status', 'single', '--json'])).stdout);
    const pid = before.status.vms[0].pid as number;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => {
      assert.equal(JSON.parse((await umlabOk(home, ['status', 'single', '--json'])).stdout).status.vms[0].state, 'crashed');
    });
    const text = (await umlabOk(home, ['status', 'single'])).stdout;
    assert.match(text, /solo\s+crashed/);
    const exec = await umlab(home, ['exec', 'solo', '--', 'true']);
    assert.notEqual(exec.exitCode, 0);
    assert.match(exec.stderr, /solo is crashed/);
    await umlabOk(home, ['down', 'single']);
    await assertNothingLeft(home, 'single');
  });

  it('after the supervisor is killed with SIGKILL, `down` cleans up everything', async () => {
    await umlabOk(home, ['up', fixture('single.yaml')]);
    const state = JSON.parse(readFileSync(join(home, 'labs/single/state.json'), 'utf8'));
    process.kill(state.supervisorPid, 'SIGKILL');
    // SIGKILL lands a moment later: wait for it, not for a fixed time.
    await eventually(async () => {
      assert.equal(JSON.parse((await umlabOk(home, ['status', 'single', '--json'])).stdout).phase, 'dead');
    });
    await umlabOk(home, ['down', 'single']);
    await assertNothingLeft(home, 'single');
    assert.deepEqual(processesMentioning(join(home, 'labs')), []);
  });

  it('a VM cannot write host files through hostfs', async () => {
    await umlabOk(home, ['up', fixture('single.yaml')]);
    const probe = join(home, 'written-by-vm');
    const r = await umlab(home, [
      'exec',
      'solo',
      '--',
      `mkdir -p /mnt/host && mount -t hostfs none /mnt/host -o / && ls /mnt/host${home} >/dev/null && touch /mnt/host${probe}`,
    ]);
    assert.notEqual(r.exitCode, 0, 'the write must fail');
    assert.match(r.stderr, /Read-only file system/);
    assert.throws(() => readFileSync(probe), 'no file appeared on the host');
    // Writing inside the VM's own root works (overlay in RAM) and does not reach the host.
    await umlabOk(home, ['exec', 'solo', '--', `touch /etc/umlab-probe && test -e /etc/umlab-probe`]);
    assert.throws(() => readFileSync('/etc/umlab-probe'));
    await umlabOk(home, ['down', 'single']);
  });

  it('two copies of one lab run side by side under different names', async () => {
    await umlabOk(home, ['up', fixture('single.yaml'), '--name', 'copy-a']);
    await umlabOk(home, ['up', fixture('single.yaml'), '--name', 'copy-b']);
    const labs = JSON.parse((await umlabOk(home, ['status', '--json'])).stdout) as { lab: string; phase: string }[];
    assert.deepEqual(
      labs.map((l) => [l.lab, l.phase]),
      [
        ['copy-a', 'running'],
        ['copy-b', 'running'],
      ],
    );
    // Same address in both, each answers in its own namespace.
    for (const name of ['copy-a', 'copy-b']) {
      const r = await umlabOk(home, ['exec', '--lab', name, 'solo', '--', 'ip -br addr show eth0; hostname']);
      assert.match(r.stdout, /10\.3\.0\.1\/24/);
    }
    const ambiguous = await umlab(home, ['exec', 'solo', '--', 'true']);
    assert.equal(ambiguous.exitCode, 2);
    assert.match(ambiguous.stderr, /--lab NAME/);
    await umlabOk(home, ['down', 'copy-a']);
    await umlabOk(home, ['down', 'copy-b']);
    await assertNothingLeft(home, 'copy-a');
    await assertNothingLeft(home, 'copy-b');
  });
});
