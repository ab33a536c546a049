// "Grade all submissions of an assignment" from the teacher's page: the latest hand-in of every
// student, graded by `umlab grade`'s own library (src/grade/) with the assignment's lab file as
// the grading spec (a lab's `tests:` is one, points and hidden checks included) unless the
// assignment names its own (`grading:`, umlab's spec or kathara-lab-checker's), its reports
// written to <class>/grades/<assignment>/<time>/ and served to the teacher. One run at a time,
// in the background; the grading labs run in a home of their own, apart from the students' labs.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, sep } from 'node:path';
import { UsageError } from '../errors.ts';
import { gradeClass } from '../grade/grade-class.ts';
import { autoJobs } from '../grade/jobs.ts';
import { readSpec } from '../grade/read-spec.ts';
import { keepCaptures, studentFolders, writeReports } from '../grade/report-files.ts';
import { findSubmissions } from '../grade/submissions.ts';
import type { LoadedClass } from './load-class.ts';
import type { ClassStore } from './store.ts';
import { submissionStamp } from './submission.ts';

export interface GradeRun {
  assignment: string;
  /** The run's folder name under grades/<assignment>/. */
  stamp: string;
  state: 'grading' | 'done' | 'failed';
  students: string[];
  error?: string;
}

export interface GradingOptions {
  loaded: LoadedClass;
  store: ClassStore;
  /** <class>/grades. */
  gradesDir: string;
  /** The UMLAB_HOME of the grading labs. */
  home: string;
  /** MiB the grading labs may take now (what the class's running labs leave). */
  budgetMiB: () => number;
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class ClassGrading {
  private current: { run: GradeRun; work: Promise<void> } | null = null;
  private readonly failed: GradeRun[] = [];
  /** Aborted when the server stops: gradeClass takes its labs down. */
  private readonly abort = new AbortController();

  constructor(private readonly o: GradingOptions) {}

  knows(assignment: string): boolean {
    return this.o.loaded.labPaths.has(assignment);
  }

  /** Starts grading the latest hand-in of each student of `assignment`; answers at once. */
  start(assignment: string, actor: string): GradeRun {
    if (this.current) throw new UsageError(`submissions of ${this.current.run.assignment} are being graded: wait for that run to end`);
    const lab = this.o.loaded.labPaths.get(assignment)!;
    const source = this.o.loaded.gradingSpecs.get(assignment) ?? lab;
    if (statSync(source).isDirectory())
      throw new UsageError(`assignment ${assignment} is a Kathará lab without a grading spec`, {
        hint: 'give it one in the class file: grading: checker.yaml (a kathara-lab-checker configuration or umlab grade spec)',
      });
    const { spec, hash } = readSpec(source);
    const latest = new Map<string, string>();
    for (const s of this.o.store.submissions(assignment, null)) if (!latest.has(s.student)) latest.set(s.student, s.dir);
    if (latest.size === 0) throw new UsageError(`nobody has handed in ${assignment} yet`);
    const submissions = findSubmissions([...latest.values()]);
    const at = Date.now();
    const run: GradeRun = { assignment, stamp: submissionStamp(at), state: 'grading', students: submissions.map((s) => s.student) };
    const outDir = join(this.o.gradesDir, assignment, run.stamp);
    const folders = studentFolders(run.students);
    this.o.store.event({ actor, action: 'grade', target: assignment, outcome: 'ok', detail: `${submissions.length} submissions` });
    const work = gradeClass(submissions, {
      home: this.o.home,
      spec,
      specHash: hash,
      jobs: autoJobs(availableParallelism()),
      memoryBudgetMiB: this.o.budgetMiB(),
      timeoutSeconds: this.o.timeoutSeconds ?? 300,
      signal: this.abort.signal,
      onEvent: (e) => {
        if (e.event === 'done') keepCaptures(e.result, outDir, folders.get(e.student)!);
      },
    })
      .then((outcome) => {
        writeReports(
          outDir,
          { spec: source, form: spec.form, specHash: hash, generated: new Date(at).toISOString(), students: outcome.results, ungraded: outcome.ungraded },
          folders,
        );
        const { stamp } = run;
        this.o.store.addGrades(
          outcome.results.map((r) => ({ assignment, stamp, student: r.student, status: r.status, points: r.points, maxPoints: r.maxPoints })),
        );
        this.o.log?.(`graded ${outcome.results.length} submissions of ${assignment}: ${outDir}`);
      })
      .catch((err: unknown) => {
        this.failed.push({ ...run, state: 'failed', error: message(err) });
        this.o.store.event({ actor: 'server', action: 'grade', target: assignment, outcome: 'failed', detail: message(err) });
      })
      .finally(() => (this.current = null));
    this.current = { run, work };
    return run;
  }

  /** Every run: the one under way, those that failed since the server started, and each report on disk. */
  runs(): GradeRun[] {
    const out: GradeRun[] = this.current ? [this.current.run] : [];
    for (const a of this.o.loaded.spec.assignments) {
      const dir = join(this.o.gradesDir, a.id);
      if (!existsSync(dir)) continue;
      for (const stamp of readdirSync(dir).filter((s) => STAMP.test(s))) {
        if (this.current?.run.assignment === a.id && this.current.run.stamp === stamp) continue;
        if (existsSync(join(dir, stamp, 'index.html'))) out.push({ assignment: a.id, stamp, state: 'done', students: [] });
      }
    }
    return [...out, ...this.failed].sort((x, y) => y.stamp.localeCompare(x.stamp));
  }

  /** A file of a report, strictly inside grades/<assignment>/<stamp>/ (no link out), or null. */
  reportFile(assignment: string, stamp: string, rel: string): string | null {
    if (!this.o.loaded.labPaths.has(assignment) || !STAMP.test(stamp)) return null;
    const root = join(this.o.gradesDir, assignment, stamp);
    const parts = rel.split('/');
    if (!existsSync(root) || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) return null;
    const file = join(root, ...parts);
    if (!existsSync(file) || !statSync(file).isFile()) return null;
    const real = relative(realpathSync(root), realpathSync(file));
    return real.startsWith('..') || real.startsWith(sep) ? null : file;
  }

  /** Resolves when no grading runs. */
  async settled(): Promise<void> {
    await this.current?.work;
  }

  /** Interrupts a run under way (its labs are taken down; its report names who was not graded). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.settled();
  }
}
