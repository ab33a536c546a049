// `umlab doctor`'s checks: small functions over an injected probe, so unit tests can arrange
// every outcome without touching the machine. The real probe lives in doctor-probe.ts.
import { REQUIRED_COMMANDS } from '../runtime/host.ts';
import { availableMiB, mountFor, umlTempDir } from './proc.ts';
import { umlabHome } from '../runtime/paths.ts';
import { DEFAULT_MEMORY, memoryMiB } from '../topology/model.ts';
import { diagnoseBootFailure, type BootDiagnosis } from '../vm/boot-failures.ts';
import { UML_XSTATE_BYTES } from '../vm/xstate-fix.ts';

export type CheckStatus = 'ok' | 'warn' | 'missing' | 'broken' | 'skipped';

export interface CheckResult {
  id: string;
  name: string;
  status: CheckStatus;
  detail: string;
  /** The exact command (or setting) that fixes it. */
  fix?: string;
  /** How long the check took, where that is news (the test boot). */
  ms?: number;
}

/** What xstate-fix.ts and planContext() say about this host's FPU register size. */
export interface XstateReport {
  hostBytes: number;
  needed: boolean;
  mode: 'auto' | 'on' | 'off';
  /** The library planContext() gives linux.uml as LD_PRELOAD, if any. */
  preload?: string;
}

export interface TestBootResult {
  upMs: number;
  execMs: number;
  downMs: number;
}

/** Everything the checks ask of the machine. */
export interface DoctorProbe {
  isRoot: boolean;
  env: NodeJS.ProcessEnv;
  findCommand(name: string): string | null;
  /** The packages scripts/setup.sh installs (RUNTIME_PACKAGES). */
  runtimePackages(): string[];
  /** Those of `names` that dpkg does not have installed; null without dpkg-query. */
  missingPackages(names: string[]): string[] | null;
  /** Runs a command briefly; ok when it exits 0. */
  run(command: string, args: string[]): { ok: boolean; output: string };
  exists(path: string): boolean;
  /** null when the file opens for reading and writing, else the error code. */
  openError(path: string): string | null;
  writable(dir: string): boolean;
  /** Resolves symlinks; for a path that does not exist yet, its nearest existing ancestor. */
  resolve(path: string): string;
  umlKernel(): { kernel: string; kernelVersion: string; modulesDir: string };
  /** Throws an UmlabError (with a hint) when the fix cannot be built. */
  xstate(): XstateReport;
  /** null when `unshare --user --map-root-user --net` works, else why not. */
  userNamespaces(): Promise<string | null>;
  hasNetAdmin(): boolean;
  mountinfo(): string;
  meminfo(): string;
  /** Boots one VM for real, runs a command in it, stops it; absent with --no-boot. */
  testBoot?: () => Promise<TestBootResult>;
}

type Outcome = Omit<CheckResult, 'id' | 'name'>;

export interface Check {
  id: string;
  name: string;
  /** `earlier`: the results so far (the test boot is skipped when the basics fail). */
  run(probe: DoctorProbe, earlier: CheckResult[]): Outcome | Promise<Outcome>;
}

// Fresh Debian has no sudo: say "as root" instead of prefixing it.
const asRoot = (p: DoctorProbe, command: string) => (p.isRoot ? command : `${command}   (as root)`);
const aptInstall = (p: DoctorProbe, packages: string[]) => asRoot(p, `apt-get install -y ${[...new Set(packages)].sort().join(' ')}`);
const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

/** A directory must be writable and on an exec mount; `why` says what umlab puts there. */
function execDir(p: DoctorProbe, dir: string, why: string, otherwise: string): Outcome {
  const real = p.resolve(dir);
  const mount = mountFor(real, p.mountinfo());
  const where = `${dir}${real !== dir ? ` (${real})` : ''} on ${mount?.mountPoint ?? '?'} (${mount?.fstype ?? '?'})`;
  if (mount?.options.includes('noexec'))
    return {
      status: 'broken',
      detail: `${where} is mounted noexec: ${why}`,
      fix: `${asRoot(p, `mount -o remount,exec ${mount.mountPoint}`)}; or ${otherwise}`,
    };
  if (!p.writable(real)) return { status: 'broken', detail: `${where} is not writable by this user: ${why}`, fix: otherwise };
  return { status: 'ok', detail: `${where}: writable, exec allowed` };
}

