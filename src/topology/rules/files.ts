// Rules for `files:`: each key is where a file lands in the VM's file layer, a directory
// tree on the host. A key must name one plain file inside that tree, never climb out of
// it, replace a directory the VM needs, or sit where the VM's own mounts hide it.
import type { Diagnostic } from '../../errors.ts';
import type { Rule } from './context.ts';

/** Directories every system has: a file cannot replace one (the VM would lose its content). */
export const WELL_KNOWN_DIRS = new Set([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/etc/apt',
  '/etc/default',
  '/etc/init.d',
  '/etc/iproute2',
  '/etc/network',
  '/etc/pam.d',
  '/etc/security',
  '/etc/ssh',
  '/etc/sysctl.d',
  '/etc/systemd',
  '/usr/bin',
  '/usr/include',
  '/usr/lib',
  '/usr/lib32',
  '/usr/lib64',
  '/usr/libexec',
  '/usr/local',
  '/usr/local/bin',
  '/usr/local/lib',
  '/usr/local/sbin',
  '/usr/sbin',
  '/usr/share',
  '/usr/lib/modules',
  '/var/cache',
  '/var/lib',
  '/var/log',
  '/var/run',
  '/var/spool',
  '/var/tmp',
]);

/** Files umlab's layer writes itself, and host files every system has: nothing can go below them. */
const KNOWN_FILES = new Set([
  '/etc/hostname',
  '/etc/hosts',
  '/etc/fstab',
  '/etc/passwd',
  '/etc/group',
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/resolv.conf',
  '/etc/os-release',
  '/etc/motd',
]);

/** Mounted by the VM's init over the layer: a file there is hidden. */
const MOUNTED_BY_INIT = ['/proc', '/sys', '/dev', '/run', '/tmp'];

/** Linux's limits: a longer name fails at `up` with ENAMETOOLONG. */
const NAME_MAX = 255;
const PATH_MAX = 4095;

/** What is wrong with a `files:` path by itself, or undefined (the same check the layer writer makes). */
export function filePathProblem(path: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(path)) return `file path ${JSON.stringify(path)} has a NUL or control character`;
  if (!path.startsWith('/')) return `file path ${JSON.stringify(path)} is not absolute`;
  if (path === '/') return 'file path "/" is the VM\'s root directory, not a file';
  const parts = path.slice(1).split('/');
  if (parts.includes('..')) return `file path ${JSON.stringify(path)} has a ".." component`;
  if (parts.some((p) => p === '' || p === '.')) return `file path ${JSON.stringify(path)} has an empty or "." component`;
  if (Buffer.byteLength(path) > PATH_MAX || parts.some((p) => Buffer.byteLength(p) > NAME_MAX))
    return `file path ${JSON.stringify(path.slice(0, 40))}... is too long for Linux`;
  return undefined;
}

export const filePaths: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms) {
    const paths = Object.keys(vm.files);
    const own = new Set(paths);
    for (const path of paths) {
      const at = ['vms', vm.name, 'files', path];
      const bad = (message: string, hint: string) => out.push(ctx.diag(at, 'key', message, hint));
      const problem = filePathProblem(path);
      if (problem) {
        bad(problem, 'write a plain absolute path inside the VM, e.g. /etc/motd: no "..", ".", "//", trailing "/" or control characters');
        continue;
      }
      if (WELL_KNOWN_DIRS.has(path)) {
        bad(`file path ${path} is a directory in every VM`, `a file cannot replace a directory: name a file inside it, e.g. ${path}/lab.conf`);
        continue;
      }
      const mounted = MOUNTED_BY_INIT.find((m) => path.startsWith(m + '/'));
      if (mounted) {
        bad(
          `file path ${path} is under ${mounted}, which the VM's init mounts over`,
          `the file would be hidden: put it elsewhere (e.g. /etc, /srv) and copy it with a \`startup:\` command`,
        );
        continue;
      }
      const parents = path
        .split('/')
        .slice(1, -1)
        .map((_, i, all) => '/' + all.slice(0, i + 1).join('/'));
      const fileParent = parents.find((p) => own.has(p) || KNOWN_FILES.has(p));
      if (fileParent) bad(`file path ${path} would be inside ${fileParent}, which is a file`, `a file cannot also be a directory: rename one of them`);
    }
  }
  return out;
};
