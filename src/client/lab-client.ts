// One client for a running lab, over its supervisor's control socket (control.ts is
// the protocol): status, watch, exec with decoded replies, vm and link actions, down. The
// CLI, the web server and `umlab test` all talk to a lab through it.
import type { Impairment, RawImpairment } from '../topology/link-conditions.ts';
import type { Socket } from 'node:net';
import { LabRuntimeError, NotFoundError, UsageError, type UmlabError } from '../errors.ts';
import {
  ask,
  converse,
  openControl,
  type ControlRequest,
  type ExecReply,
  type LabStatus,
  type LinkAction,
  type ProgressEvent,
  type Refusal,
} from './control.ts';
import type { VmAction } from '../vm/mconsole.ts';

/** An exec reply decoded: base64 on the wire, bytes here, so binary output survives JSON. */
export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** A supervisor's refusal as the typed error its code stands for (and so the CLI's exit code). */
export function refusalError(refusal: Refusal): UmlabError {
  const options = refusal.hint ? { hint: refusal.hint } : undefined;
  if (refusal.code === 'not-found') return new NotFoundError(refusal.error, options);
  if (refusal.code === 'usage') return new UsageError(refusal.error, options);
  return new LabRuntimeError(refusal.error, options);
}

export class LabClient {
  constructor(readonly socketPath: string) {}

  /** One request, its reply as is (a refusal included). */
  ask<T>(req: ControlRequest): Promise<({ ok: true } & T) | Refusal> {
    return ask<({ ok: true } & T) | Refusal>(this.socketPath, req);
  }

  /** One request; a refusal is thrown as its typed error. */
  async request<T>(req: ControlRequest): Promise<{ ok: true } & T> {
    const answer = await this.ask<T>(req);
    if (!answer.ok) throw refusalError(answer);
    return answer;
  }

  async status(): Promise<LabStatus> {
    const reply = await this.request<{ status?: LabStatus }>({ op: 'status' });
    if (!reply.status) throw new LabRuntimeError('no status in the reply');
    return reply.status;
  }

  /** Progress events while the lab comes up, until onEvent returns true or the supervisor hangs up. */
  watch(onEvent: (event: ProgressEvent) => boolean): Promise<void> {
    return converse<ProgressEvent>(this.socketPath, { op: 'watch' }, onEvent);
  }

  /** Runs a command in a VM; a refusal (not-found, timeout...) comes back as is. */
  async execReply(vm: string, command: string, timeoutMs?: number): Promise<({ ok: true } & ExecResult) | Refusal> {
    const reply = await this.ask<ExecReply>({ op: 'exec', vm, command, ...(timeoutMs !== undefined && { timeoutMs }) });
    if (!reply.ok) return reply;
    return { ok: true, exitCode: reply.exitCode, stdout: Buffer.from(reply.stdout, 'base64'), stderr: Buffer.from(reply.stderr, 'base64') };
  }

  /** Runs a command in a VM; a refusal is thrown as its typed error. */
  async exec(vm: string, command: string, timeoutMs?: number): Promise<ExecResult> {
    const reply = await this.execReply(vm, command, timeoutMs);
    if (!reply.ok) throw refusalError(reply);
    return reply;
  }

  /** exec, its output as text. */
  async execText(vm: string, command: string, timeoutMs?: number): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const { exitCode, stdout, stderr } = await this.exec(vm, command, timeoutMs);
    return { exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
  }

  /** `umlab vm ACTION`: its new state and the management console's output. */
  vm(vm: string, action: VmAction, key?: string): Promise<{ ok: true; state: string; output: string }> {
    return this.request<{ state: string; output: string }>({ op: 'vm', vm, action, ...(key !== undefined && { key }) });
  }

  /** `umlab link ACTION`: the link it acted on. */
  link(action: LinkAction, vm: string, iface: string, add?: { segment: string; addresses?: string[] }): Promise<{ ok: true; link: string }> {
    return this.request<{ link: string }>({ op: 'link', action, vm, iface, ...(add !== undefined && { segment: add.segment, addresses: add.addresses }) });
  }

  /** `umlab link set`: new conditions for VM.ethN (null clears them), as the supervisor took them. */
  setLinkConditions(
    vm: string,
    iface: string,
    conditions: RawImpairment | null,
    direction?: 'egress' | 'ingress',
  ): Promise<{ ok: true; link: string; conditions: Impairment | null }> {
    return this.request<{ link: string; conditions: Impairment | null }>({ op: 'link', action: 'set', vm, iface, conditions, ...(direction && { direction }) });
  }

  /** Asks the supervisor to tear the lab down; its reply as is. */
  down<T = object>(): Promise<({ ok: true } & T) | Refusal> {
    return this.ask<T>({ op: 'down' });
  }

  /** A VM's console: the supervisor's answer, the connection (raw bytes both ways from then on)
   *  and what already came after the answer. Used by `umlab console` and the web terminals. */
  async console(vm: string): Promise<{ sock: Socket; answer: ConsoleAnswer; rest: Buffer }> {
    const sock = await this.connect();
    sock.write(JSON.stringify({ op: 'console', vm }) + '\n');
    try {
      return { sock, ...(await firstLine(sock)) };
    } catch (err) {
      sock.destroy();
      throw err;
    }
  }

  /** A raw connection (`console` switches it to bytes after the first reply line). */
  connect(): Promise<Socket> {
    return openControl(this.socketPath);
  }
}

/** The supervisor's answer to `console`. */
export interface ConsoleAnswer {
  ok: boolean;
  error?: string;
  code?: string;
}

/** Reads the supervisor's one-line answer; the bytes after it are already console output. */
function firstLine(sock: Socket): Promise<{ answer: ConsoleAnswer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      acc = Buffer.concat([acc, chunk]);
      const nl = acc.indexOf(0x0a);
      if (nl < 0) return;
      sock.off('data', onData);
      sock.off('close', onClose);
      try {
        resolve({ answer: JSON.parse(acc.subarray(0, nl).toString()), rest: acc.subarray(nl + 1) });
      } catch (err) {
        reject(new LabRuntimeError('the supervisor answered the console request with something else than JSON', { cause: err }));
      }
    };
    const onClose = () => reject(new LabRuntimeError('the supervisor closed the console'));
    sock.on('data', onData);
    sock.once('close', onClose);
  });
}
