// The unprivileged path: an ordinary user (nobody) runs a lab in a user+network
// namespace, with no root anywhere.
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, lab, makeHome, umlabAsUser, NOBODY } from './helpers.ts';

const notRoot = process.getuid?.() !== 0;

describe('running as an ordinary user', { skip: notRoot && 'needs root to switch to an unprivileged user' }, () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const asNobody = (args: string[]) => umlabAsUser(NOBODY, home, args);

  it('up, exec, status and down work without root and leave nothing behind', async () => {
    chownSync(home, NOBODY, NOBODY);
    const up = await asNobody(['up', lab('two-hosts.yaml')]);
    assert.equal(up.exitCode, 0, up.stderr);
    const [status] = JSON.parse((await asNobody(['status', '--json'])).stdout);
    assert.equal(status.status.mode, 'userns');
    const ping = await asNobody(['exec', 'h1', '--', 'ping -c1 -W5 h2']);
    assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
    const id = await asNobody(['exec', 'h1', '--', 'id -u']);
    assert.equal(id.stdout, '0\n', 'root inside the VM');
    const down = await asNobody(['down']);
    assert.equal(down.exitCode, 0, down.stderr);
    await assertNothingLeft(home, 'two-hosts');
  });

  it('a lab without capture still gets its switch on a Linux bridge (no tcpdump needed)', async () => {
    chownSync(home, NOBODY, NOBODY);
    const file = join(home, 'quiet.yaml');
    writeFileSync(
      file,
      'name: quiet\ncapture: false\nswitches: { sw0: {} }\nvms:\n' +
        '  a: { interfaces: { eth0: { connect: sw0, ip: 10.9.0.1/24 } } }\n' +
        '  b: { interfaces: { eth0: { connect: sw0, ip: 10.9.0.2/24 } } }\n',
    );
    chownSync(file, NOBODY, NOBODY);
    const up = await asNobody(['up', file]);
    assert.equal(up.exitCode, 0, up.stderr);
    const driver = await asNobody(['exec', 'a', '--', 'basename $(readlink /sys/class/net/eth0/device/driver)']);
    assert.equal(driver.stdout, 'uml-vector\n', driver.stderr);
    const ping = await asNobody(['exec', 'a', '--', 'ping -c1 -W5 10.9.0.2']);
    assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
    const down = await asNobody(['down', 'quiet']);
    assert.equal(down.exitCode, 0, down.stderr);
    await assertNothingLeft(home, 'quiet');
  });
});
