// The Kathará/Netkit reader, pure: lab directory contents (in memory) -> the Lab model, with
// errors and warnings at file:line:col, and the YAML that `umlab import` writes loading to the same lab.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePort } from '../../src/kathara/devices.ts';
import { chooseImage, imageBaseName } from '../../src/kathara/images.ts';
import { parseLabConf, parseLabDep, unquote } from '../../src/kathara/lab-conf.ts';
import { loadKatharaContents, parsePath } from '../../src/kathara/load.ts';
import { labNameOf } from '../../src/kathara/to-raw.ts';
import type { LabDirContents } from '../../src/kathara/types.ts';
import { cachedImageName, expandPackages } from '../../src/runtime/image-profiles.ts';
import { formatPath } from '../../src/topology/lab-path.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { SlirpSegment } from '../../src/kinds/slirp/index.ts';

const opts = { imageCache: '/cache', strict: false, labPath: (rel: string) => rel };
const KATHARA_IMG = `/cache/${cachedImageName('kathara')}`;

function dir(labConf: string | undefined, more: Partial<LabDirContents> = {}): LabDirContents {
  return {
    dir: '/labs/demo_Lab',
    labConfFile: 'demo/lab.conf',
    ...(labConf !== undefined && { labConf }),
    deviceDirs: [],
    trees: {},
    startup: {},
    shutdown: {},
    hasShared: false,
    ...more,
  };
}

const where = (ds: { file: string; line: number; col: number; message: string }[]) => ds.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);

describe('lab.conf syntax', () => {
  it('reads device lines, globals, quotes and comments with positions', () => {
    const { lines, problems } = parseLabConf('# c\nLAB_DESCRIPTION="a lab" # x\n  r1[0]="A"\nr1[image]=kathara/frr # comment\n', 'lab.conf');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      lines.map((l) => (l.kind === 'device' ? [l.device, l.key, l.value, l.at.line, l.at.col, l.valueAt.col] : [l.name, l.value])),
      [
        ['LAB_DESCRIPTION', 'a lab'],
        ['r1', '0', 'A', 3, 3, 9],
        ['r1', 'image', 'kathara/frr', 4, 1, 11],
      ],
    );
    assert.equal(unquote("'x y'"), 'x y');
  });

  it('reports a line it cannot read at its line', () => {
    const { problems } = parseLabConf('r1[0]=A\nthis is not a line\n', 'lab.conf');
    assert.deepEqual(where(problems.map((p) => ({ ...p.at, message: p.message }))), ['lab.conf:2:1: cannot read this line: "this is not a line"']);
  });

  it('lab.dep: devices and what they start after', () => {
    const { deps } = parseLabDep('# order\nr1: r2 r3\n', 'lab.dep');
    assert.deepEqual(
      deps.map((d) => [d.device, d.after.map((a) => `${a.name}@${a.at.col}`)]),
      [['r1', ['r2@5', 'r3@8']]],
    );
  });

  it('ports: HOST:GUEST/PROTO, a single number is the host port to guest port 3000', () => {
    assert.deepEqual(parsePort('8080:80/udp'), { host: 8080, guest: 80, proto: 'udp' });
    assert.deepEqual(parsePort('8080'), { host: 8080, guest: 3000, proto: 'tcp' });
    assert.equal(parsePort('70000:1'), undefined);
  });
});

describe('images and profiles', () => {
  it('maps Kathará images to one cached profile image; P4, SDN and Wireshark are unsupported, unknown ones too', () => {
    assert.equal(imageBaseName('kathara/frr:latest'), 'kathara/frr');
    assert.deepEqual(chooseImage('kathara/quagga').constructor, Object);
    assert.equal((chooseImage('kathara/frr') as { profile: string }).profile, 'kathara');
    assert.match((chooseImage('kathara/p4') as { unsupported: string }).unsupported, /P4/);
    assert.match((chooseImage('kathara/sdn') as { unsupported: string }).unsupported, /Open vSwitch/);
    assert.match((chooseImage('kathara/wireshark') as { hint: string }).hint, /umlab web/);
    assert.match((chooseImage('acme/router') as { unsupported: string }).unsupported, /unknown image/);
  });

  it('profiles expand to Debian packages; the cached name changes with the package list', () => {
    assert.deepEqual(expandPackages(['frr', 'curl', 'curl', 'nginx-light']), ['curl', 'frr', 'nginx-light']);
    assert.ok(expandPackages(['kathara']).includes('bind9') && expandPackages(['kathara']).includes('apache2'));
    assert.match(cachedImageName('kathara'), /^kathara-bookworm-[0-9a-f]{10}\.img$/);
    assert.notEqual(cachedImageName('kathara'), cachedImageName('frr'));
  });
});

