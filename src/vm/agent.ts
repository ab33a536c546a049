// Host side of the agent channel: sends requests on the VM's serial line and
// matches the answers to them by id, so many execs can run at once.
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { LabRuntimeError } from '../errors.ts';
import { execRequest, parseAgentLine, type AgentMessage } from './agent-protocol.ts';

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

export class AgentClient extends EventEmitter {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: ExecResult) => void; reject: (e: Error) => void }>();
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
      hint: 'something in the VM writes to the agent\'s serial line; restart the VM with: umlab vm reboot VM',
    });
    this.close(reason);
    this.emit('overflow', reason);
  }

  private dispatch(msg: AgentMessage): void {
    if (msg.type === 'result') {
      const waiter = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      waiter?.resolve({ exitCode: msg.exitCode, stdout: msg.stdout, stderr: msg.stderr });
    } else {
      this.emit(msg.type, msg);
    }
  }

  exec(command: string): Promise<ExecResult> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.toVm.write(execRequest(id, command));
    });
  }

  /** Fails the requests in flight but keeps the channel, e.g. when the VM reboots. */
  abortPending(reason: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(reason);
    this.pending.clear();
  }

  /** Fails every request in flight, e.g. when the VM stops. */
  close(reason: Error): void {
    this.closedReason = reason;
    for (const waiter of this.pending.values()) waiter.reject(reason);
    this.pending.clear();
  }
}
