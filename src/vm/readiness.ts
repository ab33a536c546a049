// Waits for a VM's `ready:` conditions (VmPlan.ready) after its startup: each condition's
// command is run through the agent again and again until it exits 0, in order, all within the
// VM's readyTimeout. The conditions and their commands are the plan's (src/topology/readiness.ts).
import type { VmPlan } from '../topology/plan.ts';
import { sleep } from '../util/time.ts';
import type { ExecResult } from './agent.ts';

/** Between two tries of a condition: short, as `up` waits for it. */
export const READY_POLL_MS = 200;

export interface NotReady {
  condition: string;
  tries: number;
  /** What the last try printed and its exit code (for a `cmd:`, the user's own command's output). */
  lastExit: number | null;
  lastOutput: string;
}

/** Resolves null when every condition held in time, else what did not; rejects when the VM stops answering. */
export async function awaitReadiness(
  vm: Pick<VmPlan, 'ready' | 'readyTimeout'>,
  exec: (command: string) => Promise<ExecResult>,
  onWaiting: (condition: string) => void,
  pollMs = READY_POLL_MS,
): Promise<NotReady | null> {
  const deadline = Date.now() + vm.readyTimeout * 1000;
  for (const { condition, command } of vm.ready) {
    onWaiting(condition);
    let tries = 0;
    let last: ExecResult | null = null;
    for (;;) {
      tries++;
      const remaining = deadline - Date.now();
      const r = await within(exec(command), Math.max(0, remaining));
      if (r?.exitCode === 0) break;
      if (r) last = r;
      if (Date.now() >= deadline) {
        const output = last ? [last.stdout.toString('utf8').trim(), last.stderr.toString('utf8').trim()].filter(Boolean).join('\n') : '';
        return { condition, tries, lastExit: last?.exitCode ?? null, lastOutput: output.slice(-1000) };
      }
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  }
  return null;
}

/** The promise's value, or null when it takes longer than `ms` (its timer cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** "VM h1 was not ready within 30 s: tcp:80 never held (12 tries)", and the last output of a command. */
export function notReadyMessage(vm: string, timeoutSeconds: number, n: NotReady): string {
  const output = n.lastOutput
    ? `\n    last output (exit ${n.lastExit}):\n${n.lastOutput.replace(/^/gm, '      ')}`
    : n.lastExit === null
      ? '\n    (its last try did not finish in time)'
      : '';
  return (
    `VM ${vm} was not ready within ${timeoutSeconds} s of its startup: ${n.condition} never held (${n.tries} ${n.tries === 1 ? 'try' : 'tries'}; ` +
    `if it only needs longer, raise the VM's ready_timeout)${output}`
  );
}
