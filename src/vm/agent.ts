// Host side of the agent channel: sends requests on the VM's serial line and
// matches the answers to them by id, so many execs can run at once.
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { ExecTimeoutError, LabRuntimeError } from '../errors.ts';
import { execRequest, killRequest, parseAgentLine, pingRequest, type AgentMessage } from '../topology/agent-protocol.ts';

/** Longest line accepted from a VM's agent (a result line carries a command's whole output in
 *  base64): beyond it the VM is flooding the line, and its agent is failed. */
export const AGENT_LINE_MAX_ENV = 'UMLAB_AGENT_LINE_MAX_BYTES';
export const DEFAULT_AGENT_LINE_MAX_BYTES = 16 * 1024 * 1024;

export function agentLineMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[AGENT_LINE_MAX_ENV] ?? '');
  return Number.isSafeInteger(n) && n >= 1024 ? n : DEFAULT_AGENT_LINE_MAX_BYTES;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface ExecOptions {
  /** Give up after this long: the promise rejects with ExecTimeoutError and the command is killed. */
  timeoutMs?: number;
  /** The caller is gone (a Ctrl-C of `umlab exec`): the command is killed, its reply never awaited. */
  signal?: AbortSignal;
}

/** While replies are awaited, the host pings the agent this often. Any byte the host writes makes
 *  UML look at all its host fds again (an interrupt), so a reply held back by a lost wake-up on
 *  the line moves on; the pongs also tell a silent agent from a long command. */
export const NUDGE_INTERVAL_MS = 1000;

interface Waiter {
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  /** Clears the request's timer and abort listener. */
  done: () => void;
}

export class AgentClient extends EventEmitter {
  private nextId = 1;
  private pending = new Map<number, Waiter>();
  private nextPing = 1;
  private nudger: NodeJS.Timeout | null = null;
  /** When the VM last wrote anything on the line (ms since the epoch). */
  lastHeardAt = Date.now();
  /** The unfinished line, as chunks: joined once its newline arrives, never re-scanned. */
  private partial: string[] = [];
  private partialBytes = 0;
  private closedReason: Error | null = null;

  constructor(
    private readonly toVm: Writable,
    private readonly fromVm: Readable,
    private readonly maxLineBytes = agentLineMaxBytes(),
  ) {
    super();
    fromVm.setEncoding('latin1');
    fromVm.on('data', this.onData);
    fromVm.on('error', () => {});
    toVm.on('error', () => {});
  }

  private readonly onData = (chunk: string) => this.receive(chunk);

  private receive(chunk: string): void {
    this.lastHeardAt = Date.now();
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf('\n', start)) >= 0) {
      this.partial.push(chunk.slice(start, newline));
      const line = this.partial.join('').replace(/\r$/, '');
      this.partial = [];
      this.partialBytes = 0;
      start = newline + 1;
      if (line.length > 0) this.dispatch(parseAgentLine(line));
    }
    if (start < chunk.length) {
      this.partial.push(chunk.slice(start));
      this.partialBytes += chunk.length - start;
      if (this.partialBytes > this.maxLineBytes) this.overflow();
    }
  }

  /** The VM wrote more than maxLineBytes without a newline: stop listening (the data is dropped
   *  unread), fail what waits, and say so ('overflow' event). */
  private overflow(): void {
    this.partial = [];
    this.partialBytes = 0;
    // Not read any more: the flooding writer in the VM blocks, and the host spends nothing on it.
    this.fromVm.off('data', this.onData);
    this.fromVm.pause();
    const reason = new LabRuntimeError(`the agent line overflowed: the VM wrote over ${this.maxLineBytes} bytes without a newline; its agent is stopped`, {
      hint: "something in the VM writes to the agent's serial line; restart the VM with: umlab vm reboot VM",
    });
    this.close(reason);
    this.emit('overflow', reason);
  }

  private dispatch(msg: AgentMessage): void {
    if (msg.type === 'result') {
      // A reply whose request timed out or was abandoned finds no waiter: dropped.
      this.take(msg.id)?.resolve({ exitCode: msg.exitCode, stdout: msg.stdout, stderr: msg.stderr });
    } else {
      this.emit(msg.type, msg);
    }
  }

  /** Runs a command in the VM. Every request has its own id, and only the reply with that id
   *  answers it. With a timeout or an abort signal, giving up kills the command in the VM. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    if (options.signal?.aborted) return Promise.reject(new LabRuntimeError('the exec was abandoned before it started'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const giveUp = (reason: Error) => {
        if (!this.take(id)) return;
        this.toVm.write(killRequest(id));
        reject(reason);
      };
      const sentAt = Date.now();
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => giveUp(this.timeoutError(options.timeoutMs!, sentAt)), options.timeoutMs);
      const onAbort = () => giveUp(new LabRuntimeError('the exec was abandoned by its caller'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, { resolve, reject, done });
      this.toVm.write(execRequest(id, command));
      this.nudgeWhilePending();
    });
  }

  private timeoutError(timeoutMs: number, sentAt: number): ExecTimeoutError {
    // Silence counts from the request on: an agent that had nothing to say before is not silent.
    const silentMs = Date.now() - Math.max(this.lastHeardAt, sentAt);
    const agent =
      silentMs > 2 * NUDGE_INTERVAL_MS
        ? `the VM's agent has not answered for ${Math.round(silentMs / 1000)} s`
        : "the VM's agent answers; the command was still running and is killed";
    return new ExecTimeoutError(timeoutMs, agent);
  }

  /** Removes a request from those in flight; its waiter, if it was still waiting. */
  private take(id: number): Waiter | undefined {
    const waiter = this.pending.get(id);
    if (!waiter) return undefined;
    this.pending.delete(id);
    waiter.done();
    if (this.pending.size === 0) this.stopNudging();
    return waiter;
  }

  private nudgeWhilePending(): void {
    if (this.nudger) return;
    this.nudger = setInterval(() => this.toVm.write(pingRequest(this.nextPing++)), NUDGE_INTERVAL_MS);
    this.nudger.unref();
  }

  private stopNudging(): void {
    if (this.nudger) clearInterval(this.nudger);
    this.nudger = null;
  }

  /** Fails the requests in flight but keeps the channel, e.g. when the VM reboots. */
  abortPending(reason: Error): void {
    for (const id of [...this.pending.keys()]) this.take(id)?.reject(reason);
  }

  /** Fails every request in flight, e.g. when the VM stops. */
  close(reason: Error): void {
    this.closedReason = reason;
    this.abortPending(reason);
  }
}
