// The YAML stage of loading: text -> JS data plus a source map, refusing what would hang or
// crash the parser (deep nesting, alias bombs) and reporting syntax errors with positions.
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { Diagnostic } from '../errors.ts';
import { aliasOffset, SourceMap } from './source-map.ts';

/** yaml's measure of alias expansion ("billion laughs"); resolving aliases is linear, so this
 *  bounds only the size of the expanded lab. */
export const MAX_ALIAS_COUNT = 5_000;

/** Lab files nest a few levels; the yaml parser exhausts the stack near 1000, after which
 *  V8 can abort the whole process on the next deep parse. Refuse deep nesting up front. */
export const MAX_NESTING = 200;

/** Offset where an over-estimate of the nesting depth passes MAX_NESTING, or -1.
 *  Depth ~ indentation + inline "- ", "? ", ": " indicators + open flow brackets. */
function tooDeepAt(text: string): number {
  let flow = 0;
  let inline = 0;
  let indent = 0;
  let indenting = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      [inline, indent, indenting] = [0, 0, true];
      continue;
    }
    if (indenting && (c === ' ' || c === '\t')) indent++;
    else indenting = false;
    if (c === '[' || c === '{') flow++;
    else if ((c === ']' || c === '}') && flow > 0) flow--;
    else if ((c === '-' || c === '?' || c === ':') && text[i + 1] === ' ') inline++;
    if (flow + indent + inline > MAX_NESTING) return i;
  }
  return -1;
}

/** Parses a lab file's text into plain data and its source map, or the diagnostics of why not. */
export function parseYaml(text: string, file: string): { data: unknown; sources: SourceMap } | { errors: Diagnostic[] } {
  const lines = new LineCounter();
  const deep = tooDeepAt(text);
  if (deep >= 0) {
    const before = text.slice(0, deep);
    const line = before.split('\n').length;
    const col = deep - before.lastIndexOf('\n');
    const message = `the document nests deeper than ${MAX_NESTING} levels`;
    return {
      errors: [
        { file, line, col, path: '', message, hint: 'a lab file needs only a few levels of nesting: check for unclosed [ or { and runaway indentation' },
      ],
    };
  }
  // yaml's own uniqueKeys compares each key with every earlier one: quadratic in a big map.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const yamlErrors = [...doc.errors, ...duplicateKeys(doc)].sort((a, b) => a.pos[0] - b.pos[0]);
  if (yamlErrors.length > 0) {
    const errors = yamlErrors.map((e): Diagnostic => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { file, line, col, path: '', message: `YAML: ${e.message}`, hint: yamlHint(e.code) };
    });
    // Unclosed nested brackets give one identical error per level: report it once.
    return { errors: errors.filter((e, i) => errors.findIndex((o) => o.line === e.line && o.col === e.col && o.message === e.message) === i) };
  }
  const sources = new SourceMap(doc, lines);
  // yaml's toJS still looks each alias up in a list of all of them: bound their number first.
  if (sources.aliasCount > MAX_ALIAS_COUNT) {
    const { line, col } = lines.linePos(sources.aliasOffset(MAX_ALIAS_COUNT));
    return {
      errors: [
        {
          file,
          line,
          col,
          path: '',
          message: `YAML: more than ${MAX_ALIAS_COUNT} aliases (*name)`,
          hint: 'write the entries out, or share fewer of them with anchors',
        },
      ],
    };
  }
  let data: unknown;
  try {
    // Aliases could expand exponentially ("billion laughs"): yaml caps the expansion.
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // toJS throws for an alias without anchor and for too many alias expansions.
    const { line, col } = lines.linePos(aliasOffset(doc));
    const message = `YAML: ${error instanceof Error ? error.message : String(error)}`;
    return { errors: [{ file, line, col, path: '', message, hint: 'define each anchor (&name) before its alias (*name), and keep aliases few' }] };
  }
  return { data, sources };
}

/** The DUPLICATE_KEY errors yaml's uniqueKeys gives (a scalar key equal to an earlier one), in one pass per map. */
function duplicateKeys(doc: Document): { pos: [number, number]; code: string; message: string }[] {
  const out: { pos: [number, number]; code: string; message: string }[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          const start = pair.key.range?.[0] ?? 0;
          out.push({ pos: [start, start + 1], code: 'DUPLICATE_KEY', message: 'Map keys must be unique' });
        }
        seen.add(pair.key.value);
      }
    },
  });
  return out;
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each name may appear once in a map; rename or merge the two entries';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation: entries of one map start in the same column';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'MULTIPLE_DOCS':
      return 'a lab file holds one document: remove the extra `---`';
    default:
      return 'fix the YAML syntax at this position';
  }
}
