// The compiler: exact UML argv, and the plan of every segment kind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UmlabError } from '../../src/errors.ts';
import { compile, resolveLinks } from '../../src/planner/compile.ts';
import { bootSettings, initOptions, initScript, vmLayer } from '../../src/topology/init-script.ts';
import { planSegment, SUPPORTED_KINDS, type PlanEnv } from '../../src/kinds/index.ts';
import { parseLab } from '../../src/planner/load.ts';
import { macFromNames } from '../../src/topology/mac.ts';
import { loopsPerJiffy } from '../../src/runtime/host.ts';
import type { Lab } from '../../src/topology/model.ts';
import type { LabPlan, PlanContext, SegmentPlan } from '../../src/topology/plan.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

function load(text: string, file = '/labs/lab.yaml'): Lab {
  const result = parseLab(text, file);
  assert.ok('lab' in result, 'errors' in result ? JSON.stringify(result.errors, null, 2) : '');
  return result.lab;
}

const plan = (text: string, file?: string): LabPlan => compile(load(text, file), ctx);
const loadExample = (name: string) => load(readFileSync(new URL(`../../labs/${name}`, import.meta.url), 'utf8'), `/repo/labs/${name}`);
const segment = (p: LabPlan, name: string): SegmentPlan => p.segments.find((s) => s.name === name)!;

const TWO_HOSTS = `name: two-hosts
switches: { sw0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 } } }
  h2: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.2/24 } } }
`;

