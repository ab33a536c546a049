// One lab with every kind: a router with an interface on a switch, a multicast group, a
// slirp gateway, a tap bridge and a point-to-point link. Traffic on each, and each link's
// capture holds it. Run in a namespace of the test's own (taps land where `umlab up` runs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { readCapture, type DecodedFrame } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, CLI_ARGS, eventually, makeHome, ROOT, umlabOk, vmExec } from './helpers.ts';

const LAB = 'mixed-kinds';
const FIXTURE = join(ROOT, 'test/vm/labs/mixed-kinds.yaml');
const isRoot = process.getuid?.() === 0;

describe('every kind in one lab', { skip: !isRoot && 'the tap segment needs root' }, () => {
  const home = makeHome();
  const netns = `umlab-mixtest-${randomBytes(3).toString('hex')}`;

  before(async () => {
    await execa('ip', ['netns', 'add', netns]);
    await execa('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    // passt wants an interface with a default route: a veth pair whose both ends stay in this namespace.
    await execa('ip', ['-n', netns, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'ext1']);
    await execa('ip', ['-n', netns, 'addr', 'add', '198.51.100.2/24', 'dev', 'ext0']);
    await execa('ip', ['-n', netns, 'link', 'set', 'ext0', 'up']);
    await execa('ip', ['-n', netns, 'route', 'add', 'default', 'via', '198.51.100.1']);
  });
  after(async () => {
    await cleanHome(home);
    await execa('ip', ['netns', 'delete', netns], { reject: false });
  });

  it('carries and captures traffic on a switch, a group, a gateway, a tap and a wire', async () => {
    const up = await execa('ip', ['netns', 'exec', netns, process.execPath, ...CLI_ARGS, 'up', FIXTURE], { reject: false, env: { UMLAB_HOME: home } });
    assert.equal(up.exitCode, 0, up.stderr);
    try {
      await vmExec(home, LAB, 'h1', 'ping -c2 -i0.2 -W5 10.6.0.254');
      await vmExec(home, LAB, 'h2', 'ping -c2 -i0.2 -W5 10.6.1.254');
      await vmExec(home, LAB, 'h3', 'ping -c2 -i0.2 -W5 10.6.4.1');
      const tapPing = await execa('ip', ['netns', 'exec', netns, 'ping', '-c2', '-i0.2', '-W5', '10.6.3.1'], { reject: false });
      assert.equal(tapPing.exitCode, 0, tapPing.stdout);
      // Through the gateway to a server on the loopback of the namespace passt runs in (where `up` ran).
      const inNs = execa('ip', [
        'netns',
        'exec',
        netns,
        process.execPath,
        '-e',
        `const s = require('node:http').createServer((q, r) => r.end('ns page\\n')).listen(0, '127.0.0.1', () => console.log(s.address().port))`,
      ]);
      const port = await new Promise<number>((resolve) => inNs.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      try {
        assert.equal(await vmExec(home, LAB, 'r1', `wget -q -T 10 -O - http://10.6.2.2:${port}/`), 'ns page\n');
      } finally {
        inNs.kill();
        await inNs.catch(() => {});
      }

      const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--lab', LAB, '--json'])).stdout) as { link: string; capture: string }[];
      const frames = async (link: string): Promise<DecodedFrame[]> => {
        const entry = list.find((l) => l.link === link);
        assert.ok(entry, `no capture for ${link}: ${list.map((l) => l.link).join(', ')}`);
        return readCapture(entry.capture);
      };
      const echoed = (fs: DecodedFrame[], from: string, to: string) =>
        fs.some((f) => f.icmp?.type === 8 && f.ip?.src === from && f.ip.dst === to) &&
        fs.some((f) => f.icmp?.type === 0 && f.ip?.src === to && f.ip.dst === from);
      await eventually(async () => {
        assert.ok(echoed(await frames('r1.eth0'), '10.6.0.1', '10.6.0.254'), 'switch link r1.eth0');
        assert.ok(echoed(await frames('r1.eth1'), '10.6.1.1', '10.6.1.254'), 'multicast link r1.eth1');
        assert.ok(echoed(await frames('r1.eth3'), '10.6.3.254', '10.6.3.1'), 'tap link r1.eth3');
        assert.ok(echoed(await frames('h3.eth0--r1.eth4'), '10.6.4.2', '10.6.4.1'), 'point-to-point link');
        const gateway = await frames('r1.eth2');
        assert.ok(
          gateway.some((f) => f.tcp?.flags === 'S' && f.ip?.dst === '10.6.2.2' && f.tcp.dstPort === port),
          'gateway link r1.eth2',
        );
      });
    } finally {
      await umlabOk(home, ['down', LAB]);
      await assertNothingLeft(home, LAB);
    }
    assert.deepEqual(
      (await execa('ip', ['-n', netns, '-o', 'link'])).stdout.split('\n').map((l) => l.split(':')[1]!.trim().split('@')[0]),
      ['lo', 'ext1', 'ext0'],
    );
  });
});
