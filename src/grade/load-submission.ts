// One submission's lab, loaded as `umlab up` would (a YAML lab file or a Kathará/Netkit
// lab directory), keeping the loader's warnings for the report instead of printing them.
import { statSync } from 'node:fs';
import { LabFileError, formatDiagnostic } from '../errors.ts';
import { loadKatharaContents } from '../kathara/load.ts';
import { readLabDir } from '../kathara/read-dir.ts';
import { imageCacheDir, ensureProfileImages } from '../runtime/image-cache.ts';
import { loadLabFile } from '../runtime/lab-reader.ts';
import type { Lab } from '../topology/model.ts';

export interface LoadedSubmission {
  lab: Lab;
  warnings: string[];
  /** Image profiles the lab needs (Kathará labs). */
  profiles: string[];
}

/** Loads a submission's lab; throws LabFileError (file:line:col) when it does not load. */
export async function loadSubmission(path: string): Promise<LoadedSubmission> {
  if (!statSync(path).isDirectory()) return { lab: await loadLabFile(path), warnings: [], profiles: [] };
  const result = loadKatharaContents(readLabDir(path), { imageCache: imageCacheDir(), strict: false, labPath: (rel) => rel });
  if (!result.lab) throw new LabFileError(result.errors);
  return { lab: result.lab, warnings: result.warnings.map(formatDiagnostic), profiles: result.profiles };
}

/** Checks (or builds, with `build`) the images the labs need, once for the whole class. */
export async function ensureImages(profiles: string[], build: boolean, log: (line: string) => void): Promise<void> {
  if (profiles.length > 0) await ensureProfileImages([...new Set(profiles)], { build, log });
}
