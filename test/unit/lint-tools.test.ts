// The linters `npm test` runs fail on a violation (issue 20): ESLint and Prettier on code given
// on stdin under a path in the tree (so the project's configuration applies, and no file is
// written), and scripts/lint-architecture.ts pointed (UMLAB_LINT_ROOT) at a tiny src/ tree in a
// temporary directory. Each also passes the same input without the violation, so it is the
// violation that fails it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ROOT } from '../vm/helpers.ts';

const ESLINT = join(ROOT, 'node_modules/eslint/bin/eslint.js');
const PRETTIER = join(ROOT, 'node_modules/prettier/bin/prettier.cjs');
/** Where the probes claim to be: a path the lint and format configurations cover. */
const PROBE_PATH = 'test/unit/lint-probe.ts';

async function run(
  args: string[],
  options: { input?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<{ exitCode: number; output: string }> {
  const r = await execa(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    ...(options.env && { env: options.env }),
    reject: false,
    all: true,
    ...(options.input !== undefined && { input: options.input }),
  });
  return { exitCode: r.exitCode ?? -1, output: String(r.all) };
}

test('ESLint exits non-zero on a violation (an unexplained `any`)', async () => {
  const lint = (code: string) => run([ESLINT, '--stdin', '--stdin-filename', PROBE_PATH], { input: code });
  const [clean, dirty] = await Promise.all([lint('export const x: number = 1;\n'), lint('export const x: any = 1;\n')]);
  assert.equal(clean.exitCode, 0, clean.output);
  assert.equal(dirty.exitCode, 1, dirty.output);
  assert.match(dirty.output, /no-explicit-any/);
});

test('Prettier --check exits non-zero on a badly formatted file', async () => {
  const check = (code: string) => run([PRETTIER, '--check', '--stdin-filepath', PROBE_PATH], { input: code });
  const [clean, dirty] = await Promise.all([check('export const x = { a: 1 };\n'), check('export const  x={a:1}\n')]);
  assert.equal(clean.exitCode, 0, clean.output);
  assert.equal(dirty.exitCode, 1, dirty.output);
});

test('the architecture lint exits non-zero on an import up a layer', async (t) => {
  // UMLAB_LINT_ROOT points the script at a temporary tree (its rules and the kinds' names stay this repository's).
  const root = mkdtempSync(join(tmpdir(), 'umlab-lint-arch-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('src/util/text.ts', 'export const shout = (s: string) => s.toUpperCase();\n');
  write('src/runtime/lab.ts', "import { shout } from '../util/text.ts';\nexport const name = shout('lab');\n");
  const lintTree = () => run(['--import', 'tsx', join(ROOT, 'scripts/lint-architecture.ts')], { env: { UMLAB_LINT_ROOT: root } });

  const clean = await lintTree();
  assert.equal(clean.exitCode, 0, clean.output);

  write('src/util/upward.ts', "import { name } from '../runtime/lab.ts';\nexport const again = name;\n");
  const dirty = await lintTree();
  assert.equal(dirty.exitCode, 1, dirty.output);
  assert.match(dirty.output, /src\/util\/upward\.ts -> src\/runtime\/lab\.ts: util\/ imports runtime\/, a higher layer/);
});
