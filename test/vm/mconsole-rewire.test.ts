// The management console (`umlab vm ...`) and live rewiring (`umlab link ...`) on real UML VMs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/decode.ts';
import { SAFE_SYSRQ_KEYS } from '../../src/vm/sysrq.ts';
import { assertNothingLeft, cleanHome, eventually, makeHome, ROOT, umlab, umlabOk, vmExec } from './helpers.ts';

const LAB = join(ROOT, 'test/vm/labs/rewire.yaml');

describe('management console and live rewiring', () => {
  const home = makeHome();
  const ping = (from: string, to: string) => umlab(home, ['exec', from, '--', `ping -c 1 -W 2 ${to}`]);
  // One echo request a second until one is answered: the first after a cut can meet an ARP entry that
  // is failing its last probe (the far end's), which drops what waits on it, as on real hardware.
  const pingWithin = (from: string, to: string, seconds: number) => umlab(home, ['exec', from, '--', `ping -c 1 -w ${seconds} ${to}`]);
  const vmStatus = async (vm: string) => {
    const status = JSON.parse((await umlabOk(home, ['status', 'rewire', '--json'])).stdout);
    return status.status.vms.find((v: { name: string }) => v.name === vm) as { state: string; pid: number | null; detail?: string };
  };
  const vmState = async (vm: string) => (await vmStatus(vm)).state;
  const bootId = (vm: string) => vmExec(home, 'rewire', vm, 'cat /proc/sys/kernel/random/boot_id');

  before(async () => {
    await umlabOk(home, ['up', LAB]);
  });
  after(async () => {
    await umlab(home, ['down', 'rewire']);
    await assertNothingLeft(home, 'rewire');
    await cleanHome(home);
  });

  it('vm version and sysrq answer through the management console', async () => {
    const version = JSON.parse((await umlabOk(home, ['vm', 'version', 'h1', '--json'])).stdout);
    assert.match(version.output, /^Linux h1 \d+\.\d+/);
    const sysrq = await umlabOk(home, ['vm', 'sysrq', 'h1', 'm']);
    assert.match(sysrq.stdout, /Show Memory/);
    const bad = await umlab(home, ['vm', 'sysrq', 'h1', '!']);
    assert.notEqual(bad.exitCode, 0);
  });

  it('every SysRq key umlab accepts leaves the VM running; the keys that crash or cripple it are refused with the reason', async () => {
    const boot = await bootId('h1');
    for (const key of Object.keys(SAFE_SYSRQ_KEYS)) {
      const answer = await umlabOk(home, ['vm', 'sysrq', 'h1', key]);
      // Log level 9 (key 9 came first) makes q's report long: longer than the management console's answer carries.
      if (key === 'q') assert.match(answer.stdout, /Tick Device/, 'the whole timer report, from the console when the answer is cut');
      assert.equal(await vmExec(home, 'rewire', 'h1', `echo after-${key}`), `after-${key}\n`, `h1 answers after sysrq ${key}`);
    }
    assert.equal(await bootId('h1'), boot, 'no key rebooted it');
    assert.equal(await vmState('h1'), 'ready');
    for (const key of ['t', 'b', 'c', 'o']) {
      const refused = await umlab(home, ['vm', 'sysrq', 'h1', key]);
      assert.equal(refused.exitCode, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`sysrq ${key} is refused: it .+; accepted keys: 0 1`));
    }
    assert.match((await umlab(home, ['vm', 'sysrq', 'h1', 'z'])).stderr, /"z" is not a SysRq key of this kernel/);
    assert.equal(await bootId('h1'), boot);
  });

  it('a paused VM shows as paused, exec into it says so at once, resume brings it back', async () => {
    await umlabOk(home, ['vm', 'pause', 'h2']);
    assert.equal(await vmState('h2'), 'paused');
    const started = Date.now();
    const exec = await umlab(home, ['exec', 'h2', '--', 'true']);
    assert.equal(exec.exitCode, 6, exec.stderr);
    assert.match(exec.stderr, /h2 is paused/);
    assert.match(exec.stderr, /umlab vm resume h2/);
    assert.ok(Date.now() - started < 20_000, 'exec does not hang on a paused VM');
    // Frozen for real: a ping from h1 gets no answer.
    assert.notEqual((await ping('h1', '10.0.0.2')).exitCode, 0);
    await umlabOk(home, ['vm', 'resume', 'h2']);
    assert.equal(await vmState('h2'), 'ready');
    assert.equal((await ping('h1', '10.0.0.2')).exitCode, 0);
  });

  it('link down stops a ping both ways, link up lets it through again; status shows the link state', async () => {
    assert.equal((await ping('h1', '10.0.0.2')).exitCode, 0);
    await umlabOk(home, ['link', 'down', 'h2', 'eth0']);
    const status = JSON.parse((await umlabOk(home, ['status', 'rewire', '--json'])).stdout);
    assert.equal(status.status.links.find((l: { link: string }) => l.link === 'h2.eth0').up, false);
    assert.notEqual((await ping('h1', '10.0.0.2')).exitCode, 0, 'h1 -> h2 while cut');
    assert.notEqual((await ping('h2', '10.0.0.1')).exitCode, 0, 'h2 -> h1 while cut');
    await umlabOk(home, ['link', 'up', 'h2', 'eth0']);
    assert.equal((await pingWithin('h1', '10.0.0.2', 5)).exitCode, 0, 'h1 -> h2 after restore');
    assert.equal((await pingWithin('h2', '10.0.0.1', 5)).exitCode, 0, 'h2 -> h1 after restore');
  });

  it('link add plugs h3 into sw0 with an address, captured from its first frame; link rm takes it away', async () => {
    assert.notEqual((await ping('h1', '10.0.0.3')).exitCode, 0, 'nobody has 10.0.0.3 yet');
    await umlabOk(home, ['link', 'add', 'h3', 'eth1', 'sw0', '--ip', '10.0.0.3/24']);
    // h1's ARP entry for 10.0.0.3 from the ping above may still be failing its last probe (3 s): a later ping asks anew.
    await eventually(async () => assert.equal((await ping('h1', '10.0.0.3')).exitCode, 0));
    const links = JSON.parse((await umlabOk(home, ['capture', 'list', '--json'])).stdout) as { link: string; segment: string; capture: string }[];
    const added = links.find((l) => l.link === 'h3.eth1');
    assert.equal(added?.segment, 'sw0');
    await eventually(async () => {
      const frames = await readCapture(added!.capture);
      assert.ok(
        frames.some((f) => f.arp?.op === 2 && f.arp.senderIp === '10.0.0.3' && f.arp.senderMac === 'fe:fd:0a:00:00:03'),
        'h3 answers ARP on the new link',
      );
      assert.ok(
        frames.some((f) => f.icmp?.name === 'echo reply' && f.ip?.src === '10.0.0.3'),
        'echo reply on the new link',
      );
    });
    // Refused: an interface in use, a segment that is not there.
    assert.equal((await umlab(home, ['link', 'add', 'h3', 'eth1', 'sw0'])).exitCode, 2);
    assert.equal((await umlab(home, ['link', 'add', 'h3', 'eth2', 'nope'])).exitCode, 2);

    await umlabOk(home, ['link', 'rm', 'h3', 'eth1']);
    assert.doesNotMatch(await vmExec(home, 'rewire', 'h3', 'ip -br link'), /eth1/);
    assert.notEqual((await ping('h1', '10.0.0.3')).exitCode, 0);
    const after = JSON.parse((await umlabOk(home, ['capture', 'list', '--json'])).stdout) as { link: string }[];
    assert.ok(!after.some((l) => l.link === 'h3.eth1'));
  });

  it('reboot (a fresh process, keeping a link added live) and Ctrl-Alt-Del come back ready; halt and start', async () => {
    await umlabOk(home, ['link', 'add', 'h2', 'eth1', 'sw1', '--ip', '10.0.1.2/24']);
    const before = await bootId('h2');
    const pidOf = async (vm: string) => (await vmStatus(vm)).pid;
    const pidBefore = await pidOf('h2');
    const reboot = await umlabOk(home, ['vm', 'reboot', 'h2']);
    assert.match(reboot.stdout, /rebooted/);
    assert.equal(await vmState('h2'), 'ready');
    assert.notEqual(await pidOf('h2'), pidBefore, 'a fresh UML process');
    const afterReboot = await bootId('h2');
    assert.notEqual(afterReboot, before);
    assert.equal((await ping('h2', '10.0.1.3')).exitCode, 0, 'the link added live is still there after the reboot');
    await umlabOk(home, ['vm', 'cad', 'h2']);
    assert.notEqual(await bootId('h2'), afterReboot);
    assert.equal((await ping('h1', '10.0.0.2')).exitCode, 0, 'configuration applied again after the reboots');

    await umlabOk(home, ['vm', 'halt', 'h3']);
    assert.equal(await vmState('h3'), 'stopped');
    assert.equal(await vmState('h1'), 'ready', 'the rest of the lab goes on');
    const exec = await umlab(home, ['exec', 'h3', '--', 'true']);
    assert.match(exec.stderr, /umlab vm start h3/);
    await umlabOk(home, ['vm', 'start', 'h3']);
    assert.equal(await vmState('h3'), 'ready');
    assert.equal((await ping('h2', '10.0.1.3')).exitCode, 0, 'h3 configured again');
  });

  it('reboot and poweroff typed in a VM work without systemd: h1 restarts configured, h3 ends stopped and starts again', async () => {
    const boot = await bootId('h1');
    const typed = await umlab(home, ['exec', 'h1', '--', 'reboot']);
    assert.match(typed.stderr, /VM h1 rebooted while the command ran/);
    await eventually(async () => assert.notEqual(await bootId('h1'), boot), 60_000);
    assert.equal(await vmState('h1'), 'ready');
    assert.equal((await pingWithin('h1', '10.0.0.2', 5)).exitCode, 0, 'configured again after its own reboot');

    await umlab(home, ['exec', 'h3', '--', 'poweroff']);
    await eventually(async () => assert.equal(await vmState('h3'), 'stopped'), 30_000);
    assert.equal((await vmStatus('h3')).detail, 'powered off from inside');
    await umlabOk(home, ['vm', 'start', 'h3']);
    assert.equal(await vmState('h3'), 'ready');
  });
});
