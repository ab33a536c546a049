// The I/O shell of the Kathará/Netkit reader: a lab directory (or its lab.conf) -> its
// contents as plain data (types.ts LabDirContents), bounded, never following a symlink.
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LabFileError, NotFoundError } from '../errors.ts';
import type { LabDirContents, TreeFile } from './types.ts';

/** Enough for any teaching lab's configs; keeps a wrong directory (a home, /) from being slurped. */
const MAX_TREE_BYTES = 16 * 2 ** 20;
const MAX_TREE_FILES = 5000;
const NOT_DEVICES = new Set(['shared', '_test', 'node_modules']);

/** True when `path` is a Kathará/Netkit lab: a directory (any directory: errors say what it lacks) or a file named lab.conf. */
export function isKatharaPath(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() || (st.isFile() && basename(path) === 'lab.conf');
  } catch {
    return false;
  }
}

const readText = (path: string): string | undefined => {
  try {
    return lstatSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
};

export function readLabDir(given: string): LabDirContents {
  let st;
  try {
    st = statSync(given);
  } catch (error) {
    throw new NotFoundError(`no such lab: ${given}`, { cause: error, hint: 'give a Kathará/Netkit lab directory (with lab.conf) or a .yaml lab file' });
  }
  const dir = resolve(st.isDirectory() ? given : dirname(given));
  const shownDir = st.isDirectory() ? given.replace(/\/+$/, '') || '/' : dirname(given);
  const labConfFile = join(shownDir, 'lab.conf');
  const labConf = readText(join(dir, 'lab.conf'));
  if (labConf !== undefined && labConf.length > 1024 * 1024)
    throw new LabFileError([
      { file: labConfFile, line: 1, col: 1, path: '', message: 'lab.conf is larger than 1 MiB', hint: 'check that this is the right directory' },
    ]);
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const deviceDirs = entries
    .filter((e) => e.isDirectory() && !NOT_DEVICES.has(e.name) && !e.name.startsWith('.') && !e.name.startsWith('_'))
    .map((e) => e.name);
  const startup: Record<string, string> = {};
  const shutdown: Record<string, string> = {};
  for (const e of entries) {
    if (!e.isFile()) continue;
    const m = /^(.+)\.(startup|shutdown)$/.exec(e.name);
    if (m) (m[2] === 'startup' ? startup : shutdown)[m[1]] = readFileSync(join(dir, e.name), 'utf8');
  }
  // A .startup file is a device too (Kathará: "a device with only a startup file").
  for (const name of Object.keys(startup)) if (name !== 'shared' && !deviceDirs.includes(name) && labConf === undefined) deviceDirs.push(name);
  const budget = { bytes: MAX_TREE_BYTES, files: MAX_TREE_FILES };
  const trees: Record<string, TreeFile[]> = {};
  for (const d of deviceDirs) trees[d] = readTree(join(dir, d), '', budget, join(shownDir, d));
  let sidecar: LabDirContents['sidecar'];
  for (const name of ['umlab.yaml', 'tests.yaml']) {
    const text = readText(join(dir, name));
    if (text !== undefined) {
      sidecar = { file: join(shownDir, name), text };
      break;
    }
  }
  return {
    dir,
    labConfFile,
    ...(labConf !== undefined && { labConf }),
    ...(readText(join(dir, 'lab.dep')) !== undefined && { labDep: readText(join(dir, 'lab.dep'))! }),
    ...(readText(join(dir, 'lab.ext')) !== undefined && { labExt: readText(join(dir, 'lab.ext'))! }),
    deviceDirs,
    trees,
    startup,
    shutdown,
    hasShared: entries.some((e) => e.name === 'shared' && e.isDirectory()),
    ...(sidecar && { sidecar }),
  };
}

function readTree(root: string, rel: string, budget: { bytes: number; files: number }, shown: string): TreeFile[] {
  const out: TreeFile[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...readTree(root, path, budget, shown));
    else if (e.isFile()) {
      const full = join(root, path);
      const st = lstatSync(full);
      budget.bytes -= st.size;
      if (--budget.files < 0 || budget.bytes < 0)
        throw new LabFileError([
          {
            file: `${shown}${path}`,
            line: 1,
            col: 1,
            path: '',
            message: `the device directories hold more than ${MAX_TREE_FILES} files or ${MAX_TREE_BYTES / 2 ** 20} MiB`,
            hint: 'put big files in shared/ (mounted at /shared)',
          },
        ]);
      const buf = readFileSync(full);
      const text = buf.includes(0) ? undefined : buf.toString('utf8');
      out.push({ path, ...(text !== undefined && { text }), executable: (st.mode & 0o111) !== 0 });
    }
    // Symlinks and special files are not copied: a symlink could lead out of the lab.
  }
  return out;
}
