// A class file (CLASS.yaml) read into a ClassSpec: parsed with the lab loader's YAML stage and
// source map, checked against schema/class.schema.json, then the class's own rules. Pure; the
// file reads (the class file, a roster CSV, whether each lab exists) are in load-class.ts.
import type { Diagnostic } from '../errors.ts';
import { formatPath, type PathSegment } from '../topology/lab-path.ts';
import type { SourceMap } from '../topology/source-map.ts';
import { parseYaml } from '../topology/yaml-parse.ts';
import { classSchemaErrors } from './schema-errors.ts';

export interface Student {
  id: string;
  name: string;
}

export interface Assignment {
  id: string;
  title: string;
  /** The lab file or Kathará directory as written, relative to the class file. */
  lab: string;
  /** The grading spec as written (umlab grade's or kathara-lab-checker's), or null: the lab's own tests. */
  grading: string | null;
  /** Its stages in order (stages.ts reads their files and checks); [] when it has none. */
  stages: StageSpec[];
}

/** A stage as written: `files` relative to the class file, `checks` as a lab's `tests:` entries. */
export interface StageSpec {
  id: string;
  title: string;
  files: string | null;
  checks: unknown[];
}

export interface ClassLimits {
  /** Labs one student may have running or starting at once. */
  runningLabsPerStudent: number;
  /** MiB the running labs of one student may add up to; null: no limit. */
  memoryPerStudentMiB: number | null;
  /** MiB all running labs may add up to; null: what the host has free at start. */
  memoryBudgetMiB: number | null;
  /** A lab with no terminal input and no traffic this long (ms) is idle; null: never (idle.ts). */
  idleAfterMs: number | null;
  /** What an idle lab gets. */
  idleAction: 'pause' | 'stop';
}

export interface ClassSpec {
  name: string;
  description: string;
  /** The roster as written, or null when it is a CSV file (`rosterFile`), read by the I/O side. */
  roster: Student[] | null;
  rosterFile: string | null;
  assignments: Assignment[];
  limits: ClassLimits;
}

interface RawClass {
  name: string;
  description?: string;
  roster: { id: string; name: string }[] | string;
  assignments: { id: string; lab: string; title?: string; grading?: string; stages?: { id: string; title?: string; files?: string; checks?: unknown[] }[] }[];
  limits?: { running_labs_per_student?: number; memory_per_student?: string; memory_budget?: string; idle_after?: string; idle_action?: 'pause' | 'stop' };
}

/** What the command line calls the teacher (`invite --revoke teacher`): no student may be called so. */
export const TEACHER_ID = 'teacher';

export type ParsedClass = { spec: ClassSpec; sources: SourceMap } | { errors: Diagnostic[] };

/** "512M" -> 512, "2G" -> 2048 (the schema allows only M and G). */
export const memoryText = (text: string): number => Number(text.slice(0, -1)) * (text.endsWith('G') ? 1024 : 1);

export const DEFAULT_IDLE_AFTER = '60m';

/** "30s" -> 30000, "45m", "2h"; "0" and "off" -> null (never); the schema allows only these. */
export function durationMs(text: string): number | null {
  if (text === '0' || text === 'off') return null;
  return Number(text.slice(0, -1)) * { s: 1000, m: 60_000, h: 3_600_000 }[text.slice(-1) as 's' | 'm' | 'h'];
}

