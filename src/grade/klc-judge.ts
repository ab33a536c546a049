// Checks of kathara-lab-checker's protocols, applications, bridges and kernel_routes families: a command run
// in the device (vtysh ... json, dig, curl, ip -j link) whose output umlab judges here, so the
// reason of a failure names what was expected and what the device has. Each is retried until
// its deadline like any check; one whose command cannot run is an error, never a pass.
import { retryWithin, WITHIN_RETRY_MS, type CheckResult } from '../checks/evaluate.ts';
import type { ExecFn } from '../checks/probes.ts';
import type { CommandTest } from '../topology/model.ts';
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

/** Runs `test`'s command until `judge` passes its output or the check's `within:` is over (the same retries as any check). */
export function runJudged(test: CommandTest, judge: Judge, exec: ExecFn, retryMs = WITHIN_RETRY_MS): Promise<CheckResult> {
  const commands = [`${test.vm}: ${test.run}`];
  const once = async (): Promise<CheckResult> => {
    const base = { name: test.name, kind: 'command' as const, commands, durationMs: 0 };
    try {
      const out = await exec(test.vm, test.run, 60_000);
      const verdict = judgeOutput(judge, out);
      const detail = [out.stdout.trimEnd(), out.stderr.trimEnd()].filter(Boolean).join('\n').slice(0, 4000) || undefined;
      return { ...base, status: verdict.pass ? 'pass' : 'fail', message: verdict.reason, ...(detail !== undefined && { detail }) };
    } catch (e) {
      return { ...base, status: 'error', message: `could not run: ${e instanceof Error ? e.message : String(e)}` };
    }
  };
  return retryWithin(test.within ?? 0, once, retryMs);
}
