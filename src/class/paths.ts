// Where a class keeps its state: one directory next to the class file, `<name>.class/`, owner-only.
// Backing a class up is copying that directory (docs/class.md).
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LabRuntimeError } from '../errors.ts';

export interface ClassPaths {
  /** <dir of CLASS.yaml>/<name>.class: 0700. */
  root: string;
  /** The SQLite database (with its -wal and -shm files): 0600. */
  db: string;
  /** The UMLAB_HOME of the class's labs: run directories, kept disks, archived captures. */
  home: string;
  /** The running server's address and pid, written by `serve`, read by `invite`. */
  server: string;
  /** Hand-ins: submissions/<assignment>/<time>/<student>/, each a lab `umlab grade` reads (submit.ts). */
  submissions: string;
  /** `umlab grade` reports of an assignment's submissions: grades/<assignment>/<time>/. */
  grades: string;
  /** The UMLAB_HOME of the labs that grade hand-ins, apart from the students' labs. */
  gradeHome: string;
}

export function classPaths(classFile: string, name: string): ClassPaths {
  const root = join(dirname(classFile), `${name}.class`);
  return {
    root,
    db: join(root, 'class.db'),
    home: join(root, 'home'),
    server: join(root, 'server.json'),
    submissions: join(root, 'submissions'),
    grades: join(root, 'grades'),
    gradeHome: join(root, 'grade-home'),
  };
}

/** Makes the class directory (0700) and its labs' home, refusing one that is not the caller's own. */
export function ensureClassDir(paths: ClassPaths): void {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  const st = lstatSync(paths.root);
  if (!st.isDirectory()) throw new LabRuntimeError(`${paths.root} is not a directory`, { hint: 'move it away: umlab keeps the class state there' });
  if (process.getuid && st.uid !== process.getuid())
    throw new LabRuntimeError(`${paths.root} belongs to another user (uid ${st.uid})`, { hint: 'run the class as the user who owns its directory' });
  // mkdir's mode is masked by the umask and leaves an existing directory as it was.
  chmodSync(paths.root, 0o700);
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
}
