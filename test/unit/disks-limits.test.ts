// prepareDisks on values validation refuses (as if it were bypassed) and on images that
// are not files: clear errors, no stack trace, no empty disk file left behind.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LabRuntimeError, UsageError } from '../../src/errors.ts';
import { prepareDisks } from '../../src/runtime/disks.ts';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan } from '../../src/topology/plan.ts';

const dir = mkdtempSync(join(tmpdir(), 'umlab-disk-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function planOf(yaml: string): LabPlan {
  const r = parseLab(yaml, join(dir, 'lab.yaml'));
  assert.ok('lab' in r, JSON.stringify(r));
  return compile(r.lab, { runDir: join(dir, 'home/labs/t'), kernel: '/usr/bin/linux.uml', kernelVersion: '6.1', modulesDir: '/usr/lib/uml/modules/6.1' });
}

describe('disk and image limits at up', () => {
  for (const [size, bytes] of [
    ['100T', 100 * 1024 ** 4],
    ['99999999999999T', 99999999999999 * 1024 ** 4],
  ] as const) {
    it(`refuses a ${size} data disk with a clear error and removes the empty file`, () => {
      const plan = planOf('name: t\nvms:\n  h1: { disks: [ { size: 1G } ] }\n');
      const disk = plan.vms[0]!.disks[0]!;
      Object.assign(disk, { size, bytes });
      assert.throws(
        () => prepareDisks(plan),
        (e: unknown) => e instanceof LabRuntimeError && e.message.includes(`cannot be ${size}: the filesystem of`) && /smaller `size:`/.test(e.hint ?? ''),
      );
      assert.equal(existsSync(disk.file), false);
    });
  }

  it('refuses an image that is a device or a directory', () => {
    mkdirSync(join(dir, 'img-dir'));
    for (const image of ['/dev/null', join(dir, 'img-dir')]) {
      const plan = planOf('name: t\nvms:\n  h1: { image: ./x.img }\n');
      plan.vms[0]!.image = image;
      assert.throws(
        () => prepareDisks(plan),
        (e: unknown) => e instanceof UsageError && e.message === `image ${image} of VM h1 is not a regular file`,
      );
    }
  });
});
