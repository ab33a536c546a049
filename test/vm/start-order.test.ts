// start_after: and shutdown: on real VMs: a VM boots once the VMs it names are ready, and a
// VM's shutdown commands run on `down` and `vm halt` while it still runs.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertNothingLeft, cleanHome, makeHome, umlabOk } from './helpers.ts';

describe('start order and shutdown commands', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const shared = join(home, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  const file = join(home, 'order.yaml');
  writeFileSync(
    file,
    `name: order
switches: { sw0: {} }
vms:
  slow:
    shares: { /mnt/s: { path: ${shared}, rw: true } }
    interfaces: { eth0: { connect: sw0, ip: 10.5.0.1/24 } }
    startup: ["sleep 2", "touch /mnt/s/slow-done"]
    shutdown: ["echo slow >> /mnt/s/shutdowns"]
  waits:
    start_after: [slow]
    shares: { /mnt/s: { path: ${shared}, rw: true } }
    interfaces: { eth0: { connect: sw0, ip: 10.5.0.2/24 } }
    startup: ["if [ -e /mnt/s/slow-done ]; then echo yes > /mnt/s/waits-saw-slow; fi"]
    shutdown: ["echo waits >> /mnt/s/shutdowns", "echo again >> /mnt/s/shutdowns"]
`,
  );

  it('a VM with start_after boots once the VMs it names are ready', async () => {
    const up = await umlabOk(home, ['up', file]);
    assert.match(up.stderr, /waits boots once slow is ready/);
    assert.equal(readFileSync(join(shared, 'waits-saw-slow'), 'utf8'), 'yes\n');
    const plan = JSON.parse((await umlabOk(home, ['compile', file, '--json'])).stdout);
    assert.deepEqual(
      plan.vms.map((v: { name: string; startAfter: string[]; shutdown: string[] }) => [v.name, v.startAfter, v.shutdown.length]),
      [
        ['slow', [], 1],
        ['waits', ['slow'], 2],
      ],
    );
  });

  it('shutdown commands run on vm halt and on down, in order', async () => {
    await umlabOk(home, ['vm', 'halt', 'waits']);
    assert.equal(readFileSync(join(shared, 'shutdowns'), 'utf8'), 'waits\nagain\n');
    await umlabOk(home, ['down', 'order']);
    await assertNothingLeft(home, 'order');
    assert.equal(readFileSync(join(shared, 'shutdowns'), 'utf8'), 'waits\nagain\nslow\n', "a halted VM's commands do not run twice");
  });
});
