// One VM's UML process as the supervisor runs it: writes its init and file layer, spawns
// linux.uml with the plan's env and argv, wires its console, serial lines and agent line,
// waits for READY or FAIL, tracks its state, and stops it (mconsole halt, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { LabRuntimeError } from '../errors.ts';
import type { LabPlan, VmPlan } from '../topology/plan.ts';
import type { LineRelay } from './lines.ts';
import { CappedLog, logMaxBytes } from './log-cap.ts';
import { killGroup, trackProcess } from './processes.ts';
import { syncDisks } from './disk-sync.ts';
import { settlesWithin } from '../util/time.ts';
import { AgentClient } from './agent.ts';
import { awaitReadiness, notReadyMessage } from './readiness.ts';
import { bootSettings, initOptions, vmLayer } from './init.ts';
// Never join(layerDir, path): lab-file paths must not escape the layer (issue 12).
import { writeLayer } from './layer-writer.ts';
import { mconsole as umlMconsole } from './mconsole.ts';
import { guardMissing, SHARE_GUARD_LIBRARY } from './share-guard.ts';

const CONSOLE_TAIL_BYTES = 16 * 1024;
/** How long a VM's `shutdown:` commands may take before it is halted anyway. */
const SHUTDOWN_MS = 10_000;

/** Sends one management-console command to the socket; the unit tests' fake UML gets a stand-in. */
/** A VM's life as status shows it (client/control.ts re-exports it for the protocol). */
export type VmState = 'starting' | 'booting' | 'ready' | 'failed' | 'crashed' | 'stopping' | 'stopped' | 'paused';

export type MconsoleFn = (socket: string, command: string, timeoutMs?: number) => Promise<string>;

/** What a VM's process needs of its lab (the supervisor). */
export interface UmlProcessContext {
  /** The lab's current plan (live rewiring replaces it). */
  labPlan(): LabPlan;
  bootTimeoutMs: number;
  log(message: string): void;
  /** Called after every state change but the silent 'stopping' of stop(). */
  onState(vm: UmlProcess): void;
  mconsole?: MconsoleFn;
}

/** A VM that failed to boot: `up` shows its console tail. */
export class VmBootFailure extends LabRuntimeError {
  constructor(
    readonly vm: string,
    message: string,
  ) {
    super(message);
  }
}

export class UmlProcess {
  state: VmState = 'starting';
  detail?: string;
  proc: ChildProcess | null = null;
  agent: AgentClient | null = null;
  /** The state to go back to on `umlab vm resume`. */
  stateBeforePause?: VmState;
  /** Resolves when the current process has exited (and its exit is handled). */
  exited: Promise<void> = Promise.resolve();
  private log: CappedLog | null = null;
  private consoleTailBytes = Buffer.alloc(0);
  private readonly consoleClients = new Set<Writable>();

  constructor(
    /** Not readonly: `umlab link add|rm` changes the VM's plan. */
    public plan: VmPlan,
    /** The console and serial lines (lines.ts): con0 first. */
    readonly lines: LineRelay[],
    private readonly ctx: UmlProcessContext,
  ) {}

  get name(): string {
    return this.plan.name;
  }

  setState(state: VmState, detail?: string): void {
    // Once halting, only the exit decides (a READY that raced the halt must not make it 'ready').
    if (this.state === 'stopping' && state !== 'stopped' && state !== 'crashed') return;
    this.state = state;
    this.detail = detail;
    this.ctx.onState(this);
  }

  /** Sends a command to the VM's management console. */
  mconsole(command: string, timeoutMs?: number): Promise<string> {
    const socket = join(this.ctx.labPlan().umlDir, this.plan.umid, 'mconsole');
    return (this.ctx.mconsole ?? umlMconsole)(socket, command, timeoutMs);
  }

