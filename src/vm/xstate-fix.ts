// The FPU-state fix for UML 6.1 on hosts with a large XSAVE area (CPUs with AMX):
// native/xstate-fix.c, preloaded into linux.uml only. This module builds it (cached next to
// the bundle, rebuilt when its source changes), asks the host for its xstate size, and
// says whether a VM needs the fix. See the C file for why and how.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MissingDependencyError, UsageError } from '../errors.ts';

/** Bytes of FPU state Debian 12's UML 6.1 moves per guest process (x87 .. AVX-512, PKRU). */
export const UML_XSTATE_BYTES = 2696;

// src/vm/ and dist/cli/ are both two levels below the project root.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const XSTATE_FIX_SOURCE = join(ROOT, 'native/xstate-fix.c');

export interface XstateFacts {
  /** The host's NT_X86_XSTATE size as ptrace sees it (what a SETREGSET must give). */
  hostBytes: number;
  /** Whether UML's fixed buffer is too small for this host. */
  needed: boolean;
  /** The library to preload into linux.uml, when it is needed (or forced). */
  preload?: string;
}

/** `UMLAB_XSTATE_FIX`: auto (default) preloads the fix where the host needs it; on always
 *  (so hosts without AMX exercise it too); off never. */
export type XstateFixMode = 'auto' | 'on' | 'off';

export function xstateFixMode(env: NodeJS.ProcessEnv = process.env): XstateFixMode {
  const mode = env.UMLAB_XSTATE_FIX ?? 'auto';
  if (mode === 'auto' || mode === 'on' || mode === 'off') return mode;
  throw new UsageError(`UMLAB_XSTATE_FIX must be auto, on or off, not ${JSON.stringify(mode)}`);
}

/** Compiles one artifact of a C file in native/ unless an up-to-date one exists; returns its
 *  path. It goes to dist/native next to the bundle, or to a per-user cache when the project
 *  tree is not writable (a second account using a shared checkout). */
export function buildNative(name: string, flags: string[], env: NodeJS.ProcessEnv, source = XSTATE_FIX_SOURCE): string {
  const fresh = (file: string) => existsSync(file) && statSync(file).mtimeMs >= statSync(source).mtimeMs;
  const shared = join(ROOT, 'dist/native', name);
  if (fresh(shared)) return shared;
  let out = shared;
  try {
    mkdirSync(dirname(shared), { recursive: true });
    accessSync(dirname(shared), constants.W_OK);
    chmodSync(dirname(shared), 0o755); // umlab's umask is 077; other users' labs load from here too
  } catch {
    out = join(env.UMLAB_HOME ?? join(env.HOME ?? '/tmp', '.local/state/umlab'), 'native', name);
    if (fresh(out)) return out;
    mkdirSync(dirname(out), { recursive: true });
  }
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

export function buildXstateFix(env: NodeJS.ProcessEnv = process.env): { library: string; probe: string } {
  return {
    library: buildNative('xstate-fix.so', ['-shared', '-fPIC', '-ldl'], env),
    probe: buildNative('xstate-probe', ['-DXSTATE_PROBE'], env),
  };
}

let cached: { key: string; facts: XstateFacts } | undefined;

/** Measures the host (once per process) and decides whether VMs get the fix. */
export function xstateFacts(env: NodeJS.ProcessEnv = process.env): XstateFacts {
  const mode = xstateFixMode(env);
  if (mode === 'off') return { hostBytes: 0, needed: false };
  if (cached?.key === mode) return cached.facts;
  const { library, probe } = buildXstateFix(env);
  const hostBytes = Number(execFileSync(probe, { encoding: 'utf8' }).trim());
  const needed = hostBytes > UML_XSTATE_BYTES;
  const facts: XstateFacts = { hostBytes, needed, ...((needed || mode === 'on') && { preload: library }) };
  cached = { key: mode, facts };
  return facts;
}
