// Consoles and serial lines (UML HOWTO section 5) on the supervisor's side. Each line of a
// VM is a pair of pipes of its UML process (con0 on fd 0/1, sslN on fd 5, 6, ...); a
// LineRelay connects one line to what the lab file asks for:
//
//   log   the line's output is appended to its log file (con0: the supervisor logs it);
//   pty   a socat child makes a pseudo terminal (a symlink in the VM's run directory points
//         at it): what a program writes to the pty reaches the VM, and back;
//   port  a TCP port on the host's 127.0.0.1. The lab's network namespace is not the host's,
//         so `umlab up` binds the port in its own namespace and hands the listening socket
//         down to the supervisor as an inherited fd (UMLAB_LINE_FDS); clients speak telnet:
//         the relay asks for character mode with remote echo, as UML's port-helper/telnetd
//         does, and drops telnet commands from what they send. Any local user can connect to
//         127.0.0.1, so a client first types the lab's line key (a random secret in
//         <run dir>/line.key, readable by the lab's owner only) before it reaches the VM;
//   vm    joined to a line of another VM: each one's output is the other's input.
//
// Clients that stop reading lose output instead of growing the supervisor's memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { LabRuntimeError, MissingDependencyError } from '../errors.ts';
import type { LabPlan, LinePlan, VmPlan } from '../topology/plan.ts';
import { CappedLog, logMaxBytes } from './log-cap.ts';
import { runFiles } from '../topology/layout.ts';

/** Output kept for a client that does not read before the relay drops it. */
const CLIENT_BUFFER_LIMIT = 256 * 1024;

/** Environment variable that tells the supervisor which inherited fd is which port's listening socket. */
export const LINE_FDS_ENV = 'UMLAB_LINE_FDS';

/** The lines of a lab that listen on a TCP port, in plan order: what `umlab up` binds. */
export function portLines(plan: LabPlan): { vm: VmPlan; line: LinePlan; key: string }[] {
  return plan.vms.flatMap((vm) =>
    vm.lines.filter((l) => l.to === 'port' && l.port !== undefined).map((line) => ({ vm, line, key: lineKey(vm.name, line.name) })),
  );
}

/** The lines that get a pty (socat). */
export const ptyLines = (plan: LabPlan) => plan.vms.flatMap((vm) => vm.lines.filter((l) => l.to === 'pty'));

export const lineKey = (vm: string, line: string) => `${vm}.${line}`;

/** "h1.con0=3,h2.ssl2=4" <-> {"h1.con0": 3, ...} */
export const formatLineFds = (fds: Record<string, number>) =>
  Object.entries(fds)
    .map(([k, fd]) => `${k}=${fd}`)
    .join(',');
export function parseLineFds(value: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (value ?? '').split(',').filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    out[part.slice(0, eq)] = Number(part.slice(eq + 1));
  }
  return out;
}

// ---- telnet -------------------------------------------------------------------------

const IAC = 255;
const SB = 250;
const SE = 240;
/** IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD: character at a time, the VM echoes. */
export const TELNET_HELLO = Buffer.from([IAC, 251, 1, IAC, 251, 3]);

/** Strips telnet commands from a client's bytes, across chunk boundaries; CR NUL and CR LF
 *  become CR (the VM's tty turns CR into a newline). Plain clients (nc) pass unchanged. */
export function telnetFilter(): (chunk: Buffer) => Buffer {
  let state: 'data' | 'iac' | 'option' | 'sb' | 'sb-iac' | 'cr' = 'data';
  return (chunk) => {
    const out: number[] = [];
    for (const byte of chunk) {
      if (state === 'cr') {
        state = 'data';
        if (byte === 0 || byte === 10) continue;
      }
      switch (state) {
        case 'data':
          if (byte === IAC) state = 'iac';
          else {
            out.push(byte);
            if (byte === 13) state = 'cr';
          }
          continue;
        case 'iac':
          if (byte === IAC) {
            out.push(IAC);
            state = 'data';
          } else if (byte >= 251 && byte <= 254)
            state = 'option'; // WILL WONT DO DONT <option>
          else state = byte === SB ? 'sb' : 'data';
          continue;
        case 'option':
          state = 'data';
          continue;
        case 'sb':
          if (byte === IAC) state = 'sb-iac';
          continue;
        case 'sb-iac':
          state = byte === SE ? 'data' : 'sb';
          continue;
      }
    }
    return Buffer.from(out);
  };
}

