// The host side of the agent line on its own (issue 26, item 1): replies matched by id in any
// order, an exec that times out or is abandoned says so, kills its command and never holds up
// the next one, and the host pings the agent while replies are awaited.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ExecTimeoutError } from '../../src/errors.ts';
import { AgentClient, NUDGE_INTERVAL_MS } from '../../src/vm/agent.ts';

function channel() {
  const toVm = new PassThrough();
  const fromVm = new PassThrough();
  const sent: string[] = [];
  toVm.setEncoding('latin1');
  toVm.on('data', (chunk: string) => sent.push(...chunk.split('\n').filter(Boolean)));
  return { toVm, fromVm, sent, agent: new AgentClient(toVm, fromVm) };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('agent client', () => {
  it('matches replies to requests by id, whatever their order and chunking', async () => {
    const { fromVm, agent } = channel();
    const runs = [1, 2, 3].map((n) => agent.exec(`echo ${n}`));
    // Replies 3, 1, 2, two of them in one chunk, the third split mid-line.
    fromVm.write(`R 3 0 ${b64('three')} \nR 1 1 ${b64('one')} ${b64('e1')}\nR 2 0 `);
    fromVm.write(`${b64('two')} \n`);
    const [one, two, three] = await Promise.all(runs);
    assert.deepEqual([one!.stdout.toString(), one!.exitCode, one!.stderr.toString()], ['one', 1, 'e1']);
    assert.equal(two!.stdout.toString(), 'two');
    assert.equal(three!.stdout.toString(), 'three');
  });

  it('an exec whose reply does not come within its timeout says so, kills its command, and the next exec is answered', async () => {
    const { fromVm, agent, sent } = channel();
    const slow = agent.exec('sleep 100', { timeoutMs: 50 });
    await assert.rejects(slow, (error: unknown) => error instanceof ExecTimeoutError && /timed out after 0.05 s/.test(error.message));
    await turn();
    assert.ok(sent.includes('K 1'), `no kill request among ${sent.join(' | ')}`);
    const next = agent.exec('echo next');
    // The late reply of the timed-out request is dropped; the next one gets only its own.
    fromVm.write(`R 1 0 ${b64('late')} \nR 2 0 ${b64('next')} \n`);
    assert.equal((await next).stdout.toString(), 'next');
  });

  it('an exec abandoned by its caller is killed and rejected at once', async () => {
    const { agent, sent } = channel();
    const gone = new AbortController();
    const run = agent.exec('sleep 100', { signal: gone.signal });
    gone.abort();
    await assert.rejects(run, /abandoned by its caller/);
    await turn();
    assert.ok(sent.includes('K 1'));
  });

  it('pings the agent while a reply is awaited, and stops once none is', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] }); // the pings on a fake clock
    const { fromVm, agent, sent } = channel();
    const run = agent.exec('sleep 2');
    const pingsSent = async () => {
      await turn(); // a write to the channel reaches `sent` on a later turn
      return sent.filter((l) => l.startsWith('P ')).length;
    };
    assert.equal(await pingsSent(), 0, 'a ping before the interval');
    t.mock.timers.tick(NUDGE_INTERVAL_MS);
    const pings = await pingsSent();
    assert.equal(pings, 1, `one ping after one interval: ${sent.join(' | ')}`);
    fromVm.write(`R 1 0 ${b64('done')} \n`);
    await run;
    t.mock.timers.tick(NUDGE_INTERVAL_MS * 5);
    assert.equal(await pingsSent(), pings, 'pings went on after the last reply');
  });
});
