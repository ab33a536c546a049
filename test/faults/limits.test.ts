// Fault injection without VMs (issue 12, item 9): the console/serial log cap and rotation, and
// the agent line bound, on their own.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { CappedLog, logMaxBytes } from '../../src/vm/log-cap.ts';
import { AgentClient } from '../../src/vm/agent.ts';

describe('faults: limits', () => {
  it('a capped log rotates to .1 at its cap and keeps the order of the bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'umlab-logcap-'));
    try {
      const path = join(dir, 'console.log');
      const log = new CappedLog(path, 10_000);
      for (let i = 0; i < 100; i++) log.write(Buffer.from(`${String(i).padStart(3, '0')}${'x'.repeat(996)}\n`));
      await new Promise<void>((r) => log.end(r));
      assert.ok(statSync(path).size <= 10_000);
      assert.ok(statSync(path + '.1').size <= 10_000);
      const last = readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.slice(0, 3));
      assert.equal(last.at(-1), '099');
      assert.equal(
        readFileSync(path + '.1', 'utf8')
          .split('\n')
          .filter(Boolean)
          .at(-1)!
          .slice(0, 3),
        String(Number(last[0]) - 1).padStart(3, '0'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('UMLAB_LOG_MAX_BYTES: sizes with suffixes; nonsense is refused', () => {
    assert.equal(logMaxBytes({}), 8 * 1024 * 1024);
    assert.equal(logMaxBytes({ UMLAB_LOG_MAX_BYTES: '2M' }), 2 * 1024 * 1024);
    assert.equal(logMaxBytes({ UMLAB_LOG_MAX_BYTES: '65536' }), 65536);
    for (const bad of ['abc', '-5', '0', '1e9']) assert.throws(() => logMaxBytes({ UMLAB_LOG_MAX_BYTES: bad }), /is not a log size/);
  });

  it('an agent line without a newline beyond the bound fails pending and later execs, once', async () => {
    const toVm = new PassThrough();
    const fromVm = new PassThrough();
    const agent = new AgentClient(toVm, fromVm, 64 * 1024);
    let overflows = 0;
    agent.on('overflow', () => overflows++);
    const pending = agent.exec('true');
    for (let i = 0; i < 100; i++) fromVm.write('x'.repeat(4096));
    await assert.rejects(pending, /agent line overflowed/);
    await assert.rejects(agent.exec('true'), /agent line overflowed/);
    assert.equal(overflows, 1);
  });

  it('long lines below the bound still arrive whole, in any chunking', async () => {
    const toVm = new PassThrough();
    const fromVm = new PassThrough();
    const agent = new AgentClient(toVm, fromVm, 1024 * 1024);
    const result = agent.exec('cat big');
    const out = Buffer.alloc(300_000, 'a').toString('base64');
    const line = `R 1 0 ${out} \n`;
    for (let i = 0; i < line.length; i += 777) fromVm.write(line.slice(i, i + 777));
    const r = await result;
    assert.equal(r.stdout.length, 300_000);
  });
});
