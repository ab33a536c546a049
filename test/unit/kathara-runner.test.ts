// The shell that runs a Kathará device's startup files and the service shims it installs:
// valid bash/sh as generated (their behaviour is tested on real VMs in test/vm/kathara.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { runnerScript } from '../../src/kathara/runner.ts';

describe('the Kathará runner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-kathara-runner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = runnerScript();

  it('is valid bash', async () => {
    writeFileSync(join(dir, 'run'), script);
    const r = await execa('bash', ['-n', join(dir, 'run')], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
  });

  it('every shim it writes is valid sh', async () => {
    const shims = [...script.matchAll(/<<'UMLAB_SHIM'\n([^]*?)UMLAB_SHIM\n/g)].map((m) => m[1]!);
    assert.ok(shims.length >= 4, 'systemctl, service, quagga-to-frr, init.d aliases');
    for (const [i, shim] of shims.entries()) {
      assert.match(shim, /^#!\/bin\/sh\n/);
      writeFileSync(join(dir, `shim${i}`), shim);
      const r = await execa('sh', ['-n', join(dir, `shim${i}`)], { reject: false });
      assert.equal(r.exitCode, 0, `${shim}\n${r.stderr}`);
    }
  });

  it('maps old service names and runs shared.startup first, shared.shutdown last', () => {
    assert.match(script, /bind9\|bind\) \[ -x \/etc\/init.d\/named \] && unit=named/);
    assert.match(script, /\[ "\$mode" = startup \] && order="shared \$dev" \|\| order="\$dev shared"/);
  });
});
