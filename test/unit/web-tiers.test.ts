// Two-member segments as lines, and the tiers of a layered drawing (found in the graph or
// given by the lab file's `layout:`), from real lab files through compile().
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan, PlanContext } from '../../src/topology/plan.ts';
import { graphFromPlan } from '../../src/web/graph.ts';
import { foundTiers, hintedTiers } from '../../src/web/tiers.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

function planOfText(text: string, file = '/l/lab.yaml'): LabPlan {
  const result = parseLab(text, file);
  assert.ok('lab' in result, JSON.stringify(result));
  return compile(result.lab, ctx);
}
const planOf = (example: string) => planOfText(readFileSync(new URL(`../../labs/${example}`, import.meta.url), 'utf8'), `/repo/labs/${example}`);

/** Devices per tier, top first, each tier sorted. */
function bands(tiers: Record<string, number>): string[][] {
  const out: string[][] = [];
  for (const [id, t] of Object.entries(tiers)) (out[t] ??= []).push(id);
  return out.map((band) => band.sort());
}

describe('two-member segments as lines', () => {
  it('two hosts on a switch: one line between them, both ends labelled; the node view keeps the switch', () => {
    const g = graphFromPlan(planOf('two-hosts.yaml'));
    assert.deepEqual(
      g.lines.map((l) => [l.data.id, l.data.source, l.data.target, l.data.sourceLabel, l.data.targetLabel, l.data.link, l.data.links.join()]),
      [['line:sw0', 'h1', 'h2', 'eth0\n10.0.0.1/24', 'eth0\n10.0.0.2/24', 'h1.eth0', 'h1.eth0,h2.eth0']],
    );
    assert.ok(
      g.nodes.some((n) => n.data.id === 'segment:sw0'),
      'the node view still has the switch',
    );
    assert.equal(g.edges.length, 2);
  });

  it('three or more members, VLAN ports and a VM twice on one switch keep the node', () => {
    assert.deepEqual(graphFromPlan(planOf('hub-vs-switch.yaml')).lines, []);
    assert.deepEqual(graphFromPlan(planOf('vlans.yaml')).lines, []);
    const twice = planOfText('name: t\nswitches: { s: {} }\nvms:\n  a: { interfaces: { eth0: { connect: s }, eth1: { connect: s } } }\n');
    assert.deepEqual(graphFromPlan(twice).lines, []);
  });

  it('the fat tree: 24 lines, one per cable, and no segment node left in the default view', () => {
    const g = graphFromPlan(planOf('fat-tree.yaml'));
    assert.equal(g.nodes.filter((n) => n.data.kind === 'vm').length, 18);
    assert.equal(g.lines.length, 24);
    assert.deepEqual(new Set(g.lines.map((l) => l.data.segment)), new Set(g.nodes.filter((n) => n.data.kind !== 'vm').map((n) => n.data.label)));
  });
});

describe('tiers', () => {
  it('the fat tree has four tiers found in the graph: ToF, spines, leaves, servers', () => {
    const tiers = graphFromPlan(planOf('fat-tree.yaml')).tiers;
    assert.ok(tiers);
    assert.deepEqual(bands(tiers), [
      ['tof-1', 'tof-2'],
      ['spine-1-1', 'spine-1-2', 'spine-2-1', 'spine-2-2'],
      ['leaf-1-1', 'leaf-1-2', 'leaf-2-1', 'leaf-2-2'],
      ['server-1a', 'server-1b', 'server-2a', 'server-2b', 'server-3a', 'server-3b', 'server-4a', 'server-4b'],
    ]);
  });

  it('trees, chains, stars and rings are left to the force layout', () => {
    for (const lab of ['two-hosts.yaml', 'router.yaml', 'static-routing.yaml', 'hub-vs-switch.yaml', 'all-kinds.yaml'])
      assert.equal(graphFromPlan(planOf(lab)).tiers, null, lab);
    const chain: [string, string][] = [
      ['a', 'r1'],
      ['r1', 'r2'],
      ['r2', 'r3'],
      ['r3', 'b'],
    ];
    assert.equal(foundTiers(['a', 'r1', 'r2', 'r3', 'b'], chain), null);
    const ring: [string, string][] = [
      ['r1', 'r2'],
      ['r2', 'r3'],
      ['r3', 'r1'],
      ['h1', 'r1'],
      ['h2', 'r2'],
      ['h3', 'r3'],
    ];
    assert.equal(foundTiers(['r1', 'r2', 'r3', 'h1', 'h2', 'h3'], ring), null, 'two tiers only');
  });

  it("the lab file's layout: tiers win; names, patterns and lists; the others go below a neighbour", () => {
    const nodes = ['core', 'dist-a', 'dist-b', 'pc1', 'pc2', 'printer', 'segment:lan'];
    const edges: [string, string][] = [
      ['core', 'dist-a'],
      ['core', 'dist-b'],
      ['dist-a', 'segment:lan'],
      ['pc1', 'segment:lan'],
      ['pc2', 'segment:lan'],
      ['printer', 'segment:lan'],
    ];
    assert.deepEqual(bands(hintedTiers(nodes, edges, [['core'], ['dist-*'], ['pc*', 'printer']])), [
      ['core'],
      ['dist-a', 'dist-b'],
      ['pc1', 'pc2', 'printer', 'segment:lan'],
    ]);
    const plan = planOfText(
      'name: t\nlayout: { tiers: [ r*, [h1, h2] ] }\nvms:\n  r1: { interfaces: { eth0: { connect: h1.eth0 }, eth1: { connect: h2.eth0 } } }\n  h1: { interfaces: { eth0: {} } }\n  h2: { interfaces: { eth0: {} } }\n',
    );
    assert.deepEqual(plan.layout, { tiers: [['r*'], ['h1', 'h2']] });
    assert.deepEqual(bands(graphFromPlan(plan).tiers!), [['r1'], ['h1', 'h2']]);
  });

  it('the schema refuses a layout it does not know', () => {
    for (const bad of ['layout: { tiers: [a] }', 'layout: { tiers: [a, 3] }', 'layout: { rank: {} }']) {
      const result = parseLab(`name: t\n${bad}\nvms:\n  a: {}\n`, '/l/bad.yaml');
      assert.ok(!('lab' in result), `${bad} is refused`);
    }
  });
});
