// Kathará and Netkit lab directories on real UML VMs: every lab of labs/kathara/ passes its
// umlab.yaml checks under `umlab test`, and so does the YAML `umlab import` makes of it; the
// shared image is built once (debootstrap, about a minute on a fresh machine) and reused;
// bad lab directories are refused at file:line:col and a failing startup file is named by line.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedImagePath } from '../../src/kathara/images.ts';
import { imageCacheDir } from '../../src/runtime/image-cache.ts';
import { assertNothingLeft, cleanHome, makeHome, ROOT, umlab, umlabOk, vmExec } from './helpers.ts';
import { freePort } from './net-helpers.ts';

const image = cachedImagePath(imageCacheDir(), 'kathara');
const notRoot = process.getuid?.() !== 0;
const skipSlow = process.env.UMLAB_SKIP_SLOW_TESTS === '1' && !existsSync(image);
const skip =
  (notRoot && !existsSync(image) && 'building the Kathará image needs root') ||
  (skipSlow && 'UMLAB_SKIP_SLOW_TESTS=1 and the Kathará image is not built yet (debootstrap)');
if (skip) process.stderr.write(`== test/vm/kathara.test.ts is NOT run: ${skip}\n`);

const LABS = join(ROOT, 'labs/kathara');
const labDirs = readdirSync(LABS)
  .filter((d) => existsSync(join(LABS, d, 'lab.conf')))
  .sort();
const build = { timeout: 20 * 60_000 };
const LIVE_IMPORT = 'rip-frr';

interface Report {
  lab: string;
  passed: number;
  failed: number;
  errors: number;
  results: { name: string; status: string; message: string }[];
}