/** The class file's text to a ClassSpec, or every problem with its file:line:col. */
export function parseClassText(text: string, file: string): ParsedClass {
  const parsed = parseYaml(text, file);
  if ('errors' in parsed) return parsed;
  const { data, sources } = parsed;
  const schema = classSchemaErrors(data, sources, file);
  if (schema.length > 0) return { errors: schema };
  const raw = data as RawClass;
  const errors: Diagnostic[] = [];
  const at = (path: PathSegment[], message: string, hint: string) =>
    errors.push({ file, ...sources.position(path, 'value'), path: formatPath(path), message, hint });
  if (Array.isArray(raw.roster)) {
    uniqueIds(raw.roster, 'roster', 'student', at);
    raw.roster.forEach((s, i) => {
      if (s.id === TEACHER_ID)
        at(
          ['roster', i, 'id'],
          `"${TEACHER_ID}" cannot be a student's id`,
          `\`umlab class invite --revoke ${TEACHER_ID}\` means the teacher: give the student another id`,
        );
    });
  }
  uniqueIds(raw.assignments, 'assignments', 'assignment', at);
  raw.assignments.forEach((a, i) => uniqueIds(a.stages ?? [], 'stages', 'stage', (path, message, hint) => at(['assignments', i, ...path], message, hint)));
  if (errors.length > 0) return { errors };
  const limits = raw.limits ?? {};
  return {
    sources,
    spec: {
      name: raw.name,
      description: raw.description ?? '',
      roster: Array.isArray(raw.roster) ? raw.roster.map((s) => ({ id: s.id, name: s.name })) : null,
      rosterFile: typeof raw.roster === 'string' ? raw.roster : null,
      assignments: raw.assignments.map((a) => ({
        id: a.id,
        title: a.title ?? a.id,
        lab: a.lab,
        grading: a.grading ?? null,
        stages: (a.stages ?? []).map((st) => ({ id: st.id, title: st.title ?? st.id, files: st.files ?? null, checks: st.checks ?? [] })),
      })),
      limits: {
        runningLabsPerStudent: limits.running_labs_per_student ?? 1,
        memoryPerStudentMiB: limits.memory_per_student ? memoryText(limits.memory_per_student) : null,
        memoryBudgetMiB: limits.memory_budget ? memoryText(limits.memory_budget) : null,
        idleAfterMs: durationMs(limits.idle_after ?? DEFAULT_IDLE_AFTER),
        idleAction: limits.idle_action ?? 'pause',
      },
    },
  };
}

function uniqueIds(items: { id: string }[], section: string, word: string, at: (path: PathSegment[], message: string, hint: string) => void): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const earlier = first.get(item.id);
    if (earlier === undefined) first.set(item.id, i);
    else at([section, i, 'id'], `${word} id "${item.id}" is used twice`, `the first is ${section}[${earlier}]; each ${word} needs its own id`);
  });
}

/** A roster CSV (columns id,name; an optional header line; "quoted, fields" allowed) to students,
 *  or its problems located by line. The ids follow the schema's pattern. */
export function parseRosterCsv(text: string, file: string): { students: Student[] } | { errors: Diagnostic[] } {
  const students: Student[] = [];
  const errors: Diagnostic[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const fields = csvFields(line);
    const where = { file, line: i + 1, col: 1, path: '' };
    if (i === 0 && fields?.[0]?.trim().toLowerCase() === 'id') return; // the header
    if (fields === null || fields.length < 2) {
      errors.push({ ...where, message: 'expected two fields: id,name', hint: 'one student per line, e.g. s1,Student One' });
      return;
    }
    const [id, name] = [fields[0].trim(), fields.slice(1).join(',').trim()];
    if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(id)) {
      errors.push({ ...where, message: `"${id}" is not a valid student id`, hint: 'lowercase letters, digits, dashes and underscores' });
      return;
    }
    if (id === TEACHER_ID) {
      errors.push({ ...where, message: `"${TEACHER_ID}" cannot be a student's id`, hint: 'it means the teacher: give the student another id' });
      return;
    }
    if (seen.has(id)) {
      errors.push({ ...where, message: `student id "${id}" is used twice`, hint: `the first is on line ${seen.get(id)}` });
      return;
    }
    seen.set(id, i + 1);
    students.push({ id, name: name || id });
  });
  if (errors.length > 0) return { errors };
  if (students.length === 0) return { errors: [{ file, line: 1, col: 1, path: '', message: 'the roster has no students', hint: 'one per line: id,name' }] };
  return { students };
}

/** One CSV line's fields (RFC 4180 quoting within the line), or null when a quote is not closed. */
function csvFields(line: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}
