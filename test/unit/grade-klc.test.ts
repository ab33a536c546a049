// kathara-lab-checker configurations read unchanged: the JSON form with `structure` and the
// YAML form with `lab_inline` give the same checks; unknown keys and families are
// file:line:col errors; the structure checks judge the assignment's submissions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSubmission } from '../../src/grade/load-submission.ts';
import { describe, it } from 'node:test';
import { expectedRoutes, judgeRoutes, kernelRoutesCommand } from '../../src/grade/klc-routes.ts';
import { readSpec } from '../../src/grade/read-spec.ts';
import { parseKlcSpec } from '../../src/grade/klc-spec.ts';
import { KLC_RETRY_S } from '../../src/grade/spec.ts';
import { judgeStatic } from '../../src/grade/static-checks.ts';
import { loadLabFile } from '../../src/runtime/lab-reader.ts';
import { LabFileError } from '../../src/errors.ts';

const strip = (spec: ReturnType<typeof readSpec>['spec']) => spec.checks.map((c) => ({ ...c, ...(c.kind === 'live' && { test: { ...c.test } }) }));

describe('kathara-lab-checker configurations', () => {
  it('the JSON form (structure) and the YAML form (lab_inline) give the same checks', () => {
    const json = readSpec('labs/grading/klc.json').spec;
    const yaml = readSpec('labs/grading/klc.yaml').spec;
    assert.equal(json.form, 'kathara-lab-checker');
    assert.equal(json.convergenceSeconds, 15, 'checks are judged once convergence_time is over');
    assert.equal(json.deadlineSeconds, KLC_RETRY_S, 'then each is retried briefly');
    assert.equal(json.checks.length, 25);
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
    assert.deepEqual(
      r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.message}${e.hint ? ` (${e.hint})` : ''}`),
      ['c.json:3:3 unknown key "tests" (did you mean "test"?)', 'c.json:5:5 unknown key "daemon" (did you mean "daemons"?)'],
    );
    assert.throws(() => readSpec('test/unit/grade-klc.test.ts.json'), /cannot read the grading spec/);
  });

  it('EVPN, SCION and VXLAN entries are "not supported" checks, never passed', () => {
    const text =
      'test:\n  protocols: { bgpd: { evpn_sessions: {} }, sciond: { paths: {} } }\n  bridges: { s1: [ { interfaces: { eth0: {} }, vxlan: { 10: { pvid: 10 } } } ] }\n';
    const r = parseKlcSpec(text, 'c.yaml', () => undefined);
    assert.ok('spec' in r);
    assert.deepEqual(
      r.spec.checks.filter((c) => c.kind === 'unsupported').map((c) => c.name),
      ['bgpd evpn_sessions checks', 'sciond paths checks', 'VXLAN bridge checks on `s1`'],
    );
  });

  it('kernel_routes: one check per device, run in it; a malformed route is an error with its position', () => {
    const ok = parseKlcSpec('test:\n  kernel_routes:\n    r1: [ default, [10.1.2.0/24, [10.0.13.3, eth2]] ]\n', 'c.yaml', () => undefined);
    assert.ok('spec' in ok);
    const check = ok.spec.checks[0]!;
    assert.equal(check.name, 'Checking the routing table of r1');
    assert.ok(check.kind === 'live' && check.test.kind === 'command' && check.test.vm === 'r1' && check.test.exit === 0);
    assert.match(check.test.kind === 'command' ? check.test.run : '', /^ip route show \| awk -v WANT='0\.0\.0\.0\/0=;10\.1\.2\.0\/24=10\.0\.13\.3,eth2' /);
    const bad = parseKlcSpec('test:\n  kernel_routes:\n    r1: [ [10.1.2.0/24, 10.0.13.3] ]\n', 'c.yaml', () => undefined);
    assert.ok('errors' in bad);
    assert.match(
      `${bad.errors[0]!.file}:${bad.errors[0]!.line}:${bad.errors[0]!.col} ${bad.errors[0]!.message}`,
      /^c\.yaml:3:9 each route is "DEST" or \[DEST, \[NEXT_HOP/,
    );
  });

  it("kernel_routes' awk judges a table as kathara-lab-checker does (connected routes aside; next hops by address or interface)", () => {
    const table = [
      'default via 10.1.1.1 dev eth0',
      '10.0.12.0/24 dev eth1 proto kernel scope link src 10.0.12.1',
      '10.1.2.0/24 via 10.0.13.3 dev eth2',
      '10.9.0.0/16 proto ospf metric 20',
      '\tnexthop via 10.0.12.2 dev eth1 weight 1',
      '\tnexthop via 10.0.13.3 dev eth2 weight 1',
      '',
    ].join('\n');
    const judge = (entries: unknown[]) => {
      const r = spawnSync('sh', ['-c', kernelRoutesCommand(expectedRoutes(entries)!).replace(/^ip route show/, 'cat')], { input: table, encoding: 'utf8' });
      return { exit: r.status, out: r.stdout.trim().split('\n') };
    };
    assert.deepEqual(judge(['default', ['10.1.2.0/24', ['10.0.13.3']], ['10.9.0.0/16', ['eth1', '10.0.13.3']]]), {
      exit: 0,
      out: ['OK: 3 route(s) as expected'],
    });
    assert.deepEqual(judge([['10.1.2.0/24', ['10.0.12.2']], ['10.9.0.0/16', ['eth1']], '10.5.0.0/16']), {
      exit: 1,
      out: [
        'route 10.1.2.0/24 does not go via 10.0.12.2 (it has 10.0.13.3@eth2)',
        'route 10.9.0.0/16 has 2 next hop(s) (10.0.12.2@eth1,10.0.13.3@eth2), expected 1',
        'missing route 10.5.0.0/16',
        'route 0.0.0.0/0 should not be there',
      ],
    });
    assert.equal(judge(['default']).out[0], 'the routing table has 3 route(s), expected 1');
  });

  it("kernel_routes' reason is what differs (the awk's lines), never an exit code; a failed command cannot pass", () => {
    const j = { family: 'kernel_routes' as const, device: 'r1' };
    const out = (exitCode: number, stdout: string, stderr = '') => ({ exitCode, stdout, stderr });
    assert.deepEqual(judgeRoutes(j, out(0, 'OK: 2 route(s) as expected\n')), { pass: true, reason: 'the routing table of r1: 2 route(s) as expected' });
    assert.deepEqual(judgeRoutes(j, out(1, 'missing route 10.5.0.0/16\nroute 0.0.0.0/0 should not be there\n')), {
      pass: false,
      reason: 'the routing table of r1: missing route 10.5.0.0/16; route 0.0.0.0/0 should not be there',
    });
    assert.deepEqual(judgeRoutes(j, out(2, '', 'awk: syntax error')), {
      pass: false,
      reason: 'the routing table of r1: the command failed (exit 2): awk: syntax error',
    });
    assert.equal(judgeRoutes(j, out(1, '')).pass, false);
    const parsed = parseKlcSpec('test:\n  kernel_routes:\n    r1: [ default ]\n', 'c.yaml', () => undefined);
    assert.ok('spec' in parsed);
    const check = parsed.spec.checks.find((c) => c.name === 'Checking the routing table of r1');
    assert.deepEqual(check && 'judge' in check ? check.judge : undefined, j, 'the check is judged here');
  });

  it('ipv6_enabled: a file check per device, passed where the lab enables IPv6 (Kathará ipv6=true, or its sysctl)', async () => {
    const r = parseKlcSpec('test:\n  ipv6_enabled: [r1, r2, nobody]\n', 'c.yaml', () => undefined);
    assert.ok('spec' in r);
    const dir = mkdtempSync(join(tmpdir(), 'umlab-grade-klc-'));
    try {
      writeFileSync(join(dir, 'lab.conf'), 'r1[0]=a\nr1[ipv6]=true\nr2[0]=a\n');
      const lab = (await loadSubmission(dir)).lab;
      const verdicts = r.spec.checks.map((c) => (c.kind === 'static' ? `${c.name}: ${judgeStatic(c.check, { lab, startupFiles: [] }).pass}` : c.kind));
      assert.deepEqual(verdicts, [
        'Checking that IPv6 is enabled on `r1`: true',
        'Checking that IPv6 is enabled on `r2`: false',
        'Checking that IPv6 is enabled on `nobody`: false',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a structure file that cannot be read is an error', () => {
    const r = parseKlcSpec('{ "structure": "nowhere/lab.conf", "test": {} }', 'c.json', () => undefined);
    assert.ok('errors' in r);
    assert.match(r.errors[0]!.message, /cannot read the structure file nowhere\/lab\.conf/);
  });

  it("structure checks judge the submissions: carol's web is on the wrong switch, erin has no web startup", async () => {
    const spec = readSpec('labs/grading/klc.json').spec;
    const judge = async (student: string) => {
      const lab = await loadLabFile(`labs/grading/submissions/${student}/lab.yaml`);
      const files = { lab, startupFiles: lab.vms.filter((v) => v.startup.length > 0).map((v) => v.name) };
      return spec.checks.flatMap((c) => (c.kind === 'static' && !judgeStatic(c.check, files).pass ? [`${c.name}: ${judgeStatic(c.check, files).reason}`] : []));
    };
    assert.deepEqual(await judge('alice'), []);
    assert.deepEqual(await judge('carol'), [
      'Checking the collision domain attached to interface `eth0` of `web`: interface eth0 of web is connected to collision domain lana instead of lanb',
    ]);
    assert.deepEqual(await judge('erin'), ['Check existence of `web.startup` file: web.startup file not found']);
  });

  it('readSpec throws LabFileError for a bad configuration', () => {
    assert.throws(() => readSpec('labs/grading/structure/lab.conf'), LabFileError);
  });
});
