// Fault injection: passt of a slirp gateway killed with SIGKILL (issue 12, item 7). The lab
// notices (status: the link is down, "gateway down: passt exited (signal 9)"), passt is started
// again with the same port forwards, and the gateway works again. The only servers contacted
// are one this test starts on 127.0.0.1 and one in the VM.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ask, type LabStatus } from '../../src/client/control.ts';
import { assertNothingLeft, cleanHome, eventually, makeHome, sleep, umlabOk, vmExec } from '../vm/helpers.ts';
import { startSlirpHost, type SlirpHost } from '../vm/net-helpers.ts';

const LAB = 'gw-fault';
const GUEST_PORT = 8000;

type Link = LabStatus['links'][number] & { fault?: string | null; restarts?: number; lastFault?: string | null };

describe('faults: passt killed', () => {
  const home = makeHome();
  const runDir = join(home, 'labs', LAB);
  let host: SlirpHost;

  before(async () => {
    host = await startSlirpHost(home, LAB, GUEST_PORT, () => 'host says hi\n');
  });
  after(async () => {
    host?.close();
    await cleanHome(home);
  });

  const link = async (): Promise<Link> => {
    const r = (await ask(join(runDir, 'control.sock'), { op: 'status' })) as unknown as { status: LabStatus };
    return r.status.links.find((l) => l.link === 'web.eth0') as Link;
  };
  const passtPid = () => Number(/^running (\d+)/.exec(readFileSync(join(runDir, 'nat0.passt.state'), 'utf8'))?.[1]);

  it('shows the gateway down with the reason, restarts passt with its port forwards, and works again', async () => {
    await umlabOk(home, ['up', host.labFile]);
    assert.equal(await vmExec(home, LAB, 'web', `wget -q -T 10 -O - http://10.0.2.2:${host.hostPort}/`), 'host says hi\n');
    await vmExec(home, LAB, 'web', `mkdir -p /tmp/www && echo vm-page > /tmp/www/index.html && busybox httpd -p ${GUEST_PORT} -h /tmp/www`);
    assert.equal(await (await fetch(`http://127.0.0.1:${host.forwardedPort}/index.html`, { signal: AbortSignal.timeout(15_000) })).text(), 'vm-page\n');
    assert.equal((await link()).up, true);

    const first = passtPid();
    process.kill(first, 'SIGKILL');
    // Seen while passt is away (its keeper waits a second before starting it again).
    let seen: Link | null = null;
    for (let i = 0; i < 40 && !seen; i++) {
      const l = await link();
      if (l.fault) seen = l;
      else await sleep(50);
    }
    assert.ok(seen, 'status showed the gateway fault');
    assert.equal(seen.up, false);
    assert.equal(seen.fault, 'gateway down: passt exited (signal 9)');

    await eventually(async () => {
      const l = await link();
      assert.equal(l.fault, null);
      assert.equal(l.up, true);
      assert.equal(l.restarts, 1);
    }, 10_000);
    assert.notEqual(passtPid(), first, 'a new passt');
    const json = JSON.parse((await umlabOk(home, ['status', LAB, '--json'])).stdout);
    const shown = json.status.links.find((l: Link) => l.link === 'web.eth0');
    assert.equal(shown.lastFault, 'gateway down: passt exited (signal 9)');
    // Plain status says it too, as it does for a restarted tcpdump.
    const text = (await umlabOk(home, ['status', LAB])).stdout;
    assert.match(text, /web\.eth0 .* up .*gateway restarted \(1x\), last: gateway down: passt exited \(signal 9\)/);

    // NAT to the host and the port forward work again.
    await eventually(async () => assert.equal(await vmExec(home, LAB, 'web', `wget -q -T 5 -O - http://10.0.2.2:${host.hostPort}/`), 'host says hi\n'), 20_000);
    assert.equal(await (await fetch(`http://127.0.0.1:${host.forwardedPort}/index.html`, { signal: AbortSignal.timeout(15_000) })).text(), 'vm-page\n');

    await umlabOk(home, ['down', LAB]);
    await assertNothingLeft(home, LAB);
  });
});