// ---- one line -------------------------------------------------------------------------

export interface LineRelayOptions {
  log: (message: string) => void;
  /** Listening socket inherited from `umlab up`, for to: port. */
  listenFd?: number;
  /** The file with the key a to: port client must type first (written by bindLinePorts). */
  keyFile?: string;
}

/** Bytes a client may send before its key line, and the time it gets to send it. */
const KEY_LINE_LIMIT = 256;
const KEY_TIMEOUT_MS = 60_000;

export class LineRelay {
  private input: Writable | null = null;
  private readonly clients = new Set<{ write(chunk: Buffer): void }>();
  private logFile: CappedLog | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private pty: ChildProcess | null = null;
  private closed = false;
  /** The joined line of another VM (to: vm). */
  peer: LineRelay | null = null;

  constructor(
    readonly vm: string,
    readonly plan: LinePlan,
    private readonly opts: LineRelayOptions,
  ) {}

  /** Starts what the line needs before its VM boots: the log, the TCP listener, the pty. */
  async start(): Promise<void> {
    mkdirSync(dirname(this.plan.log), { recursive: true });
    // con0's log is the supervisor's console log.
    if (this.plan.name !== 'con0') this.logFile = new CappedLog(this.plan.log, logMaxBytes(), this.opts.log); // capped: a VM may flood its line
    if (this.plan.to === 'port') await this.listen();
    if (this.plan.to === 'pty') await this.startPty();
  }

  /** The VM's process (re)started: where input to the line goes now. */
  attach(input: Writable): void {
    input.on('error', () => {});
    this.input = input;
  }

  detach(): void {
    this.input = null;
  }

  /** Bytes the VM wrote to the line. */
  fromVm(chunk: Buffer): void {
    this.logFile?.write(chunk);
    this.peer?.toVm(chunk);
    for (const c of this.clients) c.write(chunk);
  }

  /** Bytes for the VM: dropped while it is not running. */
  toVm(chunk: Buffer): void {
    if (this.input && !this.input.destroyed && this.input.writableLength < CLIENT_BUFFER_LIMIT) this.input.write(chunk);
  }

  private listen(): Promise<void> {
    if (this.opts.listenFd === undefined) throw new Error(`no listening socket for ${this.vm}.${this.plan.name} (port ${this.plan.port})`);
    this.server = createServer((sock) => this.serveTelnet(sock));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ fd: this.opts.listenFd }, () => resolve());
    });
  }

  private serveTelnet(sock: Socket): void {
    sock.on('error', () => {});
    this.sockets.add(sock);
    sock.write(TELNET_HELLO);
    const key = this.opts.keyFile ? readFileSync(this.opts.keyFile, 'utf8').trim() : null;
    const client = { write: (chunk: Buffer) => void (sock.writableLength < CLIENT_BUFFER_LIMIT && sock.write(chunk)) };
    const filter = telnetFilter();
    let typed = key === null ? null : Buffer.alloc(0);
    const timer = key === null ? null : setTimeout(() => sock.end('\r\ntoo slow\r\n'), KEY_TIMEOUT_MS);
    if (key === null) this.clients.add(client);
    else sock.write(`umlab: ${this.vm} ${this.plan.name}: type the line key (in ${this.opts.keyFile}) and Enter\r\n`);
    sock.on('data', (chunk: Buffer) => {
      const data = filter(chunk);
      if (typed === null) {
        if (data.length) this.toVm(data);
        return;
      }
      typed = Buffer.concat([typed, data]);
      const end = typed.findIndex((b) => b === 0x0d || b === 0x0a);
      if (end < 0 && typed.length <= KEY_LINE_LIMIT) return;
      const given = typed.subarray(0, Math.max(end, 0));
      clearTimeout(timer!);
      if (end < 0 || !sameKey(given, key!)) {
        this.opts.log(`${this.vm}.${this.plan.name}: a client on port ${this.plan.port} gave a wrong key; closed`);
        sock.end('\r\nwrong key\r\n');
        return;
      }
      typed = null; // what followed the key line is dropped: it was typed before the prompt was answered
      sock.write('\r\nconnected\r\n');
      this.clients.add(client);
    });
    sock.on('close', () => (clearTimeout(timer!), this.clients.delete(client), this.sockets.delete(sock)));
  }

  /** socat makes the pty and links it; it keeps running when a program closes the pty, so
   *  the link stays valid. Restarted if it exits while the lab runs. */
  private async startPty(): Promise<void> {
    const link = this.plan.pty!;
    rmSync(link, { force: true });
    // The link path names the run directory: `umlab down` finds socat even after the supervisor died.
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'socat', `PTY,link=${link},raw,echo=0,perm=0600`, 'STDIO'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pty = proc;
    proc.stdin.on('error', () => {});
    const client = { write: (chunk: Buffer) => void (proc.stdin.writableLength < CLIENT_BUFFER_LIMIT && proc.stdin.write(chunk)) };
    this.clients.add(client);
    proc.stdout.on('data', (chunk: Buffer) => this.toVm(chunk));
    let said = '';
    proc.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
    proc.on('exit', (code, signal) => {
      this.clients.delete(client);
      if (this.pty === proc) this.pty = null;
      if (this.closed) return;
      this.opts.log(`${this.vm}.${this.plan.name}: socat exited (${signal ?? `code ${code}`}) ${said.trim()}; restarting it`);
      setTimeout(() => {
        if (!this.closed) this.startPty().catch((e) => this.opts.log(`${this.vm}.${this.plan.name}: ${e}`));
      }, 500);
    });
    // Wait for the link, so `up` returns with the pty usable.
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`socat for the pty of ${this.vm}.${this.plan.name} exited: ${said.trim()}`);
      try {
        readlinkSync(link);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`socat did not make the pty ${link}`);
  }

  /** Stops the listener and socat; closes the log. */
  async close(): Promise<void> {
    this.closed = true;
    this.input = null;
    this.server?.close();
    for (const sock of this.sockets) sock.destroy();
    this.pty?.kill('SIGKILL');
    this.clients.clear();
    await new Promise<void>((r) => (this.logFile ? this.logFile.end(r) : r()));
  }
}

