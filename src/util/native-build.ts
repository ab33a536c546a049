// Builds umlab's small C helpers (native/*.c: the register fix, the share guard) with cc, cached
// next to the bundle in dist/native/ and rebuilt when their source or flags change.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MissingDependencyError } from '../errors.ts';
import { readTextOrEmpty } from './files.ts';

// src/util/ and dist/cli/ are both two levels below the project root.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where umlab keeps what it builds (`kind`: native, schema): dist/<kind> next to the bundle, or
 *  a per-user cache when the project tree is not writable (a second account using a shared checkout). */
export function buildDir(kind: string, env: NodeJS.ProcessEnv = process.env): string {
  const shared = join(ROOT, 'dist', kind);
  try {
    mkdirSync(shared, { recursive: true });
    accessSync(shared, constants.W_OK);
    chmodSync(shared, 0o755); // umlab's umask is 077; other users' labs load from here too
    return shared;
  } catch {
    const own = join(env.UMLAB_HOME ?? join(env.HOME ?? '/tmp', '.local/state/umlab'), kind);
    mkdirSync(own, { recursive: true });
    return own;
  }
}

/** The path of a C file in native/. */
export const nativeSource = (file: string) => join(ROOT, 'native', file);

/** Compiles one artifact of a C file in native/ unless one built from the same source and flags
 *  exists; returns its path. It goes to dist/native next to the bundle, or to a per-user cache
 *  when the project tree is not writable (a second account using a shared checkout). */
export function buildNative(name: string, flags: string[], env: NodeJS.ProcessEnv, source: string): string {
  // By content, not mtime: a tree copied with its old times over a newer build must not keep a
  // stale helper (an agent that no longer understands the init script fails every boot).
  const key = createHash('sha256').update(readFileSync(source)).update(JSON.stringify(flags)).digest('hex');
  const fresh = (file: string) => existsSync(file) && readTextOrEmpty(`${file}.source-sha256`) === key;
  const shared = join(ROOT, 'dist/native', name);
  if (fresh(shared)) return shared;
  const out = join(buildDir('native', env), name);
  if (out !== shared && fresh(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync('cc', ['-O2', '-Wall', ...flags, '-o', tmp, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Readable by all: other users' labs preload it too (the loader skips what it cannot read).
    chmodSync(tmp, 0o755);
    renameSync(tmp, out); // a umlab starting meanwhile sees the old file or the new one
    // What it was built from; readable by all, as the artifact, so other users' labs use it too.
    writeFileSync(`${out}.source-sha256`, key);
    chmodSync(`${out}.source-sha256`, 0o644);
  } catch (err) {
    rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MissingDependencyError(`no C compiler (cc) to build ${source}, which umlab preloads into its UML kernels`, {
        cause: err,
        hint: 'install one with: apt-get install -y gcc libc6-dev   (or run: bash scripts/setup.sh)',
      });
    }
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new MissingDependencyError(`could not build ${source}${stderr ? `:\n${stderr}` : ''}`, {
      cause: err,
      hint: 'the C library headers may be missing: apt-get install -y gcc libc6-dev',
    });
  }
  return out;
}
