// The supervisor owns every process of one lab. It runs inside the lab's network and
// mount namespaces, starts the segment engines and the VMs, serves the control socket,
// and on failure or `down` stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { plural } from '../util/text.ts';
import { LabRuntimeError, NotFoundError, UmlabError, UsageError } from '../errors.ts';
import type { LabPlan, VmPlan } from '../topology/plan.ts';
import { startSegment } from '../transports/index.ts';
import type { RunningSegment } from '../transports/engines/types.ts';
import { AgentClient } from '../vm/agent.ts';
import { initScript, layerDir, vmLayer } from '../vm/init.ts';
// Never join(layerDir, path): lab-file paths must not escape the layer (issue 12).
import { writeLayer } from '../vm/layer-writer.ts';
import { mconsole, VM_ACTIONS, type VmAction } from '../vm/mconsole.ts';
import { linkOfInterface } from '../topology/rewire.ts';
import { addLink, removeLink, type RewiringTarget } from './rewiring.ts';
import { jsonLines, type ControlRequest, type LinkAction, type Refusal, type LabPhase, type LabStatus, type LinkStatus, type ProgressEvent, type VmState } from './control.ts';
import type { IsolationMode } from './namespace.ts';
import { hostViewOf, hostViewScript } from '../host/host-view.ts';
import { guardMissing, SHARE_GUARD_LIBRARY } from '../vm/share-guard.ts';
import { syncDisks } from './disks.ts';
import { runFiles } from './paths.ts';
import { settlesWithin } from '../util/time.ts';
import { LineRelay, lineKey } from './lines.ts';
import { CappedLog, logMaxBytes } from './log-cap.ts';
import { killGroup, procStat, trackProcess } from './processes.ts';
import { linkCaptureFields, type CaptureFault } from './capture-report.ts';

export interface SupervisorOptions {
  mode: IsolationMode;
  kernelVersion: string;
  modulesDir: string;
  bootTimeoutMs: number;
  /** Listening sockets of `to: port` lines, inherited from `umlab up`: "vm.line" -> fd. */
  lineFds?: Record<string, number>;
}

const CONSOLE_TAIL_BYTES = 16 * 1024;
/** /proc/sys/net is this process's namespace's: the lab's. */
const IPV6_DEFAULT_DISABLE = '/proc/sys/net/ipv6/conf/default/disable_ipv6';

interface VmRuntime {
  plan: VmPlan;
  state: VmState;
  detail?: string;
  proc: ChildProcess | null;
  agent: AgentClient | null;
  log: CappedLog | null;
  consoleTail: Buffer;
  consoleClients: Set<Socket>;
  /** The console and serial lines (lines.ts): con0 first. */
  lines: LineRelay[];
  exited: Promise<void>;
  /** The state to go back to on `umlab vm resume`. */
  stateBeforePause?: VmState;
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
  /** Captures that miss frames, gathered as the engines stop: told to `down`. */
  private captureFaults: CaptureFault[] = [];
  /** Links being added or removed: one change at a time keeps device names, UDP ports and the plan consistent. */
  private rewiring: Promise<unknown> = Promise.resolve();

  constructor(
    // Not readonly: `umlab link add|rm` changes the running lab's plan.
    private plan: LabPlan,
    private readonly opts: SupervisorOptions,
  ) {
    this.files = runFiles(plan.runDir);
    process.stdout.on('error', () => {}); // supervisor.log on a full disk: see log()
    for (const vm of plan.vms)
      this.vms.set(vm.name, {
        plan: vm,
        state: 'starting',
        proc: null,
        agent: null,
        log: null,
        consoleTail: Buffer.alloc(0),
        consoleClients: new Set(),
        lines: vm.lines.map((l) => new LineRelay(vm.name, l, { log: (m) => this.log(m), listenFd: opts.lineFds?.[lineKey(vm.name, l.name)], keyFile: runFiles(plan.runDir).lineKey })),
        exited: Promise.resolve(),
      });
    // Joined serial lines: each one's output is the other's input.
    for (const rt of this.vms.values())
      for (const line of rt.lines) {
        const peer = line.plan.peer;
        if (peer) line.peer = this.vms.get(peer.vm)?.lines.find((l) => l.plan.name === peer.line) ?? null;
      }
  }

