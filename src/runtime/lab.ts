// Lab lifecycle as seen from the CLI: start a supervisor for a plan, find running
// labs by name, stop them and clean up whatever a dead supervisor left behind.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, renameSync, statSync, lstatSync, writeFileSync, cpSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabRuntimeError, NotFoundError, UsageError } from '../errors.ts';
import type { LabPlan, LinePlan } from '../topology/plan.ts';
import type { LabStatus, ProgressEvent } from '../client/control.ts';
import { LabClient } from '../client/lab-client.ts';
import { checkHostCommands, checkKernels, findCommand } from './host.ts';
import { checkMemoryBudget } from './memory-budget.ts';
import { checkHostSide, runHostSide, undoHostSide } from '../kinds/host-side.ts';
import { prepareDisks } from './disks.ts';
import { bindLinePorts, checkLines, LINE_FDS_ENV } from '../vm/lines.ts';
import { checkUserNamespaces, createNetns, deleteNetns, inLabNamespace, isolationMode, netnsName, type IsolationMode } from './namespace.ts';
import { archiveDirFor, labsDir, readPlan, runDirFor, runFiles } from './paths.ts';
import { incompleteCapturesIn, type CaptureFault, type IncompleteCapture, type LinkCaptureFields } from './capture-report.ts';
import { settlesWithin, sleep } from '../util/time.ts';
import { logMaxBytes, rotatedLog } from '../vm/log-cap.ts';
import { labProcesses, trackProcess } from '../vm/processes.ts';
import { diagnoseBootFailure, RUN_DOCTOR } from '../vm/boot-failures.ts';
import { takeUpLock } from './up-lock.ts';
import { readTextOrEmpty } from '../util/files.ts';

// From the sources the supervisor runs through tsx; from the bundle (scripts/bundle.sh) in plain Node.
const BUNDLED = import.meta.url.endsWith('.mjs');
const SUPERVISOR_MAIN = fileURLToPath(new URL(`../runtime/supervisor-main.${BUNDLED ? 'mjs' : 'ts'}`, import.meta.url));
const NODE_ARGS = BUNDLED ? [] : ['--import', import.meta.resolve('tsx')];

export interface LabRecord {
  lab: string;
  runDir: string;
  /** Last state the supervisor wrote, if any. */
  state: LabStatus | null;
  /** Whether the supervisor process is alive. */
  alive: boolean;
}

/** Alive and not a zombie (a zombie's parent may never reap it, e.g. an init that does not). */
export function pidAlive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function readState(runDir: string): LabStatus | null {
  try {
    return JSON.parse(readFileSync(runFiles(runDir).state, 'utf8')) as LabStatus;
  } catch {
    return null;
  }
}

export function listLabs(home: string): LabRecord[] {
  const dir = labsDir(home);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    // Only a missing directory means "no labs": another user's home (EACCES) must say so.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((lab) => !lab.startsWith('.')) // .<lab>.lock files of `up` (takeUpLock)
    .sort()
    .map((lab) => recordOf(home, lab));
}

/** One lab of `home`, without reading the others; undefined when nothing of it is there. */
export function labRecord(home: string, lab: string): LabRecord | undefined {
  return existsSync(runDirFor(home, lab)) ? recordOf(home, lab) : undefined;
}

function recordOf(home: string, lab: string): LabRecord {
  const runDir = runDirFor(home, lab);
  const state = readState(runDir);
  const alive = pidAlive(state?.supervisorPid);
  // A dead supervisor's last state names pids of VMs that died with it: report only live ones.
  if (state && !alive) for (const vm of state.vms) if (!pidAlive(vm.pid)) vm.pid = null;
  return { lab, runDir, state, alive };
}

/** A lab by name; when the name is left out, the only lab there is. */
export function findLab(home: string, name?: string): LabRecord {
  const labs = listLabs(home);
  if (name) {
    const found = labs.find((l) => l.lab === name);
    if (!found)
      throw new NotFoundError(`no lab named ${name} is running`, {
        hint: labs.length ? `running labs: ${labs.map((l) => l.lab).join(', ')}` : 'start one with: umlab up <lab.yaml>',
      });
    return found;
  }
  if (labs.length === 1) return labs[0];
  if (labs.length === 0) throw new NotFoundError('no lab is running', { hint: 'start one with: umlab up <lab.yaml>' });
  throw new UsageError(`${labs.length} labs are running; say which one with --lab NAME`, {
    hint: `running labs: ${labs.map((l) => l.lab).join(', ')}`,
  });
}

