// Link conditions on real VMs (umlab's engine): the RTT a delay predicts, the share a loss
// drops, the rate iperf3 sees, `umlab link set` changing a running link and --clear restoring
// it, the capture showing what the VM sent (before the loss), the same without root, and a
// bridged link refusing `link set` with what to do. The bounds are the documented rule's
// (docs/transports.md "Link conditions"): conditions apply to each direction they name, so a
// ping crosses a `delay: 50ms` interface twice.
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, umlab, umlabAsUser, umlabOk, vmExec, NOBODY } from './helpers.ts';

const LAB = `name: cond
switches: { sw0: {}, plain: {} }
vms:
  slow: { interfaces: { eth0: { connect: sw0, ip: 10.7.0.1/24, link: { delay: 50ms } } } }
  lossy: { interfaces: { eth0: { connect: sw0, ip: 10.7.0.3/24, link: { egress: { loss: 20% } } } } }
  narrow: { interfaces: { eth0: { connect: sw0, ip: 10.7.0.4/24, link: { rate: 10mbit } } } }
  peer:
    interfaces:
      eth0: { connect: sw0, ip: 10.7.0.2/24 }
      eth1: { connect: plain, ip: 10.8.0.2/24 }
  other: { interfaces: { eth0: { connect: plain, ip: 10.8.0.1/24 } } }
`;

/** A ping that measures the link, not ARP: one echo first resolves the neighbour. */
const rttPing = (to: string, count: number) => `ping -n -c1 -W3 ${to} >/dev/null; ping -n -c ${count} -i 0.1 ${to}`;

/** avg RTT in ms and packet loss in % from ping's summary. */
function pingSummary(out: string): { avg: number; lossPct: number } {
  const loss = /([0-9.]+)% packet loss/.exec(out);
  const rtt = /= [0-9.]+\/([0-9.]+)\//.exec(out);
  assert.ok(loss, `no ping summary in:\n${out}`);
  return { avg: rtt ? Number(rtt[1]) : NaN, lossPct: Number(loss[1]) };
}

/** The documented rule: the RTT is the delays on the way there and back, within 10% (frames may
 *  leave up to 1 ms early, as timers are not finer than that). */
function assertRtt(avg: number, predictedMs: number, what: string): void {
  assert.ok(
    avg >= predictedMs - 2 && avg <= predictedMs * 1.1,
    `avg RTT ${avg} ms ${what}, expected ${predictedMs - 2}-${Math.round(predictedMs * 110) / 100}`,
  );
}

