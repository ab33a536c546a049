// Rules on `shares:`: mount points clear of the init's own mounts, host paths hostfs can
// take, and no read-write share of a system directory (a VM's root writes there as the
// user who runs the lab: root, on a lab server).
import { posix } from 'node:path';
import type { Diagnostic } from '../../errors.ts';
import type { Rule } from './context.ts';

/** Directories the VM's init mounts its own filesystems on: a share there would be hidden or hide them. */
export const RESERVED_MOUNT_POINTS = ['/proc', '/sys', '/dev', '/run'];

/** A share's mount point is a plain absolute path inside the VM, outside the init's own mounts. */
export const shareMountPoints: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms)
    for (const share of vm.shares) {
      const path = ['vms', vm.name, 'shares', share.mountPoint];
      const parts = share.mountPoint.split('/');
      const reserved = RESERVED_MOUNT_POINTS.find((r) => share.mountPoint === r || share.mountPoint.startsWith(r + '/'));
      if (parts.includes('.') || parts.includes('..'))
        out.push(
          ctx.diag(
            path,
            'key',
            `mount point "${share.mountPoint}" has a "." or ".." component`,
            'write the mount point as a plain absolute path, e.g. /mnt/lab',
          ),
        );
      else if (reserved)
        out.push(
          ctx.diag(
            path,
            'key',
            `mount point "${share.mountPoint}" is under ${reserved}, which the VM's init mounts itself`,
            'mount shares elsewhere, e.g. under /mnt',
          ),
        );
    }
  return out;
};

/** hostfs takes the host directory as its mount options: a comma would split it. */
export const sharePaths: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms)
    for (const share of vm.shares) {
      if (!/[,\n]/.test(share.path)) continue;
      const asObject = ctx.has(['vms', vm.name, 'shares', share.mountPoint, 'path']);
      const path = ['vms', vm.name, 'shares', share.mountPoint, ...(asObject ? ['path'] : [])];
      out.push(
        ctx.diag(
          path,
          'value',
          `shared directory "${share.path}" has a comma or newline`,
          'hostfs takes the directory as its mount option, where a comma separates options: rename the directory',
        ),
      );
    }
  return out;
};

/** Host directories a VM may not write to, with everything below them (/var/tmp excepted). */
const SYSTEM_DIRS = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/opt', '/proc', '/run', '/sbin', '/sys', '/usr', '/var'];
/** Writable by their nature though below a system directory. */
const WRITABLE_BELOW_SYSTEM = ['/var/tmp'];
/** Only the directory itself: its subdirectories are users' own (a share of /home/alice/lab is fine). */
const TOPS = ['/', '/home', '/root', '/srv', '/mnt', '/media', '/tmp'];

const under = (path: string, dir: string) => path === dir || path.startsWith(dir + '/');

/** Why a host directory may not be shared read-write, or undefined. */
export function rwShareProblem(hostPath: string): string | undefined {
  if (TOPS.includes(hostPath)) return hostPath === '/' ? "the host's whole filesystem" : `${hostPath} as a whole`;
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
      out.push(
        ctx.diag(
          path,
          'value',
          `a read-write share of ${problem} ("${share.path}") would let the VM's root change the host`,
          'share a directory of its own read-write (e.g. ./shared), or this one read-only (leave out rw: true)',
        ),
      );
    }
  return out;
};
