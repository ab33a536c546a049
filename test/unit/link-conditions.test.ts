// Link conditions, pure: the lab file's units read into numbers, and the impairer's netem
// behaviour (loss, duplicate, corrupt, delay, jitter, reorder, rate, queue) on a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeImpairment, readImpairment } from '../../src/topology/link-conditions.ts';
import { Impairer, type ImpairerClock } from '../../src/kinds/forwarding/impairer.ts';
import { egressFrame, ingressVlan, tag, untag } from '../../src/kinds/forwarding/vlan.ts';

/** A clock that only moves when told, with scripted random numbers and timers it runs itself. */
class FakeClock implements ImpairerClock {
  t = 0;
  timers: { at: number; fn: () => void }[] = [];
  constructor(private readonly randoms: number[] = []) {}
  now = () => this.t;
  random = () => this.randoms.shift() ?? 0.99;
  setTimer = (fn: () => void, ms: number) => {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}

const frame = (n: number, size = 100) => Buffer.alloc(size, n);

describe('link conditions: reading the lab file', () => {
  it('reads units into numbers, the shared settings both ways and a direction over them', () => {
    const { impairment, problems } = readImpairment({ delay: '20ms', jitter: '500us', loss: '1.5%', rate: '10mbit', queue: 100, egress: { delay: '1s' } });
    assert.deepEqual(problems, []);
    assert.deepEqual(impairment.ingress, { delayMs: 20, jitterMs: 0.5, lossPct: 1.5, rateBps: 10e6, queue: 100 });
    assert.deepEqual(impairment.egress, { delayMs: 1000, jitterMs: 0.5, lossPct: 1.5, rateBps: 10e6, queue: 100 });
    assert.equal(
      describeImpairment(impairment),
      'egress delay 1s jitter 500us loss 1.5% rate 10mbit queue 100 / ingress delay 20ms jitter 500us loss 1.5% rate 10mbit queue 100',
    );
    assert.equal(describeImpairment(readImpairment({ delay: '50ms' }).impairment), 'delay 50ms');
  });

  it('says what is wrong, once, under the key that was written', () => {
    const { problems } = readImpairment({ loss: '1', ingress: { reorder: '5%' } });
    assert.deepEqual(problems, [
      { path: ['loss'], message: 'bad loss "1": write it like 1%' },
      { path: ['ingress', 'reorder'], message: 'reorder needs a delay (reordered frames overtake delayed ones), e.g. delay: 20ms, reorder: 5%' },
    ]);
  });
});

describe('link conditions: the impairer', () => {
  it('drops, duplicates and corrupts by chance (random below the percentage)', () => {
    const clock = new FakeClock([/* 1st: lost */ 0.1, /* 2nd */ 0.99, 0.01, 0.5, 0.99, /* 3rd */ 0.99, 0.99, 0.01]);
    const got: Buffer[] = [];
    const imp = new Impairer({ lossPct: 20, corruptPct: 5, duplicatePct: 5 }, clock);
    for (const n of [1, 2, 3]) imp.push(frame(n), (f) => got.push(f));
    // 1: lost. 2: corrupted (one bit after the Ethernet header), not duplicated. 3: duplicated.
    assert.equal(got.length, 3);
    assert.notDeepEqual(got[0], frame(2));
    assert.deepEqual(got[0]!.subarray(0, 14), frame(2).subarray(0, 14));
    assert.equal([...got[0]!].filter((b, i) => b !== frame(2)[i]).length, 1);
    assert.deepEqual(got.slice(1), [frame(3), frame(3)]);
  });

  it('delays each frame, jitter spreads the delay, a reordered frame goes at once', () => {
    const clock = new FakeClock([/* 1st: not reordered, jitter +5 */ 0.99, 1, /* 2nd: reordered */ 0.01]);
    const got: [number, number][] = [];
    const imp = new Impairer({ delayMs: 20, jitterMs: 5, reorderPct: 10 }, clock);
    imp.push(frame(1), (f) => got.push([f[0]!, clock.now()])); // not reordered; jitter +5
    clock.advance(1);
    imp.push(frame(2), (f) => got.push([f[0]!, clock.now()])); // reordered: now
    assert.deepEqual(got, [[2, 1]]);
    clock.advance(30);
    assert.deepEqual(got, [
      [2, 1],
      [1, 25],
    ]);
  });

  it('a rate serialises frames by their length; a full queue drops', () => {
    const clock = new FakeClock();
    const got: number[] = [];
    // 1000 bytes at 8 Mbit/s: 1 ms per frame; room for 2 waiting.
    const imp = new Impairer({ rateBps: 8e6, queue: 2 }, clock);
    for (const n of [1, 2, 3, 4]) imp.push(frame(n, 1000), () => got.push(clock.now()));
    assert.equal(imp.queueDrops, 1, 'the 4th finds 2 waiting');
    clock.advance(10);
    // Due at 1, 2 and 3 ms; a frame due within 1 ms leaves with the one before (timer granularity).
    assert.deepEqual(got, [0, 2, 2]);
  });
});

describe('VLAN tags', () => {
  const untagged = Buffer.concat([Buffer.alloc(12, 0xaa), Buffer.from([0x08, 0x00]), Buffer.from('payload')]);
  it('tags and untags, and tells the VLAN of a frame by the port it came from', () => {
    const tagged = tag(untagged, 20);
    assert.equal(tagged.length, untagged.length + 4);
    assert.equal(tagged.readUInt16BE(12), 0x8100);
    assert.equal(tagged.readUInt16BE(14), 20);
    assert.deepEqual(untag(tagged), untagged);
    assert.equal(ingressVlan(untagged, { untagged: 10, tagged: [] }), 10);
    assert.equal(ingressVlan(tagged, { untagged: 10, tagged: [] }), null, 'an access port drops tagged frames');
    assert.equal(ingressVlan(tagged, { tagged: [10, 20] }), 20);
    assert.equal(ingressVlan(untagged, { tagged: [10, 20] }), null, 'a trunk without native drops untagged frames');
    assert.deepEqual(egressFrame(tagged, { untagged: 20, tagged: [10] }, 20), untagged, 'native VLAN leaves untagged');
    assert.deepEqual(egressFrame(untagged, { tagged: [20] }, 20), tagged);
  });
});
