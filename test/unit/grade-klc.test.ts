// kathara-lab-checker configurations read unchanged: the JSON form with `structure` and the
// YAML form with `lab_inline` give the same checks; unknown keys and families are
// file:line:col errors; the structure checks judge the assignment's submissions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSpec } from '../../src/grade/read-spec.ts';
import { parseKlcSpec } from '../../src/grade/klc-spec.ts';
import { judgeStatic } from '../../src/grade/static-checks.ts';
import { loadLabFile } from '../../src/topology/load.ts';
import { LabFileError } from '../../src/errors.ts';

const strip = (spec: ReturnType<typeof readSpec>['spec']) => spec.checks.map((c) => ({ ...c, ...(c.kind === 'live' && { test: { ...c.test } }) }));

describe('kathara-lab-checker configurations', () => {
  it('the JSON form (structure) and the YAML form (lab_inline) give the same checks', () => {
    const json = readSpec('labs/grading/klc.json').spec;
    const yaml = readSpec('labs/grading/klc.yaml').spec;
    assert.equal(json.form, 'kathara-lab-checker');
    assert.equal(json.deadlineSeconds, 15, 'convergence_time is the deadline');
    assert.equal(json.checks.length, 24);
    assert.deepEqual(strip(yaml), strip(json));
  });

  it("its live checks are named as umlab's spec of the same assignment names them", () => {
    const klc = new Set(readSpec('labs/grading/klc.json').spec.checks.map((c) => c.name));
    const umlab = readSpec('labs/grading/spec.yaml').spec.checks.map((c) => c.name);
    const shared = umlab.filter((n) => klc.has(n));
    assert.deepEqual(shared, [
      'Verifying the IP address (10.1.1.10/24) assigned to eth0 of pc1',
      'Verifying the IP address (10.1.2.80/24) assigned to eth0 of web',
      'Checking that socat is running on device `web`',
      'Verifying `10.1.2.80` reachable from device `pc1`',
      'Verifying `10.1.1.10` reachable from device `r2`',
    ]);
  });

  it('an unknown family or key is an error with its position, and the spec is not returned', () => {
    const text = ['{', '  "convergence_time": 10,', '  "tests": {},', '  "test": {', '    "daemon": { "r1": ["zebra"] }', '  }', '}', ''].join('\n');
    const r = parseKlcSpec(text, 'c.json', () => undefined);
    assert.ok('errors' in r);
    assert.deepEqual(r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.message}${e.hint ? ` (${e.hint})` : ''}`), [
      'c.json:3:3 unknown key "tests" (did you mean "test"?)',
      'c.json:5:5 unknown key "daemon" (did you mean "daemons"?)',
    ]);
    assert.throws(() => readSpec('test/unit/grade-klc.test.ts.json'), /cannot read the grading spec/);
  });

  it('families umlab does not run yet are "not supported" checks, never passed', () => {
    const r = parseKlcSpec('test:\n  protocols: { bgpd: {} }\n', 'c.yaml', () => undefined);
    assert.ok('spec' in r);
    assert.deepEqual(r.spec.checks.map((c) => [c.kind, c.name]), [['unsupported', 'protocols checks']]);
  });

  it('a structure file that cannot be read is an error', () => {
    const r = parseKlcSpec('{ "structure": "nowhere/lab.conf", "test": {} }', 'c.json', () => undefined);
    assert.ok('errors' in r);
    assert.match(r.errors[0]!.message, /cannot read the structure file nowhere\/lab\.conf/);
  });

  it('structure checks judge the submissions: carol\'s web is on the wrong switch, erin has no web startup', async () => {
    const spec = readSpec('labs/grading/klc.json').spec;
    const judge = async (student: string) => {
      const lab = await loadLabFile(`labs/grading/submissions/${student}/lab.yaml`);
      const files = { lab, startupFiles: lab.vms.filter((v) => v.startup.length > 0).map((v) => v.name) };
      return spec.checks.flatMap((c) => (c.kind === 'static' && !judgeStatic(c.check, files).pass ? [`${c.name}: ${judgeStatic(c.check, files).reason}`] : []));
    };
    assert.deepEqual(await judge('alice'), []);
    assert.deepEqual(await judge('carol'), ['Checking the collision domain attached to interface `eth0` of `web`: interface eth0 of web is connected to collision domain lana instead of lanb']);
    assert.deepEqual(await judge('erin'), ['Check existence of `web.startup` file: web.startup file not found']);
  });

  it('readSpec throws LabFileError for a bad configuration', () => {
    assert.throws(() => readSpec('labs/grading/structure/lab.conf'), LabFileError);
  });
});
