// Unpacks a student's .zip or .tar.gz safely: every entry is checked before anything is
// written (no absolute paths, no `..`, no links leading out, only files, folders and
// links, size and file-count limits), then written into a fresh folder of our own.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { LabFileError } from '../errors.ts';
import { ArchiveProblem, readTarGz, readZip, type ArchiveEntry } from './archive-formats.ts';

export const MAX_ARCHIVE_BYTES = 32 * 1024 * 1024;
export const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;
export const MAX_ARCHIVE_FILES = 2000;

const refuse = (archive: string, why: string, cause?: unknown) =>
  new LabFileError(
    [
      {
        file: archive,
        line: 1,
        col: 1,
        path: '',
        message: `unsafe or unreadable archive: ${why}`,
        hint: 'hand in the lab folder packed with zip or tar -czf, files and folders only',
      },
    ],
    { cause },
  );

/** The problem with an entry, or null when it may be written. */
export function entryProblem(e: ArchiveEntry): string | null {
  if (e.path === '' || e.path.startsWith('/') || /^[A-Za-z]:/.test(e.path) || e.path.includes('\\'))
    return `${e.path || '(empty name)'}: an absolute or non-POSIX path`;
  if (e.path.split('/').includes('..')) return `${e.path}: a path with ".."`;
  if (e.type === 'other') return `${e.path}: not a file, folder or symbolic link${e.target ? ` (${e.target})` : ''}`;
  if (e.type === 'symlink') {
    const target = e.target ?? '';
    const resolved = posix.normalize(posix.join(posix.dirname(e.path), target));
    if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) return `${e.path}: a link leading out of the archive (to ${target})`;
  }
  return null;
}

/** Unpacks `archive` into `into` (an empty folder of ours); returns the lab inside it. Throws LabFileError when unsafe. */
export function unpackArchive(archive: string, into: string): string {
  if (statSync(archive).size > MAX_ARCHIVE_BYTES) throw refuse(archive, `larger than ${MAX_ARCHIVE_BYTES} bytes`);
  let entries: ArchiveEntry[];
  try {
    const bytes = readFileSync(archive);
    entries = archive.endsWith('.zip') ? readZip(bytes, MAX_UNPACKED_BYTES) : readTarGz(bytes, MAX_UNPACKED_BYTES);
  } catch (error) {
    if (error instanceof ArchiveProblem) throw refuse(archive, error.message, error);
    throw error;
  }
  if (entries.length > MAX_ARCHIVE_FILES) throw refuse(archive, `more than ${MAX_ARCHIVE_FILES} entries`);
  for (const e of entries) {
    const problem = entryProblem(e);
    if (problem) throw refuse(archive, problem);
  }
  for (const e of entries) write(e, into, archive);
  return labRoot(into);
}

function write(e: ArchiveEntry, root: string, archive: string): void {
  const target = join(root, e.path);
  const parent = e.type === 'dir' ? target : dirname(target);
  mkdirSync(parent, { recursive: true });
  // Never write through a link an earlier entry made.
  for (let p = parent; p.length > root.length; p = dirname(p))
    if (lstatSync(p).isSymbolicLink()) throw refuse(archive, `${e.path}: written through a symbolic link`);
  if (e.type === 'symlink') symlinkSync(e.target!, target);
  else if (e.type === 'file') {
    writeFileSync(target, e.data!, { flag: 'wx' });
    chmodSync(target, e.executable ? 0o755 : 0o644);
  }
}

/** The lab in an unpacked tree: its top folder, or the one folder the archive holds. */
function labRoot(dir: string): string {
  const entries = readdirSync(dir).filter((e) => !e.startsWith('.') && e !== '__MACOSX');
  if (entries.includes('lab.conf')) return dir;
  const yamls = entries.filter((e) => /\.ya?ml$/.test(e));
  if (yamls.length === 1) return join(dir, yamls[0]);
  if (entries.length === 1 && lstatSync(join(dir, entries[0])).isDirectory()) return labRoot(join(dir, entries[0]));
  return dir;
}
