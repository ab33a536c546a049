// The FPU-state fix for UML 6.1 on hosts with a large XSAVE area (CPUs with AMX):
// native/xstate-fix.c, preloaded into linux.uml only. This module builds it (cached next to
// the bundle, rebuilt when its source changes), asks the host for its xstate size, and
// says whether a VM needs the fix. See the C file for why and how.
import { execFileSync } from 'node:child_process';
import { UsageError } from '../errors.ts';
import { buildNative, nativeSource } from '../util/native-build.ts';

/** Bytes of FPU state Debian 12's UML 6.1 moves per guest process (x87 .. AVX-512, PKRU). */
export const UML_XSTATE_BYTES = 2696;

export const XSTATE_FIX_SOURCE = nativeSource('xstate-fix.c');

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

export function buildXstateFix(env: NodeJS.ProcessEnv = process.env): { library: string; probe: string } {
  return {
    library: buildNative('xstate-fix.so', ['-shared', '-fPIC', '-ldl'], env, XSTATE_FIX_SOURCE),
    probe: buildNative('xstate-probe', ['-DXSTATE_PROBE'], env, XSTATE_FIX_SOURCE),
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
