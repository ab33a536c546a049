// Facts about this host that a lab needs: the UML kernel, its modules, the tools.
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingDependencyError } from '../errors.ts';
import type { LabPlan, PlanContext } from '../topology/plan.ts';
import { xstateFacts } from '../vm/xstate-fix.ts';
import { buildShareGuard } from '../vm/share-guard.ts';
import { buildNative, nativeSource } from '../util/native-build.ts';
import type { ViewHelpers } from './host-view.ts';

const UML_MODULES_ROOT = '/usr/lib/uml/modules';

/** Debian package that provides each command umlab runs on the host or in a VM. */
export const REQUIRED_COMMANDS: Record<string, string> = {
  'linux.uml': 'user-mode-linux',
  uml_mconsole: 'uml-utilities',
  ip: 'iproute2',
  unshare: 'util-linux',
  setpriv: 'util-linux',
  nsenter: 'util-linux',
  flock: 'util-linux',
  mount: 'mount',
  base64: 'coreutils',
  stty: 'coreutils',
  insmod: 'kmod',
  modprobe: 'kmod',
  ping: 'iputils-ping',
  'iptables-legacy': 'iptables',
};

export function findCommand(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = (env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/** Throws with the exact apt-get command when something is missing. */
export function checkHostCommands(commands = REQUIRED_COMMANDS): void {
  const missing = Object.entries(commands).filter(([cmd]) => !findCommand(cmd));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))].sort();
  throw new MissingDependencyError(`missing on this host: ${missing.map(([cmd]) => cmd).join(', ')}`, {
    hint: `install them with: sudo apt-get install -y ${packages.join(' ')}   (or run: bash scripts/setup.sh)`,
  });
}

/** A lab's `kernel: { binary }` must be a program this user can run. */
export function checkKernels(plan: LabPlan): void {
  for (const lib of new Set(plan.vms.flatMap((vm) => vm.env?.LD_PRELOAD?.split(':').filter(Boolean) ?? []))) {
    try {
      accessSync(lib, constants.R_OK);
    } catch (cause) {
      throw new MissingDependencyError(`cannot read ${lib}, which umlab preloads into its UML kernels (${(cause as NodeJS.ErrnoException).code})`, {
        cause,
        hint: `make it readable (chmod 755 ${lib}) or remove it so that umlab builds it again`,
      });
    }
  }
  for (const vm of plan.vms) {
    const kernel = vm.argv[0];
    try {
      accessSync(kernel, constants.X_OK);
    } catch (cause) {
      throw new MissingDependencyError(`VM ${vm.name}: cannot run its kernel ${kernel} (${(cause as NodeJS.ErrnoException).code})`, {
        cause,
        hint: "set `kernel: { binary: PATH }` to an executable UML kernel (linux.uml), or leave it out for the host's own",
      });
    }
  }
}

export function umlKernel(env: NodeJS.ProcessEnv = process.env): { kernel: string; kernelVersion: string; modulesDir: string } {
  const kernel = env.UMLAB_KERNEL || findCommand('linux.uml') || '/usr/bin/linux.uml';
  const versions = existsSync(UML_MODULES_ROOT) ? readdirSync(UML_MODULES_ROOT).sort() : [];
  const kernelVersion = versions.at(-1) ?? '6.1';
  return { kernel, kernelVersion, modulesDir: join(UML_MODULES_ROOT, kernelVersion) };
}

export function planContext(runDir: string, env: NodeJS.ProcessEnv = process.env): PlanContext {
  // tcpdump insists on switching users (or chowning its file) as root, which fails in a user namespace.
  // Into every UML process: the share guard; and the register fix where this host needs it.
  const preload = [buildShareGuard(env), xstateFacts(env).preload].filter(Boolean).join(':');
  const lpj = loopsPerJiffy();
  return {
    runDir,
    ...umlKernel(env),
    bridgeCaptures: process.getuid?.() === 0,
    rootless: process.getuid?.() !== 0,
    kernelEnv: { LD_PRELOAD: preload },
    ...(lpj !== undefined && { loopsPerJiffy: lpj }),
  };
}

/** Debian's UML kernel ticks at 100 Hz (CONFIG_HZ=100). */
const UML_HZ = 100;

/** What the UML kernel's delay-loop calibration finds on this host: about one loop per CPU cycle
 *  (22.4 M per jiffy measured at 2096 MHz); undefined where /proc/cpuinfo gives no clock. A value
 *  a few percent off only makes the kernel's udelay() as much shorter or longer. */
export function loopsPerJiffy(cpuinfo = readCpuinfo()): number | undefined {
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  return mhz > 0 ? Math.round((mhz * 1e6) / UML_HZ) : undefined;
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** The native programs the host view needs, built when their source changed. */
export function viewHelpers(env: NodeJS.ProcessEnv = process.env): ViewHelpers {
  return {
    views: buildNative('umlab-views', [], env, nativeSource('views.c')),
    // Static: no dynamic loader to page in, in every VM, through ptrace.
    boot: buildNative('umlab-boot', ['-static'], env, nativeSource('boot.c')),
    agent: buildNative('umlab-agent', ['-static'], env, nativeSource('agent.c')),
  };
}
