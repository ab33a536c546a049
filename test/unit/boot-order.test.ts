// bootInOrder: each VM boots once the VMs of its start_after are ready; a failure stops the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootInOrder, bootsAtOnce } from '../../src/runtime/boot-order.ts';

/** A boot that takes a turn of the event loop and records when it started and finished. */
function recorder(fail: string[] = []) {
  const events: string[] = [];
  const boot = async (name: string) => {
    events.push(`start ${name}`);
    await new Promise(setImmediate);
    if (fail.includes(name)) throw new Error(`${name} failed`);
    events.push(`ready ${name}`);
  };
  return { events, boot };
}

describe('bootInOrder', () => {
  it('boots the free VMs at once and each other one after its predecessors are ready', async () => {
    const { events, boot } = recorder();
    const after: Record<string, string[]> = { r1: ['r2', 'r3'], r2: ['r3'] };
    const waits: string[] = [];
    await bootInOrder(
      ['r1', 'r2', 'r3', 'h'],
      (n) => after[n] ?? [],
      boot,
      (n, on) => waits.push(`${n}:${on.join(',')}`),
    );
    assert.deepEqual(waits, ['r1:r2,r3', 'r2:r3']);
    const at = (e: string) => events.indexOf(e);
    assert.ok(at('start h') < at('ready r3'), 'h does not wait');
    assert.ok(at('ready r3') < at('start r2'));
    assert.ok(at('ready r2') < at('start r1'));
    assert.equal(events.filter((e) => e === 'start r3').length, 1, 'each VM boots once');
  });

  it('a VM whose predecessor fails never boots, and the whole start fails', async () => {
    const { events, boot } = recorder(['a']);
    await assert.rejects(
      bootInOrder(['a', 'b'], (n) => (n === 'b' ? ['a'] : []), boot),
      /a failed/,
    );
    // Whatever a's failure set off has run by the next turn of the event loop.
    await new Promise(setImmediate);
    assert.ok(!events.includes('start b'));
  });

  it('boots at most `parallel` VMs at a time, in order, and still honours start_after', async () => {
    let inFlight = 0;
    let most = 0;
    const started: string[] = [];
    const boot = async (name: string) => {
      started.push(name);
      most = Math.max(most, ++inFlight);
      for (let i = 0; i < 3; i++) await new Promise(setImmediate);
      inFlight--;
    };
    const names = Array.from({ length: 9 }, (_, i) => `h${i + 1}`);
    await bootInOrder(
      names,
      (n) => (n === 'h2' ? ['h9'] : []),
      boot,
      () => {},
      2,
    );
    assert.equal(most, 2, 'never more than two at once');
    assert.equal(started.length, 9, 'every VM booted once');
    assert.ok(started.indexOf('h9') < started.indexOf('h2'), 'h2 after h9');
    // h9 is pulled forward by h2, which waits for it; the rest keep the lab's order.
    const free = (list: string[]) => list.filter((n) => n !== 'h2' && n !== 'h9');
    assert.deepEqual(free(started), free(names), 'the others in order');
  });

  it('boots a few VMs per core, never fewer than two', () => {
    assert.equal(bootsAtOnce(2), 8);
    assert.equal(bootsAtOnce(0), 2);
  });
});
