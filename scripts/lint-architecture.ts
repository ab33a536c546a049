// Architecture lint (issues 13 and 20): no import cycles among src/ files, no src/ file over
// MAX_LINES, no segment kind switched on outside src/kinds/, no import up a layer and no file
// I/O in the pure folders, except the listed debts below, which may only shrink. Exit 1 lists offenders.
// Run: node --import tsx scripts/lint-architecture.ts
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { kindWords } from '../src/kinds/index.ts';

// UMLAB_LINT_ROOT: another tree to check with these rules (the lint's own test checks a tiny one).
const ROOT = process.env.UMLAB_LINT_ROOT ?? resolve(dirname(new URL(import.meta.url).pathname), '..');
const MAX_LINES = 400;

// Files over MAX_LINES today, with their line count then: the allowance may only go down
// (lower it when a file shrinks) and the list must shrink to nothing (issue 13).
const LINE_BASELINE: Record<string, number> = {};

// Import cycles that exist today, each as the set of files in it: a cycle may lose files,
// never gain one, and the list must shrink to nothing (issue 13).
const CYCLE_ALLOWLIST: string[][] = [];

// Segment kinds (and their engines) are named in comparisons and `case` labels only inside
// src/kinds/ (each kind's folder, one registry); everywhere else asks the registry. The schema
// (schema/lab.schema.json) is not under src/. The names (kinds and their engines) come from the
// registry itself. A regex, not a parser: a kind name in a comparison or a case label, either side of ===, !==, ==, !=.
const KIND_NAMES = kindWords();
const KIND_WORD = `['"\`](?:${KIND_NAMES.join('|')})['"\`]`;
const KIND_SWITCH = new RegExp(`(?:[!=]==?\\s*${KIND_WORD})|(?:${KIND_WORD}\\s*[!=]==?)|(?:\\bcase\\s+${KIND_WORD}\\s*:)`, 'g');
// Files outside src/kinds/ that may still name a kind so, each with why. Nothing today.
const KIND_SWITCH_ALLOWLIST: Record<string, string> = {};

// The folders of src/ from the bottom up: a file may import its own folder and the folders of
// lower layers, never a higher layer or a neighbour on its own layer (src/errors.ts counts as util/).
const LAYERS: string[][] = [
  ['util'],
  ['topology'],
  ['capture'],
  ['vm'],
  ['kinds'],
  // A lab file to a plan with the kinds' rules and planners (parseLab, compile, rewire).
  ['planner'],
  ['client'],
  ['runtime'],
  ['host', 'checks', 'kathara', 'web'],
  // umlab grade, a user of everything below.
  ['grade'],
  // A class on one server (umlab class): grades its hand-ins with grade/ (class/grading.ts).
  ['class'],
  ['cli'],
];
// Imports up a layer that exist today, as 'importer -> imported': the list may only shrink (issue 20).
const LAYER_BASELINE: string[] = [];

// Folders that stay pure (docs/architecture.md, "rules of the house"): no file or process I/O.
const PURE_FOLDERS = ['topology', 'planner'];
const IO_MODULE = /^\s*import\b[^'";]*?\bfrom\s*['"](node:fs|node:fs\/promises|node:child_process|node:net|execa)['"]/gm;
// Files in a pure folder that still do I/O today: the list may only shrink (issue 20).
const IO_BASELINE: string[] = [];

/** Every .ts file under src/, as paths relative to the repository. */
function sourceFiles(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

// Static `import ... from` / `export ... from` / `import '...'`, type-only ones included
// (they tie files together for the reader all the same); dynamic import() is the lazy way
// out and is not counted.
const IMPORT = /^\s*(?:(?:import|export)\b[^'";]*?\bfrom\s*|import\s*)['"](\.{1,2}\/[^'"]+)['"]/gm;

function importsOf(file: string, text: string, known: Set<string>): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), m[1]!));
    if (known.has(target)) out.add(target);
  }
  return [...out];
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)!.includes(v)) out.push(scc.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** One shortest import path from the knot's first file back to itself, to show where to cut. */
function shortestLoop(graph: Map<string, string[]>, scc: string[]): string[] {
  const start = scc[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.includes(w) || previous.has(w)) continue;
      previous.set(w, v);
      if (w === start) {
        const path = [v];
        for (let at = v; at !== start;) path.unshift((at = previous.get(at)!));
        return [...path, start];
      }
      queue.push(w);
    }
  }
  return scc;
}

