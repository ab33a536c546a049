// Host side of slirp gateways: one passt process per segment in the caller's network namespace,
// started before the supervisor under a keeper (a shell loop) that restarts it when it dies,
// with the same arguments (port forwards included); both are recorded in <runDir>/pids, so
// `down` kills them.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { LabRuntimeError } from '../../errors.ts';
import type { LabPlan } from '../../topology/plan.ts';
import { trackProcess } from '../../vm/processes.ts';
import type { SlirpPlan } from './index.ts';

/** Starts one passt per slirp segment, detached, and waits until each listens on its socket. */
export async function beforeBoot(gateways: SlirpPlan[], plan: LabPlan): Promise<void> {
  for (const segment of gateways) {
    const { socket, log, state, passtArgs } = segment.options;
    const logFd = openSync(log, 'a');
    // As root passt would switch to "nobody", who cannot create the socket in the run directory.
    const runAs = process.getuid?.() === 0 ? ['--runas', '0:0'] : [];
    const argv = ['sh', '-c', PASST_KEEPER, 'umlab-passt-keeper', state, socket, 'passt', '--foreground', '--stderr', ...runAs, ...passtArgs];
    // Its own process group (detached), recorded: `down` kills the keeper and passt together.
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    trackProcess(plan.runDir, child.pid, 'group');
    let failed: string | null = null;
    child.once('exit', (code, signal) => (failed = `its keeper exited: ${signal ?? `code ${code}`}`));
    child.once('error', (err) => (failed = err.message));
    child.unref();
    const passtExited = () => /^exited (\d+)/.exec(readOr(state))?.[1];
    for (let i = 0; i < 100 && !existsSync(socket) && failed === null && !passtExited(); i++) await sleep(50);
    if (!existsSync(socket) || passtExited()) {
      const why = failed ?? (passtExited() ? `it exited: status ${passtExited()}` : null);
      if (child.pid) process.kill(-child.pid, 'SIGKILL'); // no restart loop for a passt that cannot start
      throw new LabRuntimeError(`segment ${segment.name}: passt did not open ${socket}${why ? ` (${why})` : ''}`, {
        hint: `passt said:\n${tailOf(log)}`,
      });
    }
  }
}

/** Runs passt ("$@") and starts it again a second after it dies, writing "running <pid>" or
 *  "exited <status>" to the state file ($1) for the gateway engine; the stale socket ($2) goes first. */
const PASST_KEEPER = `state=$1; sock=$2; shift 2
while :; do
  rm -f "$sock"
  "$@" & child=$!
  echo "running $child" > "$state"
  wait $child; rc=$?
  echo "exited $rc" > "$state"
  sleep 1
done`;

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tailOf(path: string, lines = 10): string {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('Failed to send'))
      .slice(-lines)
      .map((l) => '    ' + l)
      .join('\n');
  } catch {
    return '    (no log)';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
