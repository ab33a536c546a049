// Checks of kathara-lab-checker's protocols, applications, bridges and kernel_routes families: a command run
// in the device (vtysh ... json, dig, curl, ip -j link) whose output umlab judges here, so the
// reason of a failure names what was expected and what the device has. Each is retried until
// its deadline like any check; one whose command cannot run is an error, never a pass.
import type { CheckResult } from '../checks/evaluate.ts';
import type { ExecFn } from '../checks/probes.ts';
import type { CommandTest } from '../topology/model.ts';
import { formatSeconds } from '../topology/measures.ts';
import { judgeApplication, type ApplicationJudge } from './klc-applications.ts';
import { judgeBridge, type BridgeJudge } from './klc-bridges.ts';
import type { Output, Verdict } from './klc-common.ts';
import { judgeProtocol, type ProtocolJudge } from './klc-protocols.ts';
import { judgeRoutes, type RoutesJudge } from './klc-routes.ts';

/** What to look for in a command's output (plain data, part of the spec). */
export type Judge = ProtocolJudge | ApplicationJudge | BridgeJudge | RoutesJudge;

export function judgeOutput(j: Judge, out: Output): Verdict {
  if (j.family === 'protocols') return judgeProtocol(j, out);
  if (j.family === 'applications') return judgeApplication(j, out);
  if (j.family === 'kernel_routes') return judgeRoutes(j, out);
  return judgeBridge(j, out);
}

/** Pause between two tries (as `within:` checks). */
const RETRY_MS = 500;

/** Runs `test`'s command until `judge` passes its output or the check's `within:` is over. */
export async function runJudged(test: CommandTest, judge: Judge, exec: ExecFn, retryMs = RETRY_MS): Promise<CheckResult> {
  const started = Date.now();
  const deadline = started + (test.within ?? 0) * 1000;
  const commands = [`${test.vm}: ${test.run}`];
  for (let tries = 1; ; tries++) {
    let verdict: Verdict;
    let detail: string | undefined;
    let error = false;
    try {
      const out = await exec(test.vm, test.run, 60_000);
      verdict = judgeOutput(judge, out);
      detail = [out.stdout.trimEnd(), out.stderr.trimEnd()].filter(Boolean).join('\n').slice(0, 4000) || undefined;
    } catch (e) {
      verdict = { pass: false, reason: `could not run: ${e instanceof Error ? e.message : String(e)}` };
      error = true;
    }
    const spent = formatSeconds((Date.now() - started) / 1000);
    const base = { name: test.name, kind: 'command' as const, commands, tries, durationMs: Date.now() - started, ...(detail !== undefined && { detail }) };
    if (verdict.pass) return { ...base, status: 'pass', message: `${verdict.reason} (try ${tries}, after ${spent})` };
    if (Date.now() >= deadline)
      return { ...base, status: error ? 'error' : 'fail', message: `${verdict.reason} (still so after ${tries} ${tries === 1 ? 'try' : 'tries'} in ${spent})` };
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs, Math.max(0, deadline - Date.now()))));
  }
}
