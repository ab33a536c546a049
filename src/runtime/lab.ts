// Lab lifecycle as seen from the CLI: start a supervisor for a plan, find running
// labs by name, stop them and clean up whatever a dead supervisor left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabRuntimeError, NotFoundError, UsageError } from '../errors.ts';
import type { LabPlan } from '../topology/plan.ts';
import { ask, converse, type LabStatus, type ProgressEvent } from './control.ts';
import { checkHostCommands, checkKernels, findCommand } from './host.ts';
import { checkHostSide, setUpTaps, startGateways, undoHostSide } from '../transports/host-side.ts';
import { prepareDisks } from './disks.ts';
import { bindLinePorts, checkLines, LINE_FDS_ENV } from './lines.ts';
import { checkUserNamespaces, createNetns, deleteNetns, inLabNamespace, isolationMode, netnsName, type IsolationMode } from './namespace.ts';
import { archiveDirFor, labsDir, runDirFor, runFiles } from './paths.ts';
import { framesMissedBy, TCPDUMP_LOG_SUFFIX } from '../capture/tcpdump.ts';
import { settlesWithin, sleep } from '../util/time.ts';
import { diagnoseBootFailure, RUN_DOCTOR } from '../vm/boot-failures.ts';

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

/** The pids of processes whose command line mentions this run directory. */
export function processesOf(runDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(runDir + '/') || cmdline.split('\0').includes(runDir)) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

