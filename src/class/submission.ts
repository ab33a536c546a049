// What a student hands in, as pure logic: the shell command that lists the files the student
// changed in a VM (with their contents), the reading of its output, and where each file goes in
// the submission. The VM is the student's: whatever it prints is untrusted, so every name is
// checked here and a file lands inside the submission directory or nowhere (submit.ts does the I/O).
import { isAbsolute, join, posix, relative, resolve } from 'node:path';

/** A changed file of one device: its absolute path inside the VM and its bytes. */
export interface ChangedFile {
  device: string;
  path: string;
  data: Buffer;
}

export interface CollectLimits {
  /** Bytes of one file; larger ones are left out (named in `skipped`). */
  fileBytes: number;
  /** Files of one device. */
  files: number;
}

export const COLLECT_LIMITS: CollectLimits = { fileBytes: 256 * 1024, files: 200 };

/** Directories whose files are the system's at work, never a hand-in, whatever the lab puts there. */
const VOLATILE = ['/proc', '/sys', '/dev', '/run', '/tmp', '/var/log', '/var/cache', '/var/tmp', '/var/lib'];
const under = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

/**
 * Where a VM's changed files are looked for: /etc, the directories the assignment puts files in
 * (a Kathará device folder's tree and a YAML lab's `files:`, e.g. /var/www/html of a web
 * server), and a Kathará lab's /shared; never the root, a directory of logs, caches or the
 * kernel's, nor one inside another of the list (its files would be listed twice).
 */
export function collectDirs(vm: { files: Record<string, string>; shares: { mountPoint: string; rw: boolean }[] }, kathara: boolean): string[] {
  const wanted = [
    '/etc',
    ...Object.keys(vm.files).map((path) => posix.dirname(path)),
    ...(kathara ? vm.shares.filter((s) => s.rw && s.mountPoint === '/shared').map((s) => s.mountPoint) : []),
  ].filter((dir) => plainGuestPath(dir) && dir !== '/' && !VOLATILE.some((v) => under(dir, v)));
  const unique = [...new Set(wanted)].sort();
  return unique.filter((dir) => !unique.some((other) => other !== dir && under(dir, other)));
}

/** Not the student's work even under /etc or a shared directory: logs, caches, editor leftovers. */
const NOT_WORK = [
  /\.log(\.\d+)?$/,
  /~$/,
  /\.sw[a-p]$/,
  /(^|\/)\.#/,
  /\/cache\//,
  /^\/etc\/ld\.so\.cache$/,
  /^\/etc\/mtab$/,
  /\.(pid|lock)$/,
  // A shell's or an editor's own record, e.g. under /root when the lab puts files there.
  /\/\.(bash_history|viminfo|lesshst|python_history)$/,
];

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The command run in a VM (through its agent) that prints one line per file changed since the
 * VM's configuration ended, under `dirs`: base64 of the path, a space, base64 of the content.
 * "Changed" is newer than the output of the init's last configuration step (which startup files
 * also write), else than the boot; -xdev keeps it off other mounts below a directory.
 */
export function collectCommand(dirs: string[], limits: CollectLimits = COLLECT_LIMITS): string {
  const ref = `ref=/run/umlab/step.out; [ -e "$ref" ] && newer="-newer $ref" || newer="-newermt @$(awk '/^btime/{print $2}' /proc/stat)"`;
  const existing = dirs.map(shQuote).join(' ');
  return (
    `${ref}; for d in ${existing}; do [ -d "$d" ] && find "$d" -xdev -type f $newer -size -${Math.ceil(limits.fileBytes / 1024) + 1}k -print0 2>/dev/null; done` +
    ` | head -z -n ${limits.files} | xargs -0 -r sh -c 'for f; do printf %s "$f" | base64 -w0; printf " "; base64 -w0 < "$f"; echo; done' sh`
  );
}

/** A plain absolute path inside a VM: no `..`, `.` or empty components, no control characters. */
export function plainGuestPath(path: string): boolean {
  if (!path.startsWith('/') || path.length > 1024 || /[\x00-\x1f\x7f\\]/.test(path)) return false;
  return path
    .slice(1)
    .split('/')
    .every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The files in a VM's answer to collectCommand: only plain paths under `dirs`, not logs or caches,
 *  within the limits; the rest named in `skipped` (printable) so the student can be told. */
export function parseCollected(
  device: string,
  stdout: string,
  dirs: string[],
  limits: CollectLimits = COLLECT_LIMITS,
): { files: ChangedFile[]; skipped: string[] } {
  const files: ChangedFile[] = [];
  const skipped: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [name64, data64 = '', ...extra] = line.split(' ');
    const path = Buffer.from(name64, 'base64').toString('utf8');
    const shown = JSON.stringify(path).slice(1, -1);
    const under = dirs.some((d) => path.startsWith(d.endsWith('/') ? d : `${d}/`));
    if (extra.length > 0 || !plainGuestPath(path) || !under) {
      skipped.push(`${device}:${shown} (not a plain path under ${dirs.join(', ')})`);
      continue;
    }
    if (NOT_WORK.some((re) => re.test(path))) continue;
    const data = Buffer.from(data64, 'base64');
    if (data.length > limits.fileBytes) skipped.push(`${device}:${shown} (larger than ${limits.fileBytes} bytes)`);
    else if (files.length >= limits.files) skipped.push(`${device}:${shown} (more than ${limits.files} files)`);
    else files.push({ device, path, data });
  }
  return { files, skipped };
}

/** Where a device's file goes in a Kathará lab directory: `<device>/<path>`, or `shared/<path>`
 *  for the lab's /shared; null when it would not be strictly inside `root`. */
export function targetIn(root: string, device: string, path: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(device) || !plainGuestPath(path) || path === '/shared') return null;
  const inLab = path.startsWith('/shared/') ? posix.join('shared', path.slice('/shared'.length)) : posix.join(device, path);
  const target = resolve(root, inLab);
  const rel = relative(resolve(root), target);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? null : join(resolve(root), rel);
}

/** A submission directory's name: its time, sortable and safe in a path. */
export const submissionStamp = (at: number): string => new Date(at).toISOString().replace(/[:.]/g, '-');
