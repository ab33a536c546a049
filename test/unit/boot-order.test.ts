// bootInOrder: each VM boots once the VMs of its start_after are ready; a failure stops the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootInOrder } from '../../src/runtime/boot-order.ts';

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
});
