// Lab file -> plan, as every command that takes a lab file needs it (compile, up, web).
import { compile } from '../topology/compile.ts';
import { loadLabFile } from '../topology/load.ts';
import type { LabPlan } from '../topology/plan.ts';
import { planContext } from '../runtime/host.ts';
import { runDirFor, umlabHome } from '../runtime/paths.ts';
import { checkLabName } from './args.ts';

/** Loads and compiles a lab file; `name` runs a second copy of a lab under another name. */
export async function compileLabFile(file: string, name?: string): Promise<LabPlan> {
  const lab = await loadLabFile(file);
  if (name !== undefined) {
    lab.name = checkLabName(name);
  }
  return compile(lab, planContext(runDirFor(umlabHome(), lab.name)));
}
