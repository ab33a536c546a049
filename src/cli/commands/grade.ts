// `umlab grade`: grade a class: every submission booted as its own lab, the teacher's
// checks run against it (retried until their deadline), reports written to --out.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { ExitCode, UsageError } from '../../errors.ts';
import { freeMemoryMiB } from '../../runtime/memory-budget.ts';
import { umlabHome } from '../../runtime/paths.ts';
import { gradeClass, type GradeEvent } from '../../grade/grade-class.ts';
import { autoJobs, MEMORY_SHARE } from '../../grade/jobs.ts';
import { ensureImages, loadSubmission } from '../../grade/load-submission.ts';
import { progressJson, progressLine } from '../../grade/progress.ts';
import { readSpec } from '../../grade/read-spec.ts';
import { keepCaptures, previousResults, studentFolders, writeReports } from '../../grade/report-files.ts';
import { findSubmissions, type Submission } from '../../grade/submissions.ts';
import { bootTimeoutSeconds } from '../env.ts';
import { err, out } from '../format.ts';
import { requirePositional, type CommandSpec, type ParsedArgs } from '../args.ts';

const DEFAULT_TIMEOUT_S = 300;

function positiveNumber(value: unknown, option: string): number | undefined {
  if (value === undefined || value === 'auto') return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0))
    throw new UsageError(`${option} takes a whole number above 0${option === '--jobs' ? ' or auto' : ''}, not ${JSON.stringify(value)}`);
  return n;
}

/** Free memory the class may take, in MiB (MemAvailable + SwapFree, of which MEMORY_SHARE). */
function memoryBudgetMiB(): number {
  try {
    return Math.floor((freeMemoryMiB(readFileSync('/proc/meminfo', 'utf8')) ?? Infinity) * MEMORY_SHARE);
  } catch {
    return Infinity;
  }
}

function selected(all: Submission[], only: string[]): Submission[] {
  if (only.length === 0) return all;
  const unknown = only.filter((n) => !all.some((s) => s.student === n));
  if (unknown.length) throw new UsageError(`no submission named ${unknown.join(', ')}`, { hint: `submissions: ${all.map((s) => s.student).join(', ')}` });
  return all.filter((s) => only.includes(s.student));
}

export const gradeCommand: CommandSpec = {
  name: 'grade',
  summary: "grade a class: run every student's lab against the teacher's checks, in parallel, with reports",
  usage: 'umlab grade SPEC SUBMISSION... [--out DIR] [--jobs N|auto] [--timeout S] [--rerun] [--only NAME] [--json]',
  options: [
    '  --out DIR       where the reports go (default: grading-results): results.csv, results.json, index.html, per student index.html, junit.xml and captures',
    '  --jobs N|auto   submissions graded at once (default auto: 2 per core, while their memory fits 80% of the free memory)',
    '  --timeout S     seconds a submission may take, boot included (default 300); it is then graded on what it reached',
    '  --rerun         grade again only submissions (or a spec) that changed since the last run in --out',
    '  --only NAME     grade only this student (repeatable)',
    '  --json          one JSON line per event on stdout instead of progress lines',
    '  --build-images  build the Kathará image the labs need first (root; once)',
  ],
  notes: [
    "SPEC is umlab's grading spec (a lab's tests: with points:, hidden:, group:) or a kathara-lab-checker",
    'configuration (JSON, or YAML with lab_inline). SUBMISSION is a lab directory, a YAML lab, a .zip or',
    '.tar.gz, or a folder holding one of those per student (named after the student).',
    "No check is judged before the network has converged (the spec's convergence: / convergence_time after",
    "the lab is up); then each is retried until it passes or its deadline (the spec's deadline:, or its within:;",
    '10 s for a kathara-lab-checker configuration) passes. The report gives the time it first passed.',
    'Exit code 0 when every check of every submission passed, 1 when one did not, 3 for an invalid spec,',
    '130 when interrupted (every lab is taken down; the submissions not graded are named). docs/grading.md.',
  ],
  examples: [
    'umlab grade labs/grading/spec.yaml labs/grading/submissions --out /tmp/grades',
    'umlab grade labs/grading/klc.json labs/grading/submissions/alice',
    'umlab grade spec.yaml class/ --jobs 4 --timeout 120 --rerun --json',
  ],
  parse: {
    out: { type: 'string' },
    jobs: { type: 'string' },
    timeout: { type: 'string' },
    rerun: { type: 'boolean' },
    only: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    'build-images': { type: 'boolean' },
  },
  run: (args) => runGrade(args),
};