describe('compile', () => {
  it("skips the delay-loop calibration of the host's kernel, not of a lab's own", () => {
    const lab = load(TWO_HOSTS);
    lab.vms.find((v) => v.name === 'h2')!.kernel.binary = '/opt/my-linux.uml';
    const p = compile(lab, { ...ctx, loopsPerJiffy: 20959870 });
    const lpj = (vm: number) => p.vms[vm]!.argv.filter((a) => a.startsWith('lpj='));
    assert.deepEqual(lpj(0), ['lpj=20959870']);
    assert.deepEqual(lpj(1), []);
    assert.equal(loopsPerJiffy('processor\t: 0\ncpu MHz\t\t: 2095.987\nbogomips\t: 4191.97\n'), 20959870);
    assert.equal(loopsPerJiffy('processor\t: 0\n'), undefined, 'no clock given: the kernel calibrates');
  });

  it('gives the exact UML argv of two hosts on a switch', () => {
    const p = plan(TWO_HOSTS);
    assert.deepEqual(p.vms[0]!.argv, [
      '/usr/bin/linux.uml',
      'mem=128M',
      'umid=h1',
      'uml_dir=/run/umlab/t/uml',
      'hostfs=/run/umlab/t/views/h1',
      'rootfstype=hostfs',
      'rootflags=/',
      'ro',
      'quiet',
      'initcall_blacklist=raid6_select_algo,init_zswap',
      'pty.legacy_count=0',
      'sysctl.vm.compaction_proactiveness=0',
      'init=/.umlab-boot',
      'umlab_boot=/run/umlab/t/vms/h1/boot.conf',
      'con0=fd:0,fd:1',
      'con=none',
      'ssl=none',
      'ssl63=fd:3,fd:4',
      'vec0:transport=raw,ifname=vp0,mac=fe:fd:0a:00:00:01,depth=128,gro=1,bpffile=/run/umlab/t/vector-rx.bpf',
    ]);
    assert.equal(p.vms[1]!.argv.at(-1), 'vec0:transport=raw,ifname=vp1,mac=fe:fd:0a:00:00:02,depth=128,gro=1,bpffile=/run/umlab/t/vector-rx.bpf');
    assert.deepEqual(
      {
        lab: p.lab,
        source: p.source,
        runDir: p.runDir,
        rootfs: p.rootfs,
        umlDir: p.umlDir,
        capture: p.capture,
        kernelVersion: p.kernelVersion,
        modulesDir: p.modulesDir,
        rootless: p.rootless,
      },
      {
        lab: 'two-hosts',
        source: '/labs/lab.yaml',
        runDir: '/run/umlab/t',
        rootfs: '/run/umlab/t/rootfs',
        umlDir: '/run/umlab/t/uml',
        capture: true,
        kernelVersion: '6.1.0',
        modulesDir: '/usr/lib/uml/modules/6.1.0',
        rootless: false,
      },
    );
    assert.deepEqual(p.vms[0], {
      name: 'h1',
      umid: 'h1',
      memory: '128M',
      env: {},
      argv: p.vms[0]!.argv,
      hostView: '/run/umlab/t/views/h1',
      initPath: '/run/umlab/t/vms/h1/init.sh',
      init: initScript(p.vms[0]!, p),
      bootSettings: '/run/umlab/t/vms/h1/boot.conf',
      layerDir: '/run/umlab/t/vms/h1/layer',
      consoleLog: '/run/umlab/t/vms/h1/console.log',
      lines: [{ name: 'con0', device: '/dev/tty0', to: 'log', umlArg: 'fd:0,fd:1', fds: [0, 1], log: '/run/umlab/t/vms/h1/console.log' }],
      disks: [],
      shares: [],
      interfaces: [
        {
          name: 'eth0',
          mac: 'fe:fd:0a:00:00:01',
          addresses: ['10.0.0.1/24'],
          dhcp: false,
          proxyArp: false,
          link: 'h1.eth0',
          umlArg: 'transport=raw,ifname=vp0,mac=fe:fd:0a:00:00:01,depth=128,gro=1,bpffile=/run/umlab/t/vector-rx.bpf',
          device: 'vec0',
        },
      ],
      routes: [],
      sysctl: {},
      files: {},
      startup: [],
      shutdown: [],
      startAfter: [],
      ready: [],
      readyTimeout: 60,
    });
    assert.deepEqual(p.hosts, [
      { name: 'h1', addresses: ['10.0.0.1'] },
      { name: 'h2', addresses: ['10.0.0.2'] },
    ]);
  });

  it('plans a switch: engine, ageing, a bridge, one veth pair and one capture per port', () => {
    const p = plan(TWO_HOSTS.replace('sw0: {}', 'sw0: { ageing: 30 }'));
    assert.deepEqual(segment(p, 'sw0'), {
      name: 'sw0',
      kind: 'switch',
      engine: 'switch',
      ports: [
        { link: 'h1.eth0', vm: 'h1', iface: 'eth0', mac: 'fe:fd:0a:00:00:01', device: 'vp0' },
        { link: 'h2.eth0', vm: 'h2', iface: 'eth0', mac: 'fe:fd:0a:00:00:02', device: 'vp1' },
      ],
      options: { ageing: 30, bridge: 'br0', vectorFilter: '/run/umlab/t/vector-rx.bpf' },
      needs: [
        "Linux bridge br0 as a learning switch (ageing 30 s), with veth pairs vp0/vp0-br, vp1/vp1-br (in the lab's network namespace)",
        'tcpdump on 2 link(s), writing the captures',
      ],
    });
    assert.deepEqual(p.links, [
      { name: 'h1.eth0', segment: 'sw0', endpoints: [{ vm: 'h1', iface: 'eth0' }], capture: '/run/umlab/t/captures/h1.eth0.pcap' },
      { name: 'h2.eth0', segment: 'sw0', endpoints: [{ vm: 'h2', iface: 'eth0' }], capture: '/run/umlab/t/captures/h2.eth0.pcap' },
    ]);
  });

  it('plans captured switches, hubs and wires on the userspace engine when bridges cannot capture (rootless labs)', () => {
    const p = compile(
      load(`name: rl
switches: { sw0: {}, sw1: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 }, eth1: { connect: sw1, ip: 10.0.1.1/24, capture: false }, eth2: { connect: h2.eth2 } } }
  h2: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.2/24 }, eth1: { connect: sw1, ip: 10.0.1.2/24, capture: false } } }
`),
      { ...ctx, bridgeCaptures: false },
    );
    assert.deepEqual(
      p.segments.map((s) => [s.name, s.engine, s.options['bridge'], s.ports.map((port) => port.device ?? `${port.enginePort}/${port.vmPort}`)]),
      [
        ['sw0', 'switch', undefined, ['20000/20001', '20002/20003']],
        // Nothing to capture: a bridge needs no tcpdump.
        ['sw1', 'switch', 'br0', ['vp0', 'vp1']],
        ['h1.eth2--h2.eth2', 'wire', undefined, ['20004/20005', '20006/20007']],
      ],
    );
    const h1 = p.vms.find((v) => v.name === 'h1')!;
    assert.deepEqual(h1.argv.slice(-3), [
      `eth0=ucast,${h1.interfaces[0]!.mac},127.0.0.1,20001,20000`,
      `vec1:transport=raw,ifname=vp0,mac=${h1.interfaces[1]!.mac},depth=128,gro=1,bpffile=/run/umlab/t/vector-rx.bpf`,
      `eth2=ucast,${h1.interfaces[2]!.mac},127.0.0.1,20005,20004`,
    ]);
    assert.deepEqual(
      h1.interfaces.map((i) => i.device),
      [undefined, 'vec1', undefined],
    );
    assert.match(p.segments[0]!.needs[0]!, /^umlab switch engine \(node:dgram\) on 127.0.0.1 UDP 20000-20003$/);
  });

  it('plans a hub with the hub engine', () => {
    const p = compile(loadExample('hub.yaml'), ctx);
    const hub = segment(p, 'hub0');
    assert.equal(hub.engine, 'hub');
    assert.equal(hub.kind, 'hub');
    assert.deepEqual(
      hub.ports.map((port) => [port.link, port.device]),
      [
        ['h1.eth0', 'vp0'],
        ['h2.eth0', 'vp1'],
        ['h3.eth0', 'vp2'],
      ],
    );
    assert.deepEqual(hub.options, { bridge: 'br0', vectorFilter: '/run/umlab/t/vector-rx.bpf' });
    assert.match(hub.needs[0]!, /^Linux bridge br0 as a hub \(ageing 0: every frame is flooded\)/);
  });

  it('plans an mcast segment: mcast,<mac>,<group>,<port>,<ttl> and no UDP ports of ours', () => {
    const p = plan(`name: m
mcast: { lan0: {}, lan1: { group: 239.1.2.3, port: 5000, ttl: 0 } }
vms:
  h1: { interfaces: { eth0: { connect: lan0, ip: 10.0.0.1/24 }, eth1: { connect: lan1, ip: 10.0.1.1/24 } } }
`);
    const lan0 = segment(p, 'lan0');
    assert.deepEqual(lan0, {
      name: 'lan0',
      kind: 'mcast',
      engine: 'mcast',
      ports: [{ link: 'h1.eth0', vm: 'h1', iface: 'eth0', mac: 'fe:fd:0a:00:00:01' }],
      options: { group: '239.192.0.1', port: 1102, ttl: 1 },
      needs: ["multicast group 239.192.0.1 UDP 1102 (ttl 1) kept on lo of the lab's network namespace (route 224.0.0.0/4 dev lo)"],
    });
    assert.deepEqual(p.vms[0]!.argv.slice(-2), ['eth0=mcast,fe:fd:0a:00:00:01,239.192.0.1,1102,1', 'eth1=mcast,fe:fd:0a:00:01:01,239.1.2.3,5000,0']);
  });

  it('plans a tap bridge: deterministic device names, a bridge only with several ports', () => {
    const p = plan(`name: taps
taps:
  up0: { host_ip: 192.168.0.254/24, proxy_arp: true, ip_forward: true }
  up1: {}
vms:
  h1: { interfaces: { eth0: { connect: up0, ip: 192.168.0.1/24 }, eth1: { connect: up1 } } }
  h2: { interfaces: { eth0: { connect: up0, ip: 192.168.0.2/24 } } }
`);
    const up0 = segment(p, 'up0');
    const up1 = segment(p, 'up1');
    // ul-<first 4 hex of sha256("taps")>-<n-th tap port of the lab>
    const [d0, d1, d2] = ['ul-578f-0', 'ul-578f-1', 'ul-578f-2'];
    assert.equal(up0.engine, 'tap');
    assert.deepEqual(up0.options, {
      hostIp: '192.168.0.254/24',
      proxyArp: true,
      ipForward: true,
      bridge: true,
      bridgeDevice: 'ulb-578f-0',
      devices: { 'h1.eth0': d0, 'h2.eth0': d1 },
    });
    assert.deepEqual(up1.options, { hostIp: null, proxyArp: false, ipForward: false, bridge: false, bridgeDevice: null, devices: { 'h1.eth1': d2 } });
    for (const name of [d0!, d1!, d2!, 'ulb-578f-0']) assert.ok(name.length <= 15, `${name} fits IFNAMSIZ`);
    assert.equal(p.vms[0]!.argv.at(-2), `eth0=tuntap,${d0},fe:fd:c0:a8:00:01`);
    assert.ok(up0.needs.some((n) => n.includes('needs root or CAP_NET_ADMIN')));
    assert.ok(up0.ports.every((port) => port.vmPort === undefined && port.enginePort === undefined));
    // Another lab gets other device names; the same lab always the same.
    assert.notEqual(
      compile(load(`name: other\ntaps: { up0: }\nvms: { h1: { interfaces: { eth0: { connect: up0 } } } }\n`), ctx).vms[0]!.argv.at(-1)!.split(',')[1],
      d0,
    );
    assert.deepEqual(plan(`name: taps\ntaps: { up0: }\nvms: { h1: { interfaces: { eth0: { connect: up0 } } } }\n`).vms[0]!.argv.at(-1)!.split(',')[1], d0);
  });

  it('plans a slirp gateway: passt engine, gateway/dns/DHCP addresses, forwards, a ucast port per VM', () => {
    const p = plan(`name: gw
gateways:
  nat0: { network: 10.9.8.0/24, forward: [ "tcp:8080:80", "udp:5353:h1:53" ] }
  nat1: { network: 172.16.0.0/16, dhcp: false }
vms:
  h1: { interfaces: { eth0: { connect: nat0, dhcp: true }, eth1: { connect: nat1, ip: 172.16.0.10/16 } } }
`);
    const nat0 = segment(p, 'nat0');
    assert.equal(nat0.engine, 'passt');
    assert.equal(nat0.kind, 'slirp');
    assert.deepEqual(nat0.options, {
      network: '10.9.8.0/24',
      gateway: '10.9.8.2',
      dns: '10.9.8.3',
      dhcpRange: { start: '10.9.8.15', end: '10.9.8.254' },
      dhcp: true,
      forward: [
        { proto: 'tcp', hostPort: 8080, guestPort: 80 },
        { proto: 'udp', hostPort: 5353, guestPort: 53, vm: 'h1' },
      ],
      socket: '/run/umlab/t/nat0.passt.sock',
      log: '/run/umlab/t/nat0.passt.log',
      state: '/run/umlab/t/nat0.passt.state',
      passtArgs: [
        '--socket',
        '/run/umlab/t/nat0.passt.sock',
        '--ipv4-only',
        '--mtu',
        '1500',
        '--address',
        '10.9.8.15',
        '--netmask',
        '24',
        '--gateway',
        '10.9.8.2',
        '--dns',
        '10.9.8.3',
        '--dns-forward',
        '10.9.8.3',
        '-t',
        '127.0.0.1/8080:80',
        '-u',
        '127.0.0.1/5353:53',
      ],
    });
    assert.deepEqual(nat0.needs, [
      'umlab switch engine (node:dgram) on 127.0.0.1 UDP 20000-20001, with a port to passt',
      "passt --socket /run/umlab/t/nat0.passt.sock --ipv4-only --mtu 1500 --address 10.9.8.15 --netmask 24 --gateway 10.9.8.2 --dns 10.9.8.3 --dns-forward 10.9.8.3 -t 127.0.0.1/8080:80 -u 127.0.0.1/5353:53 (in the host's network namespace)",
    ]);
    assert.deepEqual(segment(p, 'nat1').options['dhcpRange'], { start: '172.16.0.15', end: '172.16.255.254' });
    assert.match(segment(p, 'nat1').needs[1]!, /--no-dhcp/);
    const eth0 = p.vms[0]!.interfaces[0]!;
    assert.equal(eth0.dhcp, true);
    assert.equal(eth0.mac, macFromNames('gw', 'h1', 'eth0'));
    assert.equal(eth0.umlArg, `ucast,${eth0.mac},127.0.0.1,20001,20000`);
  });

  it('plans a point-to-point link as a wire segment with one capture file for both ports', () => {
    const p = compile(loadExample('proxy-arp.yaml'), ctx);
    const wire = segment(p, 'h3.eth0--r1.eth1');
    assert.equal(wire.kind, 'p2p');
    assert.equal(wire.engine, 'wire');
    const capture = '/run/umlab/t/captures/h3.eth0--r1.eth1.pcap';
    assert.deepEqual(
      wire.ports.map((port) => ({
        link: port.link,
        vm: port.vm,
        iface: port.iface,
        device: port.device,
        capture: p.links.find((l) => l.name === port.link)!.capture,
      })),
      [
        // After the lan switch's three ports (vp0-vp2).
        { link: 'h3.eth0--r1.eth1', vm: 'h3', iface: 'eth0', device: 'vp3', capture },
        { link: 'h3.eth0--r1.eth1', vm: 'r1', iface: 'eth1', device: 'vp4', capture },
      ],
    );
    assert.equal(wire.options['bridge'], 'br1');
    assert.deepEqual(p.links.at(-1), {
      name: 'h3.eth0--r1.eth1',
      segment: 'h3.eth0--r1.eth1',
      endpoints: [
        { vm: 'h3', iface: 'eth0' },
        { vm: 'r1', iface: 'eth1' },
      ],
      capture,
    });
    const r1 = p.vms.find((v) => v.name === 'r1')!;
    assert.deepEqual(p.links.find((l) => l.name === r1.interfaces[1]!.link)!.segment, 'h3.eth0--r1.eth1');
    assert.equal(r1.argv.at(-1), `vec1:transport=raw,ifname=vp4,mac=${r1.interfaces[1]!.mac},depth=128,gro=1,bpffile=/run/umlab/t/vector-rx.bpf`);
    // r1.eth1 repeats eth0's address, so its fe:fd MAC is taken: it gets the name hash.
    assert.equal(r1.interfaces[1]!.mac, macFromNames('proxy-arp', 'r1', 'eth1'));
    assert.deepEqual(r1.routes, ['10.0.0.3/32 dev eth1']);
    assert.deepEqual(r1.sysctl, { 'net.ipv4.ip_forward': '1' });
    assert.deepEqual(
      r1.interfaces.map((i) => i.proxyArp),
      [true, true],
    );
    assert.deepEqual(
      p.hosts.find((h) => h.name === 'r1'),
      { name: 'r1', addresses: ['10.0.0.254'] },
    );
  });

  it('creates the far end of a p2p link implicitly, without address, in ethN order', () => {
    const p = plan(`name: implicit
switches: { sw0: {} }
vms:
  r1: { interfaces: { eth0: { connect: h2.eth1, ip: 10.0.1.1/30 } } }
  h2: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.2/24 }, eth2: { connect: sw0, ip: 10.0.0.3/24 } } }
`);
    const h2 = p.vms[1]!;
    assert.deepEqual(
      h2.interfaces.map((i) => [i.name, i.addresses, i.link]),
      [
        ['eth0', ['10.0.0.2/24'], 'h2.eth0'],
        ['eth1', [], 'h2.eth1--r1.eth0'],
        ['eth2', ['10.0.0.3/24'], 'h2.eth2'],
      ],
    );
    assert.equal(h2.interfaces[1]!.mac, macFromNames('implicit', 'h2', 'eth1'));
    assert.deepEqual(
      h2.argv.slice(-3).map((a) => a.split(':')[0]),
      ['vec0', 'vec1', 'vec2'],
    );
    assert.deepEqual(
      resolveLinks(load(`name: x\nvms:\n  a: { interfaces: { eth0: { connect: b.eth0 } } }\n  b: { interfaces: { eth0: { connect: a.eth0 } } }\n`)).p2p,
      [
        {
          name: 'a.eth0--b.eth0',
          endpoints: [
            { vm: 'a', iface: 'eth0' },
            { vm: 'b', iface: 'eth0' },
          ],
        },
      ],
    );
  });

  it('boots from a disk image, relative to the lab file, on a copy-on-write file', () => {
    const p = plan(`name: img\nvms: { h1: { image: ../images/rootfs.img, memory: 256M } }\n`, '/home/u/labs/img.yaml');
    const vm = p.vms[0]!;
    assert.equal(vm.image, '/home/u/images/rootfs.img');
    // The COW lives with the lab's disks ($UMLAB_HOME/disks/<lab>), so it outlives the run directory.
    assert.deepEqual(vm.argv.slice(1, 9), [
      'mem=256M',
      'umid=h1',
      'uml_dir=/run/umlab/t/uml',
      'ubd0=/run/disks/t/h1.cow,/home/u/images/rootfs.img',
      'root=/dev/ubda',
      'hostfs=/run/umlab/t/views/h1',
      'ro',
      'quiet',
    ]);
    assert.ok(vm.argv.includes('init=/sbin/umlab-init') && vm.argv.includes('umlab_init=/run/umlab/t/vms/h1/init.sh'));
    assert.ok(!vm.argv.some((a) => a.startsWith('rootfstype=')));
    assert.equal(plan(`name: img\nvms: { h1: { image: /srv/a.img } }\n`).vms[0]!.image, '/srv/a.img');
  });

  it('turns captures off for the lab, for one interface, and for a p2p link if either end says so', () => {
    const off = plan(TWO_HOSTS.replace('name: two-hosts', 'name: two-hosts\ncapture: false'));
    assert.equal(off.capture, false);
    assert.ok(off.links.every((l) => l.capture === null));
    // Ports and interfaces point to the one LinkPlan of their link.
    assert.ok(off.segments.every((s) => s.ports.every((port) => off.links.some((l) => l.name === port.link))));
    assert.ok(off.vms.every((v) => v.interfaces.every((i) => off.links.some((l) => l.name === i.link))));
    // Lab off wins over an interface asking for it.
    const stillOff = plan(TWO_HOSTS.replace('name: two-hosts', 'name: two-hosts\ncapture: false').replace('ip: 10.0.0.1/24', 'ip: 10.0.0.1/24, capture: true'));
    assert.equal(stillOff.links[0]!.capture, null);
    const one = plan(TWO_HOSTS.replace('ip: 10.0.0.1/24', 'ip: 10.0.0.1/24, capture: false'));
    assert.deepEqual(
      one.links.map((l) => l.capture),
      [null, '/run/umlab/t/captures/h2.eth0.pcap'],
    );
    const all = compile(loadExample('all-kinds.yaml'), ctx);
    assert.equal(all.links.find((l) => l.name === 'h2.eth1--r1.eth5')!.capture, null);
  });

  it('passes console, routes, sysctl, files and startup through', () => {
    const all = compile(loadExample('all-kinds.yaml'), ctx);
    const h1 = all.vms.find((v) => v.name === 'h1')!;
    assert.deepEqual([h1.lines[0]!.name, h1.lines[0]!.to, h1.lines[0]!.port], ['con0', 'port', 4001]);
    assert.deepEqual(h1.routes, ['default via 10.0.0.254', 'default via fd00:0:0:1::fe']);
    assert.deepEqual(h1.files, { '/etc/motd': 'h1 of the all-kinds lab\n' });
    const fw = compile(loadExample('firewall.yaml'), ctx).vms.find((v) => v.name === 'fw')!;
    assert.equal(fw.startup.length, 8);
    assert.ok(fw.startup.some((c) => c.includes('-j REJECT')) && fw.startup.some((c) => c.includes('-j DROP')));
  });

  it('numbers veth devices and bridges over declared segments in file order, then p2p links by name', () => {
    const p = compile(loadExample('all-kinds.yaml'), ctx);
    const ports = p.segments.flatMap((s) => s.ports.map((port) => `${s.name}:${port.link}:${port.device ?? port.enginePort ?? '-'}`));
    assert.deepEqual(ports, [
      'sw0:h1.eth0:vp0',
      'sw0:r1.eth0:vp1',
      'hub0:h2.eth0:vp2',
      'hub0:r1.eth1:vp3',
      'lan0:h2.eth2:-',
      'lan0:r1.eth2:-',
      'up0:r1.eth3:-',
      'nat0:r1.eth4:20000',
      'h2.eth1--r1.eth5:h2.eth1--r1.eth5:vp4',
      'h2.eth1--r1.eth5:h2.eth1--r1.eth5:vp5',
    ]);
    assert.deepEqual(
      p.segments.map((s) => s.options['bridge'] ?? '-'),
      ['br0', 'br1', '-', false, '-', 'br2'],
    );
    assert.deepEqual(
      p.segments.map((s) => `${s.kind}/${s.engine}`),
      ['switch/switch', 'hub/hub', 'mcast/mcast', 'tap/tap', 'slirp/passt', 'p2p/wire'],
    );
  });

  it('is deterministic, JSON-serialisable, and gives every interface its own MAC', () => {
    for (const name of ['two-hosts.yaml', 'router.yaml', 'proxy-arp.yaml', 'hub.yaml', 'firewall.yaml', 'all-kinds.yaml']) {
      const a = compile(loadExample(name), ctx);
      assert.deepEqual(a, compile(loadExample(name), ctx), name);
      assert.deepEqual(JSON.parse(JSON.stringify(a)), a, name);
      const macs = a.vms.flatMap((v) => v.interfaces.map((i) => i.mac));
      assert.equal(new Set(macs).size, macs.length, name);
    }
  });

  it('refuses an unknown segment kind, naming the supported ones', () => {
    const env: PlanEnv = {
      runDir: '/r',
      bridgeCaptures: true,
      nextUcastPorts: () => ({ vmPort: 1, enginePort: 2 }),
      labHash: 'abcd',
      next: () => 0,
      nextVmPortDevice: () => 'v',
      nextSegmentBridge: () => 'sb',
    };
    assert.throws(
      () => planSegment({ kind: 'vde', name: 'x' } as never, [], env),
      (error: unknown) =>
        error instanceof UmlabError && error.message === 'unknown segment kind "vde": supported kinds are switch, hub, p2p, mcast, slirp, tap',
    );
    assert.deepEqual([...SUPPORTED_KINDS].sort(), ['hub', 'mcast', 'p2p', 'slirp', 'switch', 'tap']);
  });

  it('strips a trailing slash from the run directory', () => {
    const p = compile(load(TWO_HOSTS), { ...ctx, runDir: '/run/umlab/t/' });
    assert.equal(p.vms[0]!.initPath, '/run/umlab/t/vms/h1/init.sh');
  });

  it("puts each VM's init script in the plan, and stage 1's settings from the kernel facts of the context", () => {
    const p = plan(TWO_HOSTS);
    const h1 = p.vms[0]!;
    assert.match(h1.init, /^#!\/bin\/sh\n# Generated by umlab for VM h1 of lab two-hosts\./);
    assert.ok(h1.init.includes('/run/umlab/interfaces.err'), "reports umlab-boot's network changes as a step");
    assert.equal(h1.bootSettings, '/run/umlab/t/vms/h1/boot.conf');
    assert.equal(
      bootSettings(h1, initOptions(p)),
      '/usr/lib/uml/modules/6.1.0/kernel/fs/overlayfs/overlay.ko\n/run/umlab/t/vms/h1/layer\n/run/umlab/t/vms/h1/init.sh\nsuid\n/dev/ttyS63\n' +
        '/run/umlab/interfaces.err\nlink set lo up\nlink set dev vec0 name eth0\nlink set eth0 up\naddr add 10.0.0.1/24 dev eth0\n',
    );
    // Rootless labs mount the overlay root nosuid.
    const rootless = compile(load(TWO_HOSTS), { ...ctx, rootless: true });
    assert.equal(rootless.rootless, true);
    assert.match(bootSettings(rootless.vms[0]!, initOptions(rootless)), /\nnosuid\n/);
  });

  it("gives a VM on the host's root reboot, poweroff, halt and shutdown that need no systemd; an image keeps its own", () => {
    const p = plan(TWO_HOSTS);
    const layer = vmLayer(p.vms[0]!, p, initOptions(p));
    for (const name of ['reboot', 'poweroff', 'halt'])
      assert.deepEqual(layer[`/usr/local/sbin/${name}`], { content: `#!/bin/sh\n# umlab: no systemd in this VM\nexec busybox ${name} -f\n`, mode: 0o755 });
    const shutdown = layer['/usr/local/sbin/shutdown'];
    assert.ok(shutdown && 'content' in shutdown && shutdown.mode === 0o755);
    // Run with a busybox that only says what it was asked.
    const dir = mkdtempSync(join(tmpdir(), 'shutdown-shim-'));
    try {
      writeFileSync(join(dir, 'busybox'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      writeFileSync(join(dir, 'shutdown'), shutdown.content);
      const run = (...args: string[]) => execFileSync('sh', [join(dir, 'shutdown'), ...args], { env: { PATH: `${dir}:/usr/bin:/bin` } }).toString();
      assert.equal(run('-r', 'now'), 'reboot -f\n');
      assert.equal(run('--reboot'), 'reboot -f\n');
      assert.equal(run('-h', 'now'), 'poweroff -f\n');
      assert.equal(run(), 'poweroff -f\n');
      assert.equal(run('-P', '+5', 'bye -r'), 'poweroff -f\n', 'only an option -r reboots');
      assert.equal(run('+5', '-r'), 'reboot -f\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const img = plan(`name: img\nvms: { h1: { image: /srv/a.img } }\n`);
    assert.equal(vmLayer(img.vms[0]!, img, initOptions(img))['/usr/local/sbin/reboot'], undefined);
  });
});
