// Runs a lab's checks: independent ones in parallel, `after:` respected, capture checks
// last (they look at the traffic of the whole run).
import type { LabTest } from '../topology/model.ts';
import { evaluate, type CheckEnv, type CheckResult } from './evaluate.ts';

/** At most this many checks at once: probes are cheap, but the machine may be small. */
export const DEFAULT_PARALLEL = 4;

/** Checks that run alone: a throughput measurement would be skewed by anything running beside it
 *  (and would skew it). */
export const runsAlone = (c: LabTest) => c.kind === 'throughput';

/** Names of the checks that must finish before `check` starts: its `after:`, and for a
 *  capture check every non-capture check that does not (transitively) wait for it. */
export function prerequisites(checks: LabTest[]): Map<string, Set<string>> {
  const byName = new Map(checks.map((c) => [c.name, c]));
  const waitsFor = (c: LabTest, target: string, seen = new Set<string>()): boolean =>
    c.after.some((n) => n === target || (!seen.has(n) && (seen.add(n), byName.has(n)) && waitsFor(byName.get(n)!, target, seen)));
  const out = new Map<string, Set<string>>();
  for (const c of checks) {
    const deps = new Set(c.after.filter((n) => byName.has(n)));
    if (c.kind === 'capture') for (const other of checks) if (other.kind !== 'capture' && !waitsFor(other, c.name)) deps.add(other.name);
    out.set(c.name, deps);
  }
  return out;
}

/** Runs every check; results come back in the lab's order, whatever order they ran in. */
export async function runChecks(
  checks: LabTest[],
  env: CheckEnv,
  opts: { parallel?: number; onResult?: (r: CheckResult) => void } = {},
): Promise<CheckResult[]> {
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const deps = prerequisites(checks);
  const results = new Map<string, CheckResult>();
  const started = new Set<string>();
  let running = 0;
  let alone = false;
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (results.size === checks.length) return resolve();
      for (const c of checks) {
        if (running >= parallel || alone) break;
        if (started.has(c.name) || ![...deps.get(c.name)!].every((d) => results.has(d))) continue;
        if (runsAlone(c) && running > 0) continue;
        started.add(c.name);
        running++;
        alone = runsAlone(c);
        void evaluate(c, env).then((r) => {
          running--;
          alone = false;
          results.set(c.name, r);
          opts.onResult?.(r);
          pump();
        });
      }
    };
    pump();
  });
  return checks.map((c) => results.get(c.name)!);
}
