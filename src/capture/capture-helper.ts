// The lab's capture helper (native/capture.c): one process writes every kernel-bridged link's
// pcap file, where a tcpdump per link cost a process and ~5 MiB each. The supervisor starts it
// on the first capture and talks to it over a pipe; each link's capture is a RunningCapture like
// tcpdump's, so KeptCapture watches and restarts it the same way. If the helper dies, every
// capture it held dies with the same reason, and the next start brings up a new helper.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { constants } from 'node:os';
import { LabRuntimeError } from '../errors.ts';
import { buildNative, nativeSource } from '../util/native-build.ts';
import { PCAP_SNAPLEN, trimToWholeRecords } from './pcap-writer.ts';
import { tcpdumpLogOf, type RunningCapture } from './tcpdump.ts';

export const CAPTURE_HELPER = 'umlab-capture';

interface Pending {
  resolve: (answer: string) => void;
}

interface Held {
  file: string;
  onDied: (reason: string) => void;
}

export class CaptureHelper {
  private process: ChildProcessWithoutNullStreams | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<string, Pending>();
  private readonly held = new Map<string, Held>();
  private nextId = 1;

  /** `dir`: the lab's capture directory, on the helper's command line so `down` finds it. */
  constructor(private readonly dir: string) {}

  /** Starts capturing `device` into `file`; resolves once the socket is bound and the file written. */
  async start(device: string, file: string): Promise<RunningCapture> {
    const helper = this.running();
    const id = String(this.nextId++);
    const answer = await this.ask(helper, id, `add ${id} ${device} ${file}`);
    if (!answer.startsWith('ok ')) throw new LabRuntimeError(`capture of ${device} did not start: ${answer.replace(/^error \S+ /, '')}`);
    let onDied: (reason: string) => void = () => {};
    const died = new Promise<string>((resolve) => (onDied = resolve));
    this.held.set(id, { file, onDied });
    return {
      file,
      pid: helper.pid,
      died,
      stop: async () => {
        if (!this.held.delete(id) || this.process !== helper) return 0;
        const stopped = await this.ask(helper, id, `stop ${id}`);
        const drops = Number(/^stopped \S+ (\d+)/.exec(stopped)?.[1] ?? 0);
        // Said as tcpdump says it, in the file `down` reads for frames a capture misses (capture-report.ts).
        if (drops > 0) writeFileSync(tcpdumpLogOf(file), `${drops} packets dropped by kernel\n`);
        return drops;
      },
    };
  }

  /** Ends the helper (every capture it still holds is closed) and waits for it. */
  async close(): Promise<void> {
    this.process?.stdin.end();
    await this.exited;
  }

  private running(): ChildProcessWithoutNullStreams {
    if (this.process) return this.process;
    const binary = buildNative(CAPTURE_HELPER, [], process.env, nativeSource('capture.c'));
    const child = spawn(binary, [this.dir, String(PCAP_SNAPLEN)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process = child;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.stdin.on('error', () => {}); // a dead helper: its exit says why
    createInterface({ input: child.stdout }).on('line', (line) => this.heard(line));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.process = null;
        const reason = `capture helper exited (${signal ? `signal ${constants.signals[signal] ?? signal}` : `code ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
        for (const [id, pending] of this.waiting) pending.resolve(`error ${id} ${reason}`);
        this.waiting.clear();
        for (const held of this.held.values()) {
          trimToWholeRecords(held.file);
          held.onDied(reason);
        }
        this.held.clear();
        resolve();
      }),
    );
    child.once('error', () => {}); // exit follows
    return child;
  }

  private ask(helper: ChildProcessWithoutNullStreams, id: string, command: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve });
      helper.stdin.write(command + '\n');
    });
  }

  private heard(line: string): void {
    const [verb, id] = line.split(' ', 2);
    if (verb === 'died') {
      const held = this.held.get(id);
      this.held.delete(id);
      held?.onDied(line.slice(`died ${id} `.length));
      return;
    }
    const pending = this.waiting.get(id);
    this.waiting.delete(id);
    pending?.resolve(line);
  }
}

/** One helper per capture directory (per lab: the supervisor runs one lab). */
const helpers = new Map<string, CaptureHelper>();

export function captureHelperFor(dir: string): CaptureHelper {
  let helper = helpers.get(dir);
  if (!helper) helpers.set(dir, (helper = new CaptureHelper(dir)));
  return helper;
}

/** Ends every helper once the segments have stopped their captures (the supervisor's teardown). */
export async function closeCaptureHelpers(): Promise<void> {
  await Promise.all([...helpers.values()].map((h) => h.close()));
  helpers.clear();
}
