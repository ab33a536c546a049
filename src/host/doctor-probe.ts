// The real machine behind doctor.ts's checks: files, commands, /proc. Kept thin so the
// checks' logic stays testable with a fake probe.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCommand, planContext, umlKernel } from '../runtime/host.ts';
import { checkUserNamespaces } from '../runtime/namespace.ts';
import { xstateFacts, xstateFixMode } from '../vm/xstate-fix.ts';
import type { DoctorProbe } from './doctor.ts';
import { testBoot } from './test-boot.ts';

// src/host/ and dist/cli/ are both two levels below the project root.
const SETUP_SCRIPT = fileURLToPath(new URL('../../scripts/setup.sh', import.meta.url));

/** RUNTIME_PACKAGES=(...) of scripts/setup.sh: one list of packages, kept there. */
export function parseRuntimePackages(script: string): string[] {
  const m = script.match(/^RUNTIME_PACKAGES=\(([^)]*)\)/m);
  return m ? m[1].split(/\s+/).filter(Boolean) : [];
}

const CAP_NET_ADMIN = 12;

export function realProbe(options: { boot: boolean; env?: NodeJS.ProcessEnv }): DoctorProbe {
  const env = options.env ?? process.env;
  return {
    isRoot: process.getuid?.() === 0,
    env,
    findCommand: (name) => findCommand(name, env),
    runtimePackages: () => (existsSync(SETUP_SCRIPT) ? parseRuntimePackages(readFileSync(SETUP_SCRIPT, 'utf8')) : []),
    missingPackages(names) {
      if (!findCommand('dpkg-query', env)) return null;
      // One dpkg-query for all: a package it does not know is not printed, hence the set.
      const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\\n', ...names], { encoding: 'utf8' });
      const installed = new Set(
        r.stdout
          .split('\n')
          .filter((l) => / ii\s*$/.test(l))
          .map((l) => l.split(' ')[0].split(':')[0]),
      );
      return names.filter((n) => !installed.has(n));
    },
    run(command, args) {
      const r = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
      return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
    },
    exists: existsSync,
    openError(path) {
      try {
        closeSync(openSync(path, 'r+'));
        return null;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? String(err);
      }
    },
    writable(dir) {
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    resolve(path) {
      // UMLAB_HOME may not exist before the first lab: judge the directory it will be made in.
      for (let p = resolve(path); ; p = dirname(p)) {
        if (existsSync(p)) return realpathSync(p);
        if (p === dirname(p)) return p;
      }
    },
    umlKernel: () => umlKernel(env),
    xstate() {
      const mode = xstateFixMode(env);
      // The host's size even when the fix is off (xstateFacts says 0 then).
      const facts = xstateFacts({ ...env, UMLAB_XSTATE_FIX: mode === 'off' ? 'auto' : mode });
      // What `up` will really give linux.uml: planContext decides, doctor only reports.
      const preload = planContext('/nonexistent', env)
        .kernelEnv?.LD_PRELOAD?.split(':')
        .find((lib) => lib.endsWith('/xstate-fix.so'));
      return { hostBytes: facts.hostBytes, needed: facts.needed, mode, ...(preload && { preload }) };
    },
    async userNamespaces() {
      try {
        await checkUserNamespaces();
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    },
    hasNetAdmin() {
      const m = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)/m);
      return m ? (BigInt(`0x${m[1]}`) >> BigInt(CAP_NET_ADMIN)) % 2n === 1n : false;
    },
    mountinfo: () => readFileSync('/proc/self/mountinfo', 'utf8'),
    meminfo: () => readFileSync('/proc/meminfo', 'utf8'),
    ...(options.boot && { testBoot: () => testBoot(env) }),
  };
}
