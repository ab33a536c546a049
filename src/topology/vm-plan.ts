// One VM's plan: its UML argv (root, disks, lines, interfaces, init), its files and what its
// init does. Pure; compile() calls it for every VM once the segments are planned.
import { posix } from 'node:path';
import { UmlabError } from '../errors.ts';
import { BOOT_IN_VIEW, BOOT_SETTINGS_PARAM, IMAGE_BOOTSTRAP_INIT, IMAGE_INIT_PARAM } from './init-script.ts';
import { vmLayout } from './layout.ts';
import { macKey } from './mac.ts';
import { AGENT_LINE, DEFAULT_KERNEL_ARGS, UNUSED_LINES_ARGS, type Lab, type SerialTarget, type Vm, type VmInterface } from './model.ts';
import {
  interfaceKernelArg,
  type DiskPlan,
  type InterfacePlan,
  type LinePlan,
  type PlanContext,
  type ReadyCheckPlan,
  type SharePlan,
  type VmPlan,
} from './plan.ts';
import { describeReadyCondition, parseReadyCondition, readyCommand } from './readiness.ts';

/** "100M" -> bytes (K, M, G, T are powers of 1024). */
export function sizeBytes(size: string): number {
  const power = { K: 1, M: 2, G: 3, T: 4 }[size.slice(-1) as 'K' | 'M' | 'G' | 'T'];
  return Number(size.slice(0, -1)) * 1024 ** power;
}

/** A VM's copy-on-write file over its image, in the lab's disks directory. */
export const cowFile = (disksDir: string, vm: string) => `${disksDir}/${vm}.cow`;

/** The vector device that stands for ethN: vecN (UML's vector driver names its devices so). */
export const vectorDevice = (iface: string) => iface.replace(/^eth/, 'vec');

/** What a VM interface is attached to (compile decides it while planning the segments). */
export interface Attachment {
  segment: string;
  link: string;
  umlArg: string;
  vector: boolean;
}

/** A `ready:` entry (valid: the rules checked it) as the plan holds it. */
function readyCheck(spec: string, timeoutSeconds: number): ReadyCheckPlan {
  const c = parseReadyCondition(spec);
  if ('error' in c) throw new UmlabError(c.error);
  return { condition: describeReadyCondition(c), command: readyCommand(c, timeoutSeconds) };
}

/** What planVm needs of the whole lab. */
export interface VmPlanInput {
  lab: Lab;
  ctx: PlanContext;
  runDir: string;
  umlDir: string;
  disksDir: string;
  macs: Map<string, string>;
  attachment: Map<string, Attachment>;
  serial: Map<string, { name: string; target: SerialTarget }[]>;
}

/** The console (con0 on the supervisor's stdio pipes) and the serial lines (fds 5, 6, 7, ...). */
function planLines(vm: Vm, files: ReturnType<typeof vmLayout>, serial: { name: string; target: SerialTarget }[]): LinePlan[] {
  const con0: LinePlan = {
    name: 'con0',
    device: '/dev/tty0',
    to: vm.console,
    umlArg: 'fd:0,fd:1',
    fds: [0, 1],
    log: files.consoleLog,
    ...(vm.console === 'pty' && { pty: files.consolePty }),
    ...(vm.console === 'port' && vm.consolePort !== undefined && { port: vm.consolePort }),
  };
  const lines = serial.map(({ name, target }, k): LinePlan => {
    const fds: [number, number] = [5 + 2 * k, 6 + 2 * k];
    return {
      name,
      device: `/dev/ttyS${name.slice(3)}`,
      to: target.kind,
      umlArg: `fd:${fds[0]},fd:${fds[1]}`,
      fds,
      log: files.lineLog(name),
      ...(target.kind === 'pty' && { pty: files.linePty(name) }),
      ...(target.kind === 'port' && { port: target.port }),
      ...(target.kind === 'vm' && { peer: { vm: target.vm, line: target.line } }),
    };
  });
  return [con0, ...lines];
}

/** How the VM boots: from the read-only host root, or from its copy-on-write file over its image. */
function bootFrom(vm: Vm, labDir: string, disksDir: string, files: ReturnType<typeof vmLayout>) {
  const image = vm.image === undefined ? undefined : posix.resolve(labDir, vm.image);
  // With an image the VM boots from its copy-on-write file over it instead of the read-only
  // host root; the COW lives with the lab's disks, so the VM's changes survive `down`.
  const rootCow = image === undefined ? undefined : cowFile(disksDir, vm.name);
  // hostfs= in both cases: it confines every hostfs mount (shares, the image's bootstrap) to the read-only view.
  const root =
    image === undefined
      ? [`hostfs=${files.hostView}`, 'rootfstype=hostfs', 'rootflags=/']
      : [`ubd0=${rootCow},${image}`, 'root=/dev/ubda', `hostfs=${files.hostView}`];
  // On the host root, stage 1 is native/boot.c, copied into the lab's view (BOOT_IN_VIEW).
  const init =
    image === undefined
      ? [`init=${BOOT_IN_VIEW}`, `${BOOT_SETTINGS_PARAM}=${files.bootSettings}`]
      : [`init=${IMAGE_BOOTSTRAP_INIT}`, `${IMAGE_INIT_PARAM}=${files.initPath}`];
  return { image, rootCow, root, init };
}

