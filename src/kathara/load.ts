// A Kathará/Netkit lab directory's contents -> the same Lab a YAML lab becomes: the reader's
// lab data (plus the umlab.yaml sidecar) is written as YAML and loaded by parseLab, so the
// schema and every rule apply unchanged; their diagnostics are moved back to lab.conf. Pure.
import { Document, isScalar, visit, type Scalar } from 'yaml';
import type { Diagnostic } from '../errors.ts';
import { parseLab } from '../planner/load.ts';
import { formatPath, type PathSegment } from '../topology/lab-path.ts';
import type { Lab } from '../topology/model.ts';
import { parseYaml } from '../topology/yaml-parse.ts';
import type { SourceMap } from '../topology/source-map.ts';
import { RUNNER } from './runner.ts';
import { katharaToRaw, type KatharaRead } from './to-raw.ts';
import type { KatharaProblem, LabDirContents, Pos, ReadOptions } from './types.ts';

export interface KatharaLoad {
  /** The lab, when there are no errors. */
  lab?: Lab;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** The equivalent umlab lab file (what `umlab import` writes). */
  yaml: string;
  profiles: string[];
  order: Record<string, string[]>;
}

/** Sidecar keys: umlab's own settings layered over what lab.conf says. */
const SIDECAR_KEYS = ['name', 'description', 'capture', 'defaults', 'kernel', 'tests', 'vms', 'switches', 'layout'];

const toDiag = (p: KatharaProblem): Diagnostic => ({
  file: p.at.file,
  line: p.at.line,
  col: p.at.col,
  path: '',
  message: p.message,
  ...(p.hint && { hint: p.hint }),
});

/** "vms.r1.files[\"/etc/x\"]" -> ["vms", "r1", "files", "/etc/x"] (the inverse of formatPath). */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /(?:^|\.)([A-Za-z0-9_-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]) as string)));
  return out;
}

export function loadKatharaContents(c: LabDirContents, opts: ReadOptions): KatharaLoad {
  const read = katharaToRaw(c, opts);
  const problems = [...read.problems];
  const sidecar = c.sidecar ? mergeSidecar(read, c.sidecar, problems) : undefined;
  const errors = problems.filter((p) => p.severity === 'error').map(toDiag);
  const warnings = problems.filter((p) => p.severity === 'warning').map(toDiag);
  const yaml = labYaml(read.raw, c);
  if (errors.length) return { errors: sortDiags(errors), warnings, yaml, profiles: read.profiles, order: read.order };
  const result = parseLab(yaml, c.labConfFile);
  if ('errors' in result) {
    const moved = result.errors.map((d) => ({ ...d, ...locate(d.path, read.positions, sidecar, c.labConfFile) }));
    return { errors: sortDiags(moved), warnings, yaml, profiles: read.profiles, order: read.order };
  }
  return { lab: result.lab, errors: [], warnings, yaml, profiles: read.profiles, order: read.order };
}

const sortDiags = (ds: Diagnostic[]) => ds.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));

/** Where a path of the generated lab was written: the sidecar when it has the node, else the longest known prefix in lab.conf. */
function locate(
  path: string,
  positions: Map<string, Pos>,
  sidecar: { file: string; sources: SourceMap; paths: Set<string> } | undefined,
  labConf: string,
): Pos {
  const segs = parsePath(path);
  for (let n = segs.length; n > 0; n--) {
    const key = formatPath(segs.slice(0, n));
    if (sidecar?.paths.has(key)) return { file: sidecar.file, ...sidecar.sources.position(segs, 'value') };
    const at = positions.get(key);
    if (at) return at;
  }
  return { file: labConf, line: 1, col: 1 };
}

function mergeSidecar(read: KatharaRead, sidecar: { file: string; text: string }, problems: KatharaProblem[]) {
  const parsed = parseYaml(sidecar.text, sidecar.file);
  if ('errors' in parsed) {
    for (const d of parsed.errors)
      problems.push({ at: { file: d.file, line: d.line, col: d.col }, severity: 'error', message: d.message, ...(d.hint && { hint: d.hint }) });
    return undefined;
  }
  const { data, sources } = parsed;
  const paths = new Set<string>();
  const at = (path: PathSegment[]): Pos => ({ file: sidecar.file, ...sources.position(path, 'key') });
  if (data === null || data === undefined) return { file: sidecar.file, sources, paths };
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ at: { file: sidecar.file, line: 1, col: 1 }, severity: 'error', message: 'umlab.yaml must be a map (tests:, vms:, ...)' });
    return undefined;
  }
  const raw = read.raw as Record<string, unknown>;
  // Every node the sidecar gives is located in the sidecar.
  const mark = (path: PathSegment[], value: unknown) => {
    paths.add(formatPath(path));
    if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) mark([...path, Array.isArray(value) ? Number(k) : k], v);
  };
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (!SIDECAR_KEYS.includes(key)) {
      problems.push({ at: at([key]), severity: 'error', message: `umlab.yaml: unknown key ${key}`, hint: `it may hold ${SIDECAR_KEYS.join(', ')}` });
      continue;
    }
    if ((key === 'vms' || key === 'switches') && value && typeof value === 'object') {
      const section = (raw[key] ?? {}) as Record<string, unknown>;
      for (const [name, over] of Object.entries(value as Record<string, unknown>)) {
        if (!(name in section)) {
          problems.push({
            at: at([key, name]),
            severity: 'error',
            message: `umlab.yaml: the lab has no ${key === 'vms' ? 'device' : 'collision domain'} ${name}`,
            hint: `it has: ${Object.keys(section).join(', ') || 'none'}`,
          });
          continue;
        }
        section[name] = deepMerge(section[name], over);
        mark([key, name], over);
      }
      continue;
    }
    raw[key] = value;
    mark([key], value);
  }
  return { file: sidecar.file, sources, paths };
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!base || !over || typeof base !== 'object' || typeof over !== 'object' || Array.isArray(base) || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out;
}

/** The lab as a umlab YAML lab file, keys in the usual order. */
export function labYaml(raw: KatharaRead['raw'], c: LabDirContents): string {
  const { name, description, capture, defaults, kernel, switches, taps, gateways, vms, tests, ...rest } = raw as Record<string, unknown>;
  const ordered = { name, description, capture, defaults, kernel, switches, taps, gateways, vms, tests, ...rest };
  for (const k of Object.keys(ordered)) if ((ordered as Record<string, unknown>)[k] === undefined) delete (ordered as Record<string, unknown>)[k];
  const doc = new Document(ordered, { aliasDuplicateObjects: false });
  // The runner is the same text in every device: written once (&kathara-runner), then *kathara-runner.
  let first: Scalar | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== RUNNER || !isScalar(pair.value)) return;
      if (!first) {
        first = pair.value;
        first.anchor = 'kathara-runner';
      } else pair.value = doc.createAlias(first);
    },
  });
  return `# umlab lab made from the Kathará/Netkit lab ${c.labConfFile} (umlab import).\n` + doc.toString({ lineWidth: 0 });
}
