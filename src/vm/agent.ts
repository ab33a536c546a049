// Host side of the agent channel: sends requests on the VM's serial line and
// matches the answers to them by id, so many execs can run at once.
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { execRequest, parseAgentLine, type AgentMessage } from './agent-protocol.ts';

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class AgentClient extends EventEmitter {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: ExecResult) => void; reject: (e: Error) => void }>();
  private buffered = '';
  private closedReason: Error | null = null;

  constructor(
    private readonly toVm: Writable,
    fromVm: Readable,
  ) {
    super();
    fromVm.setEncoding('latin1');
    fromVm.on('data', (chunk: string) => this.receive(chunk));
    fromVm.on('error', () => {});
    toVm.on('error', () => {});
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline).replace(/\r$/, '');
      this.buffered = this.buffered.slice(newline + 1);
      if (line.length > 0) this.dispatch(parseAgentLine(line));
    }
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