export interface UpOptions {
  home: string;
  onProgress?: (event: ProgressEvent) => void;
  env?: NodeJS.ProcessEnv;
}

/** Starts the lab's supervisor and waits until every VM is ready. On failure
 *  nothing of the lab remains and the error carries the failing VM's console tail. */
export async function upLab(plan: LabPlan, opts: UpOptions): Promise<LabStatus> {
  checkHostCommands();
  checkHostSide(plan, (name) => findCommand(name));
  checkLines(plan, (name) => findCommand(name));
  logMaxBytes(opts.env ?? process.env); // a bad UMLAB_LOG_MAX_BYTES is refused before anything starts
  checkKernels(plan);
  checkMemoryBudget(plan, opts.env);
  const mode = isolationMode();
  if (mode === 'userns') await checkUserNamespaces();
  // Two `up` of one name at once: the second one is told so, not "the supervisor exited".
  const release = takeUpLock(opts.home, plan.lab);
  try {
    return await upLocked(plan, opts, mode);
  } finally {
    release();
  }
}

type Failed = ProgressEvent & { type: 'failed' };

/** The supervisor as `up` watches it: its exit, once it comes. */
interface SupervisorChild {
  exited: Promise<void>;
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
}

async function upLocked(plan: LabPlan, opts: UpOptions, mode: IsolationMode): Promise<LabStatus> {
  const hostSide = { labNetns: netnsName(opts.home, plan.lab) };
  const ports = await prepareRun(plan, opts, mode, hostSide);
  const supervisor = startSupervisor(plan, opts, mode, ports);
  const outcome = await readyOrFailure(plan, opts, hostSide, supervisor);
  if ('ready' in outcome) return outcome.ready;
  return rollBack(plan, opts, mode, supervisor, outcome.failure);
}

/** The run directory with the plan, the lab's namespace, the kinds' host side and the line ports. */
async function prepareRun(
  plan: LabPlan,
  opts: UpOptions,
  mode: IsolationMode,
  hostSide: { labNetns: string },
): Promise<Awaited<ReturnType<typeof bindLinePorts>>> {
  const existing = listLabs(opts.home).find((l) => l.lab === plan.lab);
  if (existing?.alive) throw new UsageError(`lab ${plan.lab} is already running`, { hint: `stop it first: umlab down ${plan.lab}` });
  if (existing) await cleanUp(opts.home, existing.runDir, plan.lab, mode, null);
  // Disks, COW files and shares: checked and made before anything of the lab starts.
  prepareDisks(plan);
  mkdirSync(plan.runDir, { recursive: true });
  writeFileSync(runFiles(plan.runDir).plan, JSON.stringify(plan, null, 2));
  if (mode === 'netns') await createNetns(netnsName(opts.home, plan.lab));
  // In this, the caller's, network namespace, before the supervisor: the kinds' host side (passt
  // for slirp gateways), and the console and serial line TCP ports, handed to the supervisor.
  return (async () => {
    await runHostSide('beforeBoot', plan, hostSide);
    return bindLinePorts(plan);
  })().catch(async (err) => {
    await cleanUp(opts.home, plan.runDir, plan.lab, mode, null);
    throw err;
  });
}

/** The supervisor, detached, in the lab's namespaces, with the line ports' descriptors. */
function startSupervisor(plan: LabPlan, opts: UpOptions, mode: IsolationMode, ports: Awaited<ReturnType<typeof bindLinePorts>>): SupervisorChild {
  const logFd = openSync(runFiles(plan.runDir).supervisorLog, 'a');
  const argv = inLabNamespace(mode, netnsName(opts.home, plan.lab), [process.execPath, ...NODE_ARGS, SUPERVISOR_MAIN, plan.runDir, mode]);
  const child = spawn(argv[0], argv.slice(1), {
    detached: true,
    stdio: ['ignore', logFd, logFd, ...ports.stdio],
    env: { ...(opts.env ?? process.env), [LINE_FDS_ENV]: ports.env },
  });
  closeSync(logFd);
  ports.close();
  trackProcess(plan.runDir, child.pid);
  const supervisor: SupervisorChild = { exited: Promise.resolve(), exitCode: null, exitSignal: null };
  supervisor.exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      supervisor.exitCode = code ?? 128;
      supervisor.exitSignal = signal;
      resolve();
    }),
  );
  child.unref();
  return supervisor;
}

