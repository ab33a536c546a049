// Writes a VM's file layer (see vmLayer in init.ts) as a directory tree on the host. Its
// paths come from the lab file, so the writer trusts none of them: every path must stay
// inside the layer directory, and nothing already there (a symlink planted by anyone) is
// ever followed: directories are made one component at a time and checked with lstat,
// files are opened with O_NOFOLLOW.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, realpathSync, rmSync, symlinkSync, writeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { LabRuntimeError } from '../errors.ts';
import { filePathProblem } from '../topology/rules/files.ts';
import type { LayerEntry } from './init.ts';

/** Directories of the layer are the VM's directories too (overlay lower layer): keep them 0755 whatever the umask. */
const DIR_MODE = 0o755;
const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = constants;

export function writeLayer(dir: string, layer: Record<string, LayerEntry>): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, DIR_MODE);
  writeLayerInto(dir, layer);
}

/** Adds the layer's entries to an existing directory, whatever it already holds. */
export function writeLayerInto(dir: string, layer: Record<string, LayerEntry>): void {
  const root = realpathSync(dir);
  for (const [path, entry] of Object.entries(layer)) writeEntry(root, path, entry);
}

function refuse(path: string, why: string): never {
  throw new LabRuntimeError(`cannot write ${JSON.stringify(path)} into the VM's file layer: ${why}`, {
    hint: 'fix the `files:` entry in the lab file (umlab validate names it)',
  });
}

function writeEntry(root: string, path: string, entry: LayerEntry): void {
  const problem = filePathProblem(path);
  if (problem) refuse(path, problem);
  const parts = path.slice(1).split('/');
  let parent = root;
  for (const part of parts.slice(0, -1)) {
    parent = join(parent, part);
    try {
      mkdirSync(parent, { mode: DIR_MODE });
      chmodSync(parent, DIR_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // An existing component must be a real directory: a symlink would lead out of the layer.
    if (!lstatSync(parent).isDirectory()) refuse(path, `${parent.slice(root.length)} is not a directory in the layer`);
  }
  // Resolve and compare: whatever happened above, the parent is inside the layer.
  const realParent = realpathSync(parent);
  if (realParent !== parent || !(realParent === root || realParent.startsWith(root + '/'))) refuse(path, `it resolves outside the layer (${realParent})`);
  const target = join(parent, parts[parts.length - 1]);
  if ('symlink' in entry) {
    // symlink(2) never follows an existing file at the target: EEXIST instead.
    symlinkSync(entry.symlink, target);
    return;
  }
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink at the target fails (ELOOP); O_NONBLOCK: a FIFO there fails instead of blocking.
    fd = openSync(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') refuse(path, `something that is not a plain file is in the way (${code})`);
    throw error;
  }
  try {
    if (!fstatSync(fd).isFile()) refuse(path, 'something that is not a plain file is in the way');
    const data = Buffer.from(entry.content, 'utf8');
    for (let done = 0; done < data.length;) done += writeSync(fd, data, done);
    // The mode the VM sees, whatever the supervisor's umask.
    fchmodSync(fd, entry.mode ?? 0o644);
  } finally {
    closeSync(fd);
  }
}