// ---- `umlab up`'s side ------------------------------------------------------------------

export interface BoundPorts {
  /** LINE_FDS_ENV value for the supervisor. */
  env: string;
  /** Extra stdio entries for the supervisor (fd 3, 4, ...). */
  stdio: number[];
  /** Closes umlab up's copies (the supervisor keeps its own). */
  close(): void;
}

/** Constant-time comparison of a typed key with the lab's. */
function sameKey(given: Buffer, key: string): boolean {
  const expected = Buffer.from(key);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Binds every `to: port` line's TCP port on 127.0.0.1 in this (the caller's) network
 *  namespace, where telnet reaches it; a port in use fails here, before anything starts.
 *  Writes the lab's line key, owner-only, when it has such a line. */
export async function bindLinePorts(plan: LabPlan): Promise<BoundPorts> {
  if (portLines(plan).length > 0) writeFileSync(runFiles(plan.runDir).lineKey, randomBytes(12).toString('hex') + '\n', { mode: 0o600 });
  const servers: Server[] = [];
  const fds: Record<string, number> = {};
  const stdio: number[] = [];
  const close = () => servers.forEach((s) => s.close());
  try {
    for (const { line, key } of portLines(plan)) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: line.port, exclusive: true }, () => resolve());
      }).catch((cause: NodeJS.ErrnoException) => {
        const what = line.name === 'con0' ? `the console of ${key.split('.')[0]}` : `serial line ${key}`;
        throw new LabRuntimeError(
          `cannot listen on 127.0.0.1:${line.port} for ${what}: ${cause.code === 'EADDRINUSE' ? 'the port is in use' : cause.message}`,
          {
            hint: `free the port (ss -ltnp 'sport = :${line.port}') or choose another one in the lab file`,
            cause,
          },
        );
      });
      servers.push(server);
      // The fd of the listening socket: inherited by the supervisor as fd 3 + i.
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      fds[key] = 3 + stdio.length;
      stdio.push(fd);
    }
  } catch (err) {
    close();
    throw err;
  }
  return { env: formatLineFds(fds), stdio, close };
}

/** Refuses, before anything starts, pty lines without socat. */
export function checkLines(plan: LabPlan, findCommand: (name: string) => string | null): void {
  const ptys = ptyLines(plan);
  if (ptys.length && !findCommand('socat'))
    throw new MissingDependencyError('consoles and serial lines on a pty need socat, which is not installed', {
      hint: 'install it with: sudo apt-get install -y socat',
    });
}
