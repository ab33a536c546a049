// `umlab grade` on the OSPF assignment (labs/grading/ospf/): three students' Kathará lab
// directories on FRR, one right, one with a wrong OSPF cost, one whose r2 runs no ospfd,
// graded in both spec forms, all three at once (their time is boots and OSPF timers). The exact
// verdict of every check, and that the two forms agree.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedImagePath } from '../../src/kathara/images.ts';
import { imageCacheDir } from '../../src/runtime/image-cache.ts';
import type { ClassReport } from '../../src/grade/reports.ts';
import type { SubmissionResult } from '../../src/grade/result.ts';
import { cleanHome, lab, makeHome, processesMentioning, umlab } from './helpers.ts';

const image = cachedImagePath(imageCacheDir(), 'kathara');
const skip = process.getuid?.() !== 0 && !existsSync(image) ? 'building the Kathará image needs root' : false;

// One letter per check of labs/grading/ospf/spec.yaml, in its order: P passes, F fails.
//  0-2 ospfd runs on r1, r2, r3   3 pc1 pings pc3   4 r2 pings pc1   5 r1's OSPF routes go via r2
//  6 r3's OSPF routes go via r2   7 (hidden) r1 costs the slow link 100   8 (hidden) pc1 -> r1 -> r2 -> r3 -> pc3
const EXPECTED: Record<string, { verdicts: string; points: number }> = {
  olga: { verdicts: 'PPPPPPPPP', points: 11 }, // the solution
  pavel: { verdicts: 'PPPPPFPFF', points: 7.33 }, // the slow link's cost on r3 only: r1 takes it
  quinn: { verdicts: 'PFPPFFFPF', points: 5.33 }, // no ospfd on r2: both ends take the slow link
};

const home = makeHome('umlab-grade-ospf-');
const work = makeHome('umlab-grade-ospf-out-');
after(() => cleanHome(home));
after(() => cleanHome(work));

const readReport = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ClassReport;
const whyOf = (report: ClassReport) =>
  report.students
    .map((s) => `${s.student} ${s.status}\n${s.checks.map((c) => `  ${c.verdict} ${c.name}: ${c.reason} ${c.detail ?? ''}`).join('\n')}`)
    .join('\n');

async function grade(spec: string, out: string): Promise<ClassReport> {
  const r = await umlab(home, ['grade', lab(`grading/ospf/${spec}`), lab('grading/ospf/submissions'), '--out', out, '--jobs', '2', '--json'], {
    timeout: 900_000,
  });
  assert.equal(r.exitCode, 1, `some checks fail, so umlab grade exits 1 (it exited ${r.exitCode})\n${r.stderr}`);
  assert.deepEqual(existsSync(join(home, 'labs')) ? readdirSync(join(home, 'labs')) : [], [], 'no lab is left');
  assert.deepEqual(processesMentioning(join(home, 'labs')), []);
  return readReport(out);
}

describe('umlab grade: the OSPF assignment on FRR', { skip }, () => {
  let umlabForm: ClassReport | undefined;

  it("umlab's form: the exact verdict of every check, and the points", { timeout: 1_000_000 }, async () => {
    const report = (umlabForm = await grade('spec.yaml', join(work, 'umlab')));
    const got = Object.fromEntries(
      report.students.map((s) => [s.student, { verdicts: s.checks.map((c) => (c.verdict === 'pass' ? 'P' : 'F')).join(''), points: s.points }]),
    );
    assert.deepEqual(got, EXPECTED, whyOf(report));
    const pavel = report.students.find((s) => s.student === 'pavel')!;
    const route = pavel.checks.find((c) => c.name === 'Checking the routing table of r1')!;
    assert.match(route.detail ?? '', /10\.40\.3\.0\/24 .*via 10\.40\.13\.3 dev eth2/, "the report shows r1's wrong route");
    const path = pavel.checks.find((c) => c.name === "pc1's packets to pc3 go round through r2")!;
    assert.match(path.reason, /traceroute saw 10\.40\.1\.1 -> 10\.40\.23\.3 -> 10\.40\.3\.10/);
  });

  it("kathara-lab-checker's form gives the same verdicts, and says which route is wrong", { timeout: 1_000_000 }, async () => {
    const first: ClassReport | undefined = umlabForm;
    assert.ok(first, "needs the first case's run");
    const report = await grade('klc.yaml', join(work, 'klc'));
    let compared = 0;
    for (const student of Object.keys(EXPECTED)) {
      const klc: SubmissionResult = report.students.find((s) => s.student === student)!;
      const own: SubmissionResult = first.students.find((s) => s.student === student)!;
      // The structure checks (devices, collision domains, startup files) pass for all three.
      for (const c of klc.checks.filter((x) => /^Check(ing the collision domain| existence)/.test(x.name)))
        assert.equal(c.verdict, 'pass', `${student}: ${c.name}`);
      for (const c of own.checks) {
        const same = klc.checks.find((x) => x.name === c.name);
        if (!same) continue;
        compared++;
        assert.equal(same.verdict, c.verdict, `${student}: "${c.name}": klc form ${same.verdict} (${same.reason}), umlab form ${c.verdict} (${c.reason})`);
      }
    }
    assert.equal(compared, 3 * 7, `${compared} checks compared`);
    // The reason says which route differs (the output, as detail, shows the whole table).
    const wrong = (student: string, router: string) =>
      report.students.find((s) => s.student === student)!.checks.find((c) => c.name === `Checking the routing table of ${router}`)!.reason;
    assert.match(wrong('pavel', 'r1'), /route 10\.40\.3\.0\/24 does not go via 10\.40\.12\.2 \(it has 10\.40\.13\.3@eth2\)/);
    assert.match(wrong('quinn', 'r3'), /route 10\.40\.1\.0\/24 does not go via 10\.40\.23\.2 \(it has 10\.40\.13\.1@eth0\)/);
    // The protocols family: r2's OSPF neighbours and r1's cost on the slow link, from FRR's JSON.
    const ospf = ['OSPF neighbor 1.1.1.1 on r2', 'OSPF neighbor 3.3.3.3 on r2', 'OSPF interface eth2 on r1: cost'];
    const protocolVerdicts = Object.fromEntries(
      report.students.map((s) => [s.student, ospf.map((name) => (s.checks.find((c) => c.name === name)?.verdict === 'pass' ? 'P' : 'F')).join('')]),
    );
    assert.deepEqual(protocolVerdicts, { olga: 'PPP', pavel: 'PPF', quinn: 'FFP' }, whyOf(report));
    const cost = report.students.find((s) => s.student === 'pavel')!.checks.find((c) => c.name === ospf[2])!;
    assert.match(cost.reason, /interface eth2: cost is 10, expected 100/);
  });
});
