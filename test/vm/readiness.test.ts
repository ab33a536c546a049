// Readiness and measuring checks on real VMs (issue 15): `ready:` delays `up` until a slow
// service listens, a condition that never holds fails `up` and rolls the lab back, `within:`
// retries a check until what it waits for converges, and throughput/latency checks pass and
// fail (with the measured value) in `umlab test`, JSON and JUnit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, ROOT, umlab, umlabOk, vmExec } from './helpers.ts';

const testLab = (name: string) => join(ROOT, 'test/vm/labs', name);

interface Report {
  failed: number;
  errors: number;
  results: { name: string; kind: string; status: string; message: string; tries?: number }[];
}

describe('ready: and within:', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('up waits until the ready: condition holds: the slow listener exists as soon as up returns', async () => {
    const up = await umlabOk(home, ['up', testLab('readiness.yaml')]);
    assert.match(up.stderr, /server: booting \(waiting for tcp:80\)/, 'up shows what it waits for');
    // The lab's server starts its listener 2 s after startup; ready: tcp:80 holds `up` until then.
    const listening = await vmExec(home, 'readiness', 'server', "ss -H -ltn 'sport = :80'");
    assert.match(listening, /:80\b/);
    const status = JSON.parse((await umlabOk(home, ['status', 'readiness', '--json'])).stdout);
    assert.deepEqual(
      status.status.vms.map((v: { state: string }) => v.state),
      ['ready', 'ready'],
    );
    // A reboot waits for the conditions again: a fresh boot starts the slow listener anew.
    await umlabOk(home, ['vm', 'reboot', 'server', '--lab', 'readiness']);
    assert.match(await vmExec(home, 'readiness', 'server', "ss -H -ltn 'sport = :80'"), /:80\b/);
  });

  it('within: retries a check until what it waits for holds, and gives up when its time is up', async () => {
    // The running lab: the convergence starts when the check "start converging" runs, and takes 3 s.
    const junit = join(home, 'readiness.xml');
    const r = await umlab(home, ['test', testLab('readiness.yaml'), '--json', '--junit', junit]);
    assert.equal(r.exitCode, 1, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    const byName = new Map(report.results.map((x) => [x.name, x]));
    assert.equal(byName.get('the web server answers at once')?.status, 'pass');
    const converged = byName.get('converged within 30s')!;
    assert.equal(converged.status, 'pass', converged.message);
    assert.ok(converged.tries! > 1, `it took several tries: ${converged.message}`);
    assert.match(converged.message, new RegExp(`\\(try ${converged.tries}, after [\\d.]+ m?s\\)`));
    const gaveUp = byName.get('not converged within 1s')!;
    assert.equal(gaveUp.status, 'fail');
    assert.match(gaveUp.message, /expected exit code 0, got 1 \(still so after \d+ tr(y|ies) in [\d.]+ m?s, within: 1 s\)/);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /<testcase classname="umlab\.readiness\.command" name="converged within 30s" time="[\d.]+"\/>/);
    assert.match(xml, /name="not converged within 1s"[^>]*>\s*<failure message="expected exit code 0, got 1 \(still so after/);
    await umlabOk(home, ['down', 'readiness']);
    await assertNothingLeft(home, 'readiness');
  });

  it('a ready: condition that never holds fails up, naming the VM, the condition and its output, and leaves nothing', async () => {
    const r = await umlab(home, ['up', testLab('never-ready.yaml')]);
    assert.equal(r.exitCode, 6, `a runtime error: ${r.stderr}`);
    assert.match(r.stderr, /h2: booting \(waiting for file:\/proc\/version\)/);
    assert.match(r.stderr, /VM h2 was not ready within 3 s of its startup: cmd: echo no route to 10\.9\.0\.0 yet; exit 3 never held \(\d+ tries/);
    assert.match(r.stderr, /last output \(exit 3\):\n\s+no route to 10\.9\.0\.0 yet/);
    assert.match(r.stderr, /the lab was rolled back/);
    await assertNothingLeft(home, 'never-ready');
    const list = await umlabOk(home, ['status', '--json']);
    assert.deepEqual(
      JSON.parse(list.stdout).filter((l: { lab: string }) => l.lab === 'never-ready'),
      [],
    );
  });
});

describe('throughput and latency checks', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it("pass within the lab's bounds and fail with the measured value, in the JSON and JUnit reports", async () => {
    const junit = join(home, 'measure.xml');
    const r = await umlab(home, ['test', testLab('measure.yaml'), '--json', '--junit', junit]);
    assert.equal(r.exitCode, 1, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    const status = Object.fromEntries(report.results.map((x) => [x.name, x.status]));
    assert.deepEqual(status, {
      'h1 sends at the shaped rate': 'pass',
      'h2 sends to h1 unshaped': 'pass',
      'h1 cannot send a gigabit': 'fail',
      'the round trip has the delay': 'pass',
      'the round trip is not under 5 ms': 'fail',
    });
    const message = (name: string) => report.results.find((x) => x.name === name)!.message;
    assert.match(message('h1 sends at the shaped rate'), /^measured [\d.]+ Mbit\/s h1 -> h2 over 3 s/);
    assert.match(message('h2 sends to h1 unshaped'), /h2 -> h1 over 2 s/);
    assert.match(message('h1 cannot send a gigabit'), /^expected a rate at least 1 Gbit\/s, measured [\d.]+ [kM]bit\/s h1 -> h2/);
    assert.match(
      message('the round trip has the delay'),
      /^measured RTT min [\d.]+ ms, avg [\d.]+ ms, max [\d.]+ ms \(5\/5 replies\) from h1 to h2 \(10\.0\.0\.2\)/,
    );
    assert.match(message('the round trip is not under 5 ms'), /^expected an average RTT at most 5 ms, measured RTT min [\d.]+ ms, avg [\d.]+ ms/);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuite name="measure" tests="5" failures="2" errors="0"/);
    assert.match(xml, /<testcase classname="umlab\.measure\.throughput" name="h1 sends at the shaped rate" time="[\d.]+"\/>/);
    assert.match(xml, /<testcase classname="umlab\.measure\.latency" name="the round trip has the delay" time="[\d.]+"\/>/);
    assert.match(xml, /name="h1 cannot send a gigabit"[^>]*>\s*<failure message="expected a rate at least 1 Gbit\/s, measured/);
    assert.match(xml, /name="the round trip is not under 5 ms"[^>]*>\s*<failure message="expected an average RTT at most 5 ms/);
    await assertNothingLeft(home, 'measure');
  });

  it('stops the iperf3 server it started in the receiving VM', async () => {
    await umlabOk(home, ['up', testLab('measure.yaml')]);
    try {
      const r = await umlab(home, ['test', testLab('measure.yaml'), '--json']);
      assert.equal(r.exitCode, 1, r.stderr);
      const left = await vmExec(home, 'measure', 'h2', 'pgrep -a iperf3; ls /tmp | grep -c umlab-iperf3; true');
      assert.equal(left.trim(), '0', `iperf3 servers or their files left in h2: ${left}`);
    } finally {
      await umlabOk(home, ['down', 'measure']);
    }
    await assertNothingLeft(home, 'measure');
  });
});