  /** Collects what the VM writes on its console from now until `stop()`. */
  watchConsole(): { text: () => string; stop: () => void } {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (chunks.push(chunk), done()) });
    this.consoleClients.add(sink);
    return { text: () => Buffer.concat(chunks).toString(), stop: () => void this.consoleClients.delete(sink) };
  }

  /** Starts the UML process; resolves when its agent says READY, rejects with a VmBootFailure. */
  boot(): Promise<void> {
    const vm = this.plan;
    const lab = this.ctx.labPlan();
    mkdirSync(dirname(vm.initPath), { recursive: true });
    // Exactly the init `umlab compile --init` shows; the layer from plan data only.
    writeFileSync(vm.initPath, vm.init, { mode: 0o755 });
    if (vm.image === undefined) writeFileSync(vm.bootSettings, bootSettings(vm, initOptions(lab)));
    writeLayer(vm.layerDir, vmLayer(vm, lab, initOptions(lab)));
    this.log?.end(); // a VM booted again by `umlab vm reboot|start`
    this.log = new CappedLog(vm.consoleLog, logMaxBytes(), (m) => this.ctx.log(m));
    // PDEATHSIG: if the supervisor dies, its VMs die with it instead of running unowned.
    const [kernel, ...args] = vm.argv;
    // fds 5, 6, ...: the serial lines (LinePlan.fds).
    const lineFds = this.lines.filter((l) => l.plan.name !== 'con0').flatMap((l) => l.plan.fds);
    const stdio = Array.from({ length: Math.max(5, ...lineFds.map((fd) => fd + 1)) }, () => 'pipe' as const);
    // `env` sets the UML process's own variables (the register fix): setpriv never loads them.
    const env = Object.entries(vm.env ?? {}).map(([k, v]) => `${k}=${v}`);
    // detached: its own process group, so its UML helper processes can be killed with it.
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...(env.length ? ['env', ...env] : []), kernel, ...args], {
      stdio,
      cwd: lab.runDir,
      detached: true,
    });
    trackProcess(lab.runDir, proc.pid, 'group');
    this.proc = proc;
    this.wireLines(proc);
    const agent = new AgentClient(proc.stdio[3] as Writable, proc.stdio[4] as Readable);
    this.agent = agent;
    this.setState('booting');

    // READY from a VM that is already ready: it rebooted by itself (`reboot`, sysrq b, Ctrl-Alt-Del).
    agent.on('ready', () => {
      if (this.state !== 'ready') return;
      agent.abortPending(new LabRuntimeError(`VM ${vm.name} rebooted while the command ran`));
      this.ctx.log(`VM ${vm.name} rebooted`);
    });
    agent.on('overflow', (err: Error) => {
      this.ctx.log(`VM ${vm.name}: ${err.message}`);
      if (this.state === 'ready' || this.state === 'paused') this.setState('failed', 'agent line overflowed');
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        killGroup(proc.pid); // the helpers UML forked outlive a killed linux.uml otherwise
        agent.close(new LabRuntimeError(`VM ${vm.name} is not running`));
        for (const client of this.consoleClients) client.end();
        for (const line of this.lines) line.detach();
        if (this.state === 'stopping' || this.state === 'stopped') this.setState('stopped');
        // UML exits 0 only when its kernel halted or powered off; a panic ends in SIGABRT.
        else if (code === 0) this.setState('stopped', 'powered off from inside');
        else this.setState('crashed', `exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
        this.proc = null;
        resolve();
      });
    });
    return this.untilReady(proc, agent).then(() => this.whenConditionsHold(agent));
  }

  /** After the agent's READY: the `ready:` conditions (src/vm/readiness.ts), then the state 'ready'. */
  private async whenConditionsHold(agent: AgentClient): Promise<void> {
    const vm = this.plan;
    if (vm.ready.length > 0) {
      let notReady;
      try {
        notReady = await awaitReadiness(
          vm,
          (command) => agent.exec(command),
          (condition) => this.setState('booting', `waiting for ${condition}`),
        );
      } catch (cause) {
        throw new VmBootFailure(vm.name, `VM ${vm.name} stopped answering while it was waiting for its ready: conditions (${(cause as Error).message})`);
      }
      if (notReady) {
        this.setState('failed', `not ready: ${notReady.condition}`);
        throw new VmBootFailure(vm.name, notReadyMessage(vm.name, vm.readyTimeout, notReady));
      }
    }
    this.setState('ready');
  }

  /** Console (fd 0/1, stderr too) and serial lines (fds 5, 6, ...) to their relays. */
  private wireLines(proc: ChildProcess): void {
    const con0 = this.lines.find((l) => l.plan.name === 'con0');
    con0?.attach(proc.stdin!);
    for (const line of this.lines) {
      if (line === con0) continue;
      line.attach(proc.stdio[line.plan.fds[0]] as Writable);
      (proc.stdio[line.plan.fds[1]] as Readable).on('data', (chunk: Buffer) => line.fromVm(chunk));
    }
    const onConsole = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.consoleTailBytes = Buffer.concat([this.consoleTailBytes, chunk]).subarray(-CONSOLE_TAIL_BYTES);
      for (const client of this.consoleClients) client.write(chunk);
      con0?.fromVm(chunk);
    };
    proc.stdout!.on('data', onConsole);
    proc.stderr!.on('data', onConsole);
    proc.stdin!.on('error', () => {});
  }

  /** Resolves when the agent says READY (its configuration and startup are done). */
  private untilReady(proc: ChildProcess, agent: AgentClient): Promise<void> {
    const vm = this.plan;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new VmBootFailure(vm.name, `VM ${vm.name} was not ready after ${this.ctx.bootTimeoutMs / 1000} s`)),
        this.ctx.bootTimeoutMs,
      );
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      agent.once('ready', () =>
        settle(() => {
          // Fail closed: the loader skips a preload it cannot read, and says so only on the console.
          if (guardMissing(vm, proc.pid)) {
            proc.kill('SIGKILL');
            reject(new VmBootFailure(vm.name, `VM ${vm.name}: the share guard is not active in its UML process (${SHARE_GUARD_LIBRARY} not loaded)`));
            return;
          }
          resolve();
        }),
      );
      agent.once('fail', (msg: { step: string; output: string; exitCode: number }) =>
        settle(() => {
          this.setState('failed', `${msg.step}: exit code ${msg.exitCode}`);
          reject(
            new VmBootFailure(
              vm.name,
              `VM ${vm.name}: configuration step failed (exit code ${msg.exitCode}): ${msg.step}` + (msg.output.trim() ? `\n${indent(msg.output.trim())}` : ''),
            ),
          );
        }),
      );
      agent.once('overflow', () => settle(() => reject(new VmBootFailure(vm.name, `VM ${vm.name}: the agent line overflowed during boot`))));
      proc.once('exit', (code, signal) => settle(() => reject(new VmBootFailure(vm.name, `VM ${vm.name} exited during boot (${signal ?? `code ${code}`})`))));
      proc.once('error', (cause) => settle(() => reject(new VmBootFailure(vm.name, `cannot start VM ${vm.name}: ${cause.message}`))));
    });
  }

  /** Halts the VM (its `shutdown:` commands and a sync of its disks first), SIGKILL if it has
   *  not exited 5 s later. Without the shutdown commands: as a kernel that restarts at once. */
  async stop({ shutdownCommands = true } = {}): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    if (this.state === 'paused') await this.mconsole('go').catch(() => {});
    if (this.state === 'ready' && shutdownCommands) await this.runShutdown();
    if (this.state === 'ready' || this.state === 'paused') await syncDisks(this.plan, this.agent); // mconsole halt does not sync
    this.state = 'stopping';
    await this.mconsole('halt', 5000).catch(() => {});
    const exited = await settlesWithin(this.exited, 5000);
    if (!exited) {
      proc.kill('SIGKILL');
      await this.exited;
    }
  }

  /** The VM's `shutdown:` commands, while it still runs; a VM that takes too long is halted all the same. */
  private async runShutdown(): Promise<void> {
    if (!this.agent || this.plan.shutdown.length === 0) return;
    const run = this.agent.exec(this.plan.shutdown.join('\n')).then(
      (r) => r.exitCode !== 0 && this.ctx.log(`${this.plan.name}: shutdown commands exited ${r.exitCode}: ${r.stderr.toString().trim().slice(-500)}`),
      (err: Error) => this.ctx.log(`${this.plan.name}: shutdown commands: ${err.message}`),
    );
    if (!(await settlesWithin(run, SHUTDOWN_MS))) this.ctx.log(`${this.plan.name}: shutdown commands still running after ${SHUTDOWN_MS / 1000} s; halting`);
  }

  /** A client of `umlab console`: gets the console output from now on, until the VM exits. */
  addConsoleClient(client: Writable): void {
    this.consoleClients.add(client);
  }

  removeConsoleClient(client: Writable): void {
    this.consoleClients.delete(client);
  }

  /** Typed on the console by a client. */
  writeConsole(chunk: Buffer): void {
    this.proc?.stdin?.write(chunk);
  }

  /** The last console lines, without kernel stack dumps. */
  consoleTail(lines = 25): string {
    const text = this.consoleTailBytes.toString('utf8');
    // Kernel stack dumps say nothing to a lab user; the lines before them do.
    const useful = text.split(/\r?\n/).filter((l) => !/^\s*(\[<[0-9a-f]+>\]|Stack:|Call Trace:|( ?[0-9a-f]{8}){4})/.test(l));
    return useful.slice(-lines).join('\n');
  }

  /** Ends the console log (teardown). */
  closeLog(): Promise<void> {
    return new Promise<void>((r) => (this.log ? this.log.end(r) : r()));
  }
}

const indent = (s: string) => s.replace(/^/gm, '    ');
