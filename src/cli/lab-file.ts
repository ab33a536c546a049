// Lab file -> plan, as every command that takes a lab file needs it (compile, up, web, test,
// validate): a YAML lab file, or a Kathará/Netkit lab directory (or its lab.conf) read into the same Lab.
import { statSync } from 'node:fs';
import { LabFileError, formatDiagnostic } from '../errors.ts';
import { loadKatharaContents } from '../kathara/load.ts';
import { readLabDir } from '../kathara/read-dir.ts';
import { compile } from '../planner/compile.ts';
import { loadLabFile } from '../runtime/lab-reader.ts';
import type { Lab } from '../topology/model.ts';
import type { LabPlan } from '../topology/plan.ts';
import { planContext } from '../runtime/host.ts';
import { ensureProfileImages, imageCacheDir } from '../runtime/image-cache.ts';
import { runDirFor, umlabHome } from '../runtime/paths.ts';
import { checkLabName } from './args.ts';
import { err } from './format.ts';

export interface LabLoadOptions {
  /** Kathará labs: unsupported images and unknown options are errors, not warnings. */
  strict?: boolean;
  /** Kathará labs: check that the images the lab needs are built (`up`); build them when `buildImages`. */
  needImages?: boolean;
  buildImages?: boolean;
}

/** A directory, or a file named lab.conf: a Kathará/Netkit lab rather than a YAML lab file. */
export function isKatharaLab(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() || (st.isFile() && /(^|\/)lab\.conf$/.test(path));
  } catch {
    return false;
  }
}

/** Loads a lab file or a Kathará/Netkit lab directory; warnings of the latter go to stderr. */
export async function loadLab(path: string, opts: LabLoadOptions = {}): Promise<Lab> {
  if (!isKatharaLab(path)) return loadLabFile(path);
  const contents = readLabDir(path);
  const result = loadKatharaContents(contents, { imageCache: imageCacheDir(), strict: Boolean(opts.strict), labPath: (rel) => rel });
  for (const w of result.warnings) err(`warning: ${formatDiagnostic(w)}\n`);
  if (!result.lab) throw new LabFileError(result.errors);
  if (opts.needImages || opts.buildImages) await ensureProfileImages(result.profiles, { build: Boolean(opts.buildImages), log: (line) => err(`${line}\n`) });
  return result.lab;
}

/** Loads and compiles a lab file; `name` runs a second copy of a lab under another name. */
export async function compileLabFile(file: string, name?: string, opts: LabLoadOptions = {}): Promise<LabPlan> {
  const lab = await loadLab(file, opts);
  if (name !== undefined) {
    lab.name = checkLabName(name);
  }
  return compile(lab, planContext(runDirFor(umlabHome(), lab.name)));
}
