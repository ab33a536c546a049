// The supervisor's control socket (<runDir>/control.sock): newline-delimited JSON.
// A client sends one request line; the supervisor answers with one or more lines.
// `console` switches the connection to raw bytes after the first answer line.
// The transport, here below the runtime so that the client and the supervisor share it; lab-client.ts is the client everything else uses.
import type { Impairment, RawImpairment } from '../topology/link-conditions.ts';
import type { LinkEnd } from '../topology/plan.ts';
import { lstatSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { LabRuntimeError } from '../errors.ts';
import type { VmAction } from '../vm/mconsole.ts';
import type { VmState } from '../vm/uml-process.ts';

// Defined with the VM that has it; the protocol's users import it from here.
export type { VmState };
export type LabPhase = 'starting' | 'running' | 'failed' | 'stopping';

export interface VmStatus {
  name: string;
  state: VmState;
  pid: number | null;
  /** Why it failed or crashed. */
  detail?: string;
}

export interface LinkStatus {
  link: string;
  segment: string;
  capture: string | null;
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  up: boolean;
  /** The link's conditions at each VM end that has any, with a one-line description. */
  conditions?: (LinkEnd & { conditions: Impairment; text: string })[];
  /** A process behind the link (passt) that is down now, how often it was restarted, and why it last was. */
  fault?: string | null;
  restarts?: number;
  lastFault?: string | null;
}

export interface LabStatus {
  lab: string;
  phase: LabPhase;
  supervisorPid: number;
  mode: 'netns' | 'userns';
  runDir: string;
  startedAt: string;
  vms: VmStatus[];
  links: LinkStatus[];
}

export type ControlRequest =
  | { op: 'status' }
  | { op: 'watch' }
  | { op: 'exec'; vm: string; command: string; timeoutMs?: number }
  | { op: 'console'; vm: string }
  | { op: 'vm'; vm: string; action: VmAction; key?: string }
  | {
      op: 'link';
      action: LinkAction;
      vm: string;
      iface: string;
      segment?: string;
      addresses?: string[];
      conditions?: RawImpairment | null;
      direction?: 'egress' | 'ingress';
    }
  | { op: 'down' };

/** `umlab link ...`: cut or restore a cable, plug a new one in / pull one out, or set its conditions (null clears them). */
export type LinkAction = 'down' | 'up' | 'add' | 'rm' | 'set';

/** Progress events streamed by `watch` while the lab comes up. */
export type ProgressEvent =
  | { type: 'vm'; vm: string; state: VmState; detail?: string }
  | { type: 'step'; message: string }
  | { type: 'ready'; status: LabStatus }
  | { type: 'failed'; message: string; vm?: string; consoleTail?: string };

export interface ExecReply {
  exitCode: number;
  stdout: string; // base64
  stderr: string; // base64
}

/** What the supervisor answers when it will not or cannot do something. */
export interface Refusal {
  ok: false;
  error: string;
  /** not-found, usage, not-ready, timeout; absent for other failures. The CLI maps it to its exit code. */
  code?: string;
  hint?: string;
}

export type ControlReply = { ok: true; [key: string]: unknown } | Refusal;

/** Splits a byte stream into JSON lines; T is what the peer promises to send (not checked). */
export function jsonLines<T = unknown>(onValue: (value: T) => void): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) onValue(JSON.parse(line) as T);
    }
  };
}

export function openControl(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    sock.once('connect', () => resolve(sock));
    sock.once('error', (cause) => reject(permissionError(cause) ?? new LabRuntimeError(`cannot reach the lab's supervisor at ${socketPath}`, { cause })));
  });
}

/** EACCES/EPERM on a path of umlab's state: "permission denied: <path> belongs to another user"
 *  (the path that is someone else's: the file, or the directory that keeps us out). Else undefined. */
export function permissionError(error: unknown): LabRuntimeError | undefined {
  const { code, path, address } = (error ?? {}) as NodeJS.ErrnoException & { address?: string };
  const target = path ?? address;
  if ((code !== 'EACCES' && code !== 'EPERM') || !target) return undefined;
  const owner = foreignOwner(target);
  const message = owner ? `permission denied: ${owner.path} belongs to another user (uid ${owner.uid})` : `permission denied: ${target}`;
  return new LabRuntimeError(message, {
    cause: error,
    hint: owner
      ? 'a lab can be seen and controlled only by the user who started it; set UMLAB_HOME to your own state directory'
      : 'check the permissions of UMLAB_HOME',
  });
}

/** The deepest component of `path` we can see (itself included), when another user owns it. */
function foreignOwner(path: string): { path: string; uid: number } | undefined {
  let last: { path: string; uid: number } | undefined;
  let current = '';
  for (const part of resolve(path).split('/').slice(1)) {
    current += '/' + part;
    try {
      last = { path: current, uid: lstatSync(current).uid };
    } catch {
      break; // inside a directory we cannot search: that directory keeps us out
    }
  }
  return last && last.uid !== process.getuid?.() ? last : undefined;
}

/** Sends one request and calls onLine for each reply line until it returns true or the socket closes. */
export async function converse<T = unknown>(socketPath: string, request: ControlRequest, onLine: (value: T) => boolean): Promise<void> {
  const sock = await openControl(socketPath);
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve();
    };
    sock.on(
      'data',
      jsonLines<T>((value) => {
        if (!done && onLine(value)) finish();
      }),
    );
    sock.on('error', (cause) => {
      if (!done) reject(new LabRuntimeError('lost the connection to the supervisor', { cause }));
      done = true;
    });
    sock.on('close', finish);
    sock.write(JSON.stringify(request) + '\n');
  });
}

/** One request, one reply. */
export async function ask<T = ControlReply>(socketPath: string, request: ControlRequest): Promise<T> {
  let reply: T | undefined;
  await converse<T>(socketPath, request, (value) => {
    reply = value;
    return true;
  });
  if (reply === undefined) throw new LabRuntimeError('the supervisor closed the connection without answering');
  return reply;
}
