// umlab-boot's network changes (native/boot.c configure_network, written by init-script.ts
// nativeNetwork): run against the real kernel in a fresh network namespace, on a veth pair named
// as a VM's vector device. Then stage 2's "configure interfaces" step on umlab-boot's result.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import { viewHelpers } from '../../src/runtime/host.ts';
import { configSteps, ipBatchCommand, ipBatch, nativeNetwork } from '../../src/topology/init-script.ts';
import type { PlanContext, VmPlan } from '../../src/topology/plan.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

function vmOf(text: string): VmPlan {
  const result = parseLab(text, '/labs/lab.yaml');
  assert.ok('lab' in result);
  return compile(result.lab, ctx).vms[0]!;
}

const TWO_INTERFACES = `name: t
switches: { sw0: {}, sw1: {} }
vms:
  r1:
    interfaces:
      eth0: { connect: sw0, ip: [10.0.0.1/24, 10.0.5.1/16] }
      eth1: { connect: sw1, ip: 192.168.1.1/24 }
`;

/** Runs a shell script as root of a new user, network and mount namespace (root maps to root). */
function inFreshNamespace(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--net', '--mount', 'sh', '-ec', script], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Creates the VM's vector devices (vecN) as one end of veth pairs, as the kernel would have them. */
const devicesOf = (vm: VmPlan) => vm.interfaces.map((i, n) => `ip link add ${i.device} type veth peer name peer${n}`).join('\n');

describe("umlab-boot's network changes", () => {
  const boot = viewHelpers().boot;
  const dir = mkdtempSync(join(tmpdir(), 'umlab-boot-net-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const changesFile = (errors: string, changes: string[]) => {
    const file = join(dir, 'changes');
    writeFileSync(file, [errors, ...changes].join('\n') + '\n');
    return file;
  };

  it('names, raises and addresses every interface as `ip -batch` would', () => {
    const vm = vmOf(TWO_INTERFACES);
    const changes = nativeNetwork(vm)!;
    assert.deepEqual(changes, [
      'up lo',
      'rename vec0 eth0',
      'up eth0',
      'addr4 eth0 10.0.0.1/24',
      'addr4 eth0 10.0.5.1/16',
      'rename vec1 eth1',
      'up eth1',
      'addr4 eth1 192.168.1.1/24',
    ]);
    const file = changesFile(join(dir, 'errors'), changes);
    const r = inFreshNamespace(`${devicesOf(vm)}\n${boot} --network ${file}\nip -j addr show`);
    assert.equal(r.status, 0, r.stderr);
    const links = JSON.parse(r.stdout) as { ifname: string; flags: string[]; addr_info: { family: string; local: string; prefixlen: number }[] }[];
    const addresses = (name: string) =>
      links
        .find((l) => l.ifname === name)!
        .addr_info.filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`);
    assert.deepEqual(addresses('eth0'), ['10.0.0.1/24', '10.0.5.1/16']);
    assert.deepEqual(addresses('eth1'), ['192.168.1.1/24']);
    assert.deepEqual(addresses('lo'), ['127.0.0.1/8'], 'lo is up (the kernel gives it its address then)');
    for (const name of ['lo', 'eth0', 'eth1']) assert.ok(links.find((l) => l.ifname === name)!.flags.includes('UP'), `${name} up`);
    assert.ok(!links.some((l) => l.ifname.startsWith('vec')), 'no vector device keeps its kernel name');
  });

  it('stops at the first failure and says which change failed, and stage 2 reports it as a failed step', () => {
    const vm = vmOf(TWO_INTERFACES);
    const [what, command] = configSteps(vm).find(([step]) => step === 'configure interfaces')!;
    assert.equal(what, 'configure interfaces');
    // The error file of a VM's boot settings is on stage 2's /run/umlab: a tmpfs of this mount namespace here.
    const file = changesFile('/run/umlab/network.err', ['up lo', 'rename vec0 eth0', 'up eth0', 'addr4 eth0 10.0.0.1/24', 'addr4 eth0 10.0.0.1/24', 'up eth1']);
    const r = inFreshNamespace(
      `mount -t tmpfs umlab /run\nmkdir /run/umlab\n${devicesOf(vm)}\n` +
        `${boot} --network ${file} && echo "boot: ok" || echo "boot: failed $?"\n` +
        `{ ${command}\n} && echo "step: ok" || echo "step: failed $?"\nip -br link show`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^boot: failed 1$/m);
    assert.match(r.stdout, /^addr4 eth0 10\.0\.0\.1\/24: File exists\nstep: failed 1$/m);
    assert.match(r.stdout, /^vec1@/m, 'nothing after the failed change was made');
  });

  it('refuses malformed and impossible changes with the reason', () => {
    const cases: [string, RegExp][] = [
      ['up nosuch', /^up nosuch: No such device$/],
      ['addr4 lo 10.1.2.3/33', /Invalid argument$/],
      ['addr4 lo 10.1.2.300/8', /Invalid argument$/],
      ['rename lo a-name-longer-than-ifnamsiz', /Invalid argument$/],
      ['frobnicate lo', /^frobnicate lo: Invalid argument$/],
    ];
    for (const [change, message] of cases) {
      const errors = join(dir, 'errors');
      rmSync(errors, { force: true });
      const r = inFreshNamespace(`${boot} --network ${changesFile(errors, [change])} || echo "failed $?"; cat ${errors}`);
      assert.match(r.stdout, /^failed 1$/m, change);
      assert.match(r.stdout.trim().split('\n').pop()!, message, change);
    }
  });

  it('leaves an IPv6 address to `ip` (its module loads in stage 2 first)', () => {
    const vm = vmOf(`name: t
switches: { sw0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: [10.0.0.1/24, "fd00::1/64"] } } }
`);
    assert.equal(nativeNetwork(vm), undefined);
    const steps = configSteps(vm).map(([what]) => what);
    assert.ok(steps.indexOf('load ipv6') < steps.indexOf('configure interfaces'));
    assert.equal(configSteps(vm).find(([what]) => what === 'configure interfaces')![1], ipBatchCommand(ipBatch(vm)));
  });
});
