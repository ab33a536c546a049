// Which submissions the command line names: lab directories, YAML labs, archives, or a
// folder whose entries are one submission per student (named after the student).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.ts';

export interface Submission {
  /** The student's name as the folder or file gives it (CSV and pages show it). */
  student: string;
  /** A lab directory, a YAML lab file, or an archive to unpack first. */
  path: string;
  kind: 'kathara' | 'yaml' | 'archive';
}

const YAML = /\.ya?ml$/;
export const ARCHIVE = /\.(zip|tar\.gz|tgz)$/;
/** Files next to lab.conf that are not labs of their own. */
const SIDECARS = new Set(['umlab.yaml', 'tests.yaml']);

/** What one path is, when it is a submission by itself (not a folder of them). */
function asSubmission(path: string, student: string): Submission | null {
  const st = statSync(path);
  if (st.isFile() && YAML.test(path)) return { student, path, kind: 'yaml' };
  if (st.isFile() && ARCHIVE.test(path)) return { student, path, kind: 'archive' };
  if (!st.isDirectory()) return null;
  if (existsSync(join(path, 'lab.conf'))) return { student, path, kind: 'kathara' };
  // A student folder holding one YAML lab.
  const yamls = readdirSync(path).filter((f) => YAML.test(f) && !SIDECARS.has(f) && statSync(join(path, f)).isFile());
  const subdirs = readdirSync(path).filter((f) => statSync(join(path, f)).isDirectory());
  if (yamls.length === 1 && subdirs.length === 0) return { student, path: join(path, yamls[0]), kind: 'yaml' };
  return null;
}

const studentOf = (path: string) => basename(path.replace(/\/+$/, '')).replace(ARCHIVE, '').replace(YAML, '');

/** Every submission the arguments name, in order; a student named twice is an error. */
export function findSubmissions(paths: string[]): Submission[] {
  const out: Submission[] = [];
  for (const path of paths) {
    if (!existsSync(path))
      throw new NotFoundError(`no such submission: ${path}`, { hint: 'give lab directories, YAML labs, archives, or a folder of student folders' });
    const one = asSubmission(path, studentOf(path));
    if (one) {
      out.push(one);
      continue;
    }
    if (!statSync(path).isDirectory()) throw new UsageError(`${path} is not a lab: give a lab directory (with lab.conf), a .yaml lab, a .zip or .tar.gz`);
    for (const entry of readdirSync(path).sort()) {
      if (entry.startsWith('.')) continue;
      const sub = asSubmission(join(path, entry), studentOf(entry));
      if (sub) out.push(sub);
    }
  }
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.student)) throw new UsageError(`two submissions are named ${s.student}`, { hint: 'each student needs a folder or file name of their own' });
    seen.add(s.student);
  }
  return out;
}

/** A name safe as a folder name and in a lab name: lowercase letters, digits, dashes. */
export function slug(student: string): string {
  return (
    student
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'student'
  );
}
