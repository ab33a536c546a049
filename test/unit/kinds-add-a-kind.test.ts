// Adding a kind touches only its folder, one registry line and the schema (docs/architecture.md,
// "Walkthrough: adding a segment kind"): a fixture kind (test/fixtures/kinds/vde/) registered
// like a built-in one is read, planned and named in messages with no other file changed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECLARED_KINDS, kindOfSection, kindWords, planSegment, registerKind, SUPPORTED_KINDS } from '../../src/kinds/index.ts';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { RawLab } from '../../src/topology/raw.ts';
import { toModel } from '../../src/topology/to-model.ts';
import type { PlanContext } from '../../src/topology/plan.ts';
import { vdeKind } from '../fixtures/kinds/vde/index.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

// The schema-valid data of a lab with a VDE switch (the schema is the walkthrough's other file).
const raw = {
  name: 'vde-lab',
  vdes: { v0: { ports: 8 } },
  vms: {
    h1: { interfaces: { eth0: { connect: 'v0', ip: '10.0.0.1/24' } } },
    h2: { interfaces: { eth0: { connect: 'v0', ip: '10.0.0.2/24' } } },
  },
} as unknown as RawLab;

describe('adding a segment kind', () => {
  it('is refused by the lab-file schema until the schema has its section', () => {
    const result = parseLab('name: vde-lab\nvdes: { v0: {} }\nvms: { h1: {} }\n', 'lab.yaml');
    assert.ok('errors' in result);
    assert.match(result.errors[0]!.message, /vdes/);
  });

  it('once registered, is read, planned and compiled like a built-in kind', () => {
    registerKind(vdeKind);
    assert.equal(kindOfSection('vdes'), vdeKind);
    const lab = toModel(raw, '/labs/vde.yaml', kindOfSection);
    assert.deepEqual(lab.segments, [{ kind: 'vde', name: 'v0', ports: 8 }]);

    const plan = compile(lab, ctx);
    const v0 = plan.segments.find((s) => s.name === 'v0')!;
    assert.equal(v0.kind, 'vde');
    assert.equal(v0.engine, 'vde');
    assert.deepEqual(v0.options, { socket: '/run/umlab/t/v0.vde', ports: 8 });
    assert.deepEqual(v0.needs, ['vde_switch -s /run/umlab/t/v0.vde -n 8']);
    const h1 = plan.vms.find((vm) => vm.name === 'h1')!;
    assert.ok(h1.argv.includes(`eth0=vde,/run/umlab/t/v0.vde,${h1.interfaces[0]!.mac}`), h1.argv.join(' '));
    assert.deepEqual(
      plan.links.map((l) => [l.name, l.segment]),
      [
        ['h1.eth0', 'v0'],
        ['h2.eth0', 'v0'],
      ],
    );
  });

  it('is named wherever the registry lists kinds', () => {
    assert.ok(SUPPORTED_KINDS.includes('vde'));
    assert.ok(DECLARED_KINDS.includes(vdeKind));
    assert.ok(kindWords().includes('vde'));
    assert.throws(() => planSegment({ kind: 'nope', name: 'x' }, [], {} as never), /supported kinds are switch, hub, p2p, mcast, slirp, tap, vde$/);
    assert.throws(() => registerKind(vdeKind), /clashes with the registered kind "vde"/);
    const result = parseLab('name: x\nvms: { h1: { interfaces: { eth0: { connect: nowhere } } } }\n', 'lab.yaml');
    assert.ok('errors' in result);
    assert.match(result.errors[0]!.hint ?? '', /declare it under switches, hubs, mcast, gateways, taps or vdes /);
  });
});
