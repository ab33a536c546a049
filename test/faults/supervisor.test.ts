// Fault injection: the supervisor killed with SIGKILL at the phases other tests leave out
// (issue 12): while its VMs boot, and while `down` is stopping the lab. (Killed as `up` starts
// it: test/faults/up.test.ts; while the lab runs: test/vm/lifecycle.test.ts and
// test/faults/processes.test.ts.) Each time `down` must leave nothing behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pidAlive } from '../../src/runtime/lab.ts';
import { assertNothingLeft, cleanHome, makeHome, processesMentioning, ROOT, sleep, umlab, umlabOk } from '../vm/helpers.ts';

const single = join(ROOT, 'test/vm/labs/single.yaml');

/** Waits for a process of the run directory whose command line matches `re`; returns its pid. */
async function waitFor(runDir: string, re: RegExp, ms = 60_000): Promise<number> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(10)) {
    const p = processesMentioning(runDir).find((p) => re.test(p.cmdline));
    if (p) return p.pid;
  }
  throw new Error(`no process matching ${re} in ${runDir}`);
}

const supervisorOf = (runDir: string) => waitFor(runDir, new RegExp(`^${process.execPath} .*supervisor-main`));

/** `down` of a lab that may already be gone (its `up` rolled back): exit 0, or "no lab". */
async function downIfListed(home: string): Promise<void> {
  const r = await umlab(home, ['down', 'single']);
  assert.ok(r.exitCode === 0 || /no lab named single is running|no lab is running/.test(r.stderr), `down: ${r.exitCode} ${r.stderr}`);
}

describe('faults: supervisor killed with SIGKILL', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const runDir = join(home, 'labs/single');

  it('while its VM boots: up fails, down cleans everything', async () => {
    const up = umlab(home, ['up', single]);
    const supervisor = await supervisorOf(runDir);
    // The VM's kernel runs: the lab is half up (engines, tcpdump, a booting VM).
    await waitFor(runDir, /linux\.uml /);
    process.kill(supervisor, 'SIGKILL');
    const r = await up;
    assert.notEqual(r.exitCode, 0, 'up fails');
    assert.match(r.stderr, /signal SIGKILL/);
    await downIfListed(home);
    await assertNothingLeft(home, 'single');
  });

  it('while `down` stops the lab: that down or the next one cleans everything', async () => {
    await umlabOk(home, ['up', single]);
    const supervisor = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')).supervisorPid as number;
    const down = umlab(home, ['down', 'single']);
    // Killed once the supervisor is stopping (halting its VM, flushing captures).
    for (let i = 0; i < 2000; i++) {
      const phase = (() => {
        try {
          return JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')).phase as string;
        } catch {
          return 'gone';
        }
      })();
      if (phase !== 'running') break;
      await sleep(5);
    }
    process.kill(supervisor, 'SIGKILL');
    const r = await down;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(!pidAlive(supervisor));
    await downIfListed(home);
    await assertNothingLeft(home, 'single');
  });
});
