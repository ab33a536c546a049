// A student's submission, written: the files they changed in each VM of their running lab (under
// /etc, the directories the assignment puts files in and the lab's /shared; submission.ts says
// which and checks every name) put into a copy of
// the assignment, in the form `umlab grade` reads (src/grade/submissions.ts): a Kathará assignment
// gives a Kathará lab directory (lab.conf, <device>/<path>, shared/), a YAML assignment the lab
// file with the files in each VM's `files:` (a folder holding one YAML lab and nothing else).
import { cpSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { LabClient } from '../client/lab-client.ts';
import { LabRuntimeError } from '../errors.ts';
import { readPlan, runFiles } from '../runtime/paths.ts';
import { collectCommand, collectDirs, parseCollected, submissionStamp, targetIn, type ChangedFile } from './submission.ts';

export interface WrittenSubmission {
  /** The student's folder: what `umlab grade` is given. */
  dir: string;
  at: number;
  /** `device:/path` of each file handed in. */
  files: string[];
  /** Files left out, and why. */
  skipped: string[];
}

const COLLECT_TIMEOUT_MS = 30_000;

/** The changed files of every VM of the running lab at `runDir`. */
export async function collectChanges(runDir: string, kathara: boolean): Promise<{ files: ChangedFile[]; skipped: string[] }> {
  const plan = readPlan(runDir);
  const client = new LabClient(runFiles(runDir).control);
  const files: ChangedFile[] = [];
  const skipped: string[] = [];
  for (const vm of plan.vms) {
    const dirs = collectDirs(vm, kathara);
    const reply = await client.execReply(vm.name, collectCommand(dirs), COLLECT_TIMEOUT_MS);
    if (!reply.ok) throw new LabRuntimeError(`cannot read the files of ${vm.name}: ${reply.error}`, { hint: 'is the VM running? try again' });
    const got = parseCollected(vm.name, reply.stdout.toString('latin1'), dirs);
    // /shared is one directory for every device: its files once.
    for (const f of got.files) if (!(f.path.startsWith('/shared/') && files.some((g) => g.path === f.path))) files.push(f);
    skipped.push(...got.skipped);
  }
  return { files, skipped };
}

/** Writes the submission under `root` (<class>/submissions/<assignment>) as <stamp>/<student>/. */
export function writeSubmission(root: string, student: string, source: string, changed: ChangedFile[], at: number, skipped: string[]): WrittenSubmission {
  const stampDir = join(root, submissionStamp(at));
  const dir = join(stampDir, student);
  // Written aside, then renamed: a submission is there whole or not at all.
  const partial = join(root, `.partial-${submissionStamp(at)}-${student}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    const files = statSync(source).isDirectory() ? writeKathara(partial, source, changed, skipped) : writeYaml(partial, source, changed, skipped);
    mkdirSync(stampDir, { recursive: true, mode: 0o700 });
    renameSync(partial, dir);
    return { dir, at, files, skipped };
  } catch (cause) {
    rmSync(partial, { recursive: true, force: true });
    throw new LabRuntimeError(`cannot write the submission of ${student}: ${(cause as Error).message}`, { cause });
  }
}

function writeKathara(dir: string, source: string, changed: ChangedFile[], skipped: string[]): string[] {
  cpSync(source, dir, { recursive: true, verbatimSymlinks: true });
  const written: string[] = [];
  for (const f of changed) {
    const target = targetIn(dir, f.device, f.path);
    if (!target) {
      skipped.push(`${f.device}:${JSON.stringify(f.path)} (outside the submission)`);
      continue;
    }
    // Never through a link the assignment holds: only plain directories inside the submission.
    for (let p = dirname(target); p.length > dir.length; p = dirname(p)) {
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) throw new LabRuntimeError(`${f.device}:${f.path}: would be written through a symbolic link`);
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(target);
    writeFileSync(target, f.data, { mode: 0o600 });
    written.push(`${f.device}:${f.path}`);
  }
  return written;
}

function writeYaml(dir: string, source: string, changed: ChangedFile[], skipped: string[]): string[] {
  const doc = parseDocument(readFileSync(source, 'utf8'));
  const written: string[] = [];
  for (const f of changed) {
    const text = f.data.toString('utf8');
    // `files:` holds text: a file that is not UTF-8 cannot go there.
    if (!Buffer.from(text, 'utf8').equals(f.data)) {
      skipped.push(`${f.device}:${f.path} (not text: a YAML lab's files: hold text only)`);
      continue;
    }
    doc.setIn(['vms', f.device, 'files', f.path], text);
    written.push(`${f.device}:${f.path}`);
  }
  writeFileSync(join(dir, basename(source)), doc.toString(), { mode: 0o600 });
  return written;
}
