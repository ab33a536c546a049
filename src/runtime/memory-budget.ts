// Whether a lab's memory fits this host, checked by `up` before any VM starts. A VM
// touches only what it uses, so this is a bound, not a reservation: 30 VMs x 2G on a
// 24 GB host without swap end in the OOM killer, not in a clear message.
import { readFileSync } from 'node:fs';
import { LabRuntimeError } from '../errors.ts';
import type { LabPlan } from '../topology/plan.ts';
import { memoryMiB } from '../topology/model.ts';

/** Set to 1 to start a lab whose memory exceeds what the host has free (VMs rarely touch all of it). */
export const MEMORY_OVERRIDE_ENV = 'UMLAB_IGNORE_MEMORY';

/** MemAvailable + SwapFree in MiB, or null when /proc/meminfo does not say. */
export function freeMemoryMiB(meminfo: string): number | null {
  const kb = (name: string) => {
    const m = meminfo.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  };
  const available = kb('MemAvailable');
  return available === null ? null : Math.floor((available + (kb('SwapFree') ?? 0)) / 1024);
}

/** The lab's total memory in MiB (the sum of its VMs' `memory:`). */
export const labMemoryMiB = (plan: Pick<LabPlan, 'vms'>): number => plan.vms.reduce((sum, vm) => sum + memoryMiB(vm.memory), 0);

/** Pure: the error to throw when the lab does not fit, or null. */
export function memoryBudgetError(plan: Pick<LabPlan, 'lab' | 'vms'>, meminfo: string): LabRuntimeError | null {
  const free = freeMemoryMiB(meminfo);
  const needed = labMemoryMiB(plan);
  if (free === null || needed <= free) return null;
  return new LabRuntimeError(
    `lab ${plan.lab} needs ${needed} MiB of memory (${plan.vms.length} VMs), more than the ${free} MiB this host has free (MemAvailable + SwapFree)`,
    {
      hint: `give the VMs less \`memory:\`, stop other labs, or start it anyway with ${MEMORY_OVERRIDE_ENV}=1 (a VM uses only the memory it touches)`,
    },
  );
}

/** Throws when the lab's memory exceeds the host's free memory and swap, unless UMLAB_IGNORE_MEMORY=1. */
export function checkMemoryBudget(plan: Pick<LabPlan, 'lab' | 'vms'>, env: NodeJS.ProcessEnv = process.env, meminfo?: string): void {
  if (env[MEMORY_OVERRIDE_ENV] === '1') return;
  let text = meminfo;
  try {
    text ??= readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return; // no /proc: nothing to compare with
  }
  const error = memoryBudgetError(plan, text);
  if (error) throw error;
}
