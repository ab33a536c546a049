// Tap bridges: the lab's taps land in the namespace where `umlab up` ran, bridged, with the
// host side of the UML HOWTO; from there a VM answers ping and TCP, and the tap links'
// captures hold that traffic. The test runs umlab in a namespace of its own, so no device
// of the real host is touched; `down` must leave that namespace as it found it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, CLI_ARGS, eventually, makeHome, ROOT, umlabOk } from './helpers.ts';

const LAB = 'tap-pair';
const FIXTURE = join(ROOT, 'test/vm/labs/tap-pair.yaml');
const isRoot = process.getuid?.() === 0;

describe('tap bridge', { skip: !isRoot && 'tap segments need root' }, () => {
  const home = makeHome();
  const netns = `umlab-taptest-${randomBytes(3).toString('hex')}`;
  const inNetns = (cmd: string, args: string[]) =>
    execa('ip', ['netns', 'exec', netns, cmd, ...args], { reject: false, stripFinalNewline: false, env: { UMLAB_HOME: home } });
  const umlabInNetns = (args: string[]) => inNetns(process.execPath, [...CLI_ARGS, ...args]);
  const links = async () => (await execa('ip', ['-n', netns, '-o', 'link'])).stdout.split('\n').map((l) => l.split(':')[1]!.trim().split('@')[0]!);
  const ipForward = async () => (await inNetns('cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim();

  before(async () => {
    await execa('ip', ['netns', 'add', netns]);
    await execa('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  });
  after(async () => {
    await cleanHome(home);
    await execa('ip', ['netns', 'delete', netns], { reject: false });
  });

  it('reaches the VMs from the namespace of `umlab up`, captures it, and undoes the host side on down', async () => {
    assert.deepEqual(await links(), ['lo']);
    assert.equal(await ipForward(), '0');
    const up = await umlabInNetns(['up', FIXTURE]);
    assert.equal(up.exitCode, 0, `umlab up failed:\n${up.stderr}`);
    try {
      const plan = JSON.parse((await umlabOk(home, ['compile', FIXTURE, '--json'])).stdout);
      const up0 = plan.segments.find((s: { name: string }) => s.name === 'up0');
      const taps = Object.values(up0.options.devices as Record<string, string>);
      // The taps and their bridge are here, with the host address; ip_forward as asked.
      assert.deepEqual((await links()).sort(), ['lo', up0.options.bridgeDevice, ...taps].sort());
      assert.match((await execa('ip', ['-n', netns, '-4', '-o', 'addr', 'show', 'dev', up0.options.bridgeDevice])).stdout, /10\.5\.0\.254\/24/);
      assert.equal(await ipForward(), '1');

      const ping = await inNetns('ping', ['-c3', '-i0.2', '-W5', '10.5.0.1']);
      assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
      await umlabOk(home, ['exec', '--lab', LAB, 'b', '--', 'mkdir -p /tmp/www && echo from-b > /tmp/www/index.html && busybox httpd -p 8000 -h /tmp/www']);
      const page = await inNetns('wget', ['-q', '-T', '10', '-O', '-', 'http://10.5.0.2:8000/index.html']);
      assert.equal(page.stdout, 'from-b\n', page.stderr);
      // The VMs reach each other through the bridge as well.
      await umlabOk(home, ['exec', '--lab', LAB, 'a', '--', 'ping -c1 -W5 10.5.0.2']);

      const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--lab', LAB, '--json'])).stdout) as { link: string; capture: string }[];
      const captureOf = async (link: string) => readCapture(list.find((l) => l.link === link)!.capture);
      await eventually(async () => {
        const a = await captureOf('a.eth0');
        const echoes = (type: number, src: string) => a.filter((f) => f.icmp?.type === type && f.ip?.src === src).map((f) => f.icmp!.seq);
        assert.deepEqual(echoes(8, '10.5.0.254'), [1, 2, 3], 'echo requests from the host side on a.eth0');
        assert.deepEqual(echoes(0, '10.5.0.1'), [1, 2, 3], 'echo replies on a.eth0');
        const b = await captureOf('b.eth0');
        assert.ok(
          b.some((f) => f.tcp?.flags === 'S' && f.ip?.src === '10.5.0.254' && f.tcp.dstPort === 8000),
          'the TCP connection to b',
        );
        assert.ok(
          b.some((f) => f.tcp && f.ip?.src === '10.5.0.2' && f.tcp.payloadLength > 0),
          "b's answer",
        );
      });
    } finally {
      // Stopped from outside that namespace: what up did there is undone from its record.
      await umlabOk(home, ['down', LAB]);
      await assertNothingLeft(home, LAB);
    }
    assert.deepEqual(await links(), ['lo'], 'taps and bridge gone');
    assert.equal(await ipForward(), '0', 'ip_forward restored');
    const names = (await execa('ip', ['netns', 'list'])).stdout;
    assert.doesNotMatch(names, /-host\b/, 'the name umlab gave the namespace is gone');
  });
});
