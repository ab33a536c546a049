// Slirp gateways: a learning switch (the ucast engine) with one more port, a unix stream
// connection to passt. passt (user-mode NAT, DHCP, port forwards, no root) runs in the host's
// network namespace, started by the CLI before the supervisor (see host-side.ts); its
// socket is a file, so this engine reaches it from inside the lab's namespace.
//
// passt's protocol is QEMU's "stream" netdev: each Ethernet frame prefixed with its length
// as a 4-byte big-endian number, both ways.
//
// Capture: each VM's link to the gateway segment is captured like any switch port; the
// passt port itself ("<segment>.gateway") is counted but not captured separately, since
// every frame it carries also crosses a VM's link.

import { connect, type Socket } from 'node:net';
import { LabRuntimeError } from '../../errors.ts';
import type { SegmentPlan } from '../../topology/plan.ts';
import type { EngineOptions } from '../types.ts';
import { readFileSync } from 'node:fs';
import type { LinkHealth, RunningSegment } from '../running.ts';
import { startUcastSegment } from '../forwarding/ucast-engine.ts';

const LENGTH_PREFIX_BYTES = 4;
/** passt has just been started by the CLI; its socket is normally there at once. */
const CONNECT_ATTEMPTS = 50;
const CONNECT_RETRY_MS = 100;
/** If passt stops reading, drop frames rather than queue without bound (like a full NIC queue). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Largest frame accepted from passt: anything bigger means the stream is out of step. */
const MAX_FRAME_BYTES = 65536 + 14;

export const gatewayLink = (segment: string) => `${segment}.gateway`;

/** Why passt is not there, from the file where its keeper (host-side.ts) says "running <pid>" or "exited <status>". */
const readState = (stateFile: string) => {
  try {
    return readFileSync(stateFile, 'utf8').trim();
  } catch {
    return '';
  }
};

export function passtExitReason(stateFile: string): string {
  const said = readState(stateFile);
  if (!said) return 'passt is gone';
  const m = /^exited (\d+)/.exec(said);
  if (!m) return 'passt connection lost';
  const status = Number(m[1]);
  // sh's $? is 128 + the signal for a process killed by one.
  return status > 128 ? `passt exited (signal ${status - 128})` : `passt exited (code ${status})`;
}

/** How often the gateway port tries to reach a restarted passt. */
const RECONNECT_MS = 200;

export async function startPasstSegment(plan: SegmentPlan, options: EngineOptions): Promise<RunningSegment> {
  const log = options.log ?? (() => {});
  const files = passtFiles(plan);
  const segment = await startUcastSegment(plan, options, 'switch');
  let stream: Socket;
  try {
    stream = await connectWithRetry(files.socket);
  } catch (err) {
    await segment.stop();
    throw new LabRuntimeError(`segment ${plan.name}: cannot reach passt at ${files.socket}: ${(err as Error).message}`, {
      cause: err,
      hint: `passt's log is ${files.log}`,
    });
  }
  const passt = new PasstPort(plan.name, files, log);
  passt.receive = segment.attachPort(gatewayLink(plan.name), null, { send: (frame) => passt.send(frame), close: () => passt.close() });
  passt.wire(stream);
  log(`${plan.name}: gateway port connected to passt at ${files.socket}`);
  // Every link of the segment goes through passt to leave it.
  return Object.assign(segment, {
    health: (link: string) => (link === gatewayLink(plan.name) || plan.ports.some((p) => p.link === link) ? passt.health : null),
  });
}

/** passt's socket, log and keeper state file, as the plan names them (checked: the plan is data from disk). */
function passtFiles(plan: SegmentPlan): { socket: string; log: string; state: string } {
  const { socket, log, state } = plan.options as { socket?: unknown; log?: unknown; state?: unknown };
  if (typeof socket !== 'string' || typeof log !== 'string' || typeof state !== 'string')
    throw new LabRuntimeError(`segment ${plan.name}: options.socket, .log or .state (passt's files) is missing`);
  return { socket, log, state };
}

