// Builds umlab's small C helpers (native/*.c: the register fix, the share guard) with cc, cached
// next to the bundle in dist/native/ and rebuilt when their source is newer.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MissingDependencyError } from '../errors.ts';

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

/** Compiles one artifact of a C file in native/ unless an up-to-date one exists; returns its
 *  path. It goes to dist/native next to the bundle, or to a per-user cache when the project
 *  tree is not writable (a second account using a shared checkout). */
export function buildNative(name: string, flags: string[], env: NodeJS.ProcessEnv, source: string): string {
  const fresh = (file: string) => existsSync(file) && statSync(file).mtimeMs >= statSync(source).mtimeMs;
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
