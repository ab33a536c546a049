// Loading a lab file: YAML (with source positions) -> JSON-schema check -> Lab model
// -> semantic rules. parseLab is pure and total: any text gives a lab or diagnostics.
//
// Position convention for diagnostics: they point at the YAML node that is wrong:
// the VALUE node when a value is wrong (a connect target, an address, a MAC, a memory
// size, a forward entry), the KEY node when the entry as a whole is wrong (its name is
// bad or taken, a required property is missing from it, it is unknown, it is not
// connected). A missing top-level property points at the start of the document.
//
// The stages live in their own files: yaml-parse.ts (text -> data + source map),
// schema-errors.ts (ajv), to-model.ts (data -> Lab), rules/ (semantic checks).
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LabFileError, NotFoundError, type Diagnostic } from '../errors.ts';
import { segmentPath } from '../kinds/index.ts';
import { formatPath } from './lab-path.ts';
import type { Lab } from './model.ts';
import type { RawLab } from './raw.ts';
import { RULES, type Rule, type RuleContext } from './rules/index.ts';
import { schemaErrors } from './schema-errors.ts';
import { toModel } from './to-model.ts';
import { parseYaml } from './yaml-parse.ts';

/** Parses and validates a lab file's text. Never throws: every input gives a lab or diagnostics.
 *  `rules` is for tests that check one rule alone. */
export function parseLab(text: string, file: string, rules: readonly Rule[] = RULES): { lab: Lab } | { errors: Diagnostic[] } {
  try {
    return parseLabUnsafe(text, file, rules);
  } catch (error) {
    // A bug or a pathological input (e.g. nesting deeper than the stack): still a diagnostic.
    const message = error instanceof Error ? error.message : String(error);
    return {
      errors: [
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: `internal error while loading the lab: ${message}`,
          hint: 'simplify the file around the last change; please report this with the file attached',
        },
      ],
    };
  }
}

function parseLabUnsafe(text: string, file: string, rules: readonly Rule[]): { lab: Lab } | { errors: Diagnostic[] } {
  const parsed = parseYaml(text, file);
  if ('errors' in parsed) return parsed;
  const { data, sources } = parsed;
  const invalid = schemaErrors(data, sources, file);
  if (invalid.length > 0) return { errors: invalid };

  const lab = toModel(data as RawLab, file);
  const ctx: RuleContext = {
    lab,
    diag: (path, part, message, hint) => ({ file, ...sources.position(path, part), path: formatPath(path), message, hint }),
    lineOf: (path, part = 'key') => sources.position(path, part).line,
    has: (path) => sources.has(path),
    segmentPath,
  };
  const errors = rules.flatMap((rule) => rule(ctx));
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return errors.length > 0 ? { errors } : { lab };
}

/** Real labs are a few KiB; parsing stays near a second up to this size. */
export const MAX_LAB_FILE_BYTES = 1024 * 1024;

/** A lab file's text: a regular file of at most MAX_LAB_FILE_BYTES (a FIFO or device never blocks or streams forever). */
async function readLabText(path: string): Promise<string> {
  const refuse = (message: string, cause?: unknown, hint?: string): never => {
    throw new LabFileError([{ file: path, line: 1, col: 1, path: '', message, ...(hint && { hint }) }], { cause });
  };
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new NotFoundError(`no such lab file: ${path}`, { cause: error, hint: 'give the path of a .yaml lab file, e.g. labs/two-hosts.yaml' });
    if (code === 'ENXIO') refuse('the lab file is a socket, not a regular file', error, 'give the path of a .yaml lab file');
    return refuse(`cannot read the lab file: ${(error as Error).message}`, error);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) refuse('the lab file is a directory', undefined, 'give the path of a .yaml lab file inside it');
    if (!st.isFile())
      refuse(
        `the lab file is a ${st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : 'device'}, not a regular file`,
        undefined,
        'save the lab to a file and give its path',
      );
    const tooBig = (size: number) =>
      refuse(
        `the lab file is ${size} bytes, more than the ${MAX_LAB_FILE_BYTES} bytes (1 MiB) a lab file may have`,
        undefined,
        'a lab of a few hundred VMs takes a few dozen KiB: check that this is the right file',
      );
    if (st.size > MAX_LAB_FILE_BYTES) tooBig(st.size);
    // Read one byte past the limit: the file may have grown since stat.
    const buf = Buffer.alloc(MAX_LAB_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > MAX_LAB_FILE_BYTES) tooBig(n);
    return buf.subarray(0, n).toString('utf8');
  } catch (error) {
    if (error instanceof LabFileError) throw error;
    return refuse(`cannot read the lab file: ${(error as Error).message}`, error);
  } finally {
    await handle.close();
  }
}

/** Reads, parses and validates a lab file; throws LabFileError with every diagnostic. */
export async function loadLabFile(path: string): Promise<Lab> {
  const text = await readLabText(path);
  const result = parseLab(text, path);
  if ('errors' in result) throw new LabFileError(result.errors);
  return result.lab;
}