/** Data disks in ubd1, ubd2, ... order, each a file in the lab's disks directory. */
const planDisks = (vm: Vm, disksDir: string) =>
  vm.disks.map((d, i): DiskPlan => ({
    ubd: `ubd${i + 1}`,
    guestDevice: `/dev/ubd${String.fromCharCode('b'.charCodeAt(0) + i)}`,
    file: `${disksDir}/${vm.name}.disk${i + 1}.img`,
    size: d.size,
    bytes: sizeBytes(d.size),
  }));

/** Each interface with its MAC and what compile attached it to. */
function planInterfaces(vm: Vm, interfaces: VmInterface[], macs: Map<string, string>, attachment: Map<string, Attachment>): InterfacePlan[] {
  return interfaces.map((i): InterfacePlan => {
    const key = macKey(vm.name, i.name);
    const attached = attachment.get(key)!;
    const device = attached.vector ? vectorDevice(i.name) : undefined;
    return {
      name: i.name,
      mac: macs.get(key)!,
      addresses: i.addresses,
      dhcp: i.dhcp,
      proxyArp: i.proxyArp,
      link: attached.link,
      umlArg: attached.umlArg,
      ...(device !== undefined && { device }),
    };
  });
}

/** The VM's UML command line, in the order UML reads it. */
function kernelArgv(
  vm: Vm,
  kernel: string,
  umlDir: string,
  boot: ReturnType<typeof bootFrom>,
  disks: DiskPlan[],
  lines: LinePlan[],
  interfaces: InterfacePlan[],
  loopsPerJiffy: number | undefined,
) {
  const { args: extraArgs, skipInitcalls } = vm.kernel;
  return [
    kernel,
    `mem=${vm.memory}`,
    `umid=${vm.name}`,
    `uml_dir=${umlDir}`,
    ...boot.root,
    ...disks.map((d) => `${d.ubd}=${d.file}`),
    'ro',
    'quiet',
    ...(skipInitcalls.length > 0 ? [`initcall_blacklist=${skipInitcalls.join(',')}`] : []),
    ...DEFAULT_KERNEL_ARGS,
    ...(loopsPerJiffy !== undefined ? [`lpj=${loopsPerJiffy}`] : []),
    ...extraArgs,
    ...boot.init,
    ...lines.filter((l) => l.name === 'con0').map((l) => `con0=${l.umlArg}`),
    ...UNUSED_LINES_ARGS,
    ...lines.filter((l) => l.name !== 'con0').map((l) => `${l.name}=${l.umlArg}`),
    // The agent's line: the last of the kernel's 64, so ssl1... stay free for the lab.
    `${AGENT_LINE}=fd:3,fd:4`,
    ...interfaces.map(interfaceKernelArg),
  ];
}

/** One VM of the lab, its interfaces (those point-to-point links created included) in ethN order. */
export function planVm(vm: Vm, interfaces: VmInterface[], input: VmPlanInput): VmPlan {
  const { lab, ctx, runDir, umlDir, disksDir } = input;
  const files = vmLayout(runDir, vm.name);
  const lines = planLines(vm, files, input.serial.get(vm.name) ?? []);
  const labDir = posix.dirname(lab.source);
  const boot = bootFrom(vm, labDir, disksDir, files);
  const disks = planDisks(vm, disksDir);
  const shares = vm.shares.map((s): SharePlan => ({ mountPoint: s.mountPoint, hostPath: posix.resolve(labDir, s.path), rw: s.rw }));
  const interfacePlans = planInterfaces(vm, interfaces, input.macs, input.attachment);
  const kernel = vm.kernel.binary === undefined ? ctx.kernel : posix.resolve(labDir, vm.kernel.binary);
  return {
    name: vm.name,
    umid: vm.name,
    memory: vm.memory,
    // The host's kernel skips its delay-loop calibration (0.05-0.3 s of busy looping per boot); a lab's own kernel calibrates.
    argv: kernelArgv(vm, kernel, umlDir, boot, disks, lines, interfacePlans, vm.kernel.binary === undefined ? ctx.loopsPerJiffy : undefined),
    env: { ...ctx.kernelEnv },
    hostView: files.hostView,
    initPath: files.initPath,
    bootSettings: files.bootSettings,
    init: '', // filled in by withInits, from the whole plan
    layerDir: files.layerDir,
    consoleLog: files.consoleLog,
    lines,
    ...(boot.image !== undefined && { image: boot.image, rootCow: boot.rootCow }),
    disks,
    shares,
    interfaces: interfacePlans,
    routes: vm.routes,
    sysctl: vm.sysctl,
    files: vm.files,
    startup: vm.startup,
    shutdown: vm.shutdown,
    startAfter: vm.startAfter,
    ready: vm.ready.map((spec) => readyCheck(spec, vm.readyTimeout)),
    readyTimeout: vm.readyTimeout,
  };
}