async function runGrade(args: ParsedArgs): Promise<number> {
  bootTimeoutSeconds();
  const specFile = requirePositional(args, 0, 'grading spec', gradeCommand);
  const jobs = positiveNumber(args.values.jobs, '--jobs') ?? autoJobs(availableParallelism());
  const timeoutSeconds = positiveNumber(args.values.timeout, '--timeout') ?? DEFAULT_TIMEOUT_S;
  const outDir = (args.values.out as string | undefined) ?? 'grading-results';
  const asJson = Boolean(args.values.json);
  const { spec, hash } = readSpec(specFile);
  const paths = args.positionals.slice(1);
  if (paths.length === 0) throw new UsageError('no submissions given', { hint: `usage: ${gradeCommand.usage}` });
  const all = findSubmissions(paths);
  const submissions = selected(all, (args.values.only as string[] | undefined) ?? []);
  if (submissions.length === 0)
    throw new UsageError(`no submissions found in ${paths.join(', ')}`, {
      hint: 'give lab directories (with lab.conf), YAML labs, archives, or a folder of them',
    });
  const profiles = (
    await Promise.all(
      submissions
        .filter((s) => s.kind !== 'archive')
        .map((s) =>
          loadSubmission(s.path).then(
            (l) => l.profiles,
            () => [],
          ),
        ),
    )
  ).flat();
  await ensureImages(profiles, Boolean(args.values['build-images']), (line) => err(`${line}\n`));

  const previous = previousResults(outDir);
  const folders = studentFolders(all.map((s) => s.student));
  const started = Date.now();
  const width = Math.max(...submissions.map((s) => s.student.length));
  const abort = new AbortController();
  const onSignal = () => {
    if (!abort.signal.aborted) err('interrupted: taking every lab down...\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A result kept by --rerun already has its captures in --out (a relative path): not moved again.
  const reused = new Set<string>();
  const onEvent = (e: GradeEvent) => {
    const elapsed = (Date.now() - started) / 1000;
    if (e.event === 'reused') reused.add(e.student);
    if (e.event === 'done' && !reused.has(e.student)) keepCaptures(e.result, outDir, folders.get(e.student)!);
    if (asJson) out(progressJson(e, elapsed) + '\n');
    else err(progressLine(e, elapsed, width) + '\n');
  };
  let outcome;
  try {
    outcome = await gradeClass(submissions, {
      home: umlabHome(),
      spec,
      specHash: hash,
      jobs,
      memoryBudgetMiB: memoryBudgetMiB(),
      timeoutSeconds,
      signal: abort.signal,
      onEvent,
      ...(args.values.rerun ? { previous } : {}),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // Students not graded in this run keep their earlier results (--only, --rerun).
  const fresh = new Map(outcome.results.map((r) => [r.student, r]));
  const students = all.flatMap((s) => fresh.get(s.student) ?? previous.get(s.student) ?? []);
  writeReports(outDir, { spec: specFile, form: spec.form, specHash: hash, generated: new Date().toISOString(), students, ungraded: outcome.ungraded }, folders);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (asJson)
    out(
      JSON.stringify({
        event: 'summary',
        out: outDir,
        graded: outcome.results.length,
        ungraded: outcome.ungraded,
        seconds: Number(seconds),
        peakMemoryMiB: outcome.peakMemoryMiB,
      }) + '\n',
    );
  else
    err(
      `graded ${outcome.results.filter((r) => r.status !== 'interrupted').length} submission(s) in ${seconds} s; reports in ${outDir}/ (index.html, results.csv, results.json)\n`,
    );
  if (abort.signal.aborted) {
    if (!asJson) err(`not graded (interrupted): ${outcome.ungraded.join(', ') || 'none'}\n`);
    return 130;
  }
  return outcome.results.every((r) => r.checks.every((c) => c.verdict === 'pass')) ? ExitCode.ok : ExitCode.failure;
}
