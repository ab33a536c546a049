// Progress of a grading run as lines for people (one per change of a submission) and
// as JSON lines for scripts. Pure formatting.
import type { GradeEvent } from './grade-class.ts';
import { passedCount } from './result.ts';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** "  12.3s  alice        checking 3/12"; the student column as wide as the longest name. */
export function progressLine(e: GradeEvent, elapsedSeconds: number, nameWidth: number): string {
  const head = `${elapsedSeconds.toFixed(1).padStart(6)}s  ${pad(e.student, nameWidth)}  `;
  if (e.event === 'phase')
    return (
      head +
      (e.phase === 'booting'
        ? 'booting'
        : e.phase === 'converging'
          ? `up; waiting ${e.seconds} s for the network to converge`
          : `checking ${e.done}/${e.total}`)
    );
  if (e.event !== 'done') return head + (e.event === 'queued' ? 'queued' : 'unchanged since the last run: result kept (--rerun)');
  const r = e.result;
  const status = r.status === 'graded' ? '' : ` (${r.status}: ${(r.problem ?? '').split('\n')[0]})`;
  return head + `done ${r.points}/${r.maxPoints} points, ${passedCount(r)}/${r.checks.length} checks, ${r.seconds} s${status}`;
}

/** One JSON object per event, for --json. */
export function progressJson(e: GradeEvent, elapsedSeconds: number): string {
  const at = Math.round(elapsedSeconds * 10) / 10;
  if (e.event !== 'done') {
    const { student, event, ...rest } = e;
    return JSON.stringify({
      at,
      student,
      event: event === 'phase' ? (rest as { phase: string }).phase : event,
      ...(event === 'phase' && 'done' in rest ? { done: rest.done, total: rest.total } : {}),
      ...(event === 'phase' && 'seconds' in rest ? { seconds: rest.seconds } : {}),
    });
  }
  const r = e.result;
  return JSON.stringify({
    at,
    student: e.student,
    event: 'done',
    status: r.status,
    points: r.points,
    maxPoints: r.maxPoints,
    passed: passedCount(r),
    total: r.checks.length,
    seconds: r.seconds,
  });
}
