// A grading spec's live checks against a running lab, shared by `umlab grade` (a submission's
// own lab, live-run.ts) and the class server's checks on demand (a student's lab): the checks
// umlab judges the output of go through runJudged, the rest through runChecks; all at once, as
// most of their time is waiting (retries, pings, the lab's answers).
import type { CheckEnv, CheckResult } from '../checks/evaluate.ts';
import { runChecks } from '../checks/run.ts';
import type { CommandTest, LabTest } from '../topology/model.ts';
import { runJudged, type Judge } from './klc-judge.ts';
import { liveChecks, type GradingSpec } from './spec.ts';

/** The spec's live checks as tests (the spec's deadline where they have none of their own) and
 *  the judges of those whose output umlab judges; `visibleOnly` leaves the hidden ones out. */
export function liveTests(spec: GradingSpec, visibleOnly = false): { tests: LabTest[]; judges: Map<string, Judge> } {
  const checks = liveChecks(spec).filter((c) => !(visibleOnly && c.hidden));
  return {
    tests: checks.map((c) => ({ ...c.test, within: c.test.within ?? spec.deadlineSeconds })),
    judges: new Map(checks.flatMap((c) => (c.judge ? [[c.name, c.judge] as const] : []))),
  };
}

export async function runLiveChecks(
  tests: LabTest[],
  judges: ReadonlyMap<string, Judge>,
  env: CheckEnv,
  onResult?: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  const judged = (t: LabTest) => t.kind === 'command' && judges.has(t.name);
  const results = await Promise.all([
    runChecks(
      tests.filter((t) => !judged(t)),
      env,
      { parallel: Math.max(1, tests.length), ...(onResult && { onResult }) },
    ),
    ...tests.filter(judged).map(async (t) => {
      const r = await runJudged(t as CommandTest, judges.get(t.name)!, env.exec);
      onResult?.(r);
      return [r];
    }),
  ]);
  // In the spec's order, whichever way each ran.
  const byName = new Map(results.flat().map((r) => [r.name, r]));
  return tests.flatMap((t) => byName.get(t.name) ?? []);
}
