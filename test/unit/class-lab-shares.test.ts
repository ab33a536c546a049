// A student's lab gets its own copy of each read-write share of the assignment (lab-shares.ts):
// which shares move, that one directory shared by several VMs becomes one copy, and the copying.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeShareCopies, ownShares } from '../../src/class/lab-shares.ts';
import type { LabPlan } from '../../src/topology/plan.ts';

const dir = mkdtempSync(join(tmpdir(), 'umlab-lab-shares-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Only what ownShares reads of a plan: each VM's shares. */
const planOf = (vms: Record<string, { mountPoint: string; hostPath: string; rw: boolean }[]>) =>
  ({ lab: 's1-a1', vms: Object.entries(vms).map(([name, shares]) => ({ name, shares })) }) as unknown as LabPlan;

describe('a lab of its own: the assignment read-write shares copied per lab', () => {
  it('moves each rw share under the lab’s folder, one copy per directory, and leaves read-only ones', () => {
    const plan = planOf({
      r1: [
        { mountPoint: '/shared', hostPath: '/course/ospf/shared', rw: true },
        { mountPoint: '/opt/tools', hostPath: '/course/tools', rw: false },
      ],
      r2: [
        { mountPoint: '/shared', hostPath: '/course/ospf/shared', rw: true },
        { mountPoint: '/srv/www', hostPath: '/course/ospf/www', rw: true },
      ],
    });
    const { plan: own, copies } = ownShares(plan, '/class/home/shares/s1-a1');
    assert.deepEqual(copies, [
      { from: '/course/ospf/shared', to: '/class/home/shares/s1-a1/1-shared' },
      { from: '/course/ospf/www', to: '/class/home/shares/s1-a1/2-www' },
    ]);
    assert.deepEqual(
      own.vms.map((vm) => vm.shares.map((s) => s.hostPath)),
      [
        ['/class/home/shares/s1-a1/1-shared', '/course/tools'],
        ['/class/home/shares/s1-a1/1-shared', '/class/home/shares/s1-a1/2-www'],
      ],
    );
    assert.equal(plan.vms[0]!.shares[0]!.hostPath, '/course/ospf/shared', 'the plan given is not changed');
  });

  it('copies what is not copied yet, keeps a copy the lab already changed, and names a missing source', () => {
    const from = join(dir, 'assignment', 'shared');
    mkdirSync(join(from, 'sub'), { recursive: true });
    writeFileSync(join(from, 'sub', 'notes.txt'), 'from the teacher\n');
    const to = join(dir, 'home', 'shares', 's1-a1', '1-shared');
    makeShareCopies([{ from, to }]);
    assert.equal(readFileSync(join(to, 'sub', 'notes.txt'), 'utf8'), 'from the teacher\n');
    writeFileSync(join(to, 'sub', 'notes.txt'), 'the student wrote this\n');
    makeShareCopies([{ from, to }]);
    assert.equal(readFileSync(join(to, 'sub', 'notes.txt'), 'utf8'), 'the student wrote this\n', 'kept across starts');
    assert.equal(readFileSync(join(from, 'sub', 'notes.txt'), 'utf8'), 'from the teacher\n', "the assignment's own is untouched");
    assert.throws(() => makeShareCopies([{ from: join(dir, 'nope'), to: join(dir, 'copy') }]), /shared directory .*nope does not exist/);
    assert.equal(existsSync(join(dir, 'copy')), false);
  });
});