/** The console tail out of up's hint (its cause and "run umlab doctor" lines are said otherwise here). */
function consoleOf(hint: string | undefined): string {
  const at = hint?.indexOf('console of') ?? -1;
  return at < 0
    ? (hint?.trim() ?? '')
    : hint!
        .slice(at)
        .replace(/\n?the lab was rolled back[^\n]*\n?$/, '')
        .trimEnd();
}

/** A tool found on the PATH that answers `--version`. */
function tool(p: DoctorProbe, command: string, pkg: string, what: string): Outcome {
  const path = p.findCommand(command);
  if (!path) return { status: 'missing', detail: `${command} not found (${what})`, fix: aptInstall(p, [pkg]) };
  const r = p.run(path, ['--version']);
  if (!r.ok) return { status: 'broken', detail: `${path} --version failed: ${firstLine(r.output)}`, fix: asRoot(p, `apt-get install --reinstall -y ${pkg}`) };
  return { status: 'ok', detail: `${path} (${what})` };
}

const BOOT_NEEDS = ['commands', 'kernel', 'modules', 'compiler', 'xstate'];
/** The check that looks at what a known boot failure points to. */
const DIAGNOSIS_CHECK: Record<BootDiagnosis['id'], string> = { xstate: 'xstate', noexec: 'tempdir', memory: 'memory', modules: 'modules' };