describe('a lab directory becomes the same Lab as a YAML lab', () => {
  const conf = `LAB_DESCRIPTION="two routers"
r1[0]=A/02:00:00:00:00:01
r1[1]=b_net
r1[mem]=256m
r1[sysctl]=net.ipv4.conf.all.rp_filter=0
r1[image]=kathara/frr:latest
r1[cpus]=2
r2[0]=b_net
r2[port]=8080:80/tcp
r2[exec]=echo hi
pc1[0]=A
`;
  const contents = dir(conf, {
    deviceDirs: ['r1', 'extra'],
    trees: {
      r1: [
        { path: '/etc/frr/frr.conf', text: 'router rip\n', executable: false },
        { path: '/bin/blob', executable: true },
      ],
      extra: [],
    },
    startup: { r1: 'ip addr add 10.0.0.1/24 dev eth0\n', shared: 'echo shared\n' },
    hasShared: true,
    sidecar: { file: 'demo/umlab.yaml', text: 'tests:\n  - name: r1 reaches r2\n    reach: { from: r1, to: 10.0.0.2 }\nvms:\n  r1: { console: pty }\n' },
  });
  const result = loadKatharaContents(contents, opts);

  it('loads with warnings only, and the lab has what lab.conf says', () => {
    assert.deepEqual(result.errors, []);
    const lab = result.lab!;
    assert.equal(lab.name, 'demo-lab');
    assert.equal(lab.description, 'two routers');
    assert.deepEqual(
      lab.vms.map((v) => v.name),
      ['r1', 'r2', 'pc1', 'extra'],
    );
    assert.deepEqual(
      lab.segments.map((s) => [s.kind, s.name]),
      [
        ['switch', 'a'],
        ['switch', 'b-net'],
        ['slirp', 'bridged'],
      ],
    );
    const [r1, r2] = lab.vms;
    assert.equal(r1!.memory, '256M');
    assert.equal(r1!.image, KATHARA_IMG);
    assert.equal(r1!.console, 'pty', 'umlab.yaml settings layered over lab.conf');
    assert.deepEqual(
      r1!.interfaces.map((i) => [i.name, i.connect, i.mac]),
      [
        ['eth0', 'a', '02:00:00:00:00:01'],
        ['eth1', 'b-net', undefined],
      ],
    );
    assert.deepEqual(r1!.sysctl, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '0' });
    assert.equal(r1!.files['/etc/frr/frr.conf'], 'router rip\n');
    assert.equal(r1!.files['/etc/umlab-kathara/r1.startup'], 'ip addr add 10.0.0.1/24 dev eth0\n');
    assert.equal(r1!.files['/etc/umlab-kathara/shared.startup'], 'echo shared\n');
    assert.equal(r1!.files['/bin/blob'], undefined, 'binary files are left out');
    assert.deepEqual(r1!.shares, [
      { mountPoint: '/hostlab', path: '.', rw: false },
      { mountPoint: '/shared', path: 'shared', rw: true },
    ]);
    assert.deepEqual(r1!.startup, ['bash /etc/umlab-kathara/run startup r1 demo']);
    assert.deepEqual(r2!.startup, ['bash /etc/umlab-kathara/run startup r2 demo', 'echo hi']);
    assert.deepEqual(
      r2!.interfaces.map((i) => [i.name, i.connect, i.dhcp]),
      [
        ['eth0', 'b-net', false],
        ['eth1', 'bridged', true],
      ],
    );
    const gw = lab.segments.find((s) => s.name === 'bridged') as SlirpSegment;
    assert.deepEqual(
      gw.forward.map((f) => [f.hostPort, f.vm, f.guestPort]),
      [[8080, 'r2', 80]],
    );
    assert.deepEqual(
      lab.tests.map((t) => t.name),
      ['r1 reaches r2'],
    );
    assert.deepEqual(where(result.warnings), [
      "demo/lab.conf:7:4: r1[cpus] is not used by umlab: a UML VM runs on one virtual CPU (Debian's UML kernel has no SMP); the value is ignored",
      '/labs/demo_Lab/r1/bin/blob:1:1: r1/bin/blob is not a text file; left out',
    ]);
  });

  it('the YAML `umlab import` writes loads to the same lab', () => {
    const again = parseLab(result.yaml, 'demo/lab.conf');
    assert.ok('lab' in again, JSON.stringify('errors' in again && again.errors));
    assert.deepEqual(again.lab, result.lab);
  });
});

