// Guest integrity under UML's FPU-state handling, on whichever kind of host this is: with
// AMX (umlab's register fix preloaded into linux.uml) or without (UML's own path, and the
// fix forced on). Processes and threads in a VM keep distinct SSE/AVX/AVX-512 values across
// many context switches, while parallel compress/hash pipelines must give the host's checksums.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { buildXstateFix, UML_XSTATE_BYTES, xstateFacts } from '../../src/vm/xstate-fix.ts';
import { assertNothingLeft, cleanHome, makeHome, ROOT, umlab, umlabOk, vmExec } from './helpers.ts';

const facts = xstateFacts({ ...process.env, UMLAB_XSTATE_FIX: 'auto' });
const hostKind = facts.needed
  ? `host xstate ${facts.hostBytes} bytes > UML's ${UML_XSTATE_BYTES} (AMX): register fix active`
  : `host xstate ${facts.hostBytes} bytes <= UML's ${UML_XSTATE_BYTES}: UML's own path, and the fix forced on`;
const bin = mkdtempSync(join(tmpdir(), 'umlab-fpu-'));
const CHECKSUM_INPUT = 'seq 1 300000';

function labYaml(name: string): string {
  return `name: ${name}
capture: false
vms:
  h1:
    memory: 256M
    shares: { /mnt/t: ${bin} }
`;
}

/** fpu-torture and parallel xz/sha256 pipelines at once, in h1. */
async function torture(home: string, name: string): Promise<{ torture: string; sums: string[] }> {
  const script =
    `for i in 1 2 3 4; do (${CHECKSUM_INPUT} | xz -T2 -1 | xz -d | sha256sum > /tmp/sum$i) & done; ` +
    `/mnt/t/fpu-torture 4 3 400; rc=$?; wait; cat /tmp/sum1 /tmp/sum2 /tmp/sum3 /tmp/sum4; exit $rc`;
  const r = await umlab(home, ['exec', '--lab', name, 'h1', '--', script], { timeout: 240_000 });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  return { torture: lines[0]!, sums: lines.slice(1).map((l) => l.split(' ')[0]!) };
}

describe(`guest integrity (${hostKind})`, () => {
  let expectedSum = '';
  before(async () => {
    for (const prog of ['fpu-torture', 'xstate-roundtrip'])
      await execa('cc', ['-O2', '-pthread', '-o', join(bin, prog), join(ROOT, `test/fixtures/native/${prog}.c`)]);
    expectedSum = (await execa('sh', ['-c', `${CHECKSUM_INPUT} | sha256sum`])).stdout.split(' ')[0]!;
  });
  after(() => rmSync(bin, { recursive: true, force: true }));

  it('the fix round-trips a short xstate buffer as UML does, where the kernel alone refuses it', async () => {
    const { library } = buildXstateFix();
    // 576 bytes (legacy area + header) is short on every host with AVX, so this runs on both kinds.
    const plain = await execa(join(bin, 'xstate-roundtrip'), ['576'], { reject: false });
    assert.equal(plain.exitCode, 1, `without the fix the short SET must fail: ${plain.stdout}`);
    assert.match(plain.stdout, /short SETREGSET failed: Bad address/);
    for (const bytes of ['576', String(UML_XSTATE_BYTES)]) {
      const fixed = await execa(join(bin, 'xstate-roundtrip'), [bytes], { reject: false, env: { LD_PRELOAD: library } });
      if (fixed.exitCode === 3) continue; // UML's size is not short on this host
      assert.equal(fixed.exitCode, 0, fixed.stdout + fixed.stderr);
      assert.match(fixed.stdout, new RegExp(`^ok host=\\d+ short=${bytes}`));
    }
  });

  // auto everywhere; on a host that does not need the fix, also with it forced on.
  for (const mode of facts.needed ? ['auto'] : ['auto', 'on']) {
    it(`vector registers and checksums stay exact in a VM (UMLAB_XSTATE_FIX=${mode})`, async () => {
      const home = makeHome();
      const name = `fpu-${mode}`;
      const file = join(home, 'lab.yaml');
      writeFileSync(file, labYaml(name));
      try {
        await umlabOk(home, ['up', '-q', file], 0, { env: { UMLAB_XSTATE_FIX: mode } });
        const plan = JSON.parse((await umlabOk(home, ['compile', '--json', file], 0, { env: { UMLAB_XSTATE_FIX: mode } })).stdout);
        const preloaded = String(plan.vms[0].env.LD_PRELOAD ?? '').includes('xstate-fix.so');
        assert.equal(preloaded, facts.needed || mode === 'on', `LD_PRELOAD in the plan: ${JSON.stringify(plan.vms[0].env)}`);
        const { torture: result, sums } = await torture(home, name);
        assert.match(result, /^ok sse( avx)?( avx512)? processes=4 threads=3 rounds=400$/);
        if (facts.hostBytes > UML_XSTATE_BYTES) assert.match(result, /avx512/, 'AMX hosts have AVX-512: the test must use it');
        assert.deepEqual(sums, [expectedSum, expectedSum, expectedSum, expectedSum]);
        // The fix is in linux.uml only: never in the supervisor (node) or the VM's own processes.
        const inVm = await vmExec(home, name, 'h1', 'cat /proc/self/environ | tr "\\0" "\\n" | grep -c LD_PRELOAD || true');
        assert.equal(inVm.trim(), '0');
        await umlabOk(home, ['down', name]);
        await assertNothingLeft(home, name);
      } finally {
        await cleanHome(home);
      }
    });
  }

  it('without the fix on a host that needs it, up fails and names the cause', { skip: !facts.needed && 'this host does not need the fix' }, async () => {
    const home = makeHome();
    const file = join(home, 'lab.yaml');
    writeFileSync(file, labYaml('fpu-off'));
    try {
      const r = await umlab(home, ['up', '-q', file], { env: { UMLAB_XSTATE_FIX: 'off' } });
      assert.equal(r.exitCode, 6, r.stdout + r.stderr);
      assert.match(r.stderr, /ptrace set fp regs failed/);
      await assertNothingLeft(home, 'fpu-off');
    } finally {
      await cleanHome(home);
    }
  });
});
