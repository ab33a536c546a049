// What a student does with a running lab besides using it: hand it in (submit.ts writes the
// submission, the store records it) and run the assignment's checks on demand (the visible checks
// of its grading spec, else the lab file's own `tests:`, and its stages' checks), and jump to a
// stage (stage-jump.ts). One of each at a time per lab.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from '../checks/evaluate.ts';
import { labCheckEnv } from '../checks/lab-env.ts';
import { LabClient } from '../client/lab-client.ts';
import { NotFoundError, UsageError } from '../errors.ts';
import type { Judge } from '../grade/klc-judge.ts';
import { liveTests, runLiveChecks } from '../grade/live-checks.ts';
import { readSpec } from '../grade/read-spec.ts';
import { readPlan, runFiles } from '../runtime/paths.ts';
import type { LoadedClass } from './load-class.ts';
import { loadAssignment } from './local-placement.ts';
import type { Placement } from './placement.ts';
import { applyStages, stagesUpTo, type JumpAnswer } from './stage-jump.ts';
import type { ClassStore, SubmissionRow } from './store.ts';
import { collectChanges, writeSubmission } from './submit.ts';

/** A check's result, with the stage whose check it is (null: the lab's own `tests:`). */
export type StageCheckResult = CheckResult & { stage: string | null };

export interface HandinsOptions {
  loaded: LoadedClass;
  store: ClassStore;
  placement: Placement;
  /** <class>/submissions. */
  submissionsDir: string;
  now?: () => number;
}

export class Handins {
  /** Labs with a submit or a check run under way. */
  private readonly busy = new Set<string>();

  constructor(private readonly o: HandinsOptions) {}

  private source(assignment: string): string {
    return this.o.loaded.labPaths.get(assignment)!;
  }

  /** The run directory of the student's lab, which must run; and the lab marked busy meanwhile. */
  private async withRunningLab<T>(student: string, assignment: string, what: string, work: (runDir: string, lab: string) => Promise<T>): Promise<T> {
    const row = this.o.store.lab(student, assignment);
    const runDir = row.state === 'running' ? this.o.placement.runDir(row.lab) : null;
    if (runDir === null) throw new UsageError(`lab ${assignment} is not running: start it, then ${what}`);
    if (this.busy.has(row.lab)) throw new UsageError(`lab ${assignment} is busy with a submit, its checks or a jump: try again in a moment`);
    this.busy.add(row.lab);
    try {
      return await work(runDir, row.lab);
    } finally {
      this.busy.delete(row.lab);
    }
  }

  /** Collects the files the student changed in their running lab into a new submission. */
  async submit(student: string, assignment: string, actor: string): Promise<SubmissionRow> {
    const target = `${student}/${assignment}`;
    try {
      const row = await this.withRunningLab(student, assignment, 'submit', async (runDir) => {
        const source = this.source(assignment);
        const { files, skipped } = await collectChanges(runDir, statSync(source).isDirectory());
        const at = (this.o.now ?? Date.now)();
        const written = writeSubmission(join(this.o.submissionsDir, assignment), student, source, files, at, skipped);
        return this.o.store.addSubmission({ student, assignment, ...written });
      });
      this.o.store.event({ actor, action: 'submit', target, outcome: 'ok', detail: `${row.files.length} files, ${row.skipped.length} left out` });
      return row;
    } catch (err) {
      this.o.store.event({ actor, action: 'submit', target, outcome: 'failed', detail: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }

  /** The student's submissions of the assignment, newest first. */
  submissions(student: string, assignment: string): SubmissionRow[] {
    return this.o.store.submissions(assignment, student);
  }

  /** Runs the assignment's checks (its lab's `tests:`, then each stage's `checks:`, each result
   *  named with its stage) against the student's running lab. */
  async checks(student: string, assignment: string, actor: string): Promise<{ assignment: string; at: number; results: StageCheckResult[] }> {
    const lab = await loadAssignment(this.source(assignment), false);
    // An assignment graded by a spec of its own shows that spec's visible checks, not the lab's `tests:`.
    const specFile = this.o.loaded.gradingSpecs.get(assignment);
    const own = specFile ? liveTests(readSpec(specFile).spec, true) : { tests: lab.tests, judges: new Map<string, Judge>() };
    const groups = [
      { stage: null, tests: own.tests },
      ...(this.o.loaded.stages.get(assignment) ?? []).map((st) => ({ stage: st.id, tests: st.checks })),
    ].filter((g) => g.tests.length > 0);
    if (groups.length === 0)
      throw new UsageError(
        `assignment ${assignment} has no checks to run (${specFile ? 'its grading spec has no visible live checks' : 'its lab has no tests: section'}, its stages no checks:)`,
      );
    const results = await this.withRunningLab(student, assignment, 'run its checks', async (runDir, name) => {
      const plan = readPlan(runDir);
      lab.name = name;
      const client = new LabClient(runFiles(runDir).control);
      const env = labCheckEnv(lab, plan, (vm, command, timeoutMs) => client.execText(vm, command, timeoutMs), Date.now() * 1000);
      const out: StageCheckResult[] = [];
      // Each stage's checks apart: their names and `after:` are the stage's own.
      for (const g of groups) for (const r of await runLiveChecks(g.tests, g.stage === null ? own.judges : new Map(), env)) out.push({ ...r, stage: g.stage });
      return out;
    });
    const passed = results.filter((r) => r.status === 'pass').length;
    this.o.store.event({ actor, action: 'checks', target: `${student}/${assignment}`, outcome: 'ok', detail: `${passed} of ${results.length} passed` });
    return { assignment, at: Date.now(), results };
  }

  /** The assignment's stages as the pages list them. */
  stages(assignment: string): { id: string; title: string }[] {
    return (this.o.loaded.stages.get(assignment) ?? []).map((st) => ({ id: st.id, title: st.title }));
  }

  /** The stage each running lab was last put at in this run of it ("student/assignment" -> stage):
   *  a jump before the lab's latest start (or reset) does not count. */
  currentStages(): Map<string, string> {
    if ([...this.o.loaded.stages.values()].every((stages) => stages.length === 0)) return new Map();
    const rows = new Map(this.o.store.labs().map((r) => [`${r.student}/${r.assignment}`, r]));
    const out = new Map<string, string>();
    for (const [target, last] of this.o.store.lastStages()) {
      const row = rows.get(target);
      if (row?.state === 'running' && last.at >= row.updated) out.set(target, last.stage);
    }
    return out;
  }

  /** Jumps the student's running lab to a stage: the files of every stage up to it (stage-jump.ts). */
  async jump(student: string, assignment: string, stage: string, actor: string): Promise<JumpAnswer> {
    const chosen = stagesUpTo(this.o.loaded.stages.get(assignment) ?? [], stage);
    if (!chosen) throw new NotFoundError(`assignment ${assignment} has no stage ${stage}`);
    const target = `${student}/${assignment}`;
    try {
      const applied = await this.withRunningLab(student, assignment, 'jump to a stage', (runDir) => applyStages(runDir, chosen));
      const ok = applied.every((a) => a.startup === null || a.startup.exitCode === 0);
      // An ok event's detail is the stage alone: the teacher's page reads it back (store.lastStages).
      this.o.store.event({ actor, action: 'stage', target, outcome: ok ? 'ok' : 'failed', detail: ok ? stage : `${stage}: a startup script failed` });
      return { assignment, stage, stages: chosen.map((s) => s.id), applied, ok };
    } catch (err) {
      this.o.store.event({ actor, action: 'stage', target, outcome: 'failed', detail: `${stage}: ${err instanceof Error ? err.message : String(err)}` });
      throw err;
    }
  }
}
