// Fault injection around `up` (issue 12, item 10): a supervisor killed by a signal while the lab
// starts is reported with that signal; two `up` of one name at once: the loser is told the lab
// is already running.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, processesMentioning, ROOT, sleep, umlab, umlabOk } from '../vm/helpers.ts';

const single = join(ROOT, 'test/vm/labs/single.yaml');

describe('faults: up', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const runDir = join(home, 'labs/single');

  it('a supervisor killed with SIGKILL while the lab starts is reported with its signal', async () => {
    const up = umlab(home, ['up', single]);
    // The supervisor, once it is node (ip netns exec and unshare exec it).
    let pid = 0;
    for (let i = 0; i < 1000 && !pid; i++) {
      pid = processesMentioning(runDir).find((p) => p.cmdline.startsWith(process.execPath) && p.cmdline.includes('supervisor-main'))?.pid ?? 0;
      if (!pid) await sleep(10);
    }
    assert.ok(pid, 'the supervisor was started');
    process.kill(pid, 'SIGKILL');
    const r = await up;
    assert.equal(r.exitCode, 6, r.stderr);
    assert.match(r.stderr, /signal SIGKILL/);
    assert.doesNotMatch(r.stderr, /code 1\b/);
    await assertNothingLeft(home, 'single');
  });

  it('of two `up` of one name at once, one starts the lab and the other says it is already running', async () => {
    const [a, b] = await Promise.all([umlab(home, ['up', single]), umlab(home, ['up', single])]);
    const [won, lost] = a.exitCode === 0 ? [a, b] : [b, a];
    assert.equal(won.exitCode, 0, won.stderr);
    assert.equal(lost.exitCode, 2, lost.stderr);
    assert.match(lost.stderr, /lab single is already running/);
    assert.doesNotMatch(lost.stderr, /exited before it was ready/);
    assert.equal((await umlabOk(home, ['exec', 'solo', '--', 'echo', 'one lab'])).stdout, 'one lab\n');
    await umlabOk(home, ['down', 'single']);
    await assertNothingLeft(home, 'single');
  });
});
