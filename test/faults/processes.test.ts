// Fault injection around the lab's processes (issue 12, items 5 and 12): `down` kills what the
// lab started and nothing else; a killed VM leaves no UML helper behind; a dead supervisor's
// VMs are not reported with their old pids.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pidAlive } from '../../src/runtime/lab.ts';
import { assertNothingLeft, cleanHome, eventually, makeHome, processesMentioning, ROOT, umlab, umlabOk } from '../vm/helpers.ts';

const single = join(ROOT, 'test/vm/labs/single.yaml');

/** Live (not zombie) processes whose parent is `pid`. */
function liveChildren(pid: number): number[] {
  const found: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid && f[0] !== 'Z') found.push(Number(e));
    } catch {
      // gone
    }
  }
  return found;
}

/** A user's own processes that merely name the run directory. */
function bystanders(runDir: string): ChildProcess[] {
  return [
    spawn('tail', ['-f', join(runDir, 'vms/solo/console.log')], { stdio: 'ignore' }),
    spawn('sh', ['-c', `sleep 1000; : ${runDir}`], { stdio: 'ignore' }),
  ];
}

describe('faults: the processes of a lab', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const runDir = join(home, 'labs/single');

  it("`down` kills the lab's processes and leaves a user's tail -f of a console log and a process naming the run dir", async () => {
    await umlabOk(home, ['up', single]);
    const users = bystanders(runDir);
    try {
      const mine = new Set(users.map((p) => p.pid));
      const labs = await eventually(() => {
        const found = processesMentioning(runDir).filter((p) => !mine.has(p.pid) && !liveChildren(users[1]!.pid!).includes(p.pid));
        assert.ok(found.length >= 3, `supervisor, VM and tcpdump run: ${JSON.stringify(found)}`);
        return found;
      });
      await umlabOk(home, ['down', 'single']);
      for (const p of users) assert.ok(pidAlive(p.pid), `the user's ${p.spawnargs.join(' ')} survived down`);
      for (const p of labs) assert.ok(!pidAlive(p.pid), `the lab's ${p.cmdline} is gone`);
    } finally {
      for (const p of users) p.kill('SIGKILL');
    }
    await eventually(() => assertNothingLeft(home, 'single')); // the killed bystanders are reaped
  });

  it('after the supervisor is SIGKILLed, `down` cleans up the lab and still spares the user', async () => {
    await umlabOk(home, ['up', single]);
    const users = bystanders(runDir);
    try {
      const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8'));
      process.kill(state.supervisorPid, 'SIGKILL');
      await eventually(() => assert.ok(!pidAlive(state.supervisorPid)));
      // Its VMs died with it (PDEATHSIG): status must not list their old pids.
      await eventually(async () => {
        const s = JSON.parse((await umlabOk(home, ['status', 'single', '--json'])).stdout);
        assert.equal(s.phase, 'dead');
        assert.deepEqual(
          s.status.vms.map((v: { pid: number | null }) => v.pid),
          [null],
        );
      });
      await umlabOk(home, ['down', 'single']);
      for (const p of users) assert.ok(pidAlive(p.pid), `the user's ${p.spawnargs.join(' ')} survived down`);
    } finally {
      for (const p of users) p.kill('SIGKILL');
    }
    await eventually(() => assertNothingLeft(home, 'single')); // the killed bystanders are reaped
  });

  it("a VM killed with SIGKILL leaves none of UML's helper processes, also after `vm start`", async () => {
    await umlabOk(home, ['up', single]);
    const vmPid = () => JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')).vms[0].pid as number;
    const first = vmPid();
    const helpers = liveChildren(first);
    assert.ok(helpers.length >= 2, `UML forked its helpers: ${helpers}`);
    process.kill(first, 'SIGKILL');
    await eventually(async () => {
      const s = JSON.parse((await umlabOk(home, ['status', 'single', '--json'])).stdout);
      assert.equal(s.status.vms[0].state, 'crashed');
      assert.equal(s.status.vms[0].pid, null);
    });
    await eventually(() => assert.deepEqual(helpers.filter(pidAlive), [], 'the helpers of the killed VM are gone'), 3000);
    await umlabOk(home, ['vm', 'start', 'solo']);
    assert.deepEqual(helpers.filter(pidAlive), [], 'still gone after vm start');
    assert.notEqual(vmPid(), first);
    const r = await umlab(home, ['exec', 'solo', '--', 'echo', 'back']);
    assert.equal(r.stdout, 'back\n');
    await umlabOk(home, ['down', 'single']);
    await assertNothingLeft(home, 'single');
  });
});
