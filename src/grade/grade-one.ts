// Grades one submission: load its lab, judge the file checks, run the live checks in its
// own lab, and turn everything into verdicts and points.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { UmlabError } from '../errors.ts';
import { linksOfCheck } from './check-links.ts';
import { loadSubmission } from './load-submission.ts';
import type { CheckOutcome, SubmissionResult, SubmissionStatus } from './result.ts';
import { liveTests } from './live-checks.ts';
import { runLive, type LivePhase, type LiveRun } from './live-run.ts';
import { score } from './scoring.ts';
import type { GradedCheck, GradingSpec } from './spec.ts';
import { judgeStatic, type SubmissionFiles } from './static-checks.ts';

export interface GradeOneOptions {
  home: string;
  spec: GradingSpec;
  timeoutSeconds: number;
  signal: AbortSignal;
  onPhase: (p: LivePhase) => void;
}

const base = (c: GradedCheck) => ({
  name: c.name,
  description: c.description,
  hidden: c.hidden,
  ...(c.group !== undefined && { group: c.group }),
  points: 0,
  maxPoints: 0,
  commands: [] as string[],
});

/** Grades one lab (a YAML file or a lab directory, already unpacked). */
export async function gradeOne(student: string, labPath: string, hash: string, opts: GradeOneOptions): Promise<SubmissionResult> {
  const started = Date.now();
  const result = (status: SubmissionStatus, checks: CheckOutcome[], extra: Partial<SubmissionResult> = {}): SubmissionResult => ({
    student,
    source: labPath,
    status,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ...score(opts.spec, checks),
    checks,
    hash,
    warnings: [],
    ...extra,
  });
  let loaded;
  try {
    loaded = await loadSubmission(labPath);
  } catch (error) {
    if (!(error instanceof UmlabError)) throw error;
    const problem = `the lab does not load: ${error.message}`;
    return result(
      'invalid',
      opts.spec.checks.map((c) => unrun(c, problem)),
      { problem },
    );
  }
  const files: SubmissionFiles = { lab: structuredClone(loaded.lab), startupFiles: startupFilesOf(labPath, loaded.lab) };
  const { tests, judges } = liveTests(opts.spec);
  const live =
    tests.length > 0
      ? await runLive(loaded.lab, tests, {
          home: opts.home,
          timeoutSeconds: opts.timeoutSeconds,
          convergenceSeconds: opts.spec.convergenceSeconds,
          signal: opts.signal,
          onPhase: opts.onPhase,
          judges,
        })
      : null;
  const checks = opts.spec.checks.map((c) => withLinks(outcome(c, files, live), c, files.lab));
  return result(live?.stopped?.status ?? 'graded', checks, {
    warnings: loaded.warnings,
    ...(live?.stopped && { problem: live.stopped.reason }),
    ...(live?.archive && { captures: live.archive }),
  });
}

/** The captures a student's page links for a reach check: the links of the submission's own lab. */
function withLinks(o: CheckOutcome, c: GradedCheck, lab: SubmissionFiles['lab']): CheckOutcome {
  const links = c.kind === 'live' ? linksOfCheck(c.test, lab) : [];
  return links.length ? { ...o, links } : o;
}

function outcome(c: GradedCheck, files: SubmissionFiles, live: LiveRun | null): CheckOutcome {
  if (c.kind === 'unsupported') return { ...base(c), verdict: 'not-supported', reason: c.reason };
  if (c.kind === 'static') {
    const j = judgeStatic(c.check, files);
    return { ...base(c), verdict: j.pass ? 'pass' : 'fail', reason: j.reason };
  }
  const done = live?.results.get(c.name);
  if (!done) return unrun(c, live?.stopped?.reason ?? 'the check did not run');
  const r = done.result;
  return {
    ...base(c),
    verdict: r.status,
    reason: r.message,
    commands: r.commands,
    ...(r.detail !== undefined && { detail: r.detail }),
    ...(r.tries !== undefined && { tries: r.tries }),
    ...(r.status === 'pass' && { secondsToPass: Math.round(done.atSeconds * 10) / 10 }),
  };
}

/** A check that never got to run: a failure, with the reason why (never a pass). */
export const unrun = (c: GradedCheck, reason: string): CheckOutcome =>
  c.kind === 'unsupported' ? { ...base(c), verdict: 'not-supported', reason: c.reason } : { ...base(c), verdict: 'fail', reason };

function startupFilesOf(labPath: string, lab: SubmissionFiles['lab']): string[] {
  if (!statSync(labPath).isDirectory()) return lab.vms.filter((v) => v.startup.length > 0).map((v) => v.name);
  return existsSync(labPath)
    ? readdirSync(labPath)
        .filter((f) => f.endsWith('.startup'))
        .map((f) => f.slice(0, -'.startup'.length))
    : [];
}
