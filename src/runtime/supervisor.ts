// The supervisor owns every process of one lab. It runs inside the lab's network and
// mount namespaces, starts the segment engines and the VMs, serves the control socket,
// and on failure or `down` stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { LabRuntimeError } from '../errors.ts';
import type { LabPlan, VmPlan } from '../topology/plan.ts';
import { startSegment } from '../transports/index.ts';
import type { RunningSegment } from '../transports/engines/types.ts';
import { AgentClient } from '../vm/agent.ts';
import { initScript, layerDir, vmLayer, type LayerEntry } from '../vm/init.ts';
import { jsonLines, type ControlRequest, type LabPhase, type LabStatus, type LinkStatus, type ProgressEvent, type VmState } from './control.ts';
import type { IsolationMode } from './namespace.ts';
import { readOnlyRootScript } from './namespace.ts';
import { runFiles } from './paths.ts';
import { settlesWithin } from '../util/time.ts';

export interface SupervisorOptions {
  mode: IsolationMode;
  kernelVersion: string;
  modulesDir: string;
  bootTimeoutMs: number;
}

const CONSOLE_TAIL_BYTES = 16 * 1024;

interface VmRuntime {
  plan: VmPlan;
  state: VmState;
  detail?: string;
  proc: ChildProcess | null;
  agent: AgentClient | null;
  log: WriteStream | null;
  consoleTail: Buffer;
  consoleClients: Set<Socket>;
  exited: Promise<void>;
}

export class Supervisor {
  private phase: LabPhase = 'starting';
  private readonly vms = new Map<string, VmRuntime>();
  private segments: RunningSegment[] = [];
  private readonly watchers = new Set<Socket>();
  private server: Server | null = null;
  private readonly files: ReturnType<typeof runFiles>;
  private readonly startedAt = new Date().toISOString();
  private teardownDone: Promise<void> | null = null;

  constructor(
    private readonly plan: LabPlan,
    private readonly opts: SupervisorOptions,
  ) {
    this.files = runFiles(plan.runDir);
    for (const vm of plan.vms)
      this.vms.set(vm.name, {
        plan: vm,
        state: 'starting',
        proc: null,
        agent: null,
        log: null,
        consoleTail: Buffer.alloc(0),
        consoleClients: new Set(),
        exited: Promise.resolve(),
      });
  }

  /** Brings the lab up. Resolves when every VM is ready; on failure tears everything down and rejects. */
  async start(): Promise<void> {
    await this.listen();
    this.writeState();
    try {
      this.progress({ type: 'step', message: 'preparing the lab network namespace' });
      await this.prepareNamespace();
      this.progress({ type: 'step', message: 'confining hostfs to a read-only view of /' });
      await execa('sh', ['-c', readOnlyRootScript(this.plan.rootfs)]);
      this.progress({ type: 'step', message: `starting ${this.plan.segments.length} segment engine(s)` });
      for (const seg of this.plan.segments) {
        if (this.plan.capture) mkdirSync(this.files.captures, { recursive: true });
        this.segments.push(await startSegment(seg, { log: (m) => this.log(`[${seg.name}] ${m}`) }));
      }
      await Promise.all(this.plan.vms.map((vm) => this.bootVm(vm)));
      this.phase = 'running';
      this.writeState();
      this.progress({ type: 'ready', status: this.status() });
    } catch (err) {
      this.phase = 'failed';
      const failure = err instanceof VmBootFailure ? err : null;
      this.progress({
        type: 'failed',
        message: err instanceof Error ? err.message : String(err),
        vm: failure?.vm,
        consoleTail: failure ? this.consoleTail(failure.vm) : undefined,
      });
      await this.teardown();
      throw err;
    }
  }

  private async prepareNamespace(): Promise<void> {
    await execa('ip', ['link', 'set', 'lo', 'up']);
    // Multicast segments use the loopback inside this namespace, never a host interface.
    await execa('ip', ['link', 'set', 'lo', 'multicast', 'on']);
    await execa('ip', ['route', 'add', '224.0.0.0/4', 'dev', 'lo'], { reject: false });
  }

