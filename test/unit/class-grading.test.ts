// The teacher's grading runs (src/class/grading.ts) without VMs: which report files the server
// hands out (inside the run's folder only, no link out), and what a run refuses to start on.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ClassGrading } from '../../src/class/grading.ts';
import type { LoadedClass } from '../../src/class/load-class.ts';
import { ClassStore } from '../../src/class/store.ts';

describe('grading runs of a class', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-grading-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const lab = join(dir, 'a1.yaml');
  writeFileSync(lab, 'name: a1\nvms: { h1: {} }\ntests:\n  - { name: up, command: { vm: h1, run: "true" } }\n');
  mkdirSync(join(dir, 'kathara'));
  writeFileSync(join(dir, 'checker.json'), JSON.stringify({ labs_path: 'x', test: { ip_mapping: { pc1: { eth0: '10.0.0.1/24' } } } }));
  const loaded = {
    file: join(dir, 'CLASS.yaml'),
    labPaths: new Map([
      ['a1', lab],
      ['k1', join(dir, 'kathara')],
      ['k2', join(dir, 'kathara')],
    ]),
    gradingSpecs: new Map([['k2', join(dir, 'checker.json')]]),
    spec: { name: 'c1', assignments: [{ id: 'a1', title: 'A1', lab: 'a1.yaml' }] },
  } as unknown as LoadedClass;
  const store = new ClassStore(join(dir, 'class.db'));
  after(() => store.close());
  const grades = join(dir, 'grades');
  const grading = new ClassGrading({ loaded, store, gradesDir: grades, home: join(dir, 'home'), budgetMiB: () => 1024 });
  const stamp = '2026-12-07T05-00-00-000Z';
  const run = join(grades, 'a1', stamp);
  mkdirSync(join(run, 's1'), { recursive: true });
  writeFileSync(join(run, 'index.html'), '<p>report</p>');
  writeFileSync(join(run, 's1', 'junit.xml'), '<x/>');
  symlinkSync(join(dir, 'class.db'), join(run, 'leak'));
  writeFileSync(join(grades, 'a1', 'secret'), 's');

  it('hands out the files of a run, nothing outside it, no link out of it', () => {
    assert.equal(grading.reportFile('a1', stamp, 'index.html'), join(run, 'index.html'));
    assert.equal(grading.reportFile('a1', stamp, 's1/junit.xml'), join(run, 's1', 'junit.xml'));
    for (const [a, s, rel] of [
      ['a1', stamp, 'leak'],
      ['a1', stamp, '../secret'],
      ['a1', stamp, 's1/../../secret'],
      ['a1', stamp, 's1'],
      ['a1', stamp, ''],
      ['a1', '..', 'secret'],
      ['a1', 'x', 'index.html'],
      ['zz', stamp, 'index.html'],
    ])
      assert.equal(grading.reportFile(a, s, rel), null, `${a} ${s} ${rel}`);
  });

  it('lists the runs with a report; refuses to grade nothing, or a Kathará assignment without a spec', () => {
    assert.deepEqual(
      grading.runs().map((r) => [r.assignment, r.stamp, r.state]),
      [['a1', stamp, 'done']],
    );
    assert.throws(() => grading.start('a1', 'teacher'), /nobody has handed in a1 yet/);
    assert.throws(() => grading.start('k1', 'teacher'), /Kathará lab without a grading spec/);
    // With its own spec, a Kathará assignment gets as far as its hand-ins.
    assert.throws(() => grading.start('k2', 'teacher'), /nobody has handed in k2 yet/);
  });
});
