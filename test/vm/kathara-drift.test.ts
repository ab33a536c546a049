// Kathará labs written for older daemons, on real UML VMs from the shared Kathará image: one
// fixture lab (test/vm/labs/kathara-drift) holds a device per cause of issue 22 — Quagga eBGP
// on FRR, Netkit's /etc/zebra, FRR per-daemon files, a device that is a bridge, BIND 9.11
// options, an IPv6 sysctl — and its umlab.yaml checks each; lab.ext is answered with a warning.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedImagePath } from '../../src/kathara/images.ts';
import { imageCacheDir } from '../../src/runtime/image-cache.ts';
import { assertNothingLeft, cleanHome, makeHome, ROOT, umlab, umlabOk } from './helpers.ts';

const image = cachedImagePath(imageCacheDir(), 'kathara');
const notRoot = process.getuid?.() !== 0;
const skipSlow = process.env.UMLAB_SKIP_SLOW_TESTS === '1' && !existsSync(image);
const skip =
  (notRoot && !existsSync(image) && 'building the Kathará image needs root') ||
  (skipSlow && 'UMLAB_SKIP_SLOW_TESTS=1 and the Kathará image is not built yet (debootstrap)');
if (skip) process.stderr.write(`== test/vm/kathara-drift.test.ts is NOT run: ${skip}\n`);

const LAB = join(ROOT, 'test/vm/labs/kathara-drift');
const slow = { timeout: 25 * 60_000 };

interface Report {
  lab: string;
  results: { name: string; status: string; message: string }[];
}

describe('Kathará labs written for older daemons', { skip }, () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('the drift fixtures: every umlab.yaml check passes, each translation is a warning at its line', slow, async () => {
    // Five VMs starting FRR and BIND at once on a shared 2-core machine can take longer than the
    // default 120 s boot limit; a longer limit only delays the report of a VM that never gets ready.
    const r = await umlab(home, ['test', LAB, '--json', '--build-images'], { ...slow, env: { UMLAB_BOOT_TIMEOUT: '600' } });
    assert.equal(r.exitCode, 0, `umlab test failed:\n${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.results.length, 9);
    assert.deepEqual(
      report.results.filter((x) => x.status !== 'pass').map((x) => `${x.name}: ${x.message}`),
      [],
    );
    // Every change the reader made is named at the line it changed.
    assert.match(r.stderr, /kathara-drift\/q1\/etc\/quagga\/bgpd\.conf:3:1: Quagga -> FRR: .*no bgp ebgp-requires-policy/);
    assert.match(r.stderr, /kathara-drift\/q2\/etc\/zebra\/bgpd\.conf:3:1: Quagga -> FRR: /);
    assert.match(r.stderr, /kathara-drift\/dns\/etc\/bind\/named\.conf\.options:6:5: BIND 9\.11 -> 9\.18: "dnssec-enable" dropped/);
    assert.match(r.stderr, /kathara-drift\/dns\/etc\/bind\/named\.conf\.options:8:5: BIND 9\.11 -> 9\.18: "dnssec-lookaside" dropped/);
    assert.match(r.stderr, /kathara-drift\/lab\.ext:1:1: collision domain E is not attached to host interface ext0/);
    await assertNothingLeft(home, report.lab);
    await umlabOk(home, ['clean', report.lab]);
  });
});