export function listLabs(home: string): LabRecord[] {
  const dir = labsDir(home);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((lab) => {
      const runDir = runDirFor(home, lab);
      const state = readState(runDir);
      return { lab, runDir, state, alive: pidAlive(state?.supervisorPid) };
    });
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
  if (labs.length === 1) return labs[0]!;
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
  checkKernels(plan);
  const mode = isolationMode();
  if (mode === 'userns') await checkUserNamespaces();
  const existing = listLabs(opts.home).find((l) => l.lab === plan.lab);
  if (existing?.alive)
    throw new UsageError(`lab ${plan.lab} is already running`, { hint: `stop it first: umlab down ${plan.lab}` });
  if (existing) await cleanUp(opts.home, existing.runDir, plan.lab, mode, null);
  // Disks, COW files and shares: checked and made before anything of the lab starts.
  prepareDisks(plan);

  const files = runFiles(plan.runDir);
  mkdirSync(plan.runDir, { recursive: true });
  writeFileSync(files.plan, JSON.stringify(plan, null, 2));
  if (mode === 'netns') await createNetns(netnsName(opts.home, plan.lab));
  // passt (slirp gateways) must run in this, the caller's, network namespace: start it before the supervisor.
  await startGateways(plan).catch(async (err) => {
    await cleanUp(opts.home, plan.runDir, plan.lab, mode, null);
    throw err;
  });

  // Console and serial line TCP ports: bound here, in the caller's namespace, and handed to the supervisor.
  const ports = await bindLinePorts(plan).catch(async (err) => {
    await cleanUp(opts.home, plan.runDir, plan.lab, mode, null);
    throw err;
  });
  const logFd = openSync(files.supervisorLog, 'a');
  const argv = inLabNamespace(mode, netnsName(opts.home, plan.lab), [process.execPath, ...NODE_ARGS, SUPERVISOR_MAIN, plan.runDir, mode]);
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: ['ignore', logFd, logFd, ...ports.stdio],
    env: { ...(opts.env ?? process.env), [LINE_FDS_ENV]: ports.env },
  });
  closeSync(logFd);
  ports.close();
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code ?? 1;
      resolve();
    }),
  );
  child.unref();

  let result: LabStatus | null = null;
  let failure: ProgressEvent & { type: 'failed' } | null = null;
  try {
    await waitForSocket(files.control, () => exitCode !== null);
    await converse(files.control, { op: 'watch' }, (event: ProgressEvent) => {
      opts.onProgress?.(event);
      if (event.type === 'ready') result = event.status;
      if (event.type === 'failed') failure = event;
      return event.type === 'ready' || event.type === 'failed';
    });
  } catch (err) {
    failure = { type: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
  if (result) {
    // Taps exist once the VMs are up; their host side lives in this namespace too.
    try {
      await setUpTaps(plan, netnsName(opts.home, plan.lab));
      return result;
    } catch (err) {
      failure = { type: 'failed', message: err instanceof Error ? err.message : String(err) };
      await ask(files.control, { op: 'down' }).catch(() => {});
    }
  }

  // Failed: wait for the supervisor to finish its own teardown, then remove the rest.
  await settlesWithin(exited, 30_000);
  const log = tail(readFileSafe(files.supervisorLog), 15);
  // UMLAB_DEBUG keeps a copy of the failed run directory for inspection.
  if (process.env.UMLAB_DEBUG)
    cpSync(plan.runDir, join(opts.home, `failed-${plan.lab}`), {
      recursive: true,
      filter: (src) => !src.includes('/rootfs') && !statSync(src).isSocket(),
    });
  await cleanUp(opts.home, plan.runDir, plan.lab, mode, null);
  const f = failure as (ProgressEvent & { type: 'failed' }) | null;
  // A known failure (register fix, noexec temp dir, memory, modules) is named before the raw tail.
  const known = f?.consoleTail ? diagnoseBootFailure(f.consoleTail) : null;
  throw new LabRuntimeError(`lab ${plan.lab} failed to start: ${f?.message ?? `the supervisor exited (code ${exitCode})`}`, {
    hint:
      (known ? `cause: ${known.cause}\n${known.hint}\n${RUN_DOCTOR}\n` : '') +
      (f?.consoleTail ? `console of ${f.vm}:\n${indentText(f.consoleTail)}\n` : '') +
      (f ? '' : `supervisor log:\n${indentText(log)}\n`) +
      'the lab was rolled back; nothing of it is left running',
  });
}

export interface DownResult {
  lab: string;
  archive: string | null;
  /** Captures tcpdump could not keep up with: the frames are missing from the file, not from the network. */
  incompleteCaptures: { capture: string; missingFrames: number }[];
}

/** Stops a lab and removes everything of it; captures and console logs move to an archive. */
export async function downLab(home: string, record: LabRecord): Promise<DownResult> {
  const mode: IsolationMode = record.state?.mode ?? isolationMode();
  const files = runFiles(record.runDir);
  if (record.alive) {
    try {
      await ask(files.control, { op: 'down' });
    } catch {
      // an unresponsive supervisor is killed below
    }
    const pid = record.state?.supervisorPid;
    for (let i = 0; i < 100 && pidAlive(pid); i++) await sleep(100);
  }
  const archive = archiveDirFor(home, record.lab);
  const kept = await cleanUp(home, record.runDir, record.lab, mode, archive);
  return { lab: record.lab, archive: kept ? archive : null, incompleteCaptures: kept ? incompleteCaptures(archive) : [] };
}

function incompleteCaptures(archive: string): DownResult['incompleteCaptures'] {
  return readdirSync(archive)
    .filter((f) => f.endsWith(TCPDUMP_LOG_SUFFIX))
    .map((f) => ({ capture: join(archive, f.slice(0, -TCPDUMP_LOG_SUFFIX.length) + '.pcap'), missingFrames: framesMissedBy(readFileSync(join(archive, f), 'utf8')) }))
    .filter((c) => c.missingFrames > 0);
}

/** Kills whatever still runs for this run directory, deletes the namespace, keeps
 *  captures and console logs under `archive` (if given), removes the run directory. */
async function cleanUp(home: string, runDir: string, lab: string, mode: IsolationMode, archive: string | null): Promise<boolean> {
  // Bridges and ip_forward of tap segments: undone while the holder of their namespace still runs.
  await undoHostSide(runDir);
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = processesOf(runDir);
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
  rmSync(runDir, { recursive: true, force: true });
  return kept;
}

function keepArtifacts(runDir: string, archive: string): boolean {
  const files = runFiles(runDir);
  const toKeep: [string, string][] = [];
  if (existsSync(files.captures)) for (const f of readdirSync(files.captures)) toKeep.push([join(files.captures, f), f]);
  if (existsSync(files.vms))
    for (const vm of readdirSync(files.vms)) {
      const log = join(files.vms, vm, 'console.log');
      if (existsSync(log)) toKeep.push([log, `${vm}.console.log`]);
      // Serial line logs (lines.ts), kept when something was written to them.
      for (const f of readdirSync(join(files.vms, vm)))
        if (/^ssl\d+\.log$/.test(f) && statSync(join(files.vms, vm, f)).size > 0) toKeep.push([join(files.vms, vm, f), `${vm}.${f}`]);
    }
  if (toKeep.length === 0) return false;
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

async function waitForSocket(path: string, gaveUp: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(path)) return;
    if (gaveUp()) throw new LabRuntimeError('the supervisor exited before it was ready');
    await sleep(50);
  }
  throw new LabRuntimeError('the supervisor did not open its control socket within 30 s');
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const tail = (text: string, lines: number) => text.trimEnd().split('\n').slice(-lines).join('\n');
const indentText = (s: string) => s.replace(/^/gm, '    ');
