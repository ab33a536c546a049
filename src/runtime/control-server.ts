// The supervisor's side of the control socket (<runDir>/control.sock, protocol in
// control.ts): listens, reads one request per connection and dispatches it to the lab
// (status, watch, exec, console, vm and link actions, down). Refusals carry a code the
// CLI turns into its exit code.
import { renameSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { ExecTimeoutError, NotFoundError, UmlabError, UsageError } from '../errors.ts';
import type { UmlProcess } from '../vm/uml-process.ts';
import { jsonLines, type ControlReply, type ControlRequest, type LabPhase, type LabStatus, type ProgressEvent, type Refusal } from '../client/control.ts';

/** What the control server needs of the running lab (the supervisor). */
export interface ControlTarget {
  readonly lab: string;
  phase(): LabPhase;
  status(): LabStatus;
  vms(): UmlProcess[];
  vmAction(vm: UmlProcess, req: Extract<ControlRequest, { op: 'vm' }>): Promise<ControlReply>;
  linkAction(req: Extract<ControlRequest, { op: 'link' }>): Promise<ControlReply>;
  /** Stops the lab; resolves with the `down` answer's fields. */
  down(): Promise<Record<string, unknown>>;
  /** After `down` has answered and the socket is gone. */
  afterDown(): void;
}

export class ControlServer {
  private server: Server | null = null;
  private readonly watchers = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly lab: ControlTarget,
  ) {}

  /** The control socket appears under its name only once it listens: `up` waits for the file,
   *  and a connect between bind and listen would be refused. */
  async listen(): Promise<void> {
    const binding = this.path + '.binding';
    rmSync(this.path, { force: true });
    rmSync(binding, { force: true });
    this.server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(binding, () => resolve());
    });
    renameSync(binding, this.path);
  }

  close(): void {
    this.server?.close();
    rmSync(this.path, { force: true });
  }

  /** Sends a progress event to every `watch` client. */
  broadcast(event: ProgressEvent): void {
    const line = JSON.stringify(event) + '\n';
    for (const w of this.watchers) w.write(line);
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
        return reply(sock, { ok: true, status: this.lab.status() });
      case 'watch':
        if (this.lab.phase() === 'running') return reply(sock, { type: 'ready', status: this.lab.status() });
        this.watchers.add(sock);
        sock.on('close', () => this.watchers.delete(sock));
        for (const vm of this.lab.vms()) sock.write(JSON.stringify({ type: 'vm', vm: vm.name, state: vm.state }) + '\n');
        return;
      case 'exec':
        return this.exec(sock, req.vm, req.command, req.timeoutMs);
      case 'console':
        return this.attachConsole(sock, req.vm);
      case 'vm': {
        const vm = this.vmOrError(sock, req.vm);
        if (vm) reply(sock, await this.lab.vmAction(vm, req));
        return;
      }
      case 'link':
        return reply(sock, await this.lab.linkAction(req));
      case 'down': {
        const answer = await this.lab.down();
        reply(sock, { ok: true, ...answer });
        sock.end();
        this.close();
        this.lab.afterDown();
        return;
      }
      default:
        return reply(sock, { ok: false, error: `unknown request ${(req as { op: string }).op}` });
    }
  }

  private vmOrError(sock: Socket, name: string): UmlProcess | null {
    const vm = this.lab.vms().find((v) => v.name === name);
    if (!vm) {
      const names = this.lab.vms().map((v) => v.name);
      reply(sock, { ok: false, code: 'not-found', error: `no VM named ${name} in lab ${this.lab.lab} (VMs: ${names.join(', ')})` });
      return null;
    }
    return vm;
  }

  private async exec(sock: Socket, name: string, command: string, timeoutMs?: number): Promise<void> {
    const vm = this.vmOrError(sock, name);
    if (!vm) return;
    if (vm.state !== 'ready' || !vm.agent)
      return reply(sock, {
        ok: false,
        code: 'not-ready',
        error: `VM ${name} is ${vm.state}${vm.detail ? ` (${vm.detail})` : ''}, it cannot run commands`,
        ...(vm.state === 'paused' && { hint: `resume it with: umlab vm resume ${name}` }),
        ...(vm.proc === null && { hint: `boot it again with: umlab vm start ${name}` }),
      });
    // The caller hangs up (Ctrl-C of `umlab exec`): the command is killed, its reply not awaited.
    const callerGone = new AbortController();
    const onClose = () => callerGone.abort();
    sock.once('close', onClose);
    try {
      const r = await vm.agent.exec(command, { timeoutMs, signal: callerGone.signal });
      reply(sock, { ok: true, exitCode: r.exitCode, stdout: r.stdout.toString('base64'), stderr: r.stderr.toString('base64') });
    } catch (error) {
      if (!(error instanceof ExecTimeoutError)) throw error;
      reply(sock, { ok: false, code: 'timeout', error: `command timed out after ${error.timeoutMs / 1000} s in VM ${name} (${error.agentState})` });
    } finally {
      sock.off('close', onClose);
    }
  }

  private attachConsole(sock: Socket, name: string): void {
    const vm = this.vmOrError(sock, name);
    if (!vm) return;
    if (!vm.proc) return reply(sock, { ok: false, error: `VM ${name} is ${vm.state}` });
    reply(sock, { ok: true });
    vm.addConsoleClient(sock);
    sock.on('data', (chunk) => vm.writeConsole(chunk));
    sock.on('close', () => vm.removeConsoleClient(sock));
  }
}

/** A refused request: the error's kind travels as `code`, so the CLI exits as it would itself. */
export function errorReply(err: unknown): Refusal {
  const code = err instanceof UsageError ? 'usage' : err instanceof NotFoundError ? 'not-found' : undefined;
  const hint = err instanceof UmlabError ? err.hint : undefined;
  return { ok: false, error: err instanceof Error ? err.message : String(err), ...(code && { code }), ...(hint && { hint }) };
}

function reply(sock: Socket, value: unknown): void {
  if (!sock.destroyed) sock.write(JSON.stringify(value) + '\n');
}