/** Watches the supervisor's progress until every VM is ready (then the kinds' host side after
 *  ready) or something failed; on a failure after ready the lab is asked to go down. */
async function readyOrFailure(
  plan: LabPlan,
  opts: UpOptions,
  hostSide: { labNetns: string },
  supervisor: SupervisorChild,
): Promise<{ ready: LabStatus } | { failure: Failed | null }> {
  const files = runFiles(plan.runDir);
  let result: LabStatus | null = null;
  let failure: Failed | null = null;
  try {
    await waitForSocket(files.control, () =>
      supervisor.exitCode === null ? null : supervisor.exitSignal ? `signal ${supervisor.exitSignal}` : `code ${supervisor.exitCode}`,
    );
    await new LabClient(files.control).watch((event: ProgressEvent) => {
      opts.onProgress?.(event);
      if (event.type === 'ready') result = event.status;
      if (event.type === 'failed') failure = event;
      return event.type === 'ready' || event.type === 'failed';
    });
  } catch (err) {
    failure = { type: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
  if (!result) return { failure };
  // The kinds' host side once the VMs are up (taps exist only then), in this namespace too.
  try {
    await runHostSide('afterReady', plan, hostSide);
    return { ready: result };
  } catch (err) {
    await new LabClient(files.control).down().catch(() => {});
    return { failure: { type: 'failed', message: err instanceof Error ? err.message : String(err) } };
  }
}

/** Failed: waits for the supervisor's own teardown, removes the rest, and throws what went wrong. */
async function rollBack(plan: LabPlan, opts: UpOptions, mode: IsolationMode, supervisor: SupervisorChild, failure: Failed | null): Promise<never> {
  await settlesWithin(supervisor.exited, 30_000);
  const { exitCode, exitSignal } = supervisor;
  // A supervisor killed from outside (OOM killer, kill -9) is named as such, with its signal.
  if (failure && exitSignal && !failure.message.includes(exitSignal)) failure.message += ` (the supervisor was killed by signal ${exitSignal})`;
  const log = tail(readTextOrEmpty(runFiles(plan.runDir).supervisorLog), 15);
  // UMLAB_DEBUG keeps a copy of the failed run directory for inspection.
  // lstat and verbatim links: a VM's layer holds links into the VM's own root (the modules
  // link of an image VM) that dangle on the host, and following one threw ENOENT.
  if (process.env.UMLAB_DEBUG)
    cpSync(plan.runDir, join(opts.home, `failed-${plan.lab}`), {
      recursive: true,
      verbatimSymlinks: true,
      // Not the host views (mount points of the host's tree) nor sockets.
      filter: (src) => !src.startsWith(plan.rootfs) && !src.startsWith(runFiles(plan.runDir).views) && !lstatSync(src).isSocket(),
    });
  await cleanUp(opts.home, plan.runDir, plan.lab, mode, null);
  // A known failure (register fix, noexec temp dir, memory, modules) is named before the raw tail.
  const known = failure?.consoleTail ? diagnoseBootFailure(failure.consoleTail) : null;
  throw new LabRuntimeError(
    `lab ${plan.lab} failed to start: ${failure?.message ?? `the supervisor exited (${exitSignal ? `killed by signal ${exitSignal}` : `code ${exitCode}`})`}`,
    {
      hint:
        (known ? `cause: ${known.cause}\n${known.hint}\n${RUN_DOCTOR}\n` : '') +
        (failure?.consoleTail ? `console of ${failure.vm}:\n${indentText(failure.consoleTail)}\n` : '') +
        (failure ? '' : `supervisor log:\n${indentText(log)}\n`) +
        'the lab was rolled back; nothing of it is left running',
    },
  );
}

export interface DownResult {
  lab: string;
  archive: string | null;
  /** Captures that miss frames, and why (capture-report.ts): tcpdump fell behind or was killed, a
   *  full disk, a cut last record. The frames are missing from the file, not from the network. */
  incompleteCaptures: IncompleteCapture[];
}

/** Stops a lab and removes everything of it; captures and console logs move to an archive. */
export async function downLab(home: string, record: LabRecord): Promise<DownResult> {
  const mode: IsolationMode = record.state?.mode ?? isolationMode();
  const files = runFiles(record.runDir);
  // A dead supervisor's last state still names the captures that had failed by then.
  let faults: CaptureFault[] = faultsInState(record.state);
  let frames = framesInState(record.state);
  if (record.alive) {
    try {
      const answer = await new LabClient(files.control).down<{ captureFaults?: CaptureFault[]; captureFrames?: Record<string, number> }>();
      if (answer.ok && answer.captureFaults) faults = answer.captureFaults;
      if (answer.ok && answer.captureFrames) frames = answer.captureFrames;
    } catch {
      // an unresponsive supervisor is killed below
    }
    const pid = record.state?.supervisorPid;
    for (let i = 0; i < 100 && pidAlive(pid); i++) await sleep(100);
  }
  const archive = archiveDirFor(home, record.lab);
  const kept = await cleanUp(home, record.runDir, record.lab, mode, archive);
  return { lab: record.lab, archive: kept ? archive : null, incompleteCaptures: kept ? incompleteCapturesIn(archive, faults, frames) : [] };
}

/** What a dead supervisor's last state says each captured link carried. */
function framesInState(state: LabStatus | null): Record<string, number> {
  return Object.fromEntries((state?.links ?? []).filter((l) => l.capture).map((l) => [basename(l.capture!), l.rxFrames + l.txFrames]));
}

function faultsInState(state: LabStatus | null): CaptureFault[] {
  return (state?.links ?? []).flatMap((l) => {
    const f = l as typeof l & LinkCaptureFields;
    if (!f.captureState || !l.capture) return [];
    return [
      {
        link: l.link,
        file: l.capture,
        state: f.captureState,
        reason: f.captureReason ?? '',
        restarts: f.captureRestarts ?? 0,
        earlierParts: f.captureParts ?? [],
      },
    ];
  });
}

/** Kills whatever still runs for this run directory, deletes the namespace, keeps
 *  captures and console logs under `archive` (if given), removes the run directory. */
async function cleanUp(home: string, runDir: string, lab: string, mode: IsolationMode, archive: string | null): Promise<boolean> {
  // What the kinds' host sides did (bridges, ip_forward of taps): undone while the holder of their namespace still runs.
  await undoHostSide(runDir);
  // Only what the lab started (processes.ts), never a process that merely names the run directory.
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = labProcesses(runDir);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
  if (mode === 'netns') await deleteNetns(netnsName(home, lab));
  let kept = false;
  if (archive) kept = keepArtifacts(runDir, archive);
  // In the background of the event loop: a class server goes on serving while a lab's tree goes.
  await rm(runDir, { recursive: true, force: true });
  return kept;
}

/** The plan a run directory holds, or null when `up` failed before writing it. */
function planIn(runDir: string): LabPlan | null {
  try {
    return readPlan(runDir);
  } catch {
    return null;
  }
}

function keepArtifacts(runDir: string, archive: string): boolean {
  const files = runFiles(runDir);
  const toKeep: [string, string][] = [];
  if (existsSync(files.captures)) for (const f of readdirSync(files.captures)) toKeep.push([join(files.captures, f), f]);
  // The logs the plan names: console logs always, serial line logs (lines.ts) when something was written to them.
  const isKept = (line: LinePlan, f: string) => existsSync(f) && (line.name === 'con0' || statSync(f).size > 0);
  for (const vm of planIn(runDir)?.vms ?? [])
    for (const line of vm.lines) for (const f of [line.log, rotatedLog(line.log)]) if (isKept(line, f)) toKeep.push([f, `${vm.name}.${basename(f)}`]);
  if (toKeep.length === 0) return false;
  // The supervisor's log says why a capture or a VM stopped (a full disk, a dead tcpdump or passt).
  if (existsSync(files.supervisorLog)) toKeep.push([files.supervisorLog, 'supervisor.log']);
  mkdirSync(archive, { recursive: true });
  for (const [from, name] of toKeep) {
    try {
      renameSync(from, join(archive, name));
    } catch {
      cpSync(from, join(archive, name));
    }
  }
  return true;
}

async function waitForSocket(path: string, exitedHow: () => string | null): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(path)) return;
    const how = exitedHow();
    if (how) throw new LabRuntimeError(`the supervisor exited before it was ready (${how})`);
    await sleep(50);
  }
  throw new LabRuntimeError('the supervisor did not open its control socket within 30 s');
}

const tail = (text: string, lines: number) => text.trimEnd().split('\n').slice(-lines).join('\n');
const indentText = (s: string) => s.replace(/^/gm, '    ');
