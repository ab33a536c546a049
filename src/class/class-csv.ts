// The teacher's table as CSV (GET /api/class.csv): one row per student, per assignment its lab's
// state, the time of the latest hand-in, how many there were, and the points of the latest
// grading run that graded the student ("7.5/11"; its status when it could not grade). Pure.
import type { ClassService } from './service.ts';
import type { GradeRow, SubmissionRow } from './store.ts';

/** Quoted when it must be; a cell a spreadsheet would run as a formula (=, +, -, @) is prefixed
 *  with ' (OWASP's advice for CSV injection): a roster name is text, not a formula. */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const iso = (at: number | null | undefined) => (at == null ? '' : new Date(at).toISOString());

export function classCsv(
  view: ReturnType<ClassService['classView']>,
  submissions: (student: string, assignment: string) => SubmissionRow[],
  grades: Map<string, GradeRow>,
): string {
  const head = [
    'student',
    'name',
    'last activity',
    ...view.assignments.flatMap((a) => [`${a.id} lab`, `${a.id} handed in`, `${a.id} hand-ins`, `${a.id} grade`]),
  ];
  const rows = view.students.map((s) => [
    s.id,
    s.name,
    iso(s.lastActivity),
    ...s.labs.flatMap((lab) => {
      const handed = submissions(s.id, lab.assignment);
      const grade = grades.get(`${s.id}/${lab.assignment}`);
      return [lab.state, iso(handed[0]?.at), handed.length, !grade ? '' : grade.status === 'graded' ? `${grade.points}/${grade.maxPoints}` : grade.status];
    }),
  ]);
  return [head, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
