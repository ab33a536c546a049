// umlab-boot's network changes (native/boot.c configure_network: the \`ip -batch\` lines that
// init-script.ts nativeNetwork picks): run against the real kernel in a fresh network namespace,
// on veth pairs named as a VM's vector devices, and compared with what \`ip\` makes of the same
// lines. Then stage 2's steps on umlab-boot's result.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import { viewHelpers } from '../../src/runtime/host.ts';
import { bootSettings, configSteps, initOptions, ipBatchCommand, ipBatch, nativeNetwork } from '../../src/topology/init-script.ts';
import type { LabPlan, PlanContext, VmPlan } from '../../src/topology/plan.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

function planOf(text: string): LabPlan {
  const result = parseLab(text, '/labs/lab.yaml');
  assert.ok('lab' in result);
  return compile(result.lab, ctx);
}
const vmOf = (text: string): VmPlan => planOf(text).vms[0]!;

const TWO_INTERFACES = `name: t
switches: { sw0: {}, sw1: {} }
vms:
  r1:
    interfaces:
      eth0: { connect: sw0, ip: [10.0.0.1/24, 10.0.5.1/16] }
      eth1: { connect: sw1, ip: 192.168.1.1/24 }
    routes: ["default via 10.0.0.254", "10.9.0.0/16 via 192.168.1.9 dev eth1", "10.0.0.77/32 dev eth1", "10.0.0.78 dev eth0"]
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

  it('names, raises and addresses every interface and adds the routes as `ip -batch` does', () => {
    const vm = vmOf(TWO_INTERFACES);
    const network = nativeNetwork(vm)!;
    assert.deepEqual(network, {
      interfaces: [
        'link set lo up',
        'link set dev vec0 name eth0',
        'link set eth0 up',
        'addr add 10.0.0.1/24 dev eth0',
        'addr add 10.0.5.1/16 dev eth0',
        'link set dev vec1 name eth1',
        'link set eth1 up',
        'addr add 192.168.1.1/24 dev eth1',
      ],
      routes: [
        'route add default via 10.0.0.254',
        'route add 10.9.0.0/16 via 192.168.1.9 dev eth1',
        'route add 10.0.0.77/32 dev eth1',
        'route add 10.0.0.78 dev eth0',
      ],
    });
    // The VM's boot settings carry them, each part after its error file.
    assert.ok(
      bootSettings(vm, initOptions(planOf(TWO_INTERFACES))).endsWith(
        ['/run/umlab/interfaces.err', ...network.interfaces, '/run/umlab/routes.err', ...network.routes!].join('\n') + '\n',
      ),
    );
    const lines = [...network.interfaces, ...network.routes!];
    const state = 'ip -j addr show; echo; ip -d -j route show table all';
    const native = inFreshNamespace(`${devicesOf(vm)}\n${boot} --network ${changesFile(join(dir, 'errors'), lines)}\n${state}`);
    const ip = inFreshNamespace(`${devicesOf(vm)}\nip -batch - <<'EOF'\n${lines.join('\n')}\nEOF\n${state}`);
    assert.equal(native.status, 0, native.stderr);
    assert.equal(ip.status, 0, ip.stderr);
    // Interface indexes, names, flags, addresses and routes as ip leaves them. Not compared: MACs
    // (new veths) and the carrier, which the kernel reports a moment after a link goes up.
    const comparable = (out: string) =>
      out.replace(/"(address|broadcast|perm_address)":"[0-9a-f:]+"/g, '"$1":"-"').replace(/"operstate":"[A-Z]+",|"NO-CARRIER",|,"M-DOWN"|"linkdown"/g, '');
    assert.equal(comparable(native.stdout), comparable(ip.stdout));
    const links = JSON.parse(native.stdout.split('\n')[0]!) as {
      ifname: string;
      flags: string[];
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    const addresses = (name: string) =>
      links
        .find((l) => l.ifname === name)!
        .addr_info.filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`);
    assert.deepEqual(addresses('eth0'), ['10.0.0.1/24', '10.0.5.1/16']);
    assert.deepEqual(addresses('eth1'), ['192.168.1.1/24']);
    assert.match(native.stdout, /"dst":"default","gateway":"10\.0\.0\.254","dev":"eth0"/);
  });

  it('stops at the first failure and says which change failed; stage 2 reports it as the failed step', () => {
    const vm = vmOf(TWO_INTERFACES);
    const step = (name: string) => configSteps(vm).find(([what]) => what === name)![1];
    // Stage 2's /run/umlab, where the error files are: a tmpfs of this mount namespace here.
    const run = (errors: string, lines: string[]) =>
      inFreshNamespace(
        `mount -t tmpfs umlab /run\nmkdir /run/umlab\n${devicesOf(vm)}\n` +
          `${boot} --network ${changesFile(errors, lines)} && echo "boot: ok" || echo "boot: failed $?"\n` +
          `for step in interfaces routes; do\n  if [ $step = interfaces ]; then { ${step('configure interfaces')}\n}; else { ${step('add routes')}\n}; fi && echo "$step: ok" || echo "$step: failed $?"\ndone\nip -br link show`,
      );
    const interfaces = run('/run/umlab/interfaces.err', [
      'link set lo up',
      'link set dev vec0 name eth0',
      'addr add 10.0.0.1/24 dev eth0',
      'addr add 10.0.0.1/24 dev eth0',
      'link set dev vec1 name eth1',
    ]);
    assert.equal(interfaces.status, 0, interfaces.stderr);
    assert.match(interfaces.stdout, /^boot: failed 1\naddr add 10\.0\.0\.1\/24 dev eth0: File exists\ninterfaces: failed 1\nroutes: ok$/m);
    assert.match(interfaces.stdout, /^vec1@/m, 'nothing after the failed change was made');
    const routes = run('/run/umlab/interfaces.err', ['link set lo up', '/run/umlab/routes.err', 'route add 10.8.0.0/16 via 10.99.0.1']);
    assert.match(routes.stdout, /^boot: failed 1\ninterfaces: ok\nroute add 10\.8\.0\.0\/16 via 10\.99\.0\.1: Network is unreachable\nroutes: failed 1$/m);
  });

  it('refuses malformed and impossible changes with the reason', () => {
    const cases: [string, RegExp][] = [
      ['link set nosuch up', /^link set nosuch up: No such device$/],
      ['addr add 10.1.2.3/33 dev lo', /Invalid argument$/],
      ['addr add 10.1.2.300/8 dev lo', /Invalid argument$/],
      ['addr add 10.1.2.3/ dev lo', /Invalid argument$/],
      ['link set dev lo name a-name-longer-than-ifnamsiz', /Invalid argument$/],
      ['route add default via 10.0.0.0/8', /Invalid argument$/],
      ['route add default metric 5', /Invalid argument$/],
      ['route add 10.0.0.0/8 dev nosuch', /No such device$/],
      ['link set lo down', /^link set lo down: Invalid argument$/],
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

  it('leaves to `ip` what umlab-boot does not know: IPv6 (its module loads in stage 2 first), other route forms, routes after DHCP', () => {
    const vm = vmOf(`name: t
switches: { sw0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: [10.0.0.1/24, "fd00::1/64"] } } }
`);
    assert.equal(nativeNetwork(vm), undefined);
    const steps = configSteps(vm).map(([what]) => what);
    assert.ok(steps.indexOf('load ipv6') < steps.indexOf('configure interfaces'));
    assert.equal(configSteps(vm).find(([what]) => what === 'configure interfaces')![1], ipBatchCommand(ipBatch(vm)));
    const lab = (routes: string, eth1 = '{ connect: sw0, ip: 10.0.1.1/24 }') =>
      vmOf(`name: t\nswitches: { sw0: {} }\nvms:\n  h1:\n    interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 }, eth1: ${eth1} }\n    routes: ${routes}\n`);
    assert.deepEqual(nativeNetwork(lab('["default via 10.0.0.254 metric 10"]'))?.routes, undefined);
    assert.ok(nativeNetwork(lab('["default via 10.0.0.254 metric 10"]'))!.interfaces.length > 0, 'the interfaces still natively');
    assert.equal(
      configSteps(lab('["default via 10.0.0.254 metric 10"]')).find(([what]) => what === 'add routes')![1],
      ipBatchCommand(['route add default via 10.0.0.254 metric 10']),
    );
    assert.deepEqual(nativeNetwork(lab('["default via 10.0.0.254"]', '{ connect: sw0, dhcp: true }'))?.routes, undefined);
    assert.deepEqual(nativeNetwork(lab('["default via 10.0.0.254"]'))?.routes, ['route add default via 10.0.0.254']);
    // Longer than a device name can be, or two lines in one: left to ip (which reports them).
    assert.equal(nativeNetwork(lab('["10.9.0.0/16 dev a-name-longer-than-ifnamsiz"]'))?.routes, undefined);
    assert.equal(nativeNetwork(lab('["10.9.0.0/16 dev eth0\\nroute add default via 10.0.0.9"]'))?.routes, undefined);
  });
});