export const CHECKS: Check[] = [
  {
    id: 'commands',
    name: 'host commands',
    run(p) {
      const missing = Object.entries(REQUIRED_COMMANDS).filter(([cmd]) => !p.findCommand(cmd));
      if (missing.length === 0) return { status: 'ok', detail: `all ${Object.keys(REQUIRED_COMMANDS).length} commands umlab runs are on the PATH` };
      return {
        status: 'missing',
        detail: `not found: ${missing.map(([c]) => c).join(', ')}`,
        fix: aptInstall(
          p,
          missing.map(([, pkg]) => pkg),
        ),
      };
    },
  },
  {
    id: 'packages',
    name: 'Debian packages',
    run(p) {
      const wanted = p.runtimePackages();
      const missing = p.missingPackages(wanted);
      if (missing === null) return { status: 'warn', detail: `no dpkg-query: not Debian? umlab wants the equivalents of: ${wanted.join(' ')}` };
      if (missing.length === 0) return { status: 'ok', detail: `the ${wanted.length} packages of scripts/setup.sh are installed` };
      return { status: 'missing', detail: `not installed: ${missing.join(' ')}`, fix: `${aptInstall(p, missing)}   (or: bash scripts/setup.sh)` };
    },
  },
  {
    id: 'kernel',
    name: 'UML kernel',
    run(p) {
      const { kernel } = p.umlKernel();
      const fromEnv = Boolean(p.env.UMLAB_KERNEL);
      if (!p.exists(kernel))
        return {
          status: 'missing',
          detail: `${kernel} does not exist${fromEnv ? ' (UMLAB_KERNEL)' : ''}`,
          fix: fromEnv ? 'unset UMLAB_KERNEL, or point it at a UML kernel binary' : aptInstall(p, ['user-mode-linux']),
        };
      const r = p.run(kernel, ['--version']);
      if (!r.ok)
        return {
          status: 'broken',
          detail: `${kernel} --version failed: ${firstLine(r.output)}`,
          fix: asRoot(p, 'apt-get install --reinstall -y user-mode-linux'),
        };
      return { status: 'ok', detail: `${kernel}, version ${firstLine(r.output)}` };
    },
  },
  {
    id: 'modules',
    name: 'UML kernel modules',
    run(p) {
      const { modulesDir } = p.umlKernel();
      // Every VM's writable root is an overlay: without overlay.ko no VM gets past its init.
      const overlay = `${modulesDir}/kernel/fs/overlayfs/overlay.ko`;
      const fix = asRoot(p, 'apt-get install --reinstall -y user-mode-linux');
      if (!p.exists(modulesDir)) return { status: 'missing', detail: `${modulesDir} does not exist`, fix };
      if (!p.exists(overlay)) return { status: 'missing', detail: `${overlay} is missing (each VM's writable root needs it)`, fix };
      return { status: 'ok', detail: `${modulesDir} (overlay.ko present)` };
    },
  },
  {
    id: 'compiler',
    name: 'C compiler',
    run(p) {
      const cc = p.findCommand('cc');
      // xstate-fix.ts compiles native/xstate-fix.c (and rebuilds it when the source changes).
      if (!cc)
        return {
          status: 'missing',
          detail: 'no cc: umlab builds its UML register fix (native/xstate-fix.c) with it',
          fix: aptInstall(p, ['gcc', 'libc6-dev']),
        };
      return { status: 'ok', detail: `${cc} (builds native/xstate-fix.c)` };
    },
  },
  {
    id: 'xstate',
    name: 'FPU register size',
    run(p) {
      let x: XstateReport;
      try {
        x = p.xstate();
      } catch (err) {
        const e = err as Error & { hint?: string };
        if (/UMLAB_XSTATE_FIX/.test(e.message))
          return { status: 'broken', detail: firstLine(e.message), fix: 'unset UMLAB_XSTATE_FIX (or set it to auto, on or off)' };
        return {
          status: /C compiler/.test(e.message) ? 'missing' : 'broken',
          detail: firstLine(e.message),
          fix: e.hint?.replace(/^.*?: /, '') ?? 'bash scripts/setup.sh',
        };
      }
      const size = `host xstate ${x.hostBytes} bytes, UML 6.1 moves ${UML_XSTATE_BYTES}`;
      if (x.needed && !x.preload)
        return {
          status: 'broken',
          detail: `${size}: too small, and the fix is off (UMLAB_XSTATE_FIX=${x.mode}): every VM aborts with "ptrace set fp regs failed"`,
          fix: 'unset UMLAB_XSTATE_FIX',
        };
      if (x.preload && !p.exists(x.preload)) return { status: 'broken', detail: `${size}: the fix ${x.preload} is not there`, fix: 'bash scripts/setup.sh' };
      if (x.needed) return { status: 'ok', detail: `${size}: too small (CPU with AMX?); the fix ${x.preload} is built and preloaded into linux.uml` };
      return { status: 'ok', detail: `${size}: fits, no fix needed${x.preload ? ` (forced on: ${x.preload} is preloaded anyway)` : ''}` };
    },
  },
  { id: 'tcpdump', name: 'tcpdump', run: (p) => tool(p, 'tcpdump', 'tcpdump', 'captures of links on Linux bridges, as root') },
  { id: 'passt', name: 'passt', run: (p) => tool(p, 'passt', 'passt', 'slirp gateways: NAT from a lab to the host') },
  {
    id: 'userns',
    name: 'user namespaces',
    async run(p) {
      const error = await p.userNamespaces();
      if (!error)
        return { status: 'ok', detail: `unshare --user --net works: labs run rootless${p.isRoot ? ' for other users (as root they get ip netns)' : ''}` };
      const fix = asRoot(p, 'sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000');
      // Root does not need them (labs get `ip netns`); other users cannot run labs without them.
      return {
        status: p.isRoot ? 'warn' : 'broken',
        detail: `unshare --user --net fails: ${firstLine(error)}${p.isRoot ? ' (only root can run labs)' : ''}`,
        fix,
      };
    },
  },
  {
    id: 'tun',
    name: '/dev/net/tun',
    run(p) {
      const tun = '/dev/net/tun';
      if (!p.exists(tun))
        return {
          status: 'missing',
          detail: `${tun} does not exist (tap segments need it)`,
          fix: asRoot(p, 'modprobe tun || { mkdir -p /dev/net && mknod -m 666 /dev/net/tun c 10 200; }'),
        };
      // Opening it is for root or CAP_NET_ADMIN anyway (the device is often 0600): others only get a warning.
      if (!p.isRoot && !p.hasNetAdmin())
        return { status: 'warn', detail: `${tun} present, but tap segments need root or CAP_NET_ADMIN`, fix: 'run labs with taps as root' };
      const error = p.openError(tun);
      if (error)
        return {
          status: 'broken',
          detail: `${tun} cannot be opened: ${error} (a container without access to the device?)`,
          fix: 'give the container the device (docker: --device /dev/net/tun --cap-add NET_ADMIN)',
        };
      return { status: 'ok', detail: `${tun} present, ${p.isRoot ? 'root' : 'CAP_NET_ADMIN'}: tap segments work` };
    },
  },
  {
    id: 'tempdir',
    name: "UML's memory file directory",
    run(p) {
      const dir = umlTempDir(p.env, p.mountinfo());
      const set = ['TMPDIR', 'TMP', 'TEMP'].find((v) => p.env[v]);
      // UML maps guest memory PROT_EXEC from an unlinked file there (HOWTO section 13).
      return execDir(
        p,
        dir,
        "UML maps each VM's memory executable from a file there",
        set ? `export ${set}=/dev/shm` : 'export TMPDIR=<a directory on an exec mount>',
      );
    },
  },
  {
    id: 'rundir',
    name: 'run directory',
    run(p) {
      const home = umlabHome(p.env);
      return execDir(
        p,
        home,
        "umlab keeps each lab's init scripts, sockets and (in a read-only checkout) the register fix there",
        'export UMLAB_HOME=<a directory on an exec mount>',
      );
    },
  },
  {
    id: 'memory',
    name: 'free memory',
    run(p) {
      const avail = availableMiB(p.meminfo());
      const vm = memoryMiB(DEFAULT_MEMORY);
      const need = 2 * vm + 64; // two default VMs and room for the supervisor and engines
      if (avail === null) return { status: 'warn', detail: 'MemAvailable not in /proc/meminfo' };
      const detail = `${avail} MiB available; a lab of two default VMs (${DEFAULT_MEMORY} each) wants ${need} MiB`;
      if (avail < vm + 64) return { status: 'broken', detail, fix: 'free memory on the host, or give the VMs less (mem: 96M in the lab file)' };
      if (avail < need) return { status: 'warn', detail, fix: 'free memory on the host before bigger labs' };
      return { status: 'ok', detail };
    },
  },
  {
    id: 'boot',
    name: 'test boot of one VM',
    async run(p, earlier) {
      if (!p.testBoot) return { status: 'skipped', detail: '--no-boot' };
      const blocking = earlier.filter((r) => BOOT_NEEDS.includes(r.id) && (r.status === 'missing' || r.status === 'broken'));
      if (blocking.length) return { status: 'skipped', detail: `fix ${blocking.map((r) => r.id).join(', ')} first` };
      const started = Date.now();
      try {
        const t = await p.testBoot();
        const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
        return { status: 'ok', detail: `booted and ready in ${s(t.upMs)}, exec ${s(t.execMs)}, down ${s(t.downMs)}; nothing left behind`, ms: t.upMs };
      } catch (err) {
        const e = err as Error & { hint?: string };
        // up's hint names a known cause (boot-failures.ts) and the console tail; point at the matching check.
        const d = diagnoseBootFailure(e.hint ?? e.message);
        return {
          status: 'broken',
          detail: [firstLine(e.message), d && `cause: ${d.cause}`, consoleOf(e.hint)].filter(Boolean).join('\n'),
          fix: d ? `${d.hint} (see the ${DIAGNOSIS_CHECK[d.id]} check)` : 'fix the problems above, then run umlab doctor again',
          ms: Date.now() - started,
        };
      }
    },
  },
];

/** Runs every check in order; `onResult` sees each as it finishes (text output streams). */
export async function runChecks(probe: DoctorProbe, checks = CHECKS, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    let outcome: Outcome;
    try {
      outcome = await check.run(probe, results);
    } catch (err) {
      // A check that throws is a finding about the machine, not a crash of doctor.
      outcome = { status: 'broken', detail: `check failed: ${firstLine((err as Error).message ?? String(err))}` };
    }
    const result = { id: check.id, name: check.name, ...outcome };
    results.push(result);
    onResult?.(result);
  }
  return results;
}

export const failed = (r: CheckResult) => r.status === 'missing' || r.status === 'broken';
