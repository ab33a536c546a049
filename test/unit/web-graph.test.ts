// The graph payload from a plan, the live snapshot's rates, and the console tail cleaner.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan, PlanContext } from '../../src/topology/plan.ts';
import type { LabStatus } from '../../src/client/control.ts';
import { graphFromPlan } from '../../src/web/graph.ts';
import { snapshot } from '../../src/web/live.ts';
import { cleanConsoleText } from '../../src/web/vm-info.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

function planOf(example: string): LabPlan {
  const file = new URL(`../../labs/${example}`, import.meta.url);
  const result = parseLab(readFileSync(file, 'utf8'), `/repo/labs/${example}`);
  assert.ok('lab' in result, JSON.stringify(result));
  return compile(result.lab, ctx);
}

describe('graphFromPlan', () => {
  it('two hosts on a switch: three nodes, one edge per link labelled with interface and address', () => {
    const g = graphFromPlan(planOf('two-hosts.yaml'));
    assert.deepEqual(
      g.nodes.map((n) => `${n.data.id}:${n.data.kind}:${n.data.label}`),
      ['h1:vm:h1', 'h2:vm:h2', 'segment:sw0:switch:sw0'],
    );
    assert.deepEqual(
      g.edges.map((e) => [e.data.id, e.data.source, e.data.target, e.data.sourceLabel, e.data.targetLabel, e.data.hasCapture]),
      [
        ['h1.eth0', 'h1', 'segment:sw0', 'eth0\n10.0.0.1/24', '', true],
        ['h2.eth0', 'h2', 'segment:sw0', 'eth0\n10.0.0.2/24', '', true],
      ],
    );
  });

  it('says which links have conditions and which ports are in VLANs; the live state follows link set', () => {
    const g = graphFromPlan(planOf('vlans.yaml'));
    assert.deepEqual(
      g.edges.map((e) => [e.data.id, e.data.vlans]),
      [
        ['a10.eth0', 'access 10'],
        ['a20.eth0', 'access 20'],
        ['b10.eth0', 'access 10'],
        ['r.eth0', 'trunk 10,20'],
        ['x20.eth0', 'access 20'],
      ],
    );
    const result = parseLab(
      'name: c\nswitches: { s: {} }\nvms:\n  a: { interfaces: { eth0: { connect: s, link: { delay: 20ms, egress: { loss: 1% } } } } }\n',
      '/l/c.yaml',
    );
    assert.ok('lab' in result);
    const plan = compile(result.lab, ctx);
    assert.equal(graphFromPlan(plan).edges[0]!.data.conditions, 'a.eth0: egress delay 20ms loss 1% / ingress delay 20ms');
    const link = { link: 'a.eth0', segment: 's', capture: null, rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, up: true };
    const status = (conditions?: { vm: string; iface: string; text: string }[]) =>
      ({
        lab: 'c',
        phase: 'running',
        supervisorPid: 1,
        mode: 'netns',
        runDir: '/r',
        startedAt: '',
        vms: [],
        links: [{ ...link, ...(conditions && { conditions }) }],
      }) as unknown as LabStatus;
    const live = snapshot({ at: 1, status: status([{ vm: 'a', iface: 'eth0', text: 'delay 100ms' }]) }, null);
    assert.ok(live.running && live.links[0]!.conditions === 'a.eth0: delay 100ms');
    const cleared = snapshot({ at: 2, status: status() }, null);
    assert.ok(cleared.running && cleared.links[0]!.conditions === '');
  });

  it('every segment kind is its own node kind; a point-to-point link is an edge between two VMs', () => {
    const g = graphFromPlan(planOf('all-kinds.yaml'));
    const kinds = Object.fromEntries(g.nodes.filter((n) => n.data.kind !== 'vm').map((n) => [n.data.label, n.data.kind]));
    assert.deepEqual(kinds, { sw0: 'switch', hub0: 'hub', lan0: 'mcast', up0: 'tap', nat0: 'gateway' });
    assert.equal(g.nodes.filter((n) => n.data.kind === 'vm').length, 3);
    const p2p = g.edges.find((e) => e.data.id === 'h2.eth1--r1.eth5')!;
    assert.deepEqual([p2p.data.source, p2p.data.target], ['h2', 'r1']);
    assert.equal(p2p.data.sourceLabel, 'eth1\n10.0.4.2/30');
    assert.equal(p2p.data.targetLabel, 'eth5\n10.0.4.1/30');
    assert.equal(p2p.data.hasCapture, false, 'capture: false in the lab file');
    const dhcp = g.edges.find((e) => e.data.id === 'r1.eth4')!;
    assert.equal(dhcp.data.sourceLabel, 'eth4\ndhcp');
    assert.equal(g.edges.find((e) => e.data.id === 'r1.eth0')!.data.sourceLabel, 'eth0\n10.0.0.254/24\nfd00:0:0:1::fe/64');
    assert.equal(g.edges.length, new Set(g.edges.map((e) => e.data.id)).size, 'one edge per link');
    const ids = new Set(g.nodes.map((n) => n.data.id));
    for (const e of g.edges) assert.ok(ids.has(e.data.source) && ids.has(e.data.target), `${e.data.id} joins drawn nodes`);
  });
});

describe('snapshot', () => {
  const status = (frames: number, bytes: number): LabStatus => ({
    lab: 't',
    phase: 'running',
    supervisorPid: 1,
    mode: 'netns',
    runDir: '/x',
    startedAt: '',
    vms: [{ name: 'h1', state: 'ready', pid: 10 }],
    links: [{ link: 'h1.eth0', segment: 'sw0', capture: null, rxFrames: frames, rxBytes: bytes, txFrames: frames, txBytes: bytes, up: true }],
  });

  it('adds both directions and turns two samples into rates per second', () => {
    const first = snapshot({ at: 1000, status: status(10, 1000) }, null);
    assert.ok(first.running);
    assert.deepEqual([first.links[0]!.frames, first.links[0]!.bytes, first.links[0]!.framesPerSecond], [20, 2000, 0]);
    const second = snapshot({ at: 3000, status: status(20, 1500) }, { at: 1000, status: status(10, 1000) });
    assert.ok(second.running);
    assert.equal(second.links[0]!.framesPerSecond, 10);
    assert.equal(second.links[0]!.bytesPerSecond, 500);
    assert.deepEqual(second.vms, [{ name: 'h1', state: 'ready', pid: 10 }]);
  });

  it('no negative rate when the counters went back (the lab was restarted)', () => {
    const s = snapshot({ at: 2000, status: status(1, 60) }, { at: 1000, status: status(50, 5000) });
    assert.ok(s.running);
    assert.equal(s.links[0]!.framesPerSecond, 0);
    assert.equal(s.links[0]!.bytesPerSecond, 0);
  });
});

describe('cleanConsoleText', () => {
  it('drops terminal escapes, carriage returns and control bytes; keeps the last lines', () => {
    const raw = 'one\r\n\x1b[1;32mtwo\x1b[0m\r\nprogress 10%\rprogress 100%\nbell\x07 done\n\n';
    assert.equal(cleanConsoleText(raw, 10), 'one\ntwo\nprogress 100%\nbell done');
    assert.equal(cleanConsoleText(raw, 2), 'progress 100%\nbell done');
  });
});
