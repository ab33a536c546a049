// A hub floods unicast to every port; a learning switch, once it has learned, does not.
// Seen from a third VM's link capture.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, eventually, makeHome, ROOT, umlabOk } from './helpers.ts';

const fixture = (name: string) => join(ROOT, 'test/vm/labs', name);

/** Pings a -> b (after a first ping so every MAC is learned), then counts the echo
 *  frames between them that reached c's link. A last ping c -> a is the marker: once its
 *  reply is in c's capture, everything before it is too (a capture is written in order),
 *  so a count of 0 means "not seen", not "not written yet". */
async function unicastSeenByThirdVm(home: string, labFile: string, labName: string): Promise<number> {
  await umlabOk(home, ['up', labFile]);
  try {
    // c speaks once so the switch learns where it is, a and b learn each other.
    await umlabOk(home, ['exec', '--lab', labName, 'c', '--', 'ping -c1 -W5 10.2.0.1']);
    await umlabOk(home, ['exec', '--lab', labName, 'a', '--', 'ping -c1 -W5 10.2.0.2']);
    await umlabOk(home, ['exec', '--lab', labName, 'a', '--', 'ping -c3 -i0.2 -W5 10.2.0.2']);
    await umlabOk(home, ['exec', '--lab', labName, 'c', '--', 'ping -c1 -W5 10.2.0.1']);
    const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--lab', labName, '--json'])).stdout) as { link: string; capture: string }[];
    const c = list.find((l) => l.link === 'c.eth0')!;
    const frames = await eventually(async () => {
      const all = await readCapture(c.capture);
      // c's first ping to a had a reply too: the marker's is the second.
      const repliesToC = all.filter((f) => f.icmp?.name === 'echo reply' && f.ip?.src === '10.2.0.1' && f.ip.dst === '10.2.0.3');
      assert.equal(repliesToC.length, 2, "the marker's reply in c's capture");
      return all;
    });
    // Frames towards c's own address are not what we look for.
    return frames.filter((f) => f.icmp && f.ip && [f.ip.src, f.ip.dst].sort().join() === '10.2.0.1,10.2.0.2').length;
  } finally {
    await umlabOk(home, ['down', labName]);
    await assertNothingLeft(home, labName);
  }
}

describe('hub versus switch', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('on a hub, a third VM sees the unicast frames between two others', async () => {
    const seen = await unicastSeenByThirdVm(home, fixture('hub-sniff.yaml'), 'hub-sniff');
    assert.ok(seen >= 8, `c saw ${seen} echo frames between a and b (expected all 8)`);
  });

  it('on a switch, after learning, it does not', async () => {
    const seen = await unicastSeenByThirdVm(home, fixture('switch-sniff.yaml'), 'switch-sniff');
    assert.equal(seen, 0, `c saw ${seen} echo frames between a and b`);
  });
});