/** The gateway's port to passt: frames out with their length prefix, frames in to the switch,
 *  and a new connection when passt's keeper has restarted a dead passt. */
class PasstPort {
  readonly health: LinkHealth = { fault: null, restarts: 0, lastFault: null };
  /** The switch's side of the port: where frames from passt go. */
  receive: (frame: Buffer) => void = () => {};
  private stream: Socket | null = null;
  private dropped = 0;
  private stopped = false;

  constructor(
    private readonly segment: string,
    private readonly files: { socket: string; state: string },
    private readonly log: (msg: string) => void,
  ) {}

  send(frame: Buffer): void {
    const stream = this.stream;
    if (!stream || stream.destroyed) return;
    if (stream.writableLength > MAX_QUEUED_BYTES) {
      this.dropped++;
      return;
    }
    const header = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES);
    header.writeUInt32BE(frame.length, 0);
    stream.cork();
    stream.write(header);
    stream.write(frame);
    stream.uncork();
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.stopped = true;
      if (this.dropped > 0) this.log(`${this.segment}: ${this.dropped} frames to passt dropped (passt did not keep up)`);
      const stream = this.stream;
      if (!stream || stream.destroyed) return resolve();
      stream.once('close', () => resolve());
      stream.destroy();
    });
  }

  wire(s: Socket): void {
    this.stream = s;
    s.setNoDelay(true);
    s.on(
      'data',
      frameSplitter(
        (frame) => this.receive(frame),
        (msg) => {
          this.log(`${this.segment}: ${msg}; closing the connection to passt`);
          s.destroy();
        },
      ),
    );
    s.on('error', (err) => this.log(`${this.segment}: passt connection: ${err.message}`));
    s.on('close', () => void this.lost());
  }

  /** The connection closed under us: say why in status, then reach the restarted passt. */
  private async lost(): Promise<void> {
    if (this.stopped) return;
    // The connection closes a moment before the keeper has written passt's exit status.
    for (let i = 0; i < 25 && !/^exited/.test(readState(this.files.state)); i++) await new Promise((r) => setTimeout(r, 20));
    this.health.fault = this.health.lastFault = `gateway down: ${passtExitReason(this.files.state)}`;
    this.log(`${this.segment}: passt connection closed: ${this.health.fault}`);
    await this.reconnect();
  }

  private async reconnect(): Promise<void> {
    while (!this.stopped) {
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
      if (this.stopped) return;
      try {
        const next = await connectOnce(this.files.socket);
        if (this.stopped) return void next.destroy();
        this.wire(next);
        this.log(`${this.segment}: gateway port reconnected to the restarted passt`);
        this.health.restarts++;
        this.health.fault = null;
        return;
      } catch {
        // not listening yet
      }
    }
  }
}

/** Cuts a byte stream of length-prefixed frames into frames, whatever the chunk boundaries. */
export function frameSplitter(onFrame: (frame: Buffer) => void, onError: (msg: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    let buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (buf.length >= LENGTH_PREFIX_BYTES) {
      const length = buf.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) {
        onError(`frame length ${length} from passt is impossible`);
        pending = Buffer.alloc(0);
        return;
      }
      if (buf.length < LENGTH_PREFIX_BYTES + length) break;
      // A copy: the engine may keep the frame (pcap buffer copies, but listeners may not).
      onFrame(Buffer.from(buf.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length)));
      buf = buf.subarray(LENGTH_PREFIX_BYTES + length);
    }
    pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  };
}

function connectOnce(path: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function connectWithRetry(path: string): Promise<Socket> {
  let lastError: Error = new Error('not tried');
  for (let attempt = 0; attempt < CONNECT_ATTEMPTS; attempt++) {
    try {
      return await connectOnce(path);
    } catch (err) {
      lastError = err as Error;
      await new Promise((r) => setTimeout(r, CONNECT_RETRY_MS));
    }
  }
  throw lastError;
}

export { startPasstSegment as start };