  /** Brings the lab up. Resolves when every VM is ready; on failure tears everything down and rejects. */
  async start(): Promise<void> {
    await this.listen();
    // Our process group (`up` starts us detached): a uml_mconsole or tcpdump orphaned by our SIGKILL is still found by `down`.
    trackProcess(this.plan.runDir, procStat(process.pid)?.pgid, 'group');
    this.writeState();
    try {
      this.progress({ type: 'step', message: 'preparing the lab network namespace' });
      await this.prepareNamespace();
      this.progress({ type: 'step', message: "building the VMs' read-only view of the host (src/host/host-view.ts)" });
      await execa('sh', ['-c', hostViewScript(hostViewOf(this.plan))]);
      this.progress({ type: 'step', message: `starting ${plural(this.plan.segments.length, 'segment engine')}` });
      if (this.plan.capture) mkdirSync(this.files.captures, { recursive: true });
      const started = await Promise.allSettled(this.plan.segments.map((seg) => startSegment(seg, { log: (m) => this.log(`[${seg.name}] ${m}`) })));
      for (const s of started) if (s.status === 'fulfilled') this.segments.push(s.value); // so teardown stops them
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      // Consoles and serial lines: logs, ptys and TCP ports before the VMs write to them.
      for (const rt of this.vms.values()) await Promise.all(rt.lines.map((l) => l.start()));
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
    // The bridges and veths created next must stay silent: no IPv6 link-local address, so no
    // router solicitation or MLD report of the host's kernel in a lab segment or its capture.
    if (existsSync(IPV6_DEFAULT_DISABLE)) writeFileSync(IPV6_DEFAULT_DISABLE, '1');
  }

  private bootVm(vm: VmPlan): Promise<void> {
    const rt = this.vms.get(vm.name)!;
    mkdirSync(dirname(vm.initPath), { recursive: true });
    const initOptions = { ...this.opts, nosuidRoot: this.opts.mode === 'userns' };
    writeFileSync(vm.initPath, initScript(vm, this.plan, initOptions), { mode: 0o755 });
    writeLayer(layerDir(vm), vmLayer(vm, this.plan, initOptions));
    rt.log?.end(); // a VM booted again by `umlab vm reboot|start`
    rt.log = new CappedLog(vm.consoleLog, logMaxBytes(), (m) => this.log(m));
    // PDEATHSIG: if the supervisor dies, its VMs die with it instead of running unowned.
    const [kernel, ...args] = vm.argv;
    // fds 5, 6, ...: the serial lines (LinePlan.fds).
    const lineFds = rt.lines.filter((l) => l.plan.name !== 'con0').flatMap((l) => l.plan.fds);
    const stdio = Array.from({ length: Math.max(5, ...lineFds.map((fd) => fd + 1)) }, () => 'pipe' as const);
    // `env` sets the UML process's own variables (the register fix): setpriv never loads them.
    const env = Object.entries(vm.env ?? {}).map(([k, v]) => `${k}=${v}`);
    // detached: its own process group, so its UML helper processes can be killed with it.
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...(env.length ? ['env', ...env] : []), kernel!, ...args], {
      stdio,
      cwd: this.plan.runDir,
      detached: true,
    });
    trackProcess(this.plan.runDir, proc.pid, 'group');
    rt.proc = proc;
    const con0 = rt.lines.find((l) => l.plan.name === 'con0');
    con0?.attach(proc.stdin!);
    for (const line of rt.lines) {
      if (line === con0) continue;
      line.attach(proc.stdio[line.plan.fds[0]] as any);
      (proc.stdio[line.plan.fds[1]] as any).on('data', (chunk: Buffer) => line.fromVm(chunk));
    }
    const onConsole = (chunk: Buffer) => {
      rt.log?.write(chunk);
      rt.consoleTail = Buffer.concat([rt.consoleTail, chunk]).subarray(-CONSOLE_TAIL_BYTES);
      for (const client of rt.consoleClients) client.write(chunk);
      con0?.fromVm(chunk);
    };
    proc.stdout!.on('data', onConsole);
    proc.stderr!.on('data', onConsole);
    proc.stdin!.on('error', () => {});
    const agent = new AgentClient(proc.stdio[3] as any, proc.stdio[4] as any);
    rt.agent = agent;
    this.setVmState(rt, 'booting');

