// checkHostSide: what a lab needs from the host is refused before anything starts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MissingDependencyError } from '../../src/errors.ts';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan } from '../../src/topology/plan.ts';
import { checkHostSide } from '../../src/kinds/host-side.ts';

function plan(text: string, bridgeCaptures: boolean): LabPlan {
  const r = parseLab(text, '/labs/lab.yaml');
  assert.ok('lab' in r);
  return compile(r.lab, { runDir: '/run/x', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/m', bridgeCaptures });
}

const LAB = `name: x
switches: { sw0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 } } }
`;
const nothingInstalled = () => null;

describe('checkHostSide', () => {
  it('asks for tcpdump when a bridged switch captures, naming the segment and the package', () => {
    assert.throws(
      () => checkHostSide(plan(LAB, true), nothingInstalled),
      (e: unknown) => e instanceof MissingDependencyError && /sw0 needs tcpdump/.test(e.message) && /apt-get install -y tcpdump/.test(e.hint ?? ''),
    );
  });

  it('does not need tcpdump without capture, or on the userspace engine', () => {
    checkHostSide(plan(`${LAB}capture: false\n`, true), nothingInstalled);
    checkHostSide(plan(LAB, false), nothingInstalled);
  });
});