  private bootVm(vm: VmPlan): Promise<void> {
    const rt = this.vms.get(vm.name)!;
    mkdirSync(dirname(vm.initPath), { recursive: true });
    const initOptions = { ...this.opts, nosuidRoot: this.opts.mode === 'userns' };
    writeFileSync(vm.initPath, initScript(vm, this.plan, initOptions), { mode: 0o755 });
    writeLayer(layerDir(vm), vmLayer(vm, this.plan, initOptions));
    rt.log = createWriteStream(vm.consoleLog, { flags: 'a' });
    // PDEATHSIG: if the supervisor dies, its VMs die with it instead of running unowned.
    const [kernel, ...args] = vm.argv;
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', kernel!, ...args], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      cwd: this.plan.runDir,
    });
    rt.proc = proc;
    const onConsole = (chunk: Buffer) => {
      rt.log?.write(chunk);
      rt.consoleTail = Buffer.concat([rt.consoleTail, chunk]).subarray(-CONSOLE_TAIL_BYTES);
      for (const client of rt.consoleClients) client.write(chunk);
    };
    proc.stdout!.on('data', onConsole);
    proc.stderr!.on('data', onConsole);
    proc.stdin!.on('error', () => {});
    const agent = new AgentClient(proc.stdio[3] as any, proc.stdio[4] as any);
    rt.agent = agent;
    this.setVmState(rt, 'booting');

    rt.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        agent.close(new LabRuntimeError(`VM ${vm.name} is not running`));
        for (const client of rt.consoleClients) client.end();
        if (rt.state === 'stopping' || rt.state === 'stopped') this.setVmState(rt, 'stopped');
        else this.setVmState(rt, 'crashed', `exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
        rt.proc = null;
        resolve();
      });
    });

    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new VmBootFailure(vm.name, `VM ${vm.name} was not ready after ${this.opts.bootTimeoutMs / 1000} s`)),
        this.opts.bootTimeoutMs,
      );
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      agent.once('ready', () =>
        settle(() => {
          this.setVmState(rt, 'ready');
          resolve();
        }),
      );
      agent.once('fail', (msg: { step: string; output: string; exitCode: number }) =>
        settle(() => {
          this.setVmState(rt, 'failed', `${msg.step}: exit code ${msg.exitCode}`);
          reject(
            new VmBootFailure(
              vm.name,
              `VM ${vm.name}: configuration step failed (exit code ${msg.exitCode}): ${msg.step}` +
                (msg.output.trim() ? `\n${indent(msg.output.trim())}` : ''),
            ),
          );
        }),
      );
      proc.once('exit', (code, signal) =>
        settle(() => reject(new VmBootFailure(vm.name, `VM ${vm.name} exited during boot (${signal ?? `code ${code}`})`))),
      );
      proc.once('error', (cause) => settle(() => reject(new VmBootFailure(vm.name, `cannot start VM ${vm.name}: ${cause.message}`))));
    });
  }

  private setVmState(rt: VmRuntime, state: VmState, detail?: string): void {
    rt.state = state;
    rt.detail = detail;
    this.writeState();
    this.progress({ type: 'vm', vm: rt.plan.name, state, detail });
  }

  consoleTail(vm: string, lines = 25): string {
    const text = this.vms.get(vm)?.consoleTail.toString('utf8') ?? '';
    // Kernel stack dumps say nothing to a lab user; the lines before them do.
    const useful = text.split(/\r?\n/).filter((l) => !/^\s*(\[<[0-9a-f]+>\]|Stack:|Call Trace:|( ?[0-9a-f]{8}){4})/.test(l));
    return useful.slice(-lines).join('\n');
  }

  status(): LabStatus {
    const counters = new Map(this.segments.flatMap((s) => s.counters().map((c) => [c.link, c] as const)));
    const links: LinkStatus[] = this.plan.links.map((l) => {
      const c = counters.get(l.name);
      return {
        link: l.name,
        segment: l.segment,
        capture: l.capture,
        rxFrames: c?.rxFrames ?? 0,
        rxBytes: c?.rxBytes ?? 0,
        txFrames: c?.txFrames ?? 0,
        txBytes: c?.txBytes ?? 0,
        up: true,
      };
    });
    return {
      lab: this.plan.lab,
      phase: this.phase,
      supervisorPid: process.pid,
      mode: this.opts.mode,
      runDir: this.plan.runDir,
      startedAt: this.startedAt,
      vms: [...this.vms.values()].map((rt) => ({ name: rt.plan.name, state: rt.state, pid: rt.proc?.pid ?? null, detail: rt.detail })),
      links,
    };
  }

  private writeState(): void {
    const tmp = this.files.state + '.tmp';
    writeFileSync(tmp, JSON.stringify(this.status(), null, 2));
    // rename is atomic: a reader never sees half a state file.
    renameSync(tmp, this.files.state);
  }

  private progress(event: ProgressEvent): void {
    this.log(JSON.stringify(event));
    const line = JSON.stringify(event) + '\n';
    for (const w of this.watchers) w.write(line);
  }

  private log(message: string): void {
    process.stdout.write(`${new Date().toISOString()} ${message}\n`);
  }

  // ---- control socket ----

  private listen(): Promise<void> {
    rmSync(this.files.control, { force: true });
    this.server = createServer((sock) => this.serve(sock));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.files.control, () => resolve());
    });
  }

  private serve(sock: Socket): void {
    sock.on('error', () => {});
    let handled = false;
    const onData = jsonLines((req: ControlRequest) => {
      if (handled) return;
      handled = true;
      sock.off('data', onData);
      this.handle(sock, req).catch((err) => reply(sock, { ok: false, error: err instanceof Error ? err.message : String(err) }));
    });
    sock.on('data', onData);
  }

  private async handle(sock: Socket, req: ControlRequest): Promise<void> {
    switch (req.op) {
      case 'status':
        return reply(sock, { ok: true, status: this.status() });
      case 'watch':
        if (this.phase === 'running') return reply(sock, { type: 'ready', status: this.status() });
        this.watchers.add(sock);
        sock.on('close', () => this.watchers.delete(sock));
        for (const rt of this.vms.values()) sock.write(JSON.stringify({ type: 'vm', vm: rt.plan.name, state: rt.state }) + '\n');
        return;
      case 'exec':
        return this.exec(sock, req.vm, req.command, req.timeoutMs);
      case 'console':
        return this.attachConsole(sock, req.vm);
      case 'down':
        await this.teardown();
        reply(sock, { ok: true });
        sock.end();
        this.server?.close();
        rmSync(this.files.control, { force: true });
        setTimeout(() => process.exit(0), 50);
        return;
      default:
        return reply(sock, { ok: false, error: `unknown request ${(req as { op: string }).op}` });
    }
  }

  private vmOrError(sock: Socket, name: string): VmRuntime | null {
    const rt = this.vms.get(name);
    if (!rt) {
      reply(sock, { ok: false, code: 'not-found', error: `no VM named ${name} in lab ${this.plan.lab} (VMs: ${[...this.vms.keys()].join(', ')})` });
      return null;
    }
    return rt;
  }

  private async exec(sock: Socket, name: string, command: string, timeoutMs?: number): Promise<void> {
    const rt = this.vmOrError(sock, name);
    if (!rt) return;
    if (rt.state !== 'ready' || !rt.agent)
      return reply(sock, { ok: false, code: 'not-ready', error: `VM ${name} is ${rt.state}${rt.detail ? ` (${rt.detail})` : ''}, it cannot run commands` });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (timeoutMs) timer = setTimeout(() => reject(new LabRuntimeError(`command timed out after ${timeoutMs / 1000} s in VM ${name}`)), timeoutMs);
    });
    try {
      const r = await Promise.race([rt.agent.exec(command), timeout]);
      reply(sock, { ok: true, exitCode: r.exitCode, stdout: r.stdout.toString('base64'), stderr: r.stderr.toString('base64') });
    } finally {
      clearTimeout(timer);
    }
  }

  private attachConsole(sock: Socket, name: string): void {
    const rt = this.vmOrError(sock, name);
    if (!rt) return;
    if (!rt.proc) return reply(sock, { ok: false, error: `VM ${name} is ${rt.state}` });
    reply(sock, { ok: true });
    rt.consoleClients.add(sock);
    sock.on('data', (chunk) => rt.proc?.stdin?.write(chunk));
    sock.on('close', () => rt.consoleClients.delete(sock));
  }

  // ---- stopping ----

  /** Halts every VM, stops the engines (flushing captures). Safe to call more than once. */
  teardown(): Promise<void> {
    this.teardownDone ??= this.doTeardown();
    return this.teardownDone;
  }

  private async doTeardown(): Promise<void> {
    this.phase = 'stopping';
    this.writeState();
    await Promise.all([...this.vms.values()].map((rt) => this.stopVm(rt)));
    await Promise.all(this.segments.map((s) => s.stop().catch((e) => this.log(`stopping segment ${s.name}: ${e}`))));
    this.segments = [];
    await Promise.all([...this.vms.values()].map((rt) => new Promise<void>((r) => (rt.log ? rt.log.end(r) : r()))));
    this.writeState();
  }

  private async stopVm(rt: VmRuntime): Promise<void> {
    const proc = rt.proc;
    if (!proc) return;
    rt.state = 'stopping';
    const socket = join(this.plan.umlDir, rt.plan.umid, 'mconsole');
    await execa('uml_mconsole', [socket, 'halt'], { reject: false, timeout: 5000 });
    const exited = await settlesWithin(rt.exited, 5000);
    if (!exited) {
      proc.kill('SIGKILL');
      await rt.exited;
    }
  }
}

class VmBootFailure extends LabRuntimeError {
  constructor(
    readonly vm: string,
    message: string,
  ) {
    super(message);
  }
}

/** Writes a VM's file layer (see vmLayer) as a directory tree on the host. */
function writeLayer(dir: string, layer: Record<string, LayerEntry>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, entry] of Object.entries(layer)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    if ('symlink' in entry) symlinkSync(entry.symlink, target);
    else writeFileSync(target, entry.content, { mode: entry.mode ?? 0o644 });
  }
}

function reply(sock: Socket, value: unknown): void {
  if (!sock.destroyed) sock.write(JSON.stringify(value) + '\n');
}

const indent = (s: string) => s.replace(/^/gm, '    ');
