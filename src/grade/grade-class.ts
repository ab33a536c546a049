// Grades a class: every submission in its own lab, as many at once as the cores and the
// memory budget allow, each stopped at its timeout; on Ctrl-C every lab is taken down and
// the submissions not graded are named. Writes the reports as it goes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryMiB } from '../topology/model.ts';
import { UmlabError } from '../errors.ts';
import { unpackArchive } from './archive.ts';
import { contentHash } from './content-hash.ts';
import { gradeOne, unrun } from './grade-one.ts';
import { MemoryGate } from './jobs.ts';
import type { LivePhase } from './live-run.ts';
import { loadSubmission } from './load-submission.ts';
import type { SubmissionResult } from './result.ts';
import { score } from './scoring.ts';
import type { GradingSpec } from './spec.ts';
import type { Submission } from './submissions.ts';

export type GradeEvent =
  | { student: string; event: 'queued' | 'reused' }
  | ({ student: string; event: 'phase' } & LivePhase)
  | { student: string; event: 'done'; result: SubmissionResult };

export interface GradeClassOptions {
  home: string;
  spec: GradingSpec;
  specHash: string;
  jobs: number;
  memoryBudgetMiB: number;
  timeoutSeconds: number;
  signal: AbortSignal;
  onEvent: (e: GradeEvent) => void;
  /** Results of an earlier run, by student, reused when the submission's hash is the same. */
  previous?: Map<string, SubmissionResult>;
}

export interface ClassOutcome {
  results: SubmissionResult[];
  /** Submissions not graded because the run was interrupted. */
  ungraded: string[];
  /** Most memory the running labs had been admitted with at once (MiB). */
  peakMemoryMiB: number;
}

/** Grades every submission; results come back in the submissions' order. */
export async function gradeClass(submissions: Submission[], opts: GradeClassOptions): Promise<ClassOutcome> {
  const gate = new MemoryGate(opts.memoryBudgetMiB);
  const results = new Map<string, SubmissionResult>();
  const waiting = [...submissions];
  let running = 0;
  let peak = 0;
  for (const s of submissions) opts.onEvent({ student: s.student, event: 'queued' });
  const memory = await labMemories(submissions);
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (opts.signal.aborted) waiting.length = 0;
      if (waiting.length === 0 && running === 0) return resolve();
      while (waiting.length > 0 && running < opts.jobs) {
        const next = waiting[0];
        const need = memory.get(next.student) ?? 0;
        if (!gate.tryTake(need)) break; // the budget is full: wait for a lab to finish
        waiting.shift();
        running++;
        peak = Math.max(peak, gate.usedMiB);
        void gradeSubmission(next, opts).then((r) => {
          gate.release(need);
          running--;
          if (r) {
            results.set(next.student, r);
            opts.onEvent({ student: next.student, event: 'done', result: r });
          }
          pump();
        });
      }
    };
    opts.signal.addEventListener('abort', pump, { once: true });
    pump();
  });
  const graded = submissions.flatMap((s) => results.get(s.student) ?? []);
  return {
    results: graded,
    ungraded: submissions.filter((s) => !results.has(s.student) || results.get(s.student)!.status === 'interrupted').map((s) => s.student),
    peakMemoryMiB: peak,
  };
}

/** Each lab's memory (its VMs' `memory:`, what `up` checks); an archive counts as the largest lab, a lab that does not load as 0. */
async function labMemories(submissions: Submission[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of submissions) {
    if (s.kind === 'archive') continue;
    out.set(
      s.student,
      await loadSubmission(s.path).then(
        (l) => l.lab.vms.reduce((sum, vm) => sum + memoryMiB(vm.memory), 0),
        () => 0,
      ),
    );
  }
  const largest = Math.max(0, ...out.values());
  for (const s of submissions) if (s.kind === 'archive') out.set(s.student, largest);
  return out;
}

/** One submission: unpacked if it is an archive, hashed, reused or graded; its temp files removed. */
async function gradeSubmission(s: Submission, opts: GradeClassOptions): Promise<SubmissionResult | null> {
  let temp: string | undefined;
  const onPhase = (p: LivePhase) => opts.onEvent({ student: s.student, event: 'phase', ...p });
  try {
    const hash = contentHash(s.path, opts.specHash);
    const before = opts.previous?.get(s.student);
    if (before && before.hash === hash && before.status !== 'interrupted') {
      opts.onEvent({ student: s.student, event: 'reused' });
      return before;
    }
    let labPath = s.path;
    if (s.kind === 'archive') {
      temp = mkdtempSync(join(tmpdir(), 'umlab-grade-'));
      try {
        labPath = unpackArchive(s.path, temp);
      } catch (error) {
        if (!(error instanceof UmlabError)) throw error;
        return refused(s, hash, opts.spec, `the submission is refused: ${error.message}`);
      }
    }
    return await gradeOne(s.student, labPath, hash, { home: opts.home, spec: opts.spec, timeoutSeconds: opts.timeoutSeconds, signal: opts.signal, onPhase });
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

/** A submission that is never run (an unsafe archive): every check fails with the reason. */
function refused(s: Submission, hash: string, spec: GradingSpec, problem: string): SubmissionResult {
  const checks = spec.checks.map((c) => unrun(c, problem));
  return { student: s.student, source: s.path, status: 'invalid', problem, seconds: 0, ...score(spec, checks), checks, hash, warnings: [] };
}
