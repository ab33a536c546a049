// A student's lab gets its own copy of each host directory the assignment shares read-write into
// its VMs (a Kathará lab's shared/, a YAML lab's `rw` shares): every student's lab is compiled
// from the same assignment, so without a copy their VMs would write into one directory, each
// other's and the teacher's. Read-only shares stay shared. The copy is made at the lab's first
// start and kept across stops, like its disks; a reset (a fresh copy of the assignment) drops it.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NotFoundError } from '../errors.ts';
import type { LabPlan } from '../topology/plan.ts';

export interface ShareCopy {
  from: string;
  to: string;
}

/** The plan with each rw share's host directory moved under `root` (one copy per directory, also
 *  when several VMs share it), and the copies that must exist for it. Pure. */
export function ownShares(plan: LabPlan, root: string): { plan: LabPlan; copies: ShareCopy[] } {
  const copies = new Map<string, string>();
  const copyOf = (from: string) => {
    let to = copies.get(from);
    if (to === undefined) copies.set(from, (to = join(root, `${copies.size + 1}-${basename(from)}`)));
    return to;
  };
  const vms = plan.vms.map((vm) => ({ ...vm, shares: vm.shares.map((s) => (s.rw ? { ...s, hostPath: copyOf(s.hostPath) } : s)) }));
  return { plan: { ...plan, vms }, copies: [...copies].map(([from, to]) => ({ from, to })) };
}

/** Makes the copies that do not exist yet. */
export function makeShareCopies(copies: ShareCopy[]): void {
  for (const { from, to } of copies) {
    if (existsSync(to)) continue;
    if (!existsSync(from)) throw new NotFoundError(`the assignment's shared directory ${from} does not exist`, { hint: `create it: mkdir -p ${from}` });
    mkdirSync(join(to, '..'), { recursive: true, mode: 0o700 });
    cpSync(from, to, { recursive: true, preserveTimestamps: true });
  }
}
