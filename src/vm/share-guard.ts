// The share guard (native/share-guard.c), preloaded into every linux.uml: a seccomp filter
// so that a VM's root cannot plant device nodes, set-ID files or file capabilities on the
// host through a read-write share. Built like the register fix (src/vm/xstate-fix.ts).
import { readFileSync } from 'node:fs';
import type { VmPlan } from '../topology/plan.ts';
import { buildNative, nativeSource } from '../util/native-build.ts';

export const SHARE_GUARD_LIBRARY = 'share-guard.so';

export const SHARE_GUARD_SOURCE = nativeSource('share-guard.c');

export function buildShareGuard(env: NodeJS.ProcessEnv = process.env): string {
  return buildNative(SHARE_GUARD_LIBRARY, ['-shared', '-fPIC'], env, SHARE_GUARD_SOURCE);
}

/** Whether a VM whose plan preloads the guard runs without its filter (`Seccomp: 2` in /proc). */
export function guardMissing(vm: VmPlan, pid: number | undefined): boolean {
  if (!vm.env?.LD_PRELOAD?.includes(SHARE_GUARD_LIBRARY) || pid === undefined) return false;
  try {
    return !/^Seccomp:\s*2$/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false; // gone: its exit is reported on its own
  }
}
