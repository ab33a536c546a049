// Multicast groups: VMs talk through a UDP multicast group kept inside the lab's network
// namespace; umlab joins the group and records every frame on every link of the segment.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { readCapture } from '../../src/capture/decode.ts';
import { netnsName } from '../../src/runtime/namespace.ts';
import { assertNothingLeft, cleanHome, makeHome, ROOT, eventually, umlabOk, vmExec } from './helpers.ts';

const LAB = 'mcast-pair';
const FIXTURE = join(ROOT, 'test/vm/labs/mcast-pair.yaml');
const isRoot = process.getuid?.() === 0;

/** Watches every interface of the host's (this process's) network namespace for the group's datagrams. */
async function watchHostInterfaces(): Promise<{ stop(): Promise<string[]> }> {
  const tcpdump = execa('tcpdump', ['-i', 'any', '-n', '-l', 'udp port 31877 or dst host 239.255.77.77'], { reject: false, buffer: true });
  // tcpdump says "listening on" once the capture is open.
  await new Promise<void>((resolve, reject) => {
    tcpdump.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('listening on') && resolve());
    tcpdump.once('exit', () => reject(new Error('tcpdump exited before it listened')));
  });
  let printed = '';
  tcpdump.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  return {
    async stop() {
      // A marker datagram of our own, sent now: once tcpdump has printed it, it has printed
      // everything the host's interfaces carried before it (one packet socket, in order).
      const marker = createSocket('udp4');
      await new Promise<void>((resolve) => marker.bind(0, '127.0.0.1', resolve));
      const markerLine = `127.0.0.1.${marker.address().port} > 127.0.0.1.31877`;
      await new Promise<void>((resolve, reject) => marker.send('umlab-marker', 31877, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      await eventually(() => assert.ok(printed.includes(markerLine), `tcpdump did not print the marker ${markerLine}:\n${printed}`));
      marker.close();
      tcpdump.kill('SIGINT');
      await tcpdump;
      return printed.split('\n').filter((line) => line && !line.includes(markerLine));
    },
  };
}

describe('multicast group', () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it(
    'joins the VMs, captures every frame on every link, and never leaves the lab namespace',
    { skip: !isRoot && 'needs root (tcpdump on the host, ip netns)' },
    async () => {
      await umlabOk(home, ['up', FIXTURE]);
      try {
        // The lab's namespace has no interface but lo, and the group is routed there.
        const netns = netnsName(home, LAB);
        const links = (await execa('ip', ['-n', netns, '-o', 'link'])).stdout.split('\n').map((l) => l.split(':')[1]!.trim());
        assert.deepEqual(links, ['lo']);
        assert.match((await execa('ip', ['-n', netns, 'route', 'show', 'table', 'all', '224.0.0.0/4'])).stdout, /dev lo/);

        const host = await watchHostInterfaces();
        await vmExec(home, LAB, 'a', 'ping -c3 -i0.2 -W5 10.4.0.2');
        const seenOnHost = await host.stop();
        assert.deepEqual(seenOnHost, [], 'multicast datagrams of the lab on a host interface');

        const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--lab', LAB, '--json'])).stdout) as { link: string; capture: string }[];
        assert.deepEqual(list.map((l) => l.link).sort(), ['a.eth0', 'b.eth0']);
        for (const { link, capture } of list) {
          await eventually(async () => {
            const frames = await readCapture(capture);
            const echoes = (type: number) => frames.filter((f) => f.icmp?.type === type).map((f) => f.icmp!.seq);
            // A group is a shared medium: each link's capture holds the whole conversation, each frame once.
            assert.deepEqual(echoes(8), [1, 2, 3], `${link}: echo requests`);
            assert.deepEqual(echoes(0), [1, 2, 3], `${link}: echo replies`);
            assert.ok(
              frames.some((f) => f.arp?.op === 1 && f.arp.targetIp === '10.4.0.2'),
              `${link}: ARP request`,
            );
          });
        }
        const status = JSON.parse((await umlabOk(home, ['status', LAB, '--json'])).stdout) as {
          status: { links: { link: string; rxFrames: number; txFrames: number }[] };
        };
        const a = status.status.links.find((l) => l.link === 'a.eth0')!;
        const b = status.status.links.find((l) => l.link === 'b.eth0')!;
        // What a sent is what b received, and the other way round.
        assert.ok(a.rxFrames >= 4 && a.rxFrames === b.txFrames && b.rxFrames === a.txFrames, JSON.stringify(status.status.links));
      } finally {
        await umlabOk(home, ['down', LAB]);
        await assertNothingLeft(home, LAB);
      }
    },
  );
});
