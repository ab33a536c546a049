// `umlab test` on every lab in labs/ (each must pass as shipped), and on every unsolved
// exercise in labs/exercises/ (exactly the intended checks must fail). One lab at a time.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, ROOT, umlab } from './helpers.ts';

/** Labs another issue owns: tested here only once they have a tests: section. */
const OWNED_ELSEWHERE = ['mcast-lan.yaml', 'nat-gateway.yaml', 'all-kinds.yaml'];

/** The checks each unsolved exercise must fail, and no others. */
const EXERCISE_FAILURES: Record<string, string[]> = {
  'static-routing.yaml': ['h1 reaches h2 through r1, r2, r3', "h2's replies cross three routers", 'r2 has a route to each LAN'],
  'proxy-arp.yaml': ['h1 reaches h3 through r1', 'r1 answers ARP for h3 on the LAN with its own MAC', 'r1 has proxy ARP on its LAN side'],
  'firewall.yaml': ['ping passes', 'web (TCP 80) is allowed', 'dns (UDP 53) is allowed', 'telnet (TCP 23) is rejected', 'anything else is rejected (TCP 8080)'],
};

interface Report {
  lab: string;
  failed: number;
  errors: number;
  results: { name: string; status: string; message: string }[];
}

async function runTest(home: string, file: string): Promise<Report> {
  const r = await umlab(home, ['test', file, '--json']);
  assert.ok(r.exitCode === 0 || r.exitCode === 1, `umlab test ${file} exited ${r.exitCode}\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(r.exitCode, report.failed + report.errors > 0 ? 1 : 0, 'exit code follows the results');
  await assertNothingLeft(home, report.lab);
  return report;
}

const labFiles = readdirSync(join(ROOT, 'labs'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

// Two labs at a time (each its own name, namespace and run directory): half the wall time.
describe('umlab test on the labs', { concurrency: 2 }, () => {
  const home = makeHome();
  after(() => cleanHome(home));

  for (const file of labFiles) {
    const path = join(ROOT, 'labs', file);
    const hasTests = /^tests:/m.test(readFileSync(path, 'utf8'));
    if (OWNED_ELSEWHERE.includes(file) && !hasTests) {
      it(`labs/${file}: no tests: section yet`, (t) => t.skip(`labs/${file} has no tests: section yet (owned by another issue)`));
      continue;
    }
    it(`labs/${file} passes every check`, async () => {
      const report = await runTest(home, path);
      const bad = report.results.filter((r) => r.status !== 'pass');
      assert.deepEqual(bad, [], `failing checks of ${file}`);
      assert.ok(report.results.length > 0);
    });
  }

  for (const [file, expected] of Object.entries(EXERCISE_FAILURES)) {
    it(`labs/exercises/${file} (unsolved) fails exactly the intended checks`, async () => {
      const path = join(ROOT, 'labs/exercises', file);
      assert.ok(existsSync(path));
      const report = await runTest(home, path);
      assert.equal(report.errors, 0, JSON.stringify(report.results.filter((r) => r.status === 'error')));
      const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.name);
      assert.deepEqual(failed.sort(), [...expected].sort());
      for (const r of report.results.filter((x) => x.status === 'fail')) assert.match(r.message, /expected|lacks/, 'the reason says what was expected');
    });
  }
});
