// A stage's `checks:` read as a lab file's `tests:`: the lab's own schema, model and rules (the
// rules see the assignment's lab with these checks as its tests, so a check that names a VM the
// lab lacks is refused as `umlab test` would), every problem located in the class file. Pure.
import type { Diagnostic } from '../errors.ts';
import { kindOfSection, RULE_KINDS, segmentPath } from '../kinds/index.ts';
import { labRules } from '../planner/load.ts';
import { formatPath, type NodePart, type PathSegment } from '../topology/lab-path.ts';
import type { Lab, LabTest } from '../topology/model.ts';
import type { RawLab } from '../topology/raw.ts';
import type { RuleContext } from '../topology/rules/context.ts';
import { schemaErrors } from '../topology/schema-errors.ts';
import type { SourceMap } from '../topology/source-map.ts';
import { toModel } from '../topology/to-model.ts';

/** The lab's diagnostics about `tests...`, moved to `at...` of the class file; the others dropped
 *  (they are about the assignment's lab itself, which loaded). */
function relocated(errors: Diagnostic[], at: PathSegment[], file: string): Diagnostic[] {
  return errors
    .filter((d) => d.path === 'tests' || d.path.startsWith('tests['))
    .map((d) => ({ ...d, file, path: formatPath(at) + d.path.slice('tests'.length) }));
}

/** The checks of a stage as the lab's tests, or their problems located at `at` (the stage's
 *  `checks` path) in the class file `file` whose source map is `sources`. */
export function stageChecks(lab: Lab, checks: unknown[], at: PathSegment[], sources: SourceMap, file: string): { tests: LabTest[] } | { errors: Diagnostic[] } {
  // Lab paths under tests/ are the stage's checks; any other lab path is placed at the checks key.
  const where = (path: PathSegment[], part: NodePart) =>
    path[0] === 'tests' ? sources.position([...at, ...path.slice(1)], part) : sources.position(at, 'key');
  const mapped = {
    position: where,
    has: (path: PathSegment[]) => path[0] === 'tests' && sources.has([...at, ...path.slice(1)]),
  } as unknown as SourceMap;
  const raw = { name: lab.name, vms: {}, tests: checks };
  const invalid = relocated(schemaErrors(raw, mapped, file), at, file);
  if (invalid.length > 0) return { errors: invalid };
  const tests = toModel(raw as unknown as RawLab, file, kindOfSection).tests;
  const ctx: RuleContext = {
    lab: { ...lab, tests },
    diag: (path, part, message, hint) => ({ file, ...where(path, part), path: formatPath(path), message, hint }),
    lineOf: (path, part = 'key') => where(path, part).line,
    has: (path) => mapped.has(path),
    segmentPath,
    kinds: RULE_KINDS,
  };
  const errors = relocated(
    labRules().flatMap((rule) => rule(ctx)),
    at,
    file,
  );
  return errors.length > 0 ? { errors: errors.sort((a, b) => a.line - b.line || a.col - b.col) } : { tests };
}