    // READY from a VM that is already ready: it rebooted by itself (`reboot`, sysrq b, Ctrl-Alt-Del).
    agent.on('ready', () => {
      if (rt.state !== 'ready') return;
      agent.abortPending(new LabRuntimeError(`VM ${vm.name} rebooted while the command ran`));
      this.log(`VM ${vm.name} rebooted`);
    });
    agent.on('overflow', (err: Error) => {
      this.log(`VM ${vm.name}: ${err.message}`);
      if (rt.state === 'ready' || rt.state === 'paused') this.setVmState(rt, 'failed', 'agent line overflowed');
    });
    rt.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        killGroup(proc.pid); // the helpers UML forked outlive a killed linux.uml otherwise
        agent.close(new LabRuntimeError(`VM ${vm.name} is not running`));
        for (const client of rt.consoleClients) client.end();
        for (const line of rt.lines) line.detach();
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
          // Fail closed: the loader skips a preload it cannot read, and says so only on the console.
          if (guardMissing(vm, proc.pid)) {
            proc.kill('SIGKILL');
            reject(new VmBootFailure(vm.name, `VM ${vm.name}: the share guard is not active in its UML process (${SHARE_GUARD_LIBRARY} not loaded)`));
            return;
          }
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
      agent.once('overflow', () => settle(() => reject(new VmBootFailure(vm.name, `VM ${vm.name}: the agent line overflowed during boot`))));
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
    const segments = new Map(this.segments.map((s) => [s.name, s]));
    const links: LinkStatus[] = this.plan.links.map((l) => {
      const c = counters.get(l.name);
      // A dead passt or tcpdump behind the link (engines' health): the link is down and says why.
      const health = segments.get(l.segment)?.health?.(l.name) ?? null;
      return {
        ...(health && { fault: health.fault, restarts: health.restarts, lastFault: health.lastFault }),
        // A dead tcpdump or a full disk: the link works, its capture misses frames (capture-report.ts).
        ...linkCaptureFields(segments.get(l.segment)?.captureHealth?.(l.name)),
        link: l.name,
        segment: l.segment,
        capture: l.capture,
        rxFrames: c?.rxFrames ?? 0,
        rxBytes: c?.rxBytes ?? 0,
        txFrames: c?.txFrames ?? 0,
        txBytes: c?.txBytes ?? 0,
        up: (segments.get(l.segment)?.isLinkUp?.(l.name) ?? true) && !health?.fault,
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
    try {
      writeFileSync(tmp, JSON.stringify(this.status(), null, 2));
      // rename is atomic: a reader never sees half a state file.
      renameSync(tmp, this.files.state);
    } catch (err) {
      // A full disk (ENOSPC) must not take the supervisor and its VMs down: the live status is on the control socket.
      this.log(`cannot write ${this.files.state}: ${(err as Error).message}`);
      rmSync(tmp, { force: true });
    }
  }

  private progress(event: ProgressEvent): void {
    this.log(JSON.stringify(event));
    const line = JSON.stringify(event) + '\n';
    for (const w of this.watchers) w.write(line);
  }

  private log(message: string): void {
    // stdout is supervisor.log: EPIPE or ENOSPC there is not worth dying for.
    try {
      process.stdout.write(`${new Date().toISOString()} ${message}\n`);
    } catch {
      // nowhere left to say it
    }
  }

  // ---- control socket ----

  /** The control socket appears under its name only once it listens: `up` waits for the file,
   *  and a connect between bind and listen would be refused. */
  private async listen(): Promise<void> {
    const binding = this.files.control + '.binding';
    rmSync(this.files.control, { force: true });
    rmSync(binding, { force: true });
    this.server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(binding, () => resolve());
    });
    renameSync(binding, this.files.control);
  }

