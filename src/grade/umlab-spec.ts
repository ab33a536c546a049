// umlab's own grading spec: a lab file's `tests:` whose checks may carry `points:`,
// `hidden:` and `group:`, plus `convergence:`, `deadline:` and `groups:`. Pure: text in, spec or
// file:line:col diagnostics out.
import schema from '../../schema/lab.schema.json' with { type: 'json' };
import type { Diagnostic } from '../errors.ts';
import { formatPath, type NodePart, type PathSegment } from '../topology/lab-path.ts';
import { parseDuration } from '../topology/measures.ts';
import type { RawLab } from '../topology/raw.ts';
import { testKindGiven, testOrder } from '../topology/rules/checks.ts';
import type { RuleContext } from '../topology/rules/context.ts';
import { schemaErrors } from '../topology/schema-errors.ts';
import type { SourceMap } from '../topology/source-map.ts';
import { toModel } from '../topology/to-model.ts';
import { parseYaml } from '../topology/yaml-parse.ts';
import { didYouMean } from '../util/text.ts';
import { DEFAULT_DEADLINE_S, type GradedCheck, type GradingSpec } from './spec.ts';
import { kindOfSection, RULE_KINDS } from '../kinds/index.ts';

/** Keys a check may have beyond those of a lab's check. */
const GRADING_KEYS = ['points', 'hidden', 'group'] as const;
/** Top-level keys beyond a lab file's (a spec may be the teacher's whole reference lab). */
const SPEC_KEYS = ['convergence', 'deadline', 'groups'];
const LAB_KEYS = Object.keys(schema.properties);

type Located = (path: PathSegment[], part: NodePart, message: string, hint: string) => Diagnostic;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses umlab's grading spec; every problem at once, as file:line:col. */
export function parseUmlabSpec(text: string, file: string): { spec: GradingSpec } | { errors: Diagnostic[] } {
  const parsed = parseYaml(text, file);
  if ('errors' in parsed) return parsed;
  const { data, sources } = parsed;
  const diag: Located = (path, part, message, hint) => ({ file, ...sources.position(path, part), path: formatPath(path), message, hint });
  if (!isMap(data) || !Array.isArray(data.tests))
    return {
      errors: [
        diag(
          isMap(data) ? ['tests'] : [],
          'key',
          'a grading spec needs a `tests:` list',
          'write the checks under `tests:` as in a lab file (docs/testing.md), each with optional points:, hidden:, group:',
        ),
      ],
    };
  const errors: Diagnostic[] = [];
  for (const key of Object.keys(data))
    if (!LAB_KEYS.includes(key) && !SPEC_KEYS.includes(key)) {
      const guess = didYouMean(key, [...LAB_KEYS, ...SPEC_KEYS]);
      errors.push(
        diag(
          [key],
          'key',
          `unknown property "${key}"`,
          guess ? `did you mean "${guess}"?` : `allowed here: tests, ${SPEC_KEYS.join(', ')} (and a lab file's keys)`,
        ),
      );
    }
  const deadline = data.deadline === undefined ? DEFAULT_DEADLINE_S : parseDuration(data.deadline as string | number);
  if (deadline === undefined || deadline <= 0)
    errors.push(diag(['deadline'], 'value', `${JSON.stringify(data.deadline)} is not a duration`, 'write e.g. 30s, 2m or a number of seconds'));
  const convergence = data.convergence === undefined ? 0 : parseDuration(data.convergence as string | number);
  if (convergence === undefined || convergence < 0)
    errors.push(diag(['convergence'], 'value', `${JSON.stringify(data.convergence)} is not a duration`, 'write e.g. 40s, 1m or a number of seconds'));
  const groupPoints = readGroups(data.groups, diag, errors);
  const grading = data.tests.map((t, i) => readGradingKeys(t, i, diag, errors));
  const tests = data.tests.map((t) => (isMap(t) ? Object.fromEntries(Object.entries(t).filter(([k]) => !(GRADING_KEYS as readonly string[]).includes(k))) : t));
  // The checks are validated as a lab's: the same schema, the same rules on kinds, names and `after:`.
  const asLab = { name: 'grading-spec', vms: { spec: {} }, tests } as unknown as RawLab;
  errors.push(...schemaErrors(asLab, sources, file).filter((d) => d.path.startsWith('tests')));
  if (errors.length > 0) return { errors: sorted(errors) };
  const lab = toModel(asLab, file, kindOfSection);
  const ctx = ruleContext(lab, sources, file);
  errors.push(...testKindGiven(ctx), ...testOrder(ctx));
  for (const [i, t] of lab.tests.entries())
    if (Number.isNaN(t.within)) errors.push(diag(['tests', i, 'within'], 'value', 'not a duration', 'write e.g. 30s, 2m or a number of seconds'));
  if (errors.length > 0) return { errors: sorted(errors) };
  const checks: GradedCheck[] = lab.tests.map((test, i) => ({ kind: 'live', name: test.name, description: test.name, test, ...grading[i] }));
  return { spec: { file, form: 'umlab', convergenceSeconds: convergence!, deadlineSeconds: deadline!, checks, groupPoints } };
}

function readGradingKeys(t: unknown, i: number, diag: Located, errors: Diagnostic[]): { points: number; hidden: boolean; group?: string } {
  if (!isMap(t)) return { points: 1, hidden: false };
  const points = t.points ?? 1;
  if (typeof points !== 'number' || !(points >= 0))
    errors.push(diag(['tests', i, 'points'], 'value', `points must be a number of at least 0, not ${JSON.stringify(points)}`, 'e.g. points: 2 (default 1)'));
  if (t.hidden !== undefined && typeof t.hidden !== 'boolean')
    errors.push(diag(['tests', i, 'hidden'], 'value', 'hidden must be true or false', "hidden: true keeps the check out of the students' lab"));
  if (t.group !== undefined && (typeof t.group !== 'string' || t.group === ''))
    errors.push(diag(['tests', i, 'group'], 'value', 'group must be a name', 'e.g. group: routing'));
  return { points: typeof points === 'number' ? points : 1, hidden: t.hidden === true, ...(typeof t.group === 'string' && { group: t.group }) };
}

function readGroups(groups: unknown, diag: Located, errors: Diagnostic[]): Record<string, number> {
  if (groups === undefined) return {};
  if (!isMap(groups)) {
    errors.push(diag(['groups'], 'value', '`groups:` must map group names to points', 'e.g. groups: { routing: 4 }'));
    return {};
  }
  const out: Record<string, number> = {};
  for (const [name, points] of Object.entries(groups)) {
    if (typeof points === 'number' && points >= 0) out[name] = points;
    else errors.push(diag(['groups', name], 'value', `a group's points must be a number of at least 0, not ${JSON.stringify(points)}`, 'e.g. routing: 4'));
  }
  return out;
}

function ruleContext(lab: ReturnType<typeof toModel>, sources: SourceMap, file: string): RuleContext {
  return {
    lab,
    diag: (path, part, message, hint) => ({ file, ...sources.position(path, part), path: formatPath(path), message, hint }),
    lineOf: (path, part = 'key') => sources.position(path, part).line,
    has: (path) => sources.has(path),
    segmentPath: () => [],
    kinds: RULE_KINDS,
  };
}

const sorted = (d: Diagnostic[]) => d.sort((a, b) => a.line - b.line || a.col - b.col);
