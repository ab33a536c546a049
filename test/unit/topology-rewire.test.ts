// Live rewiring as plan changes (pure), and the management console's answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan } from '../../src/topology/plan.ts';
import { bootSettings, initOptions } from '../../src/topology/init-script.ts';
import { applyLinkChange, linkOfInterface, planLinkAdd, planLinkRemove } from '../../src/planner/rewire.ts';
import { parseMconsoleReply } from '../../src/vm/mconsole.ts';
import { wholeSysrqReport } from '../../src/vm/sysrq.ts';

const LAB = `name: rw
switches: { sw0: {} }
hubs: { hub0: {} }
mcast: { lan0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 }, eth1: { connect: h2.eth1 } } }
  h2: { interfaces: { eth0: { connect: hub0, ip: 10.0.0.2/24 }, eth2: { connect: lan0 } } }
`;

function plan(bridgeCaptures = true): LabPlan {
  const r = parseLab(LAB, '/labs/rw.yaml');
  assert.ok('lab' in r);
  return compile(r.lab, { runDir: '/run/rw', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/m', bridgeCaptures });
}

describe('planLinkAdd', () => {
  it('gives a new veth after the last one, a MAC from the address, a capture and the mconsole config line', () => {
    const p = plan();
    assert.deepEqual(
      p.segments.flatMap((s) => s.ports.map((q) => q.device ?? '-')),
      ['vp0', 'vp1', '-', 'vp2', 'vp3'],
    );
    const change = planLinkAdd(p, { vm: 'h1', iface: 'eth2', segment: 'hub0', addresses: ['10.0.0.9/24'] });
    assert.equal(change.port.device, 'vp4');
    assert.equal(change.interface.device, 'vec2');
    assert.equal(change.interface.mac, 'fe:fd:0a:00:00:09');
    const kernelArg = 'vec2:transport=raw,ifname=vp4,mac=fe:fd:0a:00:00:09,depth=128,gro=1,bpffile=/run/rw/vector-rx.bpf';
    assert.equal(change.mconsole, `config ${kernelArg}`);
    assert.equal(change.link.capture, '/run/rw/captures/h1.eth2.pcap');
    const after = applyLinkChange(p, change, 'add');
    assert.deepEqual(
      after.vms.find((v) => v.name === 'h1')!.interfaces.map((i) => i.name),
      ['eth0', 'eth1', 'eth2'],
    );
    assert.equal(after.vms.find((v) => v.name === 'h1')!.argv.at(-1), kernelArg);
    // Its boot settings too, so a VM booted again configures the new interface.
    const network = (lab: LabPlan) =>
      bootSettings(
        lab.vms.find((v) => v.name === 'h1')!,
        initOptions(lab),
      );
    assert.ok(network(after).includes('\nlink set dev vec2 name eth2\nlink set eth2 up\naddr add 10.0.0.9/24 dev eth2\n'));
    assert.ok(!network(p).includes('10.0.0.9/24'));
    assert.equal(planLinkRemove(after, 'h1', 'eth2').mconsole, 'remove vec2');
    assert.ok(after.segments.find((s) => s.name === 'hub0')!.ports.some((q) => q.link === 'h1.eth2'));
    assert.ok(after.links.some((l) => l.name === 'h1.eth2'));
    assert.ok(!p.links.some((l) => l.name === 'h1.eth2'), 'the old plan is untouched');
    // Removing it again gives back the original plan.
    assert.deepEqual(applyLinkChange(after, planLinkRemove(after, 'h1', 'eth2'), 'remove'), p);
  });

  it('on the userspace engine (rootless labs), gives a new UDP pair after the last one', () => {
    const p = plan(false);
    const maxPort = Math.max(...p.segments.flatMap((s) => s.ports.flatMap((q) => [q.enginePort ?? 0, q.vmPort ?? 0])));
    const change = planLinkAdd(p, { vm: 'h1', iface: 'eth2', segment: 'hub0', addresses: ['10.0.0.9/24'] });
    assert.deepEqual([change.port.enginePort, change.port.vmPort, change.port.device], [maxPort + 1, maxPort + 2, undefined]);
    assert.equal(change.mconsole, `config eth2=ucast,fe:fd:0a:00:00:09,127.0.0.1,${maxPort + 2},${maxPort + 1}`);
    const after = applyLinkChange(p, change, 'add');
    assert.equal(planLinkRemove(after, 'h1', 'eth2').mconsole, 'remove eth2');
    assert.deepEqual(applyLinkChange(after, planLinkRemove(after, 'h1', 'eth2'), 'remove'), p);
  });

  it('a link added live to a bridge that cannot capture (rootless, capture: false segment) is not captured', () => {
    const r = parseLab(
      LAB.replace('h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 }', 'h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24, capture: false }'),
      '/labs/rw.yaml',
    );
    assert.ok('lab' in r);
    const p = compile(r.lab, { runDir: '/run/rw', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/m', bridgeCaptures: false });
    assert.equal(p.segments.find((s) => s.name === 'sw0')!.options['uncaptured'], true);
    const change = planLinkAdd(p, { vm: 'h2', iface: 'eth3', segment: 'sw0', addresses: [] });
    assert.equal(change.port.device, 'vp1');
    assert.equal(change.link.capture, null);
  });

  it('never reuses a MAC of the lab', () => {
    const change = planLinkAdd(plan(), { vm: 'h2', iface: 'eth3', segment: 'sw0', addresses: ['10.0.0.1/24'] });
    assert.notEqual(change.interface.mac, 'fe:fd:0a:00:00:01');
    assert.match(change.interface.mac, /^fe:fc:/);
  });

  it('refuses what cannot be done, saying why', () => {
    const p = plan();
    const refused = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: unknown) => e instanceof UsageError && message.test(e.message));
    refused(() => planLinkAdd(p, { vm: 'nope', iface: 'eth3', segment: 'sw0', addresses: [] }), /no VM named nope/);
    refused(() => planLinkAdd(p, { vm: 'h1', iface: 'eth0', segment: 'sw0', addresses: [] }), /already has eth0/);
    refused(() => planLinkAdd(p, { vm: 'h1', iface: 'wlan0', segment: 'sw0', addresses: [] }), /bad interface name/);
    refused(() => planLinkAdd(p, { vm: 'h1', iface: 'eth3', segment: 'lan0', addresses: [] }), /only to switches and hubs/);
    refused(() => planLinkAdd(p, { vm: 'h1', iface: 'eth3', segment: 'sw9', addresses: [] }), /no segment named sw9/);
    refused(() => planLinkAdd(p, { vm: 'h1', iface: 'eth3', segment: 'sw0', addresses: ['10.0.0.300/24'] }), /bad address/);
    refused(() => planLinkRemove(p, 'h1', 'eth1'), /only links to switches and hubs/);
    refused(() => planLinkRemove(p, 'h1', 'eth7'), /has no eth7/);
  });
});

describe('linkOfInterface', () => {
  it('finds the link of either end of a point-to-point link', () => {
    const p = plan();
    assert.equal(linkOfInterface(p, 'h1', 'eth1').name, 'h1.eth1--h2.eth1');
    assert.equal(linkOfInterface(p, 'h2', 'eth1').name, 'h1.eth1--h2.eth1');
    assert.equal(linkOfInterface(p, 'h2', 'eth0').name, 'h2.eth0');
  });
});

describe('parseMconsoleReply', () => {
  it('returns the text after OK, throws the text after ERR', () => {
    assert.equal(parseMconsoleReply('OK Linux h1 6.1.176 #1\n', 'version'), 'Linux h1 6.1.176 #1');
    assert.equal(parseMconsoleReply('OK \n', 'go'), '');
    assert.throws(() => parseMconsoleReply('ERR Bad config\n', 'config eth9=x'), /refused "config eth9=x": Bad config/);
    assert.throws(() => parseMconsoleReply('', 'version'), /no answer/);
  });
});

describe('wholeSysrqReport', () => {
  const report = [
    'sysrq: Show clockevent devices & pending hrtimers (no others)',
    'Timer List Version: v0.9',
    '',
    ' clock 0:',
    '  .offset:     0 nsecs',
    'Tick Device: mode:     1',
    ' retries:        0',
  ];
  const console = `stage 2 done\r\n${report.join('\r\n')}\r\n`;

  it('keeps a whole answer, also when the console shows more after it or has not caught up', () => {
    const answer = report.join('\n');
    assert.deepEqual(wholeSysrqReport(answer, console), { text: answer, fromConsole: false });
    assert.deepEqual(wholeSysrqReport(answer, `${console}eth0: link up\r\n`), { text: answer, fromConsole: false });
    assert.deepEqual(wholeSysrqReport(answer, 'sysrq: Show clockevent devices & pending hrtimers (no others)\r\n'), { text: answer, fromConsole: false });
    assert.deepEqual(wholeSysrqReport('Show Memory', ''), { text: 'Show Memory', fromConsole: false });
  });

  it('takes the console when the answer lost its middle and still ended', () => {
    const cut = [report[0], report[1], report[5], report[6]].join('\n');
    assert.deepEqual(wholeSysrqReport(cut, console), { text: report.filter((l) => l !== '').join('\n'), fromConsole: true });
  });

  it('takes the console when no answer came, and has nothing when the console shows no report either', () => {
    assert.equal(wholeSysrqReport(null, console)?.fromConsole, true);
    assert.equal(wholeSysrqReport(null, 'booting\r\n'), null);
  });
});
