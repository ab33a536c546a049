// Helpers for tests that boot real UML VMs through the umlab CLI. Each test file gets
// its own UMLAB_HOME, so nothing of a user's labs is touched; afterwards every test
// checks that nothing of its labs is left on the host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';
import { netnsName } from '../../src/runtime/namespace.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(ROOT, 'src/cli/main.ts');
export const TSX = import.meta.resolve('tsx');
/** What follows `node` to run umlab: the bundle users run, which bin/umlab first makes fresh from
 *  the sources (tsx loading the sources takes seconds per start; so would each lab's supervisor). */
export const CLI_ARGS: string[] = freshBundle() ?? ['--import', TSX, CLI];

/** The newest mtime of what the bundle is made of (bin/umlab's test). */
function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    const st = statSync(path);
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  for (const top of ['src', 'schema', 'package-lock.json']) visit(join(ROOT, top));
  return newest;
}

function freshBundle(): [string] | null {
  const bundle = join(ROOT, 'dist/cli/main.mjs');
  execFileSync(join(ROOT, 'bin/umlab'), ['--version'], { stdio: 'ignore' });
  // bin/umlab runs the sources through tsx itself when it cannot write dist/.
  return existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource() ? [bundle] : null;
}
export const lab = (name: string) => join(ROOT, 'labs', name);

export function makeHome(prefix = 'umlab-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `umlab ...args` with the given UMLAB_HOME; never throws on a non-zero exit. */
export async function umlab(home: string, args: string[], options: Options & { launcher?: boolean } = {}): Promise<CliResult> {
  const { launcher, env, ...execaOptions } = options;
  const argv = launcher ? [join(ROOT, 'bin/umlab'), ...args] : [process.execPath, ...CLI_ARGS, ...args];
  const r = await execa(argv[0]!, argv.slice(1), {
    reject: false,
    env: { UMLAB_HOME: home, ...(env ?? {}) },
    timeout: 180_000,
    stripFinalNewline: false,
    ...execaOptions,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Like umlab() but fails the test, showing stderr, when the exit code is not `expected`. */
export async function umlabOk(home: string, args: string[], expected = 0, options: Options & { launcher?: boolean } = {}): Promise<CliResult> {
  const r = await umlab(home, args, options);
  assert.equal(r.exitCode, expected, `umlab ${args.join(' ')} exited ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** stdout of a command run in a VM (the command must succeed). */
export async function vmExec(home: string, labName: string, vm: string, command: string): Promise<string> {
  return (await umlabOk(home, ['exec', '--lab', labName, vm, '--', command])).stdout;
}

/** The unprivileged user the rootless tests run umlab as. */
export const NOBODY = 65534;

/** Every process whose command line mentions the given directory. */
export function processesMentioning(dir: string): { pid: number; cmdline: string }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // gone
    }
  }
  return found;
}

async function netnsList(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return String(r.stdout)
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

/** Asserts that nothing of the lab remains: no process, namespace, socket or run directory. */
export async function assertNothingLeft(home: string, labName: string): Promise<void> {
  const runDir = join(home, 'labs', labName);
  const procs = processesMentioning(runDir);
  assert.deepEqual(procs, [], `processes of lab ${labName} are still running`);
  assert.equal(existsSync(runDir), false, `run directory ${runDir} is still there`);
  if (process.getuid?.() === 0) {
    const netns = netnsName(home, labName);
    assert.ok(!(await netnsList()).includes(netns), `netns ${netns} is still there`);
  }
}

/** Stops every lab of this home (best effort) and removes the home. For `after()` hooks. */
export async function cleanHome(home: string): Promise<void> {
  await umlab(home, ['down', '--all']);
  rmSync(home, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries `check` (an assertion) until it passes or `ms` is over, then fails with its last
 *  error: for what arrives a little later (a capture flushed every ~50 ms, a log), without
 *  betting on a fixed sleep. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/** Runs umlab as another (unprivileged) user, every privilege dropped by setpriv. */
export async function umlabAsUser(uid: number, home: string, args: string[]): Promise<CliResult> {
  const r = await execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--', process.execPath, ...CLI_ARGS, ...args], {
    reject: false,
    extendEnv: false,
    env: { UMLAB_HOME: home, HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeout: 180_000,
    stripFinalNewline: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
