// The supervisor owns every process of one lab. It runs inside the lab's network and
// mount namespaces, starts the segment engines and the VMs (src/vm/uml-process.ts), serves
// the control socket (control-server.ts), and on failure or `down` stops everything it started.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { execa } from 'execa';
import { plural } from '../util/text.ts';
import { linkTable, type LabPlan } from '../topology/plan.ts';
import { conditionFields } from '../topology/link-conditions.ts';
import { startSegment } from '../kinds/index.ts';
import type { RunningSegment } from '../kinds/running.ts';
import { UmlProcess, VmBootFailure, type MconsoleFn } from '../vm/uml-process.ts';
import { LinkActions, type RewiringTarget } from './rewiring.ts';
import type { ControlRequest, LabPhase, LabStatus, LinkStatus, ProgressEvent } from '../client/control.ts';
import { ControlServer } from './control-server.ts';
import { vmAction } from './vm-actions.ts';
import { bootInOrder, bootsAtOnce } from './boot-order.ts';
import { prepareLabNamespace, type IsolationMode } from './namespace.ts';
import { hostViewOf, hostViewScript } from './host-view.ts';
import { runFiles } from './paths.ts';
import { LineRelay, lineKey } from '../vm/lines.ts';
import { procStat, trackProcess } from '../vm/processes.ts';
import { linkCaptureFields, type CaptureFault } from './capture-report.ts';
import { closeCaptureHelpers } from '../capture/capture-helper.ts';
import { viewHelpers } from './host.ts';

/** How long a state change waits for the next one while the lab starts (writeStateSoon). */
const STATE_WRITE_DELAY_MS = 200;

export interface SupervisorOptions {
  mode: IsolationMode;
  bootTimeoutMs: number;
  /** Listening sockets of `to: port` lines, inherited from `umlab up`: "vm.line" -> fd. */
  lineFds?: Record<string, number>;
  /** false: no namespace set-up and no host view (unit tests run a fake UML in their own namespaces). */
  hostSetup?: boolean;
  /** Management console stand-in for the unit tests' fake UML (default: uml_mconsole). */
  mconsole?: MconsoleFn;
  /** After `down` has answered (default: exit the process). */
  afterDown?: () => void;
}

export class Supervisor {
  private currentPhase: LabPhase = 'starting';
  private readonly vms = new Map<string, UmlProcess>();
  private segments: RunningSegment[] = [];
  private readonly control: ControlServer;
  private readonly links: LinkActions;
  private readonly files: ReturnType<typeof runFiles>;
  private readonly startedAt = new Date().toISOString();
  private teardownDone: Promise<void> | null = null;
  /** A state file write waiting for the end of a burst of changes (writeStateSoon). */
  private stateWrite: NodeJS.Timeout | null = null;
  /** Captures that miss frames, gathered as the engines stop: told to `down`. */
  private captureFaults: CaptureFault[] = [];
  /** Frames each captured link carried, by capture file name, for `down`'s report of what a file misses. */
  private captureFrames: Record<string, number> = {};

  constructor(
    // Not readonly: `umlab link add|rm` changes the running lab's plan.
    private plan: LabPlan,
    private readonly opts: SupervisorOptions,
  ) {
    this.files = runFiles(plan.runDir);
    const context = {
      labPlan: () => this.plan,
      bootTimeoutMs: opts.bootTimeoutMs,
      log: (m: string) => this.log(m),
      onState: (vm: UmlProcess) => {
        // While the lab starts, VMs change state in a burst: one write per burst (a rename over the
        // file costs ~5 ms on ext4, which flushes the new one first). Later changes are written at once.
        if (this.currentPhase === 'starting') this.writeStateSoon();
        else this.writeState();
        this.progress({ type: 'vm', vm: vm.name, state: vm.state, detail: vm.detail });
      },
      mconsole: opts.mconsole,
    };
    for (const vm of plan.vms) {
      const lineOptions = (name: string) => ({
        log: (m: string) => this.log(m),
        listenFd: opts.lineFds?.[lineKey(vm.name, name)],
        keyFile: this.files.lineKey,
      });
      this.vms.set(
        vm.name,
        new UmlProcess(
          vm,
          vm.lines.map((l) => new LineRelay(vm.name, l, lineOptions(l.name))),
          context,
        ),
      );
    }
    // Joined serial lines: each one's output is the other's input.
    for (const vm of this.vms.values())
      for (const line of vm.lines) {
        const peer = line.plan.peer;
        if (peer) line.peer = this.vms.get(peer.vm)?.lines.find((l) => l.plan.name === peer.line) ?? null;
      }
    this.control = new ControlServer(this.files.control, {
      lab: plan.lab,
      phase: () => this.currentPhase,
      status: () => this.status(),
      vms: () => [...this.vms.values()],
      vmAction: (vm, req) => vmAction(vm, req.action, req.key),
      linkAction: (req: Extract<ControlRequest, { op: 'link' }>) => this.links.run(req),
      down: async () => (await this.teardown(), { captureFaults: this.captureFaults, captureFrames: this.captureFrames }),
      afterDown: opts.afterDown ?? (() => setTimeout(() => process.exit(0), 50)),
    });
    this.links = new LinkActions(this.rewiringTarget());
  }

