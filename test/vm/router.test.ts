// labs/router.yaml: two subnets joined by r1 with ip_forward; the TTL drops by one across it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, lab, makeHome, eventually, umlab, umlabOk } from './helpers.ts';

describe('router lab', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('h1 reaches h2 through r1, and the far link shows the TTL decremented', async () => {
    await umlabOk(home, ['up', lab('router.yaml')]);
    const ping = await umlab(home, ['exec', 'h1', '--', 'ping -c2 -W5 10.0.2.10']);
    assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /ttl=63/, 'the reply crossed one router');
    const links = JSON.parse((await umlabOk(home, ['capture', 'list', '--json'])).stdout) as { link: string; capture: string }[];
    await eventually(async () => {
      const near = await readCapture(links.find((l) => l.link === 'h1.eth0')!.capture);
      const far = await readCapture(links.find((l) => l.link === 'h2.eth0')!.capture);
      const request = (f: (typeof near)[number]) => f.icmp?.name === 'echo request' && f.ip?.src === '10.0.1.10' && f.ip.dst === '10.0.2.10';
      assert.deepEqual([...new Set(near.filter(request).map((f) => f.ip!.ttl))], [64], 'sent with TTL 64');
      assert.deepEqual([...new Set(far.filter(request).map((f) => f.ip!.ttl))], [63], 'arrives with TTL 63');
    });
    // Without forwarding the same ping fails.
    await umlabOk(home, ['exec', 'r1', '--', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
    const blocked = await umlab(home, ['exec', 'h1', '--', 'ping -c1 -W2 10.0.2.10']);
    assert.notEqual(blocked.exitCode, 0);
    await umlabOk(home, ['down', 'router']);
    await assertNothingLeft(home, 'router');
  });
});
