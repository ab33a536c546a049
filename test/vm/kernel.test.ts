// The `kernel:` setting on real VMs: another kernel binary (here a wrapper that records its
// use, standing in for a self-built UML), extra arguments, the default initcall skips
// (no RAID6 benchmark at boot) and a VM that turns them back on, the preset delay loop.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { umlKernel } from '../../src/runtime/host.ts';
import { assertNothingLeft, cleanHome, makeHome, umlab, umlabOk, vmExec } from './helpers.ts';

describe('kernel: binary, args and skipped initcalls', () => {
  const home = makeHome();
  const wrapper = join(home, 'my-uml');
  const marker = join(home, 'my-uml.used');
  const file = join(home, 'lab.yaml');

  before(async () => {
    writeFileSync(wrapper, `#!/bin/sh\ntouch ${marker}\nexec ${umlKernel().kernel} "$@"\n`, { mode: 0o755 });
    writeFileSync(
      file,
      `name: kern
capture: false
kernel: { args: [ printk.time=1 ] }
vms:
  h1:
    kernel: { binary: ./my-uml, args: [ umlab.test=42 ] }
  h2:
    kernel: { skip_initcalls: [] }
`,
    );
    await umlabOk(home, ['up', '-q', file]);
  });
  after(() => cleanHome(home));

  it('compile shows the binary, the lab and VM arguments and the skip list', async () => {
    const plan = JSON.parse((await umlabOk(home, ['compile', '--json', file])).stdout);
    const [h1, h2] = plan.vms;
    assert.equal(h1.argv[0], wrapper);
    assert.ok(h1.argv.includes('initcall_blacklist=raid6_select_algo,init_zswap'), h1.argv.join(' '));
    assert.ok(h1.argv.indexOf('printk.time=1') < h1.argv.indexOf('umlab.test=42'), "lab args first, then the VM's");
    assert.equal(h2.argv[0], umlKernel().kernel);
    assert.ok(!h2.argv.some((a: string) => a.startsWith('initcall_blacklist=')), h2.argv.join(' '));
  });

  it('h1 booted through its own binary with its arguments, and ran no RAID6 benchmark', async () => {
    assert.ok(existsSync(marker), 'the wrapper kernel was run');
    const cmdline = await vmExec(home, 'kern', 'h1', 'cat /proc/cmdline');
    assert.match(cmdline, /umlab\.test=42/);
    assert.match(cmdline, /initcall_blacklist=raid6_select_algo,init_zswap/);
    assert.equal((await vmExec(home, 'kern', 'h1', 'dmesg | grep -c "raid6: using" || true')).trim(), '0');
  });

  it('boots without legacy BSD ptys (devpts ptys still work) and without proactive compaction', async () => {
    assert.match(await vmExec(home, 'kern', 'h1', 'cat /proc/cmdline'), /pty\.legacy_count=0/);
    assert.equal(await vmExec(home, 'kern', 'h1', 'cat /proc/sys/vm/compaction_proactiveness'), '0\n');
    assert.match(await vmExec(home, 'kern', 'h1', 'ls /dev/ptyp0 2>/dev/null; script -qc "tty" /dev/null | tr -d "\\r"'), /^\/dev\/pts\/\d+\n$/);
  });

  it("skips the delay-loop calibration on the host's kernel (h2), not on a lab's own (h1); no tty device of an unused line", async () => {
    assert.match(await vmExec(home, 'kern', 'h2', 'dmesg | grep "Calibrating delay loop"'), /Calibrating delay loop \(skipped\) preset value/);
    assert.match(await vmExec(home, 'kern', 'h1', 'dmesg | grep "Calibrating delay loop"'), /Calibrating delay loop\.\.\. [\d.]+ BogoMIPS/);
    // Consoles and serial lines nobody configured are not devices: con0 and the agent's line are.
    assert.equal(await vmExec(home, 'kern', 'h2', 'ls /sys/class/tty | grep -E "^tty(S?[0-9]+)$" | sort | tr "\\n" " "'), 'tty0 ttyS63 ');
  });

  it("answers through the native agent (native/agent.c in the lab's view), not perl, and keeps the console's shell", async () => {
    // [u] keeps grep from matching itself; the perl agent's line would name agent.pl.
    // A child of the same program keeps the console's shell (no setsid, no subshell started at
    // boot), and no shell runs on the console before someone types there.
    assert.equal(
      await vmExec(home, 'kern', 'h1', 'ps -e -o args | grep "[u]mlab-agent\\|[a]gent.pl\\|[s]etsid\\|^sh -i" | sort'),
      '/.umlab-agent /dev/ttyS63 --console /dev/tty0\n'.repeat(2),
    );
    const [agent, keeper] = (await vmExec(home, 'kern', 'h1', 'pgrep -o -x .umlab-agent; pgrep -n -x .umlab-agent')).split('\n');
    assert.equal((await vmExec(home, 'kern', 'h1', `ps -o ppid= -p ${keeper}`)).trim(), agent, "the keeper is the agent's child");
  });

  it('h2, with skip_initcalls: [], ran the RAID6 benchmark', async () => {
    assert.match(await vmExec(home, 'kern', 'h2', 'dmesg | grep "raid6: using" || true'), /raid6: using algorithm/);
  });

  it('a kernel binary that does not exist stops up before anything starts', async () => {
    const other = makeHome();
    try {
      const bad = join(other, 'lab.yaml');
      writeFileSync(bad, 'name: nokern\nvms:\n  h1: { kernel: { binary: /nonexistent/linux.uml } }\n');
      const r = await umlab(other, ['up', bad]);
      assert.equal(r.exitCode, 5, r.stderr);
      assert.match(r.stderr, /VM h1: cannot run its kernel \/nonexistent\/linux\.uml \(ENOENT\)/);
      await assertNothingLeft(other, 'nokern');
    } finally {
      await cleanHome(other);
    }
  });

  it('down leaves nothing', async () => {
    await umlabOk(home, ['down', 'kern']);
    await assertNothingLeft(home, 'kern');
  });
});