  /** Brings the lab up. Resolves when every VM is ready; on failure tears everything down and rejects. */
  async start(): Promise<void> {
    await this.control.listen();
    // Our process group (`up` starts us detached): a uml_mconsole or tcpdump orphaned by our SIGKILL is still found by `down`.
    trackProcess(this.plan.runDir, procStat(process.pid)?.pgid, 'group');
    this.writeState();
    try {
      // The view (mounts) and the network (namespace, then engines) do not wait for each other.
      const hostSetup = this.opts.hostSetup !== false;
      const view = hostSetup ? this.buildHostView() : Promise.resolve();
      const network = (async () => {
        if (hostSetup) {
          this.progress({ type: 'step', message: 'preparing the lab network namespace' });
          await prepareLabNamespace();
        }
        await this.startSegments();
      })();
      for (const done of await Promise.allSettled([view, network])) if (done.status === 'rejected') throw done.reason;
      // Consoles and serial lines: logs, ptys and TCP ports before the VMs write to them.
      for (const vm of this.vms.values()) await Promise.all(vm.lines.map((l) => l.start()));
      await bootInOrder(
        [...this.vms.keys()],
        (n) => this.vms.get(n)!.plan.startAfter,
        (n) => this.vms.get(n)!.boot(),
        (n, on) => this.progress({ type: 'step', message: `${n} boots once ${on.join(', ')} ${on.length > 1 ? 'are' : 'is'} ready` }),
        bootsAtOnce(),
      );
      this.currentPhase = 'running';
      this.writeState();
      this.progress({ type: 'ready', status: this.status() });
    } catch (err) {
      this.currentPhase = 'failed';
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

  consoleTail(vm: string, lines = 25): string {
    return this.vms.get(vm)?.consoleTail(lines) ?? '';
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
        ...conditionFields(l),
      };
    });
    return {
      lab: this.plan.lab,
      phase: this.currentPhase,
      supervisorPid: process.pid,
      mode: this.opts.mode,
      runDir: this.plan.runDir,
      startedAt: this.startedAt,
      vms: [...this.vms.values()].map((vm) => ({ name: vm.name, state: vm.state, pid: vm.proc?.pid ?? null, detail: vm.detail })),
      links,
    };
  }

  private async buildHostView(): Promise<void> {
    this.progress({ type: 'step', message: "building the VMs' read-only view of the host (src/runtime/host-view.ts)" });
    await execa('sh', ['-c', hostViewScript(hostViewOf(this.plan), viewHelpers())]);
  }

  private async startSegments(): Promise<void> {
    this.progress({ type: 'step', message: `starting ${plural(this.plan.segments.length, 'segment engine')}` });
    if (this.plan.capture) mkdirSync(this.files.captures, { recursive: true });
    const started = await Promise.allSettled(
      this.plan.segments.map((seg) => startSegment(seg, { log: (m) => this.log(`[${seg.name}] ${m}`), links: linkTable(this.plan.links) })),
    );
    for (const s of started) if (s.status === 'fulfilled') this.segments.push(s.value); // so teardown stops them
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }

  private writeStateSoon(): void {
    this.stateWrite ??= setTimeout(() => this.writeState(), STATE_WRITE_DELAY_MS);
  }

  private writeState(): void {
    clearTimeout(this.stateWrite ?? undefined);
    this.stateWrite = null;
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
    this.control.broadcast(event);
  }

  private log(message: string): void {
    // stdout is supervisor.log: EPIPE or ENOSPC there is not worth dying for.
    try {
      process.stdout.write(`${new Date().toISOString()} ${message}\n`);
    } catch {
      // nowhere left to say it
    }
  }

  /** The supervisor as live rewiring sees it (see rewiring.ts). */
  private rewiringTarget(): RewiringTarget {
    // The getters below are the object's own; `supervisor` is the one they read.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const supervisor = this;
    return {
      get plan() {
        return supervisor.plan;
      },
      segment: (name) => this.segments.find((s) => s.name === name)!,
      vm: (name) => {
        const vm = this.vms.get(name)!;
        return { state: vm.state, agent: vm.agent, running: vm.proc !== null };
      },
      mconsole: (vm, command) => this.vms.get(vm)!.mconsole(command),
      adoptPlan: (plan) => this.adoptPlan(plan),
      linksChanged: () => this.writeState(),
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

  /** Halts every VM, stops the engines (flushing captures). Safe to call more than once. */
  teardown(): Promise<void> {
    this.teardownDone ??= this.doTeardown();
    return this.teardownDone;
  }

  private framesPerCapture(): Record<string, number> {
    return Object.fromEntries(
      this.status()
        .links.filter((l) => l.capture)
        .map((l) => [basename(l.capture!), l.rxFrames + l.txFrames]),
    );
  }

  private async doTeardown(): Promise<void> {
    this.currentPhase = 'stopping';
    this.writeState();
    await Promise.all([...this.vms.values()].map((vm) => vm.stop()));
    this.captureFrames = this.framesPerCapture(); // before the engines stop and their counters go
    await Promise.all(this.segments.map((s) => s.stop().catch((e) => this.log(`stopping segment ${s.name}: ${e}`))));
    await closeCaptureHelpers();
    const bySegment = new Map(this.segments.map((s) => [s.name, s]));
    for (const l of this.plan.links) {
      const h = l.capture ? bySegment.get(l.segment)?.captureHealth?.(l.name) : null;
      if (h) this.captureFaults.push({ ...h, link: l.name, file: l.capture! });
    }
    this.segments = [];
    await Promise.all([...this.vms.values()].flatMap((vm) => vm.lines.map((l) => l.close())));
    await Promise.all([...this.vms.values()].map((vm) => vm.closeLog()));
    this.writeState();
  }
}
