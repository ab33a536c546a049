// A link's capture written by tcpdump: tap bridges' links (on the host's tap, outliving `up`).
// The kernel-bridged switches, hubs and wires of a lab share one capture helper instead
// (capture-helper.ts), which answers to the same RunningCapture interface. tcpdump's command line names the capture
// file, and so the run directory: `down` finds a stray one like any process of the lab.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { LabRuntimeError } from '../errors.ts';
import { PCAP_SNAPLEN, trimToWholeRecords } from './pcap-writer.ts';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface RunningCapture {
  readonly file: string;
  /** tcpdump's pid (setpriv execs it), for the lab's process record. */
  readonly pid: number | undefined;
  /** Resolves when tcpdump exits by itself (not through stop()), with why: "tcpdump exited (signal 9)". */
  readonly died: Promise<string>;
  /** Ends tcpdump (SIGTERM: it writes out what it holds) and waits for it. Resolves to the
   *  number of frames it could not keep up with ("dropped by kernel"), left out of the file. */
  stop(): Promise<number>;
}

/** tcpdump's messages for the capture `file`; `down` keeps them with the captures. */
export const tcpdumpLogOf = (file: string) => file.replace(/\.pcap$/, '') + TCPDUMP_LOG_SUFFIX;
export const TCPDUMP_LOG_SUFFIX = '.tcpdump.log';

/** The frames tcpdump could not keep up with ("N packets dropped by kernel", said as it exits). */
export function framesMissedBy(tcpdumpLog: string): number {
  return Number(/^(\d+) packets? dropped by kernel/m.exec(tcpdumpLog)?.[1] ?? 0);
}

export interface TcpdumpOptions {
  /** Keep running after this process exits (the CLI's tap captures); otherwise tcpdump gets
   *  SIGTERM when its parent dies, so a killed supervisor leaves no capture behind. */
  detached: boolean;
}

/** Starts tcpdump on `device`, writing `file`, and resolves once it is capturing. Its messages
 *  go to tcpdumpLogOf(file): a pipe would break (SIGPIPE) once a detached tcpdump's parent exits. */
export async function startTcpdump(device: string, file: string, options: TcpdumpOptions): Promise<RunningCapture> {
  const log = tcpdumpLogOf(file);
  const logFd = openSync(log, 'w');
  // -U and --immediate-mode: every frame reaches the file at once (tests and the web view read
  // it live); -Z root: as root tcpdump would otherwise switch to a user who cannot write there.
  const tcpdump = ['tcpdump', '-i', device, '-n', '-U', '--immediate-mode', '-Z', 'root', '-s', String(PCAP_SNAPLEN), '-w', file];
  const argv = options.detached ? tcpdump : ['setpriv', '--pdeathsig', 'TERM', '--', ...tcpdump];
  const child = spawn(argv[0], argv.slice(1), { detached: options.detached, stdio: ['ignore', 'ignore', logFd] });
  closeSync(logFd);
  let exited: string | null = null;
  let stopping = false;
  let onDied: (reason: string) => void = () => {};
  const died = new Promise<string>((resolve) => (onDied = resolve));
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ?? `code ${code}`;
      // A write error (a full disk) can leave half a record at the end: readers stop there.
      trimToWholeRecords(file);
      if (!stopping) onDied(tcpdumpExitReason(code, signal, said()));
      resolve();
    });
    child.once('error', (err) => {
      exited = err.message;
      resolve();
    });
  });
  if (options.detached) child.unref();
  const said = () => readFileSync(log, 'utf8');
  for (let waited = 0; waited < START_TIMEOUT_MS && exited === null && !said().includes('listening on'); waited += 20) await sleep(20);
  if (!said().includes('listening on')) {
    child.kill('SIGKILL');
    throw new LabRuntimeError(`tcpdump on ${device} did not start${exited ? ` (it exited: ${exited})` : ''}: ${said().trim()}`);
  }
  return {
    file,
    pid: child.pid,
    died,
    async stop() {
      stopping = true;
      if (exited === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exit;
        clearTimeout(killer);
      }
      return framesMissedBy(said());
    },
  };
}

/** Why tcpdump ended on its own, for status and `down`: a full disk is named as such. */
export function tcpdumpExitReason(code: number | null, signal: NodeJS.Signals | null, log: string): string {
  if (/no space left on device/i.test(log)) return 'no space left on device';
  if (signal) return `tcpdump exited (signal ${constants.signals[signal] ?? signal})`;
  const said = log
    .trim()
    .split('\n')
    .filter((l) => !/^(tcpdump: )?listening on/.test(l))
    .pop();
  return `tcpdump exited (code ${code})${said ? `: ${said}` : ''}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
