// JSON-schema validation of a lab's data (ajv; the schema is the single source of truth
// for the format), and ajv's errors turned into located diagnostics with hints.
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../schema/lab.schema.json' with { type: 'json' };
import type { Diagnostic } from '../errors.ts';
import { cachedValidator } from '../util/schema-validator.ts';
import { didYouMean } from '../util/text.ts';
import { describeValue, formatPath, pointerToPath, type NodePart, type PathSegment } from './lab-path.ts';
import type { SourceMap } from './source-map.ts';

// One compiled validator for the process; the schema is the single source of truth.
let validator: ValidateFunction | undefined;
function validateSchema(data: unknown): ErrorObject[] {
  validator ??= cachedValidator('lab', schema, { allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Every schema violation of `data` as a diagnostic located through `sources`; [] when it is valid. */
export function schemaErrors(data: unknown, sources: SourceMap, file: string): Diagnostic[] {
  const errors = validateSchema(data);
  return errors.length > 0 ? schemaDiagnostics(errors, sources, file) : [];
}

/** Lab file errors from ajv, located at the offending node with a hint taken from the schema's descriptions. */
function schemaDiagnostics(errors: ErrorObject[], sources: SourceMap, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // ajv reports a bad property name twice: the failing keyword (with propertyName) and a wrapper.
    if (e.keyword === 'propertyNames') continue;
    const path = pointerToPath(e.instancePath);
    const description = (e.parentSchema as { description?: string } | undefined)?.description;
    let part: NodePart = 'value';
    let message: string;
    let hint = description ?? 'see "Lab file format" in README.md';
    const property = e.propertyName === undefined ? propertyError(e, path) : null;
    if (e.propertyName !== undefined) {
      path.push(e.propertyName);
      part = 'key';
      message = `invalid name "${e.propertyName}"`;
    } else if (property) {
      ({ message, hint } = property);
      part = 'key';
    } else if (e.keyword === 'type' && path.length === 0 && e.data === null) {
      message = 'the lab file is empty';
      hint = 'a lab needs at least `name:` and `vms:`; start from labs/two-hosts.yaml';
    } else if (e.keyword === 'type') {
      message = `must be ${[e.params.type].flat().join(' or ')}, not ${describeValue(e.data)}`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'pattern') {
      message = `${JSON.stringify(e.data)} is not valid here`;
    } else if (e.keyword === 'minProperties' && path.length === 1 && path[0] === 'vms') {
      message = 'a lab needs at least one VM';
      hint = 'add a VM under `vms:`, e.g. `h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 } } }`';
    } else {
      message = `${JSON.stringify(e.data)} ${e.message ?? 'is not valid'}`;
    }
    const where = sources.position(path, part);
    const key = `${where.line}:${where.col}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, ...where, path: formatPath(path), message, hint });
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** A missing or unknown property (ajv's `required` and `additionalProperties`), worded alike for
 *  every file umlab validates; an unknown one is added to `path`. null for other keywords. */
export function propertyError(e: ErrorObject, path: PathSegment[]): { message: string; hint: string } | null {
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
    const properties = (e.parentSchema as { properties?: Record<string, { description?: string }> }).properties;
    const about = properties?.[missing]?.description;
    return { message: `missing required property "${missing}"`, hint: about ? `add \`${missing}:\` (${about})` : `add \`${missing}:\`` };
  }
  if (e.keyword === 'additionalProperties') {
    const unknown = String(e.params.additionalProperty);
    path.push(unknown);
    const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
    const guess = didYouMean(unknown, allowed);
    const hint = guess ? `did you mean "${guess}"?` : allowed.length ? `allowed here: ${allowed.join(', ')}` : 'this entry takes no properties';
    return { message: `unknown property "${unknown}"`, hint };
  }
  return null;
}
