// Point-to-point links: two VMs joined directly by a wire, both directions in one capture.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, makeHome, ROOT, eventually, umlabOk, vmExec } from './helpers.ts';

const LAB = 'p2p-pair';
const LINK = 'a.eth0--b.eth0';

describe('point-to-point link', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('carries traffic both ways and captures it once, in one file', async () => {
    const compiled = JSON.parse((await umlabOk(home, ['compile', join(ROOT, 'test/vm/labs/p2p-pair.yaml'), '--json'])).stdout);
    assert.deepEqual(
      compiled.links.map((l: { name: string }) => l.name),
      [LINK],
    );
    await umlabOk(home, ['up', join(ROOT, 'test/vm/labs/p2p-pair.yaml')]);
    try {
      await vmExec(home, LAB, 'a', 'ping -c3 -i0.2 -W5 10.3.0.2');
      await vmExec(home, LAB, 'b', 'ping -c2 -i0.2 -W5 10.3.0.1');
      const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--lab', LAB, '--json'])).stdout) as { link: string; capture: string }[];
      assert.deepEqual(
        list.map((l) => l.link),
        [LINK],
      );
      await eventually(async () => {
        const frames = await readCapture(list[0]!.capture);
        const echoes = (type: number, src: string) => frames.filter((f) => f.icmp?.type === type && f.ip?.src === src).map((f) => f.icmp!.seq);
        // Each frame once, though the link has two ends.
        assert.deepEqual(echoes(8, '10.3.0.1'), [1, 2, 3], 'echo requests a -> b');
        assert.deepEqual(echoes(0, '10.3.0.2'), [1, 2, 3], 'echo replies b -> a');
        assert.deepEqual(echoes(8, '10.3.0.2'), [1, 2], 'echo requests b -> a');
        assert.ok(
          frames.some((f) => f.arp?.op === 1 && f.arp.targetIp === '10.3.0.2'),
          'the ARP request of a',
        );
      });
    } finally {
      await umlabOk(home, ['down', LAB]);
      await assertNothingLeft(home, LAB);
    }
  });
});
