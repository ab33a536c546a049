// The class file: the minimal form loads as written, a roster CSV, and every problem
// located as file:line:col (schema, duplicate ids, a missing lab or roster file).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseClassText, parseRosterCsv } from '../../src/class/class-file.ts';
import { loadClassFile } from '../../src/class/load-class.ts';
import { ClassFileError, ExitCode, type Diagnostic } from '../../src/errors.ts';

const MINIMAL = `name: net101
roster:
  - { id: s1, name: Student One }
  - { id: s2, name: Student Two }
assignments:
  - { id: two-hosts, lab: labs/two-hosts.yaml }
`;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function classDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-file-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
const errorsOf = (text: string): Diagnostic[] => {
  const r = parseClassText(text, 'c.yaml');
  assert.ok('errors' in r, 'expected errors');
  return r.errors;
};
const where = (d: Diagnostic) => `${d.line}:${d.col} ${d.path}`;

describe('class file', () => {
  it('loads the minimal form of the issue as written, lab paths relative to the class file', () => {
    const dir = classDir({ 'class/CLASS.yaml': MINIMAL, 'class/labs/two-hosts.yaml': 'name: x\n' });
    const loaded = loadClassFile(join(dir, 'class/CLASS.yaml'));
    assert.equal(loaded.spec.name, 'net101');
    assert.deepEqual(loaded.spec.roster, [
      { id: 's1', name: 'Student One' },
      { id: 's2', name: 'Student Two' },
    ]);
    assert.deepEqual(loaded.spec.assignments, [{ id: 'two-hosts', title: 'two-hosts', lab: 'labs/two-hosts.yaml', grading: null, stages: [] }]);
    assert.equal(loaded.labPaths.get('two-hosts'), join(dir, 'class/labs/two-hosts.yaml'));
    assert.deepEqual(loaded.spec.limits, {
      runningLabsPerStudent: 1,
      memoryPerStudentMiB: null,
      memoryBudgetMiB: null,
      idleAfterMs: 3_600_000,
      idleAction: 'pause',
    });
  });

  it('reads limits', () => {
    const r = parseClassText(MINIMAL + 'limits: { running_labs_per_student: 2, memory_per_student: 1G, memory_budget: 6000M }\n', 'c.yaml');
    assert.ok('spec' in r);
    assert.deepEqual(r.spec.limits, {
      runningLabsPerStudent: 2,
      memoryPerStudentMiB: 1024,
      memoryBudgetMiB: 6000,
      idleAfterMs: 3_600_000,
      idleAction: 'pause',
    });
  });

  it('reads the idle limits: a duration in s, m or h, 0 or off for never, and pause or stop', () => {
    const limits = (text: string) => {
      const r = parseClassText(MINIMAL + `limits: { ${text} }\n`, 'c.yaml');
      return 'spec' in r ? r.spec.limits : r.errors.map((e) => `${e.path}: ${e.message}`);
    };
    assert.deepEqual(limits('idle_after: 3s'), {
      runningLabsPerStudent: 1,
      memoryPerStudentMiB: null,
      memoryBudgetMiB: null,
      idleAfterMs: 3000,
      idleAction: 'pause',
    });
    assert.equal((limits('idle_after: 45m, idle_action: stop') as { idleAfterMs: number }).idleAfterMs, 2_700_000);
    assert.equal((limits('idle_action: stop') as { idleAction: string }).idleAction, 'stop');
    assert.equal((limits('idle_after: 2h') as { idleAfterMs: number }).idleAfterMs, 7_200_000);
    assert.equal((limits('idle_after: "0"') as { idleAfterMs: number | null }).idleAfterMs, null);
    assert.equal((limits('idle_after: off') as { idleAfterMs: number | null }).idleAfterMs, null);
    for (const bad of ['idle_after: 10', 'idle_after: 5d', 'idle_after: 0s', 'idle_action: sleep']) {
      const errors = limits(bad);
      assert.ok(Array.isArray(errors) && errors.length === 1 && errors[0].startsWith('limits.idle_'), `${bad}: ${JSON.stringify(errors)}`);
    }
  });

  it('locates schema errors: a missing key, an unknown one, a bad id, a bad limit', () => {
    const errors = errorsOf(`name: net101
roster:
  - { id: s1, nme: Student One }
  - { id: S-2, name: Two }
assignments:
  - { id: two-hosts }
limits:
  memory_budget: lots
`);
    assert.deepEqual(errors.map(where), ['3:5 roster[0]', '3:15 roster[0].nme', '4:11 roster[1].id', '6:5 assignments[0]', '8:18 limits.memory_budget']);
    assert.match(errors[0].message, /missing required property "name"/);
    assert.equal(errors[1].hint, 'did you mean "name"?');
    assert.match(errors[3].message, /missing required property "lab"/);
  });

  it('says what a roster must be, once, at the roster', () => {
    const errors = errorsOf('name: c\nroster: 42\nassignments: [ { id: a, lab: x.yaml } ]\n');
    assert.equal(errors.length, 1);
    assert.equal(where(errors[0]), '2:9 roster');
    assert.match(errors[0].message, /a list of students or the path of a \.csv file, not number 42/);
    assert.deepEqual(errorsOf('name: c\nroster: people.txt\nassignments: [ { id: a, lab: x.yaml } ]\n').map(where), ['2:9 roster']);
  });

  it('refuses duplicate student and assignment ids at the second one', () => {
    const errors = errorsOf('name: c\nroster:\n  - { id: s1, name: A }\n  - { id: s1, name: B }\nassignments:\n  - { id: a, lab: x }\n  - { id: a, lab: y }\n');
    assert.deepEqual(errors.map(where), ['4:11 roster[1].id', '7:11 assignments[1].id']);
    assert.match(errors[0].message, /student id "s1" is used twice/);
  });

  it('keeps "teacher" for the teacher, in a roster list and a CSV', () => {
    const errors = errorsOf('name: c\nroster:\n  - { id: s1, name: A }\n  - { id: teacher, name: B }\nassignments: [ { id: a, lab: x } ]\n');
    assert.deepEqual(errors.map(where), ['4:11 roster[1].id']);
    assert.match(errors[0].message, /"teacher" cannot be a student's id/);
    const csv = parseRosterCsv('s1,A\nteacher,B\n', 'r.csv');
    assert.ok('errors' in csv && csv.errors[0].line === 2);
  });

  it('reports YAML syntax errors and an empty file with their position', () => {
    assert.equal(where(errorsOf('name: c\nroster: [\n')[0]).split(' ')[0].split(':')[0], '3');
    assert.match(errorsOf('')[0].message, /the class file is empty/);
  });

  it('names a missing lab and a missing roster file at their lines, as a ClassFileError (exit 3)', () => {
    const dir = classDir({ 'CLASS.yaml': 'name: c\nroster: people.csv\nassignments:\n  - { id: a, lab: labs/none.yaml }\n' });
    assert.throws(
      () => loadClassFile(join(dir, 'CLASS.yaml')),
      (e: unknown) => {
        assert.ok(e instanceof ClassFileError);
        assert.equal(e.exitCode, ExitCode.labFile);
        assert.deepEqual(e.diagnostics.map(where), ['2:9 roster', '4:19 assignments[0].lab']);
        assert.match(e.message, /CLASS\.yaml:4:19: no lab at labs\/none\.yaml/);
        return true;
      },
    );
  });

  it('reads a roster CSV with a header, quotes and comments; a Kathará lab directory is a lab', () => {
    const dir = classDir({
      'CLASS.yaml': 'name: c\nroster: people.csv\nassignments:\n  - { id: a, lab: kathara }\n',
      'people.csv': 'id,name\n# the first row\ns1,"One, Student"\n\ns2,Two\n',
      'kathara/lab.conf': 'pc1[0]=A\n',
    });
    const loaded = loadClassFile(join(dir, 'CLASS.yaml'));
    assert.deepEqual(loaded.spec.roster, [
      { id: 's1', name: 'One, Student' },
      { id: 's2', name: 'Two' },
    ]);
    assert.equal(loaded.labPaths.get('a'), join(dir, 'kathara'));
  });

  it("reads an assignment's grading spec (umlab's or kathara-lab-checker's), checked at load", () => {
    const dir = classDir({
      'CLASS.yaml': 'name: c\nroster: [{ id: s1, name: One }]\nassignments:\n  - { id: a, lab: kathara, grading: checker.json }\n',
      'kathara/lab.conf': 'pc1[0]=A\n',
      'checker.json': JSON.stringify({ labs_path: 'x', test: { ip_mapping: { pc1: { eth0: '10.0.0.1/24' } } } }),
    });
    const loaded = loadClassFile(join(dir, 'CLASS.yaml'));
    assert.equal(loaded.spec.assignments[0].grading, 'checker.json');
    assert.equal(loaded.gradingSpecs.get('a'), join(dir, 'checker.json'));
  });

  it("names a missing grading spec at its line, and a bad one's own problems at theirs", () => {
    const text =
      'name: c\nroster: [{ id: s1, name: One }]\nassignments:\n  - { id: a, lab: a.yaml, grading: none.yaml }\n  - { id: b, lab: a.yaml, grading: bad.yaml }\n';
    const dir = classDir({ 'CLASS.yaml': text, 'a.yaml': 'name: a\n', 'bad.yaml': 'tests:\n  - { name: x, bogus: 1 }\n' });
    assert.throws(
      () => loadClassFile(join(dir, 'CLASS.yaml')),
      (e: unknown) => {
        assert.ok(e instanceof ClassFileError);
        assert.equal(e.diagnostics[0].path, 'assignments[0].grading');
        assert.match(e.message, /CLASS\.yaml:4:\d+: no grading spec at none\.yaml/);
        assert.ok(
          e.diagnostics.slice(1).some((d) => d.file.endsWith('bad.yaml') && d.line === 2),
          e.message,
        );
        return true;
      },
    );
  });

  it('locates roster CSV problems by line', () => {
    const r = parseRosterCsv('s1,One\nBad Id,Two\ns1,Again\njustone\ns3,"open\n', 'r.csv');
    assert.ok('errors' in r);
    assert.deepEqual(
      r.errors.map((d) => [d.line, d.message]),
      [
        [2, '"Bad Id" is not a valid student id'],
        [3, 'student id "s1" is used twice'],
        [4, 'expected two fields: id,name'],
        [5, 'expected two fields: id,name'],
      ],
    );
    assert.ok('errors' in parseRosterCsv('id,name\n', 'r.csv'));
  });
});
