// Where umlab keeps its state on this host. UMLAB_HOME overrides everything (tests use it).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runFiles } from '../topology/layout.ts';
import type { LabPlan } from '../topology/plan.ts';

export function umlabHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UMLAB_HOME) return env.UMLAB_HOME;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'umlab');
}

/** Directory of every running lab's run directory. */
export const labsDir = (home: string) => join(home, 'labs');
export const runDirFor = (home: string, lab: string) => join(labsDir(home), lab);
/** Where a lab's disks (COW files, data disks) outlive its run directory, until `umlab clean`. */
export const disksDirFor = (home: string, lab: string) => join(home, 'disks', lab);
/** Where `down` keeps captures and console logs of a lab that has stopped. */
export const archiveRoot = (home: string) => join(home, 'captures');

export function archiveDirFor(home: string, lab: string, when = new Date()): string {
  const stamp = when.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join(archiveRoot(home), `${lab}-${stamp}`);
}

// Lives with the layout so that vm/ (process tracking) can use it without importing the runtime.
export { runFiles };

/** The plan of a lab that `up` started (live rewiring keeps it current). */
export const readPlan = (runDir: string): LabPlan => JSON.parse(readFileSync(runFiles(runDir).plan, 'utf8')) as LabPlan;