const files = sourceFiles().sort();
const known = new Set(files);
const texts = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
const problems: string[] = [];
const notes: string[] = [];

for (const [file, text] of texts) {
  // Lines as wc -l counts them.
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const allowed = LINE_BASELINE[file] ?? MAX_LINES;
  if (lines > allowed)
    problems.push(
      `${file}: ${lines} lines, over ${allowed === MAX_LINES ? `the limit of ${MAX_LINES}` : `its baseline allowance of ${allowed} (it may only shrink)`}`,
    );
  else if (file in LINE_BASELINE && lines < allowed)
    notes.push(`${file}: ${lines} lines, ${lines <= MAX_LINES ? 'remove it from' : 'lower its allowance in'} LINE_BASELINE`);
}
for (const file of Object.keys(LINE_BASELINE)) if (!known.has(file)) notes.push(`${file}: gone, remove it from LINE_BASELINE`);

const graph = new Map(files.map((f) => [f, importsOf(f, texts.get(f)!, known)]));
const found = cycles(graph);
for (const scc of found) {
  const allowed = CYCLE_ALLOWLIST.find((group) => scc.every((f) => group.includes(f)));
  if (!allowed) problems.push(`import cycle among ${scc.length} files (${scc.join(', ')}), e.g. ${shortestLoop(graph, scc).join(' -> ')}`);
}
for (const group of CYCLE_ALLOWLIST)
  if (!found.some((scc) => scc.some((f) => group.includes(f)))) notes.push(`cycle ${group.join(' <-> ')} is gone: remove it from CYCLE_ALLOWLIST`);

for (const [file, text] of texts) {
  if (file.startsWith('src/kinds/') || file in KIND_SWITCH_ALLOWLIST) continue;
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(KIND_SWITCH))
      problems.push(`${file}:${i + 1}: switches on a segment kind (${m[0].trim()}): ask the kind registry (src/kinds/index.ts) instead`);
  });
}
for (const file of Object.keys(KIND_SWITCH_ALLOWLIST)) if (!known.has(file)) notes.push(`${file}: gone, remove it from KIND_SWITCH_ALLOWLIST`);

const folderOf = (file: string) => (file.split('/').length > 2 ? file.split('/')[1]! : 'util');
const layerOf = (folder: string) => LAYERS.findIndex((layer) => layer.includes(folder));
for (const folder of new Set(files.map(folderOf))) if (layerOf(folder) < 0) problems.push(`src/${folder}/: not in LAYERS, give it a layer`);
const upEdges = new Set<string>();
for (const [file, targets] of graph)
  for (const target of targets) {
    const [from, to] = [folderOf(file), folderOf(target)];
    if (from === to || layerOf(to) < layerOf(from)) continue;
    const edge = `${file} -> ${target}`;
    upEdges.add(edge);
    if (!LAYER_BASELINE.includes(edge))
      problems.push(
        `${edge}: ${from}/ imports ${to}/, ${layerOf(to) === layerOf(from) ? 'a neighbour on its own layer' : 'a higher layer'} (LAYERS); move the shared part down`,
      );
  }
for (const edge of LAYER_BASELINE) if (!upEdges.has(edge)) notes.push(`${edge} is gone: remove it from LAYER_BASELINE`);

const ioFiles = new Set<string>();
for (const [file, text] of texts) {
  if (!PURE_FOLDERS.includes(folderOf(file))) continue;
  for (const m of text.matchAll(IO_MODULE)) {
    ioFiles.add(file);
    if (!IO_BASELINE.includes(file)) problems.push(`${file}: imports ${m[1]} in a pure folder; do the I/O in the caller and pass the result in`);
  }
}
for (const file of IO_BASELINE) if (!ioFiles.has(file)) notes.push(`${file} does no I/O any more: remove it from IO_BASELINE`);

for (const note of notes) console.log(`note: ${note}`);
if (problems.length > 0) {
  console.error(`architecture: ${problems.length} problem(s) (see scripts/lint-architecture.ts, issues 13 and 20):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(
  `architecture: ${files.length} files, no new import cycle, none over ${MAX_LINES} lines beyond the baseline, no segment kind switched on outside src/kinds/, no new import up a layer (${upEdges.size} in the baseline), no new I/O in ${PURE_FOLDERS.join(', ')}/`,
);