/** Receiver's Mbit/s from `iperf3 -J`. */
const receivedMbps = (json: string) => (JSON.parse(json) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;

describe('link conditions', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const file = join(home, 'cond.yaml');
  writeFileSync(file, LAB);
  const exec = (vm: string, cmd: string) => vmExec(home, 'cond', vm, cmd);

  it('delay: 50ms gives a ping RTT of about 100 ms (50 ms each way)', { timeout: 300_000 }, async () => {
    await umlabOk(home, ['up', file, '--quiet']);
    const { avg, lossPct } = pingSummary(await exec('slow', rttPing('10.7.0.2', 20)));
    assert.equal(lossPct, 0);
    assertRtt(avg, 100, '(50 ms each way)');
    const [status] = JSON.parse((await umlabOk(home, ['status', '--json'])).stdout);
    const slow = status.status.links.find((l: { link: string }) => l.link === 'slow.eth0');
    assert.deepEqual(
      slow.conditions.map((c: { text: string }) => c.text),
      ['delay 50ms'],
    );
  });

  it('egress loss: 20% loses 10-30% of 500 pings; the capture still has all 500 requests', async () => {
    const { lossPct } = pingSummary(await exec('lossy', 'ping -n -q -c 500 -i 0.005 -W 1 10.7.0.2 || true'));
    assert.ok(lossPct >= 10 && lossPct <= 30, `lost ${lossPct}%, expected 10-30%`);
    const shown = await umlabOk(home, ['capture', 'show', 'lossy.eth0', '--json']);
    const requests = (JSON.parse(shown.stdout) as { summary: string }[]).filter((f) => /ICMP echo request/.test(f.summary)).length;
    assert.ok(requests >= 500, `the capture shows what the VM sent: ${requests} echo requests`);
  });

  it('rate: 10mbit gives iperf3 8-10.5 Mbit/s', { timeout: 120_000 }, async () => {
    // -D returns before the server listens: wait until it does.
    await exec(
      'peer',
      'iperf3 -s -D -1 -p 5201 >/dev/null 2>&1; for i in $(seq 100); do ss -ltnH "sport = :5201" | grep -q . && exit 0; sleep 0.1; done; exit 1',
    );
    const mbps = receivedMbps(await exec('narrow', 'iperf3 -c 10.7.0.2 -p 5201 -t 4 -J'));
    assert.ok(mbps >= 8 && mbps <= 10.5, `${mbps.toFixed(2)} Mbit/s, expected 8-10.5`);
  });

  it('link set changes a running link, --clear restores it', async () => {
    const set = await umlabOk(home, ['link', 'set', 'peer', 'eth0', '--delay', '30ms', '--json']);
    assert.deepEqual(JSON.parse(set.stdout).conditions, { egress: { delayMs: 30 }, ingress: { delayMs: 30 } });
    const slower = pingSummary(await exec('slow', rttPing('10.7.0.2', 10)));
    assertRtt(slower.avg, 160, 'with 50 ms + 30 ms each way');
    await umlabOk(home, ['link', 'set', 'peer', 'eth0', '--clear']);
    const back = pingSummary(await exec('slow', rttPing('10.7.0.2', 10)));
    assertRtt(back.avg, 100, 'after --clear');
    const bad = await umlab(home, ['link', 'set', 'peer', 'eth0', '--loss', '120%']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /loss 120% is over 100%/);
  });

  it('a link on a Linux bridge refuses link set and says what to do', async () => {
    const r = await umlab(home, ['link', 'set', 'other', 'eth0', '--delay', '10ms']);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /plain runs on a Linux bridge[^]*give other\.eth0 a `link: \{\}`/);
    await umlabOk(home, ['down', 'cond']);
    await assertNothingLeft(home, 'cond');
  });

  it('the same without root (a rootless lab that captures)', { skip: process.getuid?.() !== 0 && 'needs root to switch users', timeout: 300_000 }, async () => {
    const home = makeHome();
    after(() => cleanHome(home));
    chownSync(home, NOBODY, NOBODY);
    const rootless = join(home, 'rl.yaml');
    writeFileSync(
      rootless,
      'name: rl\nswitches: { sw0: {} }\nvms:\n' +
        '  a: { interfaces: { eth0: { connect: sw0, ip: 10.9.0.1/24, link: { delay: 50ms } } } }\n' +
        '  b: { interfaces: { eth0: { connect: sw0, ip: 10.9.0.2/24 } } }\n',
    );
    chownSync(rootless, NOBODY, NOBODY);
    const as = (args: string[]) => umlabAsUser(NOBODY, home, args);
    const up = await as(['up', rootless, '--quiet']);
    assert.equal(up.exitCode, 0, up.stderr);
    const rtt = async () => pingSummary((await as(['exec', 'a', '--', rttPing('10.9.0.2', 10)])).stdout).avg;
    const first = await rtt();
    assertRtt(first, 100, 'without root');
    assert.equal((await as(['link', 'set', 'a', 'eth0', '--delay', '80ms'])).exitCode, 0);
    const changed = await rtt();
    assertRtt(changed, 160, 'after link set --delay 80ms');
    assert.equal((await as(['link', 'set', 'a', 'eth0', '--clear'])).exitCode, 0);
    const cleared = await rtt();
    assert.ok(cleared < 20, `avg RTT ${cleared} ms once cleared`);
    assert.equal((await as(['down', 'rl'])).exitCode, 0);
    await assertNothingLeft(home, 'rl');
  });
});
