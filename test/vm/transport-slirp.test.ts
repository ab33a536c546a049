// Slirp gateways: passt behind a switch port gives a VM a DHCP address, NAT to the host
// (the gateway address reaches the host's loopback) and forwards a host port to the VM.
// The only servers contacted are the one this test starts on 127.0.0.1 and the one in the VM.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, makeHome, eventually, umlabOk, vmExec } from './helpers.ts';
import { startSlirpHost, type SlirpHost } from './net-helpers.ts';

const LAB = 'slirp-gateway';
const GUEST_PORT = 8000;

describe('slirp gateway (passt)', () => {
  const home = makeHome();
  const token = randomBytes(8).toString('hex');
  let host: SlirpHost;
  const served: string[] = [];

  before(async () => {
    host = await startSlirpHost(home, LAB, GUEST_PORT, (req) => {
      served.push(`${req.socket.remoteAddress} ${req.url}`);
      return `hello from the host ${token}\n`;
    });
  });
  after(async () => {
    host?.close();
    await cleanHome(home);
  });

  it('hands out an address, reaches the host loopback through the gateway, forwards a host port to the VM; all captured', async () => {
    await umlabOk(home, ['up', host.labFile]);
    try {
      // DHCP from passt: the first address of the range, the gateway as default route.
      assert.match(await vmExec(home, LAB, 'web', 'ip -4 -o addr show dev eth0'), /inet 10\.0\.2\.15\/24/);
      assert.match(await vmExec(home, LAB, 'web', 'ip -4 route show default'), /default via 10\.0\.2\.2 dev eth0/);

      // The gateway address stands for the host's loopback.
      const page = await vmExec(home, LAB, 'web', `wget -q -T 10 -O - http://10.0.2.2:${host.hostPort}/from-vm`);
      assert.equal(page, `hello from the host ${token}\n`);
      assert.deepEqual(served, ['127.0.0.1 /from-vm']);

      // A host port on 127.0.0.1 forwarded to a server in the VM.
      await vmExec(home, LAB, 'web', `mkdir -p /tmp/www && echo vm-${token} > /tmp/www/index.html && busybox httpd -p ${GUEST_PORT} -h /tmp/www`);
      const response = await fetch(`http://127.0.0.1:${host.forwardedPort}/index.html`, { signal: AbortSignal.timeout(15_000) });
      assert.equal(await response.text(), `vm-${token}\n`);

      const list = JSON.parse((await umlabOk(home, ['capture', 'list', '--lab', LAB, '--json'])).stdout) as { link: string; capture: string }[];
      assert.deepEqual(
        list.map((l) => l.link),
        ['web.eth0'],
      );
      await eventually(async () => {
        const frames = await readCapture(list[0]!.capture);
        const dhcp = frames.filter((f) => f.udp && [67, 68].includes(f.udp.dstPort));
        assert.ok(dhcp.some((f) => f.udp!.dstPort === 67) && dhcp.some((f) => f.udp!.dstPort === 68), 'DHCP request and answer');
        const syn = (dst: string, port: number) => frames.some((f) => f.tcp?.flags === 'S' && f.ip?.dst === dst && f.tcp.dstPort === port);
        assert.ok(syn('10.0.2.2', host.hostPort), 'the VM connecting to the gateway');
        assert.ok(syn('10.0.2.15', GUEST_PORT), 'the forwarded connection arriving at the VM');
        assert.ok(
          frames.some((f) => f.tcp && f.ip?.src === '10.0.2.15' && f.tcp.srcPort === GUEST_PORT && f.tcp.payloadLength > 0),
          'the VM answering',
        );
      });
    } finally {
      await umlabOk(home, ['down', LAB]);
      await assertNothingLeft(home, LAB);
    }
  });
});
