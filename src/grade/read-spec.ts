// Reads the teacher's spec file in either form: kathara-lab-checker's configuration
// (JSON, or YAML with its keys) or umlab's own grading spec (YAML with `tests:`).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LabFileError, NotFoundError } from '../errors.ts';
import { isKlcConfig, parseKlcSpec } from './klc-spec.ts';
import type { GradingSpec } from './spec.ts';
import { parseUmlabSpec } from './umlab-spec.ts';

/** Specs are a few KiB; refuse what is clearly not one. */
const MAX_SPEC_BYTES = 1024 * 1024;

export interface ReadSpec {
  spec: GradingSpec;
  /** Hash of the spec's text: a changed spec grades every submission again under --rerun. */
  hash: string;
}

/** Reads and validates a spec; throws LabFileError (file:line:col, all problems at once). */
export function readSpec(file: string): ReadSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new NotFoundError(`cannot read the grading spec ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (text.length > MAX_SPEC_BYTES) throw new LabFileError([{ file, line: 1, col: 1, path: '', message: `the spec is larger than ${MAX_SPEC_BYTES} bytes` }]);
  const readText = (path: string) => {
    try {
      return readFileSync(resolve(dirname(file), path), 'utf8');
    } catch {
      return undefined;
    }
  };
  const parsed = isKlcConfig(file, text) ? parseKlcSpec(text, file, readText) : parseUmlabSpec(text, file);
  if ('errors' in parsed) throw new LabFileError(parsed.errors);
  return { spec: parsed.spec, hash: createHash('sha256').update(text).digest('hex').slice(0, 16) };
}