  private serve(sock: Socket): void {
    sock.on('error', () => {});
    let handled = false;
    const onData = jsonLines((req: ControlRequest) => {
      if (handled) return;
      handled = true;
      sock.off('data', onData);
      this.handle(sock, req).catch((err) => reply(sock, errorReply(err)));
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
      case 'vm':
        return this.vmAction(sock, req.vm, req.action, req.key);
      case 'link':
        return this.linkAction(sock, req);
      case 'down':
        await this.teardown();
        reply(sock, { ok: true, captureFaults: this.captureFaults });
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
      return reply(sock, {
        ok: false,
        code: 'not-ready',
        error: `VM ${name} is ${rt.state}${rt.detail ? ` (${rt.detail})` : ''}, it cannot run commands`,
        ...(rt.state === 'paused' && { hint: `resume it with: umlab vm resume ${name}` }),
        ...(rt.proc === null && { hint: `boot it again with: umlab vm start ${name}` }),
      });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => {
      if (timeoutMs) timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      const r = await Promise.race([rt.agent.exec(command), timedOut]);
      if (r === null) return reply(sock, { ok: false, code: 'timeout', error: `command timed out after ${timeoutMs! / 1000} s in VM ${name}` });
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

  // ---- management console and live rewiring ----

  private mconsoleSocket(vm: VmPlan): string {
    return join(this.plan.umlDir, vm.umid, 'mconsole');
  }

  private async vmAction(sock: Socket, name: string, action: VmAction, key?: string): Promise<void> {
    const rt = this.vmOrError(sock, name);
    if (!rt) return;
    if (!VM_ACTIONS.includes(action)) return reply(sock, { ok: false, error: `unknown VM action ${action}` });
    if (action === 'start') {
      if (rt.proc) return reply(sock, { ok: false, error: `VM ${name} is ${rt.state}, it is running already` });
      await this.bootVm(rt.plan);
      return reply(sock, { ok: true, vm: name, action, state: rt.state, output: 'started' });
    }
    if (!rt.proc)
      return reply(sock, { ok: false, code: 'not-ready', error: `VM ${name} is ${rt.state}, it has no management console`, hint: `boot it again with: umlab vm start ${name}` });
    const send = (command: string) => mconsole(this.mconsoleSocket(rt.plan), command);
    const paused = rt.state === 'paused';
    const answer = (output: string) => reply(sock, { ok: true, vm: name, action, state: rt.state, output });
    switch (action) {
      case 'version':
        return answer(await send('version'));
      case 'sysrq':
        if (!key || !/^[0-9a-z]$/.test(key)) return reply(sock, { ok: false, code: 'usage', error: `sysrq needs one key, a letter or digit (got "${key ?? ''}")` });
        return answer(await send(`sysrq ${key}`));
      case 'pause':
        if (paused) return answer('already paused');
        if (rt.state !== 'ready' && rt.state !== 'booting') return reply(sock, { ok: false, error: `VM ${name} is ${rt.state}, it cannot be paused` });
        rt.stateBeforePause = rt.state;
        await send('stop');
        this.setVmState(rt, 'paused');
        return answer('paused: the VM does nothing until `umlab vm resume`');
      case 'resume':
        if (!paused) return reply(sock, { ok: false, error: `VM ${name} is ${rt.state}, not paused` });
        await send('go');
        this.setVmState(rt, rt.stateBeforePause ?? 'ready');
        return answer('resumed');
      case 'halt':
        await this.stopVm(rt);
        return answer('halted');
      case 'reboot':
        // Not mconsole's reboot: UML re-executes itself in place and keeps the old boot's
        // open files (hostfs files, disk locks). A fresh process starts clean.
        await this.stopVm(rt);
        await this.bootVm(rt.plan);
        return answer('rebooted');
      case 'cad': {
        if (paused) await send('go');
        // The init makes Ctrl-Alt-Del reboot at once (kernel.ctrl-alt-del=1), unless the lab's sysctl says otherwise.
        const rebooting = rt.plan.sysctl['kernel.ctrl-alt-del'] !== '0';
        if (rebooting) {
          await syncDisks(rt.plan, rt.agent);
          this.setVmState(rt, 'booting', 'Ctrl-Alt-Del');
          rt.agent?.abortPending(new LabRuntimeError(`VM ${name} rebooted while the command ran`));
        }
        const output = await send('cad');
        if (rebooting) await this.waitReady(rt);
        return answer(output || (rebooting ? 'rebooted' : 'Ctrl-Alt-Del sent'));
      }
    }
  }

  /** Waits for a rebooting VM's agent to say READY again (its init runs anew, same process). */
  private waitReady(rt: VmRuntime): Promise<void> {
    return new Promise((resolve, reject) => {
      const agent = rt.agent!;
      const done = (fn: () => void) => {
        clearTimeout(timer);
        agent.off('ready', onReady);
        agent.off('fail', onFail);
        fn();
      };
      const onReady = () => done(() => (this.setVmState(rt, 'ready'), resolve()));
      const onFail = (msg: { step: string; exitCode: number }) =>
        done(() => {
          this.setVmState(rt, 'failed', `${msg.step}: exit code ${msg.exitCode}`);
          reject(new LabRuntimeError(`VM ${rt.plan.name}: configuration step failed after the reboot: ${msg.step}`));
        });
      const timer = setTimeout(
        () => done(() => reject(new LabRuntimeError(`VM ${rt.plan.name} was not ready ${this.opts.bootTimeoutMs / 1000} s after the reboot`))),
        this.opts.bootTimeoutMs,
      );
      agent.on('ready', onReady);
      agent.on('fail', onFail);
      rt.exited.then(() => done(() => reject(new LabRuntimeError(`VM ${rt.plan.name} exited while rebooting`))));
    });
  }

  private async linkAction(sock: Socket, req: Extract<ControlRequest, { op: 'link' }>): Promise<void> {
    const { action, vm, iface } = req;
    if (action === 'down' || action === 'up') {
      const link = linkOfInterface(this.plan, vm, iface);
      const segment = this.segments.find((s) => s.name === link.segment)!;
      await segment.setLinkUp(link.name, action === 'up');
      this.writeState();
      return reply(sock, { ok: true, link: link.name, up: action === 'up' });
    }
    // One rewiring at a time: each reads the plan the previous one left.
    const change = this.rewiring.then(() =>
      action === 'add'
        ? addLink(this.rewiringTarget(), { vm, iface, segment: req.segment ?? '', addresses: req.addresses ?? [] })
        : removeLink(this.rewiringTarget(), vm, iface),
    );
    this.rewiring = change.catch(() => {});
    const link = await change;
    reply(sock, { ok: true, link, action: action satisfies LinkAction });
  }

  /** The supervisor as live rewiring sees it (see rewiring.ts). */
  private rewiringTarget(): RewiringTarget {
    return {
      plan: this.plan,
      segment: (name) => this.segments.find((s) => s.name === name)!,
      vm: (name) => {
        const rt = this.vms.get(name)!;
        return { state: rt.state, agent: rt.agent, running: rt.proc !== null };
      },
      mconsole: (vm, command) => mconsole(this.mconsoleSocket(this.vms.get(vm)!.plan), command),
      adoptPlan: (plan) => this.adoptPlan(plan),
    };
  }

  /** The lab's plan after live rewiring, also on disk, so `capture`, `test` and `web` see the new links. */
  private adoptPlan(plan: LabPlan): void {
    this.plan = plan;
    for (const vm of plan.vms) this.vms.get(vm.name)!.plan = vm;
    const tmp = this.files.plan + '.tmp';
    writeFileSync(tmp, JSON.stringify(this.plan, null, 2));
    renameSync(tmp, this.files.plan);
    this.writeState();
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
    const bySegment = new Map(this.segments.map((s) => [s.name, s]));
    for (const l of this.plan.links) {
      const h = l.capture ? bySegment.get(l.segment)?.captureHealth?.(l.name) : null;
      if (h) this.captureFaults.push({ ...h, link: l.name, file: l.capture! });
    }
    this.segments = [];
    await Promise.all([...this.vms.values()].flatMap((rt) => rt.lines.map((l) => l.close())));
    await Promise.all([...this.vms.values()].map((rt) => new Promise<void>((r) => (rt.log ? rt.log.end(r) : r()))));
    this.writeState();
  }

  private async stopVm(rt: VmRuntime): Promise<void> {
    const proc = rt.proc;
    if (!proc) return;
    if (rt.state === 'paused') await mconsole(this.mconsoleSocket(rt.plan), 'go').catch(() => {});
    if (rt.state === 'ready' || rt.state === 'paused') await syncDisks(rt.plan, rt.agent); // mconsole halt does not sync
    rt.state = 'stopping';
    await mconsole(this.mconsoleSocket(rt.plan), 'halt', 5000).catch(() => {});
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

/** A refused request: the error's kind travels as `code`, so the CLI exits as it would itself. */
function errorReply(err: unknown): Refusal {
  const code = err instanceof UsageError ? 'usage' : err instanceof NotFoundError ? 'not-found' : undefined;
  const hint = err instanceof UmlabError ? err.hint : undefined;
  return { ok: false, error: err instanceof Error ? err.message : String(err), ...(code && { code }), ...(hint && { hint }) };
}

function reply(sock: Socket, value: unknown): void {
  if (!sock.destroyed) sock.write(JSON.stringify(value) + '\n');
}

const indent = (s: string) => s.replace(/^/gm, '    ');
