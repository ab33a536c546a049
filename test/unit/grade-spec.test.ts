// umlab's grading spec: points, hidden, group and deadline read from a lab's tests:, and
// every mistake reported as file:line:col; scoring with groups; the CSV columns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { parseUmlabSpec } from '../../src/grade/umlab-spec.ts';
import { score } from '../../src/grade/scoring.ts';
import { CSV_COLUMNS, problemsText, resultsCsv } from '../../src/grade/reports.ts';
import type { CheckOutcome, SubmissionResult } from '../../src/grade/result.ts';
import type { GradingSpec } from '../../src/grade/spec.ts';

const spec = (text: string) => {
  const r = parseUmlabSpec(text, 'spec.yaml');
  if ('errors' in r) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
  return r.spec;
};
const errors = (text: string) => {
  const r = parseUmlabSpec(text, 'spec.yaml');
  assert.ok('errors' in r, 'expected errors');
  return r.errors.map((e) => `${e.line}:${e.col} ${e.message}`);
};

describe('umlab grading spec', () => {
  it('reads the assignment spec of labs/grading', () => {
    const s = spec(readFileSync('labs/grading/spec.yaml', 'utf8'));
    assert.equal(s.deadlineSeconds, 15);
    assert.equal(s.convergenceSeconds, 0, 'static routes: nothing to converge');
    assert.deepEqual(s.groupPoints, { routes: 3 });
    assert.equal(s.checks.length, 10);
    const hidden = s.checks.filter((c) => c.hidden).map((c) => c.name);
    assert.deepEqual(hidden, ["pc1's packets to web pass r1 and r3 only"]);
    assert.equal(s.checks.find((c) => c.name.startsWith('Verifying `10.1.2.80`'))!.points, 2);
  });

  it('defaults: 1 point, not hidden, no group, no convergence wait, 30 s deadline', () => {
    const s = spec('tests:\n  - name: a\n    reach: { from: h1, to: 10.0.0.2 }\n');
    assert.equal(s.convergenceSeconds, 0);
    assert.equal(s.deadlineSeconds, 30);
    assert.deepEqual({ points: s.checks[0]!.points, hidden: s.checks[0]!.hidden, group: s.checks[0]!.group }, { points: 1, hidden: false, group: undefined });
  });

  it('convergence: the checks wait that long after the lab is up', () => {
    const s = spec('convergence: 40s\ndeadline: 10s\ntests:\n  - name: a\n    reach: { from: h1, to: 10.0.0.2 }\n');
    assert.deepEqual([s.convergenceSeconds, s.deadlineSeconds], [40, 10]);
  });

  it('reports every mistake at once, with its position', () => {
    const text = [
      'deadline: soon',
      'convergence: later',
      'tests:',
      '  - name: a',
      '    points: -1',
      '    reach: { from: h1, to: 10.0.0.2, speed: 3 }',
      '  - name: a',
      '    command: { vm: h1, run: "true" }',
      'colour: red',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      '1:11 "soon" is not a duration',
      '2:14 "later" is not a duration',
      '5:13 points must be a number of at least 0, not -1',
      '6:38 unknown property "speed"',
      '9:1 unknown property "colour"',
    ]);
  });

  it('checks names and after: as a lab does', () => {
    const text = [
      'tests:',
      '  - name: a',
      '    command: { vm: h1, run: "true" }',
      '  - name: a',
      '    after: [ b ]',
      '    command: { vm: h1, run: "true" }',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), ['4:11 check name "a" is already used (line 2)', '5:14 no check named "b"']);
  });

  it('a spec without tests: is refused', () => {
    assert.deepEqual(errors('deadline: 3s\n'), ['1:1 a grading spec needs a `tests:` list']);
  });
});

const outcome = (name: string, verdict: CheckOutcome['verdict']): CheckOutcome => ({
  name,
  description: name,
  verdict,
  reason: verdict === 'pass' ? 'ok' : 'why, "quoted"',
  points: 0,
  maxPoints: 0,
  hidden: false,
  commands: [],
});

describe('scoring', () => {
  const s = {
    checks: [
      { kind: 'unsupported', name: 'a', description: 'a', points: 2, hidden: false, reason: '' },
      { kind: 'unsupported', name: 'b', description: 'b', points: 1, hidden: false, group: 'g', reason: '' },
      { kind: 'unsupported', name: 'c', description: 'c', points: 3, hidden: false, group: 'g', reason: '' },
    ],
    groupPoints: { g: 8 },
  } as Pick<GradingSpec, 'checks' | 'groupPoints'>;

  it('a group shares its points by the weight of the checks that pass', () => {
    const outcomes = [outcome('a', 'pass'), outcome('b', 'pass'), outcome('c', 'fail')];
    assert.deepEqual(score(s, outcomes), { points: 4, maxPoints: 10 });
    assert.deepEqual(
      outcomes.map((o) => [o.points, o.maxPoints]),
      [
        [2, 2],
        [2, 2],
        [0, 6],
      ],
    );
  });

  it('not supported and errors earn nothing', () => {
    assert.deepEqual(score(s, [outcome('a', 'not-supported'), outcome('b', 'error'), outcome('c', 'pass')]), { points: 6, maxPoints: 10 });
  });
});

describe('results.csv', () => {
  it("has kathara-lab-checker's columns first, quotes what needs it", () => {
    const r: SubmissionResult = {
      student: 'Smith, Ann',
      source: 'x',
      status: 'graded',
      seconds: 4.2,
      points: 1,
      maxPoints: 2,
      checks: [outcome('a', 'pass'), outcome('b', 'fail')],
      hash: 'h',
      warnings: [],
    };
    assert.deepEqual(CSV_COLUMNS.slice(0, 5), ['Student Name', 'Tests Passed', 'Tests Failed', 'Tests Total Number', 'Problems']);
    assert.equal(problemsText(r), '1: b: why, "quoted"');
    assert.equal(resultsCsv([r]).split('\r\n')[1], '"Smith, Ann",1,1,2,"1: b: why, ""quoted""",1,2,4.2');
  });
});
