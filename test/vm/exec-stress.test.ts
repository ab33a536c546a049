// Issue 26, item 1: an exec never sticks and never gets another's output. A 20-VM lab on one
// switch; hundreds of checked execs in parallel and in sequence (tiny and 0..200 KB outputs,
// sleepers, pings, execs whose caller gives up), a burst on one busy agent, and a Ctrl-C of
// `umlab exec` mid-command. bench/exec.sh runs the same workload at 10,000 execs with figures.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { LabClient } from '../../src/client/lab-client.ts';
import { runOne, runWorkload, summarize, switchLab, yesPayload, type ExecOutcome } from '../../bench/exec-workload.ts';
import { assertNothingLeft, cleanHome, CLI_ARGS, eventually, makeHome, umlabOk } from './helpers.ts';

const LAB = 'xstress';
/** Beyond its own time plus this, an exec counts as stuck (a bound that no load reaches, not a speed test). */
const STUCK_AFTER_MS = 90_000;

describe('exec under stress on 20 real VMs', () => {
  const home = makeHome();
  const { yaml, vms, addresses } = switchLab(LAB, 20);
  const common = { vms, addresses, maxPayload: 200_000, stuckAfterMs: STUCK_AFTER_MS };
  let client: LabClient;

  before(async () => {
    const labFile = join(home, `${LAB}.yaml`);
    writeFileSync(labFile, yaml);
    // 20 VMs booting on a loaded 2-core machine may take longer than the default 120 s.
    await umlabOk(home, ['up', labFile], 0, { env: { UMLAB_BOOT_TIMEOUT: '600' }, timeout: 900_000 });
    client = new LabClient(join(home, 'labs', LAB, 'control.sock'));
  });
  after(() => cleanHome(home));

  const judge = (outcomes: ExecOutcome[]) => {
    const s = summarize(outcomes, 1);
    const bad = s.worst.map((o) => `${o.verdict} ${o.spec.kind} on ${o.spec.vm}: ${o.detail ?? ''}`.slice(0, 300));
    assert.deepEqual({ stuck: s.stuck, mixedUp: s.mixedUp, errors: s.errors }, { stuck: 0, mixedUp: 0, errors: 0 }, bad.join('\n'));
  };

  it('500 execs 20 at once, each to a random VM (one in ten to a busy one): every one answered with its own output', async () => {
    const outcomes = await runWorkload(client, { ...common, seed: 261, total: 500, parallel: 20 });
    judge(outcomes);
    assert.equal(outcomes.length, 500);
    assert.ok(
      outcomes.some((o) => o.verdict === 'timed-out-as-asked'),
      'the workload has execs whose caller gives up',
    );
  });

  it('200 execs in sequence on each VM at once (one worker per VM)', async () => {
    judge(await runWorkload(client, { ...common, seed: 262, total: 200, parallel: 20, pinned: true, firstSeq: 10_000 }));
  });

  it('a busy agent: 40 large outputs at once on one VM, and a tiny exec among them, each its own', async () => {
    const spec = (seq: number, size: number) => {
      const token = `busy-${seq}`;
      const stdout = Buffer.concat([Buffer.from(token + '\n'), yesPayload(token, size)]);
      return {
        seq,
        vm: 'h2',
        kind: 'large' as const,
        command: `echo ${token}; yes ${token} | head -c ${size}`,
        ownMs: 0,
        timeoutMs: STUCK_AFTER_MS,
        expected: { stdout, stderr: Buffer.alloc(0), exitCode: 0 },
      };
    };
    const burst = Array.from({ length: 40 }, (_, i) => runOne(client, spec(20_000 + i, 200_000 - i * 1000)));
    const tiny = runOne(client, spec(20_100, 0));
    judge(await Promise.all([...burst, tiny]));
  });

  it('Ctrl-C of umlab exec mid-command kills the command in the VM, and the next exec to that VM is answered', async () => {
    const marker = 'sleep 600.26';
    const cli = execa(process.execPath, [...CLI_ARGS, 'exec', '--lab', LAB, 'h3', '--', `echo started; ${marker}`], {
      env: { UMLAB_HOME: home },
      reject: false,
    });
    const running = async () => (await client.execText('h3', `pgrep -fc '${marker}' || true`)).stdout.trim();
    await eventually(async () => assert.equal(await running(), '1'), STUCK_AFTER_MS);
    cli.kill('SIGINT');
    const ended = await cli;
    assert.notEqual(ended.exitCode, 0, 'umlab exec ended by Ctrl-C does not report success');
    await eventually(async () => assert.equal(await running(), '0'), STUCK_AFTER_MS);
    assert.equal((await client.execText('h3', 'echo after-ctrl-c')).stdout, 'after-ctrl-c\n');
  });

  it('an exec that times out says so (exit 124), its command is killed, and the next exec answers at once', async () => {
    const slow = await execa(process.execPath, [...CLI_ARGS, 'exec', '--lab', LAB, '--timeout', '1', 'h4', '--', 'sleep 600.27'], {
      env: { UMLAB_HOME: home },
      reject: false,
    });
    assert.equal(slow.exitCode, 124, slow.stderr);
    assert.match(String(slow.stderr), /timed out after 1 s in VM h4 \(the VM's agent answers; the command was still running and is killed\)/);
    assert.equal((await client.execText('h4', 'echo next')).stdout, 'next\n');
    await eventually(async () => assert.equal((await client.execText('h4', `pgrep -fc 'sleep 600.27' || true`)).stdout.trim(), '0'), STUCK_AFTER_MS);
  });

  it('down leaves nothing behind', async () => {
    await umlabOk(home, ['down', LAB]);
    await assertNothingLeft(home, LAB);
  });
});
