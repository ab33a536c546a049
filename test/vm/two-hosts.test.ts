// labs/two-hosts.yaml for real: boot, ping by address and by name, captures, exec, down.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, eventually, lab, makeHome, umlab, umlabOk, vmExec } from './helpers.ts';

describe('two-hosts lab on real UML VMs', () => {
  const home = makeHome();
  let linkCapture = '';

  before(async () => {
    // Through the launcher, as a user types it: bin/umlab runs the bundled CLI, whose supervisor is bundled too.
    const up = await umlabOk(home, ['up', lab('two-hosts.yaml')], 0, { launcher: true });
    assert.match(up.stdout, /h1\s+ready/);
    assert.match(up.stdout, /h2\s+ready/);
    assert.match(up.stderr, /h1: booting/, 'up shows progress per VM');
  });
  after(() => cleanHome(home));

  it('bin/umlab started the bundled supervisor (plain Node, no tsx)', async () => {
    const status = JSON.parse((await umlabOk(home, ['status', 'two-hosts', '--json'])).stdout);
    const cmdline = readFileSync(`/proc/${status.status.supervisorPid}/cmdline`, 'utf8').split('\0');
    assert.ok(
      cmdline.some((a) => a.endsWith('dist/runtime/supervisor-main.mjs')),
      cmdline.join(' '),
    );
    assert.ok(!cmdline.some((a) => a.includes('tsx')), cmdline.join(' '));
  });

  it('h1 pings h2 by address and by name', async () => {
    const byAddress = await umlab(home, ['exec', 'h1', '--', 'ping', '-c', '2', '-W', '5', '10.0.0.2']);
    assert.equal(byAddress.exitCode, 0, byAddress.stdout + byAddress.stderr);
    assert.match(byAddress.stdout, /2 received/);
    const byName = await umlab(home, ['exec', 'h1', '--', 'ping -c 1 -W 5 h2']);
    assert.equal(byName.exitCode, 0, byName.stdout + byName.stderr);
    assert.match(byName.stdout, /PING h2 \(10\.0\.0\.2\)/);
  });

  it('the capture of the h1 link holds the ARP exchange and the ICMP echo request and reply', async () => {
    const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--json'])).stdout) as { link: string; capture: string }[];
    const h1 = list.find((l) => l.link === 'h1.eth0');
    assert.ok(h1?.capture, `h1.eth0 in ${JSON.stringify(list)}`);
    linkCapture = h1.capture;
    await eventually(async () => {
      const frames = await readCapture(linkCapture);
      const arpRequest = frames.find((f) => f.arp?.op === 1 && f.arp.targetIp === '10.0.0.2' && f.arp.senderIp === '10.0.0.1');
      const arpReply = frames.find((f) => f.arp?.op === 2 && f.arp.senderIp === '10.0.0.2');
      const echoRequest = frames.find((f) => f.icmp?.name === 'echo request' && f.ip?.src === '10.0.0.1' && f.ip.dst === '10.0.0.2');
      const echoReply = frames.find((f) => f.icmp?.name === 'echo reply' && f.ip?.src === '10.0.0.2' && f.ip.dst === '10.0.0.1');
      assert.ok(arpRequest, 'ARP request');
      assert.ok(arpReply, 'ARP reply');
      assert.ok(echoRequest, 'ICMP echo request');
      assert.ok(echoReply, 'ICMP echo reply');
      assert.equal(arpReply!.arp!.senderMac, 'fe:fd:0a:00:00:02', 'MAC derived from the IPv4 address');
    });
    const shown = await umlabOk(home, ['capture', 'show', 'h1.eth0']);
    assert.match(shown.stdout, /ICMP echo request/);
  });

  it("the switch is a Linux bridge: eth0 is UML's vector device, only the VMs speak on the segment, counters count", async () => {
    const driver = await vmExec(home, 'two-hosts', 'h1', 'basename $(readlink /sys/class/net/eth0/device/driver)');
    assert.equal(driver.trim(), 'uml-vector');
    const compiled = await umlabOk(home, ['compile', lab('two-hosts.yaml')]);
    assert.match(compiled.stdout, /Linux bridge br0 as a learning switch/);
    // The host kernel's bridge and veths must not send anything (no IPv6 RS/MLD) into the lab.
    const macs = new Set(['fe:fd:0a:00:00:01', 'fe:fd:0a:00:00:02']);
    const strangers = (await readCapture(linkCapture)).filter((f) => !macs.has(f.src));
    assert.deepEqual(
      strangers.map((f) => `${f.src} ${f.summary}`),
      [],
    );
    const [s] = JSON.parse((await umlabOk(home, ['status', '--json'])).stdout);
    const link = s.status.links.find((l: { link: string }) => l.link === 'h1.eth0');
    assert.ok(link.rxFrames >= 3 && link.txFrames >= 3, JSON.stringify(link));
  });

  it('tshark reads the same capture while the lab runs', async () => {
    const r = await execa('tshark', ['-r', linkCapture, '-Y', 'icmp || arp', '-T', 'fields', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info'], {
      reject: false,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /ARP/);
    assert.match(r.stdout, /Echo \(ping\) request/);
    assert.match(r.stdout, /Echo \(ping\) reply/);
  });

  it("exec passes the command's stdout, stderr and exit code through, and --json", async () => {
    const r = await umlab(home, ['exec', 'h2', '--', 'echo out; echo err >&2; exit 7']);
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const j = JSON.parse((await umlab(home, ['exec', '--json', 'h2', '--', 'hostname'])).stdout);
    assert.deepEqual(j, { vm: 'h2', exitCode: 0, stdout: 'h2\n', stderr: '' });
  });

  it('exec --timeout gives up with exit code 124, like timeout(1); a missing VM is not found (4)', async () => {
    const slow = await umlab(home, ['exec', '--timeout', '1', 'h2', '--', 'sleep 3']);
    assert.equal(slow.exitCode, 124, slow.stderr);
    assert.match(slow.stderr, /timed out after 1 s in VM h2/);
    const missing = await umlab(home, ['exec', 'h9', '--', 'true']);
    assert.equal(missing.exitCode, 4, missing.stderr);
    assert.match(missing.stderr, /no VM named h9/);
  });

  it('concurrent execs into one VM and into several VMs all get their own answers', async () => {
    const runs = [];
    for (let i = 0; i < 8; i++) for (const vm of ['h1', 'h2']) runs.push(umlab(home, ['exec', vm, '--', `sleep 0.$((${i} % 3)); echo ${vm}-${i}`]));
    const results = await Promise.all(runs);
    results.forEach((r, n) => {
      const vm = n % 2 === 0 ? 'h1' : 'h2';
      assert.equal(r.stdout, `${vm}-${Math.floor(n / 2)}\n`, `exit ${r.exitCode}, stderr: ${r.stderr}`);
    });
  });

  it('exec works while the VM firewall drops everything', async () => {
    await vmExec(home, 'two-hosts', 'h2', 'iptables -P INPUT DROP; iptables -P OUTPUT DROP');
    const ping = await umlab(home, ['exec', 'h1', '--', 'ping', '-c', '1', '-W', '2', '10.0.0.2']);
    assert.notEqual(ping.exitCode, 0, 'the firewall drops the ping');
    assert.equal((await vmExec(home, 'two-hosts', 'h2', 'echo still here')).trim(), 'still here');
    await vmExec(home, 'two-hosts', 'h2', 'iptables -P INPUT ACCEPT; iptables -P OUTPUT ACCEPT');
  });

  it('status lists the lab and its VMs with pids', async () => {
    const [s] = JSON.parse((await umlabOk(home, ['status', '--json'])).stdout);
    assert.equal(s.lab, 'two-hosts');
    assert.equal(s.phase, 'running');
    for (const vm of s.status.vms) {
      assert.equal(vm.state, 'ready');
      assert.ok(vm.pid > 0);
    }
  });

  it("every VM's console is logged", async () => {
    await vmExec(home, 'two-hosts', 'h1', 'echo console-marker-42 > /dev/console');
    await eventually(() => assert.match(readFileSync(join(home, 'labs/two-hosts/vms/h1/console.log'), 'utf8'), /console-marker-42/));
  });

  it('down stops everything, keeps the captures and leaves nothing behind', async () => {
    const down = await umlabOk(home, ['down', 'two-hosts', '--json']);
    const { archive, incompleteCaptures } = JSON.parse(down.stdout);
    assert.deepEqual(incompleteCaptures, [], 'a few pings: tcpdump missed nothing');
    assert.ok(archive && existsSync(archive));
    const kept = readdirSync(archive);
    assert.ok(kept.includes('h1.eth0.pcap'), kept.join(' '));
    assert.ok(kept.includes('h1.console.log'));
    const frames = await readCapture(join(archive, 'h1.eth0.pcap'));
    assert.ok(frames.some((f) => f.icmp?.name === 'echo reply'));
    await assertNothingLeft(home, 'two-hosts');
    const none = await umlab(home, ['exec', 'h1', '--', 'true']);
    assert.equal(none.exitCode, 4, 'no lab left: not found');
  });
});
