// Reading an assignment's stages when the class loads: each stage's files (a directory in Kathará
// lab-directory form: <dir>/<device>/<path> goes to /<path> in <device>, <dir>/<device>.startup is
// run there after) and its checks (stage-checks.ts), every problem located in the class file.
// What is read here is what a jump applies (stage-jump.ts): a stage's files are read once.
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Diagnostic } from '../errors.ts';
import { loadKatharaContents } from '../kathara/load.ts';
import { readLabDir } from '../kathara/read-dir.ts';
import { parseLab } from '../planner/load.ts';
import { imageCacheDir } from '../runtime/image-cache.ts';
import { formatPath, type PathSegment } from '../topology/lab-path.ts';
import type { Lab, LabTest } from '../topology/model.ts';
import type { SourceMap } from '../topology/source-map.ts';
import type { ClassSpec } from './class-file.ts';
import { stageChecks } from './stage-checks.ts';

export interface StageFile {
  device: string;
  /** Absolute, inside the device. */
  path: string;
  data: Buffer;
}

export interface Stage {
  id: string;
  title: string;
  checks: LabTest[];
  files: StageFile[];
  /** `<device>.startup` scripts, in device order. */
  startups: { device: string; script: string }[];
}

/** A stage's file is configuration, not a disk image. */
export const MAX_STAGE_FILE_BYTES = 256 * 1024;
export const MAX_STAGE_FILES = 200;

/** The assignment's lab as `umlab up` reads it, without its images; or why it does not load. */
function labOf(source: string): Lab | string {
  try {
    if (statSync(source).isDirectory()) {
      const loaded = loadKatharaContents(readLabDir(source), { imageCache: imageCacheDir(), strict: false, labPath: (rel) => rel });
      return loaded.lab ?? (loaded.errors[0]?.message || 'the Kathará lab does not load');
    }
    const parsed = parseLab(readFileSync(source, 'utf8'), source);
    return 'lab' in parsed ? parsed.lab : `${parsed.errors[0].line}:${parsed.errors[0].col}: ${parsed.errors[0].message}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Every assignment's stages, read and checked against its lab; problems located in `file`. */
export function readStages(
  spec: ClassSpec,
  labPaths: Map<string, string>,
  base: string,
  sources: SourceMap,
  file: string,
): { stages: Map<string, Stage[]>; errors: Diagnostic[] } {
  const stages = new Map<string, Stage[]>();
  const errors: Diagnostic[] = [];
  spec.assignments.forEach((a, i) => {
    stages.set(a.id, []);
    if (a.stages.length === 0) return;
    const at = (path: PathSegment[], message: string, hint: string) =>
      errors.push({ file, ...sources.position(path, 'value'), path: formatPath(path), message, hint });
    const lab = labOf(labPaths.get(a.id)!);
    if (typeof lab === 'string') return at(['assignments', i, 'lab'], `the lab of an assignment with stages does not load: ${lab}`, 'umlab validate it');
    const devices = new Set(lab.vms.map((vm) => vm.name));
    a.stages.forEach((st, s) => {
      const where: PathSegment[] = ['assignments', i, 'stages', s];
      const checks = stageChecks(lab, st.checks, [...where, 'checks'], sources, file);
      if ('errors' in checks) errors.push(...checks.errors);
      const read = st.files === null ? { files: [], startups: [] } : readStageDir(resolve(base, st.files), devices, (m, h) => at([...where, 'files'], m, h));
      stages.get(a.id)!.push({ id: st.id, title: st.title, checks: 'tests' in checks ? checks.tests : [], ...read });
    });
  });
  return { stages, errors };
}

/** The files and startup scripts of one stage directory; each problem through `problem`. */
function readStageDir(dir: string, devices: Set<string>, problem: (message: string, hint: string) => void): Omit<Stage, 'id' | 'title' | 'checks'> {
  const files: StageFile[] = [];
  const startups: Stage['startups'] = [];
  const known = [...devices].join(', ');
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) {
    problem(`no directory at ${dir}`, "a stage's files: is a directory relative to the class file, holding <device>/<path> and <device>.startup");
    return { files, startups };
  }
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    const kind = lstatSync(full);
    const device = entry.endsWith('.startup') && kind.isFile() ? entry.slice(0, -'.startup'.length) : kind.isDirectory() ? entry : null;
    if (device === null) {
      problem(`${entry} in ${dir} is neither a device's directory nor a <device>.startup file`, 'only <device>/ directories and <device>.startup files');
      continue;
    }
    if (!devices.has(device)) {
      problem(`${entry} in ${dir}: the lab has no device ${device}`, `its devices: ${known}`);
      continue;
    }
    if (kind.isFile()) startups.push({ device, script: readFileSync(full, 'utf8') });
    else walk(full, '', device, files, problem);
  }
  if (files.length > MAX_STAGE_FILES) problem(`${dir} holds ${files.length} files, more than ${MAX_STAGE_FILES}`, 'a stage is a few configuration files');
  return { files, startups };
}

function walk(dir: string, rel: string, device: string, files: StageFile[], problem: (message: string, hint: string) => void): void {
  for (const entry of readdirSync(join(dir, rel)).sort()) {
    const path = rel ? `${rel}/${entry}` : entry;
    const full = join(dir, path);
    const st = lstatSync(full);
    if (st.isDirectory()) walk(dir, path, device, files, problem);
    else if (!st.isFile()) problem(`${full} is not a regular file (a link or a device)`, 'a stage holds plain files only');
    else if (st.size > MAX_STAGE_FILE_BYTES) problem(`${full} is ${st.size} bytes, more than ${MAX_STAGE_FILE_BYTES}`, 'a stage is a few configuration files');
    else if (files.length <= MAX_STAGE_FILES) files.push({ device, path: `/${path}`, data: readFileSync(full) });
  }
}
