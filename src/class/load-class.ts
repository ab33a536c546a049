// The I/O side of reading a class: the class file (size-capped), its roster CSV and whether each
// assignment's lab is there, every problem as file:line:col (ClassFileError), all at once.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ClassFileError, LabFileError, NotFoundError, type Diagnostic } from '../errors.ts';
import { readSpec } from '../grade/read-spec.ts';
import { formatPath } from '../topology/lab-path.ts';
import { parseClassText, parseRosterCsv, type ClassSpec, type Student } from './class-file.ts';
import { readStages, type Stage } from './stages.ts';

/** A class file is a few KiB; a roster of a thousand students a few dozen. */
export const MAX_CLASS_FILE_BYTES = 1024 * 1024;

export interface LoadedClass {
  spec: ClassSpec & { roster: Student[] };
  /** The class file, absolute. */
  file: string;
  /** Each assignment's lab file or Kathará directory, absolute, by assignment id. */
  labPaths: Map<string, string>;
  /** The grading spec of each assignment that names one (`grading:`), absolute, read and valid. */
  gradingSpecs: Map<string, string>;
  /** Each assignment's stages, their files read (stages.ts), by assignment id. */
  stages: Map<string, Stage[]>;
}

function readCapped(path: string, what: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ClassFileError([{ file: path, line: 1, col: 1, path: '', message: `the ${what} is not a regular file` }]);
    size = st.size;
  } catch (cause) {
    if (cause instanceof ClassFileError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such ${what}: ${path}`, { cause });
    throw new ClassFileError([{ file: path, line: 1, col: 1, path: '', message: `cannot read the ${what}: ${(cause as Error).message}` }], { cause });
  }
  if (size > MAX_CLASS_FILE_BYTES)
    throw new ClassFileError([{ file: path, line: 1, col: 1, path: '', message: `the ${what} is ${size} bytes, more than ${MAX_CLASS_FILE_BYTES}` }]);
  return readFileSync(path, 'utf8');
}

/** Reads and checks a class file; throws ClassFileError with every problem, NotFoundError when it is missing. */
export function loadClassFile(path: string): LoadedClass {
  const file = resolve(path);
  const parsed = parseClassText(readCapped(file, 'class file'), path);
  if ('errors' in parsed) throw new ClassFileError(parsed.errors);
  const { spec, sources } = parsed;
  const base = dirname(file);
  const errors: Diagnostic[] = [];
  let roster = spec.roster;
  if (spec.rosterFile !== null) {
    const csvPath = resolve(base, spec.rosterFile);
    if (!existsSync(csvPath)) {
      errors.push({
        file: path,
        ...sources.position(['roster'], 'value'),
        path: 'roster',
        message: `no such file: ${spec.rosterFile}`,
        hint: `looked at ${csvPath}`,
      });
    } else {
      const csv = parseRosterCsv(readCapped(csvPath, 'roster file'), csvPath);
      if ('errors' in csv) errors.push(...csv.errors);
      else roster = csv.students;
    }
  }
  const labPaths = new Map<string, string>();
  spec.assignments.forEach((a, i) => {
    const lab = resolve(base, a.lab);
    const st = statSync(lab, { throwIfNoEntry: false });
    const where = ['assignments', i, 'lab'];
    if (!st || !(st.isFile() || st.isDirectory()))
      errors.push({
        file: path,
        ...sources.position(where, 'value'),
        path: formatPath(where),
        message: `no lab at ${a.lab}`,
        hint: `looked at ${lab}; paths are relative to the class file`,
      });
    labPaths.set(a.id, lab);
  });
  const gradingSpecs = new Map<string, string>();
  spec.assignments.forEach((a, i) => {
    if (a.grading === null) return;
    const where = ['assignments', i, 'grading'];
    const specFile = resolve(base, a.grading);
    if (!statSync(specFile, { throwIfNoEntry: false })?.isFile()) {
      errors.push({
        file: path,
        ...sources.position(where, 'value'),
        path: formatPath(where),
        message: `no grading spec at ${a.grading}`,
        hint: `looked at ${specFile}; paths are relative to the class file`,
      });
      return;
    }
    try {
      readSpec(specFile); // its own problems, each at its file:line:col, with the class file's
      gradingSpecs.set(a.id, specFile);
    } catch (cause) {
      if (!(cause instanceof LabFileError)) throw cause;
      errors.push(...cause.diagnostics);
    }
  });
  if (errors.length > 0) throw new ClassFileError(errors);
  const stages = readStages(spec, labPaths, base, sources, path);
  if (stages.errors.length > 0) throw new ClassFileError(stages.errors);
  return { spec: { ...spec, roster: roster ?? [] }, file, labPaths, gradingSpecs, stages: stages.stages };
}
