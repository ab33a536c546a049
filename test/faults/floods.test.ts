// Fault injection: a VM flooding its console or its agent line (issue 12, item 9). The console
// log is capped and rotated; an agent line without newlines fails that VM's agent, cleanly.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, eventually, makeHome, ROOT, umlab, umlabOk } from '../vm/helpers.ts';

const single = join(ROOT, 'test/vm/labs/single.yaml');
const CAP = 256 * 1024;
/** A log may pass its cap by one pipe read at most. */
const SLACK = 128 * 1024;

describe('faults: floods from inside a VM', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const env = { UMLAB_LOG_MAX_BYTES: String(CAP), UMLAB_AGENT_LINE_MAX_BYTES: String(1024 * 1024) };
  const vmDir = join(home, 'labs/single/vms/solo');

  it('`yes > /dev/console` fills the console log only up to its cap, rotated once to console.log.1', async () => {
    await umlabOk(home, ['up', single], 0, { env });
    await umlabOk(home, ['exec', 'solo', '--', '(timeout 4 yes umlab-flood > /dev/console) > /dev/null 2>&1 &'], 0, { env });
    await eventually(() => assert.ok(existsSync(join(vmDir, 'console.log.1')), 'the log was rotated'), 5000);
    // The flood is over when its `yes` is: sizes are final from then on.
    await umlabOk(home, ['exec', 'solo', '--', 'while pidof yes > /dev/null; do sleep 0.2; done'], 0, { env });
    const size = statSync(join(vmDir, 'console.log')).size;
    const rotated = statSync(join(vmDir, 'console.log.1')).size;
    assert.ok(size <= CAP + SLACK, `console.log is ${size} bytes`);
    assert.ok(rotated <= CAP + SLACK && rotated >= CAP / 2, `console.log.1 is ${rotated} bytes`);
    // The VM and its agent went on.
    assert.equal((await umlabOk(home, ['exec', 'solo', '--', 'echo', 'alive'], 0, { env })).stdout, 'alive\n');
    const down = JSON.parse((await umlabOk(home, ['down', 'single', '--json'], 0, { env })).stdout);
    const archive = down.archive ?? down[0]?.archive;
    const kept = readdirSync(archive);
    for (const f of ['solo.console.log', 'solo.console.log.1', 'supervisor.log']) assert.ok(kept.includes(f), `${f} kept in ${kept}`);
    await assertNothingLeft(home, 'single');
  });

  it('a VM writing its agent line without newlines fails its agent: pending execs get the reason, status shows it', async () => {
    await umlabOk(home, ['up', single], 0, { env });
    const pending = umlab(home, ['exec', '--timeout', '20', 'solo', '--', 'touch /tmp/pending-started; sleep 3; echo late'], { env });
    // The flood starts once the first exec runs in the VM, so that it is pending when the line overflows.
    const flood = "(head -c 3000000 /dev/zero | tr '\\0' x > /dev/ttyS63) > /dev/null 2>&1 &";
    await umlab(home, ['exec', '--timeout', '20', 'solo', '--', `until [ -e /tmp/pending-started ]; do sleep 0.05; done; ${flood}`], { env });
    const r = await pending;
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /agent line overflowed/);
    const s = JSON.parse((await umlabOk(home, ['status', 'single', '--json'], 0, { env })).stdout);
    assert.equal(s.status.vms[0].state, 'failed');
    assert.match(s.status.vms[0].detail, /agent line overflowed/);
    const later = await umlab(home, ['exec', '--timeout', '20', 'solo', '--', 'true'], { env });
    assert.notEqual(later.exitCode, 0);
    assert.match(later.stderr, /agent line overflowed/);
    // The supervisor is unharmed and a reboot brings the agent back.
    await umlabOk(home, ['vm', 'reboot', 'solo'], 0, { env });
    assert.equal((await umlabOk(home, ['exec', 'solo', '--', 'echo', 'back'], 0, { env })).stdout, 'back\n');
    await umlabOk(home, ['down', 'single'], 0, { env });
    await assertNothingLeft(home, 'single');
  });
});
