// JUnit XML for CI systems: one testsuite per lab, one testcase per check;
// a failed check is a <failure>, a check that could not run an <error>.
import type { CheckResult } from './evaluate.ts';

const escape = (s: string) =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function junitXml(lab: string, results: CheckResult[]): string {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = results.reduce((t, r) => t + r.durationMs, 0);
  const cases = results.map((r) => {
    const open = `    <testcase classname="${escape(`umlab.${lab}.${r.kind}`)}" name="${escape(r.name)}" time="${seconds(r.durationMs)}"`;
    if (r.status === 'pass') return `${open}/>`;
    const tag = r.status === 'fail' ? 'failure' : 'error';
    const body = [r.detail ?? '', r.commands.length ? `commands:\n${r.commands.join('\n')}` : ''].filter(Boolean).join('\n\n');
    return `${open}>\n      <${tag} message="${escape(r.message)}">${escape(body)}</${tag}>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${results.length}" failures="${count('fail')}" errors="${count('error')}" time="${seconds(total)}">`,
    `  <testsuite name="${escape(lab)}" tests="${results.length}" failures="${count('fail')}" errors="${count('error')}" time="${seconds(total)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
