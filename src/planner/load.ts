// Loading a lab file: YAML (with source positions) -> JSON-schema check -> Lab model
// -> semantic rules. parseLab is pure and total: any text gives a lab or diagnostics.
//
// Position convention for diagnostics: they point at the YAML node that is wrong:
// the VALUE node when a value is wrong (a connect target, an address, a MAC, a memory
// size, a forward entry), the KEY node when the entry as a whole is wrong (its name is
// bad or taken, a required property is missing from it, it is unknown, it is not
// connected). A missing top-level property points at the start of the document.
//
// The stages live in their own files in topology/: yaml-parse.ts (text -> data + source map),
// schema-errors.ts (ajv), to-model.ts (data -> Lab), rules/ (semantic checks); this file joins
// them with the kinds' registry. Reading the file is runtime/lab-reader.ts's job: no I/O here.
import type { Diagnostic } from '../errors.ts';
import { kindOfSection, KINDS, RULE_KINDS, segmentPath } from '../kinds/index.ts';
import { formatPath } from '../topology/lab-path.ts';
import type { Lab } from '../topology/model.ts';
import type { RawLab } from '../topology/raw.ts';
import { RULES, type Rule, type RuleContext } from '../topology/rules/index.ts';
import { schemaErrors } from '../topology/schema-errors.ts';
import { toModel } from '../topology/to-model.ts';
import { parseYaml } from '../topology/yaml-parse.ts';

/** The shared rules, then each kind's own (src/kinds/<kind>/rules.ts) in registry order; read at each parse, so a registered kind's rules count. */
export const labRules = (): Rule[] => [...RULES, ...KINDS.flatMap((k) => k.rules ?? [])];

/** Parses and validates a lab file's text. Never throws: every input gives a lab or diagnostics.
 *  `rules` is for tests that check one rule alone. */
export function parseLab(text: string, file: string, rules: readonly Rule[] = labRules()): { lab: Lab } | { errors: Diagnostic[] } {
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

  const lab = toModel(data as RawLab, file, kindOfSection);
  const ctx: RuleContext = {
    lab,
    diag: (path, part, message, hint) => ({ file, ...sources.position(path, part), path: formatPath(path), message, hint }),
    lineOf: (path, part = 'key') => sources.position(path, part).line,
    has: (path) => sources.has(path),
    segmentPath,
    kinds: RULE_KINDS,
  };
  const errors = rules.flatMap((rule) => rule(ctx));
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return errors.length > 0 ? { errors } : { lab };
}