describe('bad lab directories: errors at file:line:col', () => {
  const errorsOf = (c: LabDirContents, strict = false) => where(loadKatharaContents(c, { ...opts, strict }).errors);

  it('no lab.conf and no device directories', () => {
    assert.deepEqual(errorsOf(dir(undefined)), [
      'demo/lab.conf:1:1: /labs/demo_Lab is not a Kathará or Netkit lab: it has no lab.conf and no device directories',
    ]);
  });

  it('pc1[x]= (an option without a value)', () => {
    assert.deepEqual(errorsOf(dir('pc1[0]=A\npc1[x]=\n')), ['demo/lab.conf:2:8: pc1[x] has no value']);
  });

  it('an unknown image', () => {
    assert.deepEqual(errorsOf(dir('pc1[0]=A\npc1[image]="acme/router:1"\n')), ['demo/lab.conf:2:12: pc1: unknown image "acme/router:1"; cannot run it']);
  });

  it('a collision domain with a dot', () => {
    assert.deepEqual(errorsOf(dir('pc1[0]=A\npc2[0]=lan.1\n')), ['demo/lab.conf:2:8: collision domain "lan.1" has a dot in its name']);
  });

  it('two collision domains that differ only in case', () => {
    assert.deepEqual(errorsOf(dir('pc1[0]=lan_A\npc2[0]=LAN-a\n')), ['demo/lab.conf:2:8: collision domains "lan_A" and "LAN-a" would both be switch lan-a']);
  });

  it('an unsupported image leaves the device out with a warning; --strict makes it an error', () => {
    const c = dir('pc1[0]=A\nsw[0]=A\nsw[image]=kathara/p4\n');
    const loose = loadKatharaContents(c, opts);
    assert.deepEqual(
      loose.lab!.vms.map((v) => v.name),
      ['pc1'],
    );
    assert.match(
      where(loose.warnings)[0]!,
      /^demo\/lab.conf:3:11: sw: P4 software switches \(bmv2\) are not supported \(image kathara\/p4\); the device is left out/,
    );
    assert.match(errorsOf(c, true)[0]!, /^demo\/lab.conf:3:11: sw: P4/);
    const quagga = loadKatharaContents(dir('r1[0]=A\nr1[image]=kathara/quagga\n'), { ...opts, strict: true });
    assert.equal(quagga.errors.length, 0, 'a note (Quagga runs on FRR) is no error under --strict');
    assert.match(where(quagga.warnings)[0]!, /^demo\/lab.conf:2:11: r1: Quagga is gone from Debian: runs on FRR/);
  });

  it('an unknown option warns; --strict refuses it', () => {
    const c = dir('pc1[0]=A\npc1[colour]=red\n');
    assert.deepEqual(where(loadKatharaContents(c, opts).warnings), ['demo/lab.conf:2:5: unknown option pc1[colour]; ignored']);
    assert.deepEqual(errorsOf(c, true), ['demo/lab.conf:2:5: unknown option pc1[colour]; ignored']);
  });

  it("umlab's own rules, located in lab.conf: a MAC used twice, memory below 96M", () => {
    assert.deepEqual(
      errorsOf(dir('pc1[0]=A/02:00:00:00:00:01\npc2[0]=A/02:00:00:00:00:01\npc2[mem]=64m\n')).map((e) => e.replace(/ \(.*$/, '')),
      ['demo/lab.conf:2:10: MAC 02:00:00:00:00:01 is already used by pc1.eth0', 'demo/lab.conf:3:10: memory 64M is below 96M'],
    );
  });

  it('umlab.yaml problems point into umlab.yaml', () => {
    const c = dir('pc1[0]=A\n', { sidecar: { file: 'demo/umlab.yaml', text: 'tests:\n  - name: x\n    reach: { from: nobody, to: pc1 }\n' } });
    assert.match(errorsOf(c)[0]!, /^demo\/umlab.yaml:3:20: /);
  });

  it('lab.dep naming a device the lab does not have, and a cycle', () => {
    const c = dir('a[0]=X\nb[0]=X\n', { labDep: 'a: b ghost\nb: a\n' });
    assert.deepEqual(errorsOf(c), [
      'demo/lab.dep:1:1: lab.dep has a cycle: a -> b -> a',
      'demo/lab.dep:1:6: lab.dep names device ghost, which the lab does not have',
    ]);
  });

  it('names: lab names from the directory; paths survive the round trip through formatPath', () => {
    assert.equal(labNameOf('/x/My Lab_2/'), 'my-lab-2');
    const path = ['vms', 'r1', 'files', '/etc/frr/frr.conf', 3];
    assert.deepEqual(parsePath(formatPath(path)), path);
  });
});
