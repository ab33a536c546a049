// Rules for read-write `shares:`: a VM's root writes there as the user who runs the lab
// (root, on a lab server), so a system directory must never be one.
import { posix } from 'node:path';
import type { Diagnostic } from '../errors.ts';
import type { Rule } from './rules.ts';

/** Host directories a VM may not write to, with everything below them (/var/tmp excepted). */
const SYSTEM_DIRS = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/opt', '/proc', '/run', '/sbin', '/sys', '/usr', '/var'];
/** Writable by their nature though below a system directory. */
const WRITABLE_BELOW_SYSTEM = ['/var/tmp'];
/** Only the directory itself: its subdirectories are users' own (a share of /home/alice/lab is fine). */
const TOPS = ['/', '/home', '/root', '/srv', '/mnt', '/media', '/tmp'];

const under = (path: string, dir: string) => path === dir || path.startsWith(dir + '/');

/** Why a host directory may not be shared read-write, or undefined. */
export function rwShareProblem(hostPath: string): string | undefined {
  if (TOPS.includes(hostPath)) return hostPath === '/' ? 'the host\'s whole filesystem' : `${hostPath} as a whole`;
  if (WRITABLE_BELOW_SYSTEM.some((d) => under(hostPath, d))) return undefined;
  const system = SYSTEM_DIRS.find((d) => under(hostPath, d));
  return system && `a system directory (${system})`;
}

export const rwShareTargets: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const labDir = posix.dirname(ctx.lab.source);
  for (const vm of ctx.lab.vms)
    for (const share of vm.shares) {
      if (!share.rw) continue;
      const problem = rwShareProblem(posix.resolve(labDir, share.path));
      if (!problem) continue;
      const path = ['vms', vm.name, 'shares', share.mountPoint, 'path'];
      out.push(ctx.diag(path, 'value', `a read-write share of ${problem} ("${share.path}") would let the VM's root change the host`, 'share a directory of its own read-write (e.g. ./shared), or this one read-only (leave out rw: true)'));
    }
  return out;
};
