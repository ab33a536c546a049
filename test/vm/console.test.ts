// `umlab console`: typing reaches the VM's console shell, output comes back, Ctrl-C reaches its
// foreground command, an exited shell is started again, Ctrl-] detaches.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { assertNothingLeft, cleanHome, CLI_ARGS, eventually, makeHome, ROOT, umlabOk, vmExec } from './helpers.ts';

describe('umlab console', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('attaches to the console shell and detaches with Ctrl-]', async () => {
    await umlabOk(home, ['up', join(ROOT, 'test/vm/labs/single.yaml')]);
    const child = execa(process.execPath, [...CLI_ARGS, 'console', 'solo'], {
      env: { UMLAB_HOME: home },
      reject: false,
      timeout: 60_000,
    });
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    // Types `line` until `answer` comes back; the answer differs from what was typed ($((6*7))), so only the VM's shell can produce it.
    const typeUntil = async (line: string, answer: string) => {
      const deadline = Date.now() + 30_000;
      while (!seen.includes(answer) && Date.now() < deadline) {
        child.stdin!.write(line);
        await new Promise((r) => setTimeout(r, 500)); // paces the retyping; the verdict is the answer arriving
      }
      assert.ok(seen.includes(answer), `no ${answer} on the console:\n${seen.slice(-2000)}`);
    };
    await typeUntil('echo answer-$((6*7))\n', 'answer-42');
    // The console is the shell's controlling terminal: Ctrl-C stops the command in the foreground.
    child.stdin!.write('sleep 300\n');
    // Ctrl-C once the sleep runs (asked through the agent), not after a guessed delay.
    await eventually(async () => assert.match(await vmExec(home, 'single', 'solo', 'ps -e -o args'), /^sleep 300$/m));
    child.stdin!.write(Buffer.from([0x03]));
    await typeUntil('echo back-$((2+3))\n', 'back-5');
    // A shell that exits is started again.
    child.stdin!.write('exit\n');
    await typeUntil('echo again-$((3+4))\n', 'again-7');
    child.stdin!.write(Buffer.from([0x1d]));
    const result = await child;
    assert.equal(result.exitCode, 0);
    assert.match(String(result.stderr), /detached/);
    // The VM keeps running after a detach.
    const r = await umlabOk(home, ['exec', 'solo', '--', 'echo alive']);
    assert.equal(r.stdout, 'alive\n');
    await umlabOk(home, ['down']);
    await assertNothingLeft(home, 'single');
  });
});
