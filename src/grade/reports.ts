// The class's reports as text: results.csv (kathara-lab-checker's summary columns plus
// points and time), results.json, and JUnit XML per student. Pure.
import { passedCount, type CheckOutcome, type SubmissionResult } from './result.ts';

/** kathara-lab-checker's columns first, so existing spreadsheets keep working. */
export const CSV_COLUMNS = ['Student Name', 'Tests Passed', 'Tests Failed', 'Tests Total Number', 'Problems', 'Points', 'Max Points', 'Seconds'];

const csvField = (v: string | number) => (/[",\n\r]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

/** "1: description: reason" per check that did not pass, as kathara-lab-checker writes them; "None" when all passed. */
export function problemsText(r: SubmissionResult): string {
  const failed = r.checks.filter((c) => c.verdict !== 'pass');
  return failed.length === 0 ? 'None' : failed.map((c, i) => `${i + 1}: ${c.description}: ${c.reason.split('\n')[0]}`).join('\n');
}

export function resultsCsv(results: SubmissionResult[]): string {
  const rows = results.map((r) => {
    const passed = passedCount(r);
    return [r.student, passed, r.checks.length - passed, r.checks.length, problemsText(r), r.points, r.maxPoints, r.seconds];
  });
  return [CSV_COLUMNS, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export interface ClassReport {
  spec: string;
  form: string;
  specHash: string;
  generated: string;
  students: SubmissionResult[];
  /** Submissions not graded because the run was interrupted. */
  ungraded: string[];
}

export const resultsJson = (report: ClassReport) => JSON.stringify(report, null, 2) + '\n';

const xml = (s: string) =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function testcase(student: string, c: CheckOutcome): string {
  const open = `    <testcase classname="${xml(`umlab.grade.${student}`)}" name="${xml(c.name)}" time="${(c.secondsToPass ?? 0).toFixed(3)}"`;
  if (c.verdict === 'pass') return `${open}/>`;
  if (c.verdict === 'not-supported') return `${open}>\n      <skipped message="${xml(c.reason)}"/>\n    </testcase>`;
  const tag = c.verdict === 'fail' ? 'failure' : 'error';
  const body = [c.detail ?? '', c.commands.length ? `commands:\n${c.commands.join('\n')}` : ''].filter(Boolean).join('\n\n');
  return `${open}>\n      <${tag} message="${xml(c.reason)}">${xml(body)}</${tag}>\n    </testcase>`;
}

/** One testsuite per student, one testcase per check; not-supported checks are <skipped>. */
export function studentJunit(r: SubmissionResult): string {
  const count = (v: CheckOutcome['verdict']) => r.checks.filter((c) => c.verdict === v).length;
  const attrs = `tests="${r.checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('not-supported')}" time="${r.seconds.toFixed(3)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attrs}>`,
    `  <testsuite name="${xml(r.student)}" ${attrs}>`,
    ...r.checks.map((c) => testcase(r.student, c)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
