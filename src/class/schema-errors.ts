// JSON-schema validation of a class file (schema/class.schema.json, ajv), its errors located
// through the lab loader's source map. The lab's own converter (topology/schema-errors.ts) is
// bound to the lab schema and its hints; this one keeps the same messages for the class's,
// with the same helpers (topology/lab-path.ts).
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../schema/class.schema.json' with { type: 'json' };
import type { Diagnostic } from '../errors.ts';
import { describeValue, formatPath, pointerToPath, type NodePart } from '../topology/lab-path.ts';
import type { SourceMap } from '../topology/source-map.ts';
import { propertyError } from '../topology/schema-errors.ts';
import { cachedValidator } from '../util/schema-validator.ts';

let validator: ValidateFunction | undefined;

/** Every schema violation of a class file's data, located; [] when it is valid. */
export function classSchemaErrors(data: unknown, sources: SourceMap, file: string): Diagnostic[] {
  validator ??= cachedValidator('class', schema, { allErrors: true, verbose: true, strict: true });
  if (validator(data)) return [];
  const errors = [...(validator.errors ?? [])];
  // A oneOf (roster: a list or a .csv path) fails every branch: keep the errors of the branch
  // whose type matches the data, and the oneOf itself only when no branch matched the type.
  const typeMismatch = (e: ErrorObject) => e.keyword === 'type' && /\/oneOf\/\d+\/type$/.test(e.schemaPath);
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const branchErrors = (path: string) => errors.filter((e) => e.instancePath.startsWith(path) && e.keyword !== 'oneOf' && !typeMismatch(e));
  const kept = errors.filter((e) => {
    if (typeMismatch(e) && oneOfPaths.has(e.instancePath)) return false;
    if (e.keyword === 'oneOf') return branchErrors(e.instancePath).length === 0;
    return e.keyword !== 'propertyNames';
  });
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const d = diagnostic(e, sources, file);
    const key = `${d.line}:${d.col}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

function diagnostic(e: ErrorObject, sources: SourceMap, file: string): Diagnostic {
  const path = pointerToPath(e.instancePath);
  const description = (e.parentSchema as { description?: string } | undefined)?.description;
  let part: NodePart = 'value';
  let message: string;
  let hint = description ?? 'see docs/class.md';
  const property = propertyError(e, path);
  if (property) {
    ({ message, hint } = property);
    part = 'key';
  } else if (e.keyword === 'type' && path.length === 0 && e.data === null) {
    message = 'the class file is empty';
    hint = 'a class needs `name:`, `roster:` and `assignments:` (docs/class.md)';
  } else if (e.keyword === 'type') {
    message = `must be ${[e.params.type].flat().join(' or ')}, not ${describeValue(e.data)}`;
  } else if (e.keyword === 'oneOf') {
    message = `must be a list of students or the path of a .csv file, not ${describeValue(e.data)}`;
  } else if (e.keyword === 'pattern') {
    message = `${JSON.stringify(e.data)} is not valid here`;
  } else {
    message = `${JSON.stringify(e.data)} ${e.message ?? 'is not valid'}`;
  }
  return { file, ...sources.position(path, part), path: formatPath(path), message, hint };
}
