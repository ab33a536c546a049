// The Kathará reader's answers to software drift, pure: the Quagga -> FRR and BIND 9.11 -> 9.18
// tables (each change a warning at its line), per-daemon FRR files, IPv6 forwarding, lab.ext.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readLabExt } from '../../src/kathara/lab-ext.ts';
import { loadKatharaContents } from '../../src/kathara/load.ts';
import { KATHARA_DIR } from '../../src/kathara/runner.ts';
import { translateFile } from '../../src/kathara/translate.ts';
import type { LabDirContents, TreeFile } from '../../src/kathara/types.ts';
import { configSteps } from '../../src/topology/init-script.ts';
import type { VmPlan } from '../../src/topology/plan.ts';

const opts = { imageCache: '/cache', strict: false, labPath: (rel: string) => rel };
const file = (path: string, text: string): TreeFile => ({ path, text, executable: false });
function dir(labConf: string, trees: Record<string, TreeFile[]> = {}, more: Partial<LabDirContents> = {}): LabDirContents {
  return {
    dir: '/labs/drift',
    labConfFile: 'drift/lab.conf',
    labConf,
    deviceDirs: Object.keys(trees),
    trees,
    startup: {},
    shutdown: {},
    hasShared: false,
    ...more,
  };
}
const warnings = (ds: { file: string; line: number; col: number; message: string }[]) => ds.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);

describe('Quagga -> FRR', () => {
  it('keeps an eBGP-only Quagga router exchanging routes, with a warning at the line', () => {
    const r = translateFile(
      '/etc/quagga/bgpd.conf',
      'hostname b\nrouter bgp 65001\n network 10.0.0.0/24\n neighbor 10.9.0.2 remote-as 65002\nlog file /var/log/quagga/bgpd.log\n',
      'lab/r1/etc/quagga/bgpd.conf',
    );
    assert.equal(
      r.text,
      'hostname b\nrouter bgp 65001\n no bgp ebgp-requires-policy\n no bgp network import-check\n network 10.0.0.0/24\n neighbor 10.9.0.2 remote-as 65002\nlog file /var/log/frr/bgpd.log\n',
    );
    assert.deepEqual(warnings(r.problems.map((p) => ({ ...p.at, message: p.message.split(':')[0]! }))), [
      'lab/r1/etc/quagga/bgpd.conf:2:1: Quagga -> FRR',
      'lab/r1/etc/quagga/bgpd.conf:5:1: Quagga -> FRR',
    ]);
    assert.match(r.problems[0]!.message, /no bgp ebgp-requires-policy/);
  });

  it("applies to Netkit's /etc/zebra too, and leaves a lab's FRR files alone", () => {
    assert.equal(translateFile('/etc/zebra/bgpd.conf', 'router bgp 2\n', 'x').problems.length, 1);
    const frr = translateFile('/etc/frr/frr.conf', 'router bgp 2\n', 'x');
    assert.deepEqual([frr.text, frr.problems], ['router bgp 2\n', []]);
    assert.equal(translateFile('/etc/quagga/vtysh.conf', 'router bgp 2\n', 'x').problems.length, 0);
  });
});

describe('BIND 9.11 -> 9.18', () => {
  it('drops the options 9.18 refuses, each with a warning at its line and column, and keeps the rest', () => {
    const text = 'options {\n    directory "/var/cache/bind";\n\tdnssec-enable no;\n    dnssec-validation no;\n    dnssec-lookaside auto; // old\n};\n';
    const r = translateFile('/etc/bind/named.conf.options', text, 'lab/dns/etc/bind/named.conf.options');
    assert.equal(r.text, 'options {\n    directory "/var/cache/bind";\n    dnssec-validation no;\n};\n');
    assert.deepEqual(warnings(r.problems.map((p) => ({ ...p.at, message: p.message.split(':')[1]!.trim() }))), [
      'lab/dns/etc/bind/named.conf.options:3:2: "dnssec-enable" dropped',
      'lab/dns/etc/bind/named.conf.options:5:5: "dnssec-lookaside" dropped',
    ]);
    // Zone files are not configuration.
    assert.equal(translateFile('/etc/bind/db.example', 'dnssec-enable no;\n', 'x').problems.length, 0);
  });
});

describe('the lab reader', () => {
  it('per-daemon FRR files without a frr.conf: the runner is told to remove the image one', () => {
    const r = loadKatharaContents(
      dir('r1[0]=A\nr1[image]=kathara/frr\n', { r1: [file('/etc/frr/bgpd.conf', 'router bgp 1\n'), file('/etc/frr/daemons', 'bgpd=yes\n')] }),
      opts,
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.lab!.vms[0]!.files[`${KATHARA_DIR}/frr-per-daemon`], '/etc/frr/bgpd.conf\n');
  });

  it('per-daemon FRR files next to a frr.conf: FRR ignores them, said at each file', () => {
    const r = loadKatharaContents(dir('r1[0]=A\n', { r1: [file('/etc/frr/bgpd.conf', 'router bgp 1\n'), file('/etc/frr/frr.conf', 'router bgp 1\n')] }), opts);
    assert.equal(r.lab!.vms[0]!.files[`${KATHARA_DIR}/frr-per-daemon`], undefined);
    assert.deepEqual(
      warnings(r.warnings).filter((w) => w.includes('not read')),
      ['drift/r1/etc/frr/bgpd.conf:1:1: r1/etc/frr/bgpd.conf is not read: FRR reads only frr.conf when the device has one (as in Kathará)'],
    );
  });

  it('ipv6=true forwards IPv6, and an IPv6 sysctl loads the module before it is set', () => {
    const r = loadKatharaContents(dir('pc[0]=A\npc[ipv6]=true\npc[sysctl]=net.ipv6.conf.eth0.accept_ra=2\n'), opts);
    const vm = r.lab!.vms[0]!;
    assert.equal(vm.sysctl['net.ipv6.conf.all.forwarding'], '1');
    const steps = configSteps({ name: 'pc', interfaces: [], routes: [], sysctl: vm.sysctl, startup: [] } as unknown as VmPlan).map(([what]) => what);
    assert.ok(steps.indexOf('load ipv6') >= 0 && steps.indexOf('load ipv6') < steps.indexOf('sysctl net.ipv6.conf.eth0.accept_ra=2'), steps.join(' | '));
  });

  it('lab.ext: each line answered with a warning at its place; a bad or unknown line is an error', () => {
    const ok = loadKatharaContents(dir('pc[0]=A\n', {}, { labExt: '# external\nA enp0s31f6.10\n' }), opts);
    assert.deepEqual(ok.errors, []);
    assert.match(
      warnings(ok.warnings).join('\n'),
      /^drift\/lab\.ext:2:1: collision domain A is not attached to host interface enp0s31f6 \(VLAN 10\): umlab never puts a lab on a host network/m,
    );
    const bad = readLabExt('B eth0\nA\nA eth0.5000\n', 'lab.ext', (d) => d === 'A');
    assert.deepEqual(warnings(bad.problems.map((p) => ({ ...p.at, message: p.severity }))), ['lab.ext:1:1: error', 'lab.ext:2:1: error', 'lab.ext:3:3: error']);
  });
});