async function runTest(home: string, target: string): Promise<Report> {
  const r = await umlab(home, ['test', target, '--json'], build);
  assert.ok(r.exitCode === 0 || r.exitCode === 1, `umlab test ${target} exited ${r.exitCode}\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as Report;
  await assertNothingLeft(home, report.lab);
  return report;
}

const failures = (r: Report) => r.results.filter((x) => x.status !== 'pass').map((x) => `${x.status} ${x.name}: ${x.message}`);

describe('Kathará and Netkit lab directories', { skip }, () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const results = new Map<string, Report>();

  it('the first lab builds the shared image once (--build-images); later runs reuse it', build, async () => {
    const existed = existsSync(image);
    const up = await umlabOk(home, ['up', join(LABS, 'static-routing'), '--build-images'], 0, build);
    if (existed) assert.doesNotMatch(up.stderr, /building image/, 'a built image is reused');
    else assert.match(up.stderr, /building image kathara \(bookworm\) into .*\n[^]*debootstrap bookworm[^]*image kathara built in \d+ s/);
    assert.ok(existsSync(image));
    assert.match(up.stdout, /pc1\s+ready/);
    // Startup files ran (addresses, routes), and the service shims are there for the student.
    assert.match(await vmExec(home, 'static-routing', 'pc1', 'ping -c1 -W5 10.10.3.10'), /1 received/);
    assert.match(await vmExec(home, 'static-routing', 'r1', 'systemctl --version; command -v service'), /umlab systemctl shim\n\/usr\/local\/sbin\/service/);
    assert.match(await vmExec(home, 'static-routing', 'r1', 'ls /hostlab'), /^lab\.conf\npc1\.startup\n/);
    await umlabOk(home, ['down', 'static-routing']);
    await umlabOk(home, ['clean', 'static-routing']);
    await assertNothingLeft(home, 'static-routing');
  });

  // Two labs at a time: most of a lab's time is its daemons' timers (hello, keepalive, SPF), not CPU.
  describe('every lab of labs/kathara/, two at a time', { concurrency: 2 }, () => {
    for (const dir of labDirs)
      // One after the other within a lab (a nested suite inherits its parent's concurrency): the import runs the same lab name.
      describe(dir, { concurrency: 1 }, () => {
        it(`umlab test labs/kathara/${dir}: every check passes`, build, async () => {
          const report = await runTest(home, join(LABS, dir));
          assert.ok(report.results.length >= 3, `${dir} has checks`);
          assert.deepEqual(failures(report), []);
          results.set(dir, report);
          await umlabOk(home, ['clean', report.lab]);
        });

        it(`umlab import labs/kathara/${dir}: the YAML lab compiles to the same plan`, async () => {
          const file = join(home, `${dir}.yaml`);
          await umlabOk(home, ['import', join(LABS, dir), '-o', file]);
          const plan = async (target: string) => {
            const { source: _, ...rest } = JSON.parse((await umlabOk(home, ['compile', target, '--json'])).stdout);
            return rest; // all but the file it came from
          };
          assert.deepEqual(await plan(file), await plan(join(LABS, dir)));
          // The same plan runs the same way: one lab (with daemons) shows it live, the rest share that run.
          if (dir !== LIVE_IMPORT) return;
          const report = await runTest(home, file);
          const original = results.get(dir);
          assert.ok(original, 'the lab directory was tested first');
          const outcome = (r: Report) => r.results.map((x) => [x.name, x.status]).sort();
          assert.deepEqual(outcome(report), outcome(original));
          await umlabOk(home, ['clean', report.lab]);
        });
      });
  });

  it('a lab whose image is not built: `up` names the one command to build it, and starts nothing', async () => {
    const r = await umlab(home, ['up', join(LABS, 'bgp')], { env: { UMLAB_IMAGE_CACHE: join(home, 'no-images') } });
    assert.equal(r.exitCode, 5, r.stderr);
    assert.match(r.stderr, /the lab needs the image "kathara" \(.*no-images\/kathara-bookworm-[0-9a-f]+\.img\), which is not built yet/);
    assert.match(r.stderr, /\n\s+umlab image build .*no-images\/kathara-bookworm-[0-9a-f]+\.img --packages kathara\n\s+or start the lab with --build-images/);
    assert.equal(existsSync(join(home, 'labs', 'bgp')), false);
    assert.equal(existsSync(join(home, 'no-images')), false, 'nothing built without --build-images');
  });

  it('a startup file that fails: `up` names the file and line, and rolls the lab back', async () => {
    const dir = join(home, 'failing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'lab.conf'), 'pc1[0]=lan\npc2[0]=lan\n');
    writeFileSync(join(dir, 'pc1.startup'), 'ip address add 10.0.0.1/24 dev eth0\nip route add 10.9.0.0/24 via 10.200.0.1\n');
    const r = await umlab(home, ['up', dir]);
    assert.equal(r.exitCode, 6, r.stderr);
    assert.match(r.stderr, /VM pc1: configuration step failed[^]*\/failing\/pc1\.startup:2:1: this command failed \(exit 2\)[^]*pc1\.startup: exit status 2/);
    assert.match(r.stderr, /the lab was rolled back/);
    await assertNothingLeft(home, 'failing');
    assert.deepEqual(readdirSync(dir).sort(), ['lab.conf', 'pc1.startup'], 'the lab directory is unchanged');
  });

  it('a lab left to the student (no startup files) comes up with its devices idle', async () => {
    const dir = join(home, 'idle');
    mkdirSync(join(dir, 'pc3'), { recursive: true }); // a directory without a lab.conf line is a device too
    writeFileSync(join(dir, 'lab.conf'), 'pc1[0]=lan\npc2[0]=lan\n');
    const up = await umlabOk(home, ['up', dir]);
    assert.match(up.stdout, /pc1\s+ready[^]*pc2\s+ready[^]*pc3\s+ready/);
    assert.match(await vmExec(home, 'idle', 'pc1', 'ip -br link show dev eth0'), /^eth0\s.*<[A-Z_,]*\bUP\b[A-Z_,]*>/);
    assert.equal(await vmExec(home, 'idle', 'pc1', 'ip -4 addr show dev eth0; ip -4 route'), '', 'no address, no route: the student configures it');
    await vmExec(home, 'idle', 'pc1', 'ip addr add 10.0.0.1/24 dev eth0');
    await vmExec(home, 'idle', 'pc2', 'ip addr add 10.0.0.2/24 dev eth0');
    assert.match(await vmExec(home, 'idle', 'pc1', 'ping -c1 -W5 10.0.0.2'), /1 received/);
    await umlabOk(home, ['down', 'idle']);
    await assertNothingLeft(home, 'idle');
  });

  it('lab.dep orders the starts; .shutdown files run on down, shared.shutdown last', async () => {
    const dir = join(home, 'ordered');
    mkdirSync(join(dir, 'shared'), { recursive: true });
    chmodSync(join(dir, 'shared'), 0o777);
    writeFileSync(join(dir, 'lab.conf'), 'first[0]=lan\nsecond[0]=lan\n');
    writeFileSync(join(dir, 'lab.dep'), 'second: first\n');
    // first takes its time; second looks for what first left once it is ready.
    writeFileSync(join(dir, 'first.startup'), 'sleep 2\ntouch /shared/first-done\n');
    writeFileSync(join(dir, 'second.startup'), 'if [ -e /shared/first-done ]; then echo yes > /shared/second-saw-first; fi\n');
    // One file per device: two VMs appending to one hostfs file at once can overwrite each other.
    writeFileSync(join(dir, 'first.shutdown'), 'echo first >> /shared/shutdowns-$(hostname)\n');
    writeFileSync(join(dir, 'shared.shutdown'), 'echo "shared on $(hostname)" >> /shared/shutdowns-$(hostname)\n');
    const up = await umlabOk(home, ['up', dir]);
    assert.match(up.stderr, /second boots once first is ready/);
    assert.equal(readFileSync(join(dir, 'shared/second-saw-first'), 'utf8'), 'yes\n', 'second started after first was ready');
    await umlabOk(home, ['down', 'ordered']);
    await assertNothingLeft(home, 'ordered');
    assert.equal(readFileSync(join(dir, 'shared/shutdowns-first'), 'utf8'), 'first\nshared on first\n', "shared.shutdown after the device's own");
    assert.equal(readFileSync(join(dir, 'shared/shutdowns-second'), 'utf8'), 'shared on second\n');
  });

  it("port=HOST:GUEST forwards the host's 127.0.0.1:HOST to the device (through a slirp gateway)", async () => {
    const dir = join(home, 'ported');
    mkdirSync(join(dir, 'srv/var/www/html'), { recursive: true });
    const port = await freePort();
    writeFileSync(join(dir, 'lab.conf'), `srv[0]=lan\nsrv[port]=${port}:80/tcp\nsrv[image]=kathara/apache\n`);
    writeFileSync(join(dir, 'srv/var/www/html/index.html'), 'served through the forward\n');
    writeFileSync(join(dir, 'srv.startup'), 'ip addr add 10.0.0.1/24 dev eth0\nservice apache2 start\n');
    const up = await umlabOk(home, ['up', dir]);
    assert.match(up.stdout, /srv\s+ready[^]*eth1\s+dhcp\s+bridged/, 'the forward comes with an interface on the gateway');
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'served through the forward\n');
    await umlabOk(home, ['down', 'ported']);
    await assertNothingLeft(home, 'ported');
  });

  it('bad lab directories: every problem at file:line:col, and nothing starts', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['empty', {}, /empty\/lab\.conf:1:1: .*is not a Kathará or Netkit lab: it has no lab\.conf and no device directories/],
      ['novalue', { 'lab.conf': 'pc1[0]=A\npc1[x]=\n' }, /novalue\/lab\.conf:2:8: pc1\[x\] has no value/],
      [
        'badimage',
        { 'lab.conf': 'pc1[0]=A\npc1[image]=acme/router\n' },
        /badimage\/lab\.conf:2:12: pc1: unknown image "acme\/router"; cannot run it\n\s+hint: umlab runs these Kathará images: kathara\/base/,
      ],
      ['dotted', { 'lab.conf': 'pc1[0]=A\npc2[0]=lan.1\n' }, /dotted\/lab\.conf:2:8: collision domain "lan\.1" has a dot in its name/],
    ];
    for (const [name, files, expected] of cases) {
      const dir = join(home, 'bad', name);
      mkdirSync(dir, { recursive: true });
      for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
      const v = await umlab(home, ['validate', dir]);
      assert.equal(v.exitCode, 3, `${name}: ${v.stderr}`);
      assert.match(v.stderr, expected);
      const u = await umlab(home, ['up', dir]);
      assert.equal(u.exitCode, 3, `${name}: ${u.stderr}`);
      assert.match(u.stderr, expected);
      assert.equal(existsSync(join(home, 'labs', name)), false);
      assert.deepEqual(readdirSync(dir).sort(), Object.keys(files).sort(), `${name} is unchanged`);
    }
  });
});
