// The loader: YAML errors, schema errors and the model it builds, with positions.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LabFileError, NotFoundError } from '../../src/errors.ts';
import { formatPath } from '../../src/topology/lab-path.ts';
import { parseLab } from '../../src/planner/load.ts';
import { loadLabFile } from '../../src/runtime/lab-reader.ts';
import type { Lab } from '../../src/topology/model.ts';

function lab(text: string): Lab {
  const result = parseLab(text, 'lab.yaml');
  assert.ok('lab' in result, 'errors' in result ? JSON.stringify(result.errors, null, 2) : '');
  return result.lab;
}

function errors(text: string): string[] {
  const result = parseLab(text, 'lab.yaml');
  assert.ok('errors' in result, 'expected errors');
  return result.errors.map((e) => `${e.line}:${e.col} ${e.path} | ${e.message}`);
}

describe('parseLab: the model', () => {
  it('fills in defaults', () => {
    const l = lab(`name: defaults
switches: { sw0: }
mcast: { m0: , m1: { port: 2000 } }
taps: { up0: }
gateways: { nat0: }
vms:
  h1:
    interfaces:
      eth0: { connect: sw0, ip: 10.0.0.1/24 }
`);
    assert.equal(l.capture, true);
    assert.deepEqual(l.segments, [
      { kind: 'switch', name: 'sw0', ageing: 300 },
      { kind: 'mcast', name: 'm0', group: '239.192.0.1', port: 1102, ttl: 1 },
      { kind: 'mcast', name: 'm1', group: '239.192.1.1', port: 2000, ttl: 1 },
      { kind: 'tap', name: 'up0', proxyArp: false, ipForward: false },
      { kind: 'slirp', name: 'nat0', network: '10.0.2.0/24', dhcp: true, forward: [] },
    ]);
    assert.deepEqual(l.vms[0], {
      name: 'h1',
      memory: '128M',
      kernel: { args: [], skipInitcalls: ['raid6_select_algo', 'init_zswap'] },
      console: 'log',
      disks: [],
      shares: [],
      interfaces: [{ name: 'eth0', connect: 'sw0', addresses: ['10.0.0.1/24'], dhcp: false, proxyArp: false, capture: true }],
      serial: [],
      routes: [],
      sysctl: {},
      startup: [],
      shutdown: [],
      startAfter: [],
      ready: [],
      readyTimeout: 60,
      files: {},
    });
    assert.deepEqual(l.tests, []);
  });

  it('keeps segments in file order, sorts interfaces by number, normalises values', () => {
    const l = lab(`name: order
capture: false
defaults: { memory: 256M, console: pty }
hubs: { hub0: {} }
switches: { sw0: {} }
gateways:
  nat0: { network: 10.9.0.0/24, dhcp: false, forward: [ "tcp:8080:80", "udp:5353:h1:53" ] }
vms:
  h1:
    memory: 96M
    sysctl: { net.ipv4.ip_forward: 1, net.ipv4.conf.all.rp_filter: "0", net.ipv6.conf.all.disable_ipv6: false }
    interfaces:
      eth10: { connect: hub0, mac: "FE:FD:00:00:00:0A", capture: true }
      eth2: { connect: sw0, ip: [ 10.0.0.1/24, "fd00::1/64" ], proxy_arp: true }
      eth0: { connect: nat0, dhcp: true }
tests: [ { name: ping works, reach: { from: h1, to: 10.0.0.1 } } ]
`);
    assert.deepEqual(
      l.segments.map((s) => s.name),
      ['hub0', 'sw0', 'nat0'],
    );
    assert.deepEqual(l.segments[2], {
      kind: 'slirp',
      name: 'nat0',
      network: '10.9.0.0/24',
      dhcp: false,
      forward: [
        { proto: 'tcp', hostPort: 8080, guestPort: 80, spec: 'tcp:8080:80' },
        { proto: 'udp', hostPort: 5353, guestPort: 53, vm: 'h1', spec: 'udp:5353:h1:53' },
      ],
    });
    const h1 = l.vms[0]!;
    assert.equal(h1.memory, '96M');
    assert.equal(h1.console, 'pty');
    assert.deepEqual(h1.sysctl, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv6.conf.all.disable_ipv6': '0' });
    assert.deepEqual(
      h1.interfaces.map((i) => [i.name, i.addresses, i.mac, i.capture, i.proxyArp, i.dhcp]),
      [
        ['eth0', [], undefined, false, false, true],
        ['eth2', ['10.0.0.1/24', 'fd00::1/64'], undefined, false, true, false],
        ['eth10', [], 'fe:fd:00:00:00:0a', true, false, false],
      ],
    );
    assert.equal(l.capture, false);
    assert.deepEqual(l.tests, [{ name: 'ping works', after: [], kind: 'reach', from: 'h1', to: '10.0.0.1', expect: 'success' }]);
  });

  it('records the file as given and its absolute path', () => {
    const result = parseLab('name: x\nvms: { h1: }\n', 'labs/x.yaml');
    assert.ok('lab' in result);
    assert.equal(result.lab.file, 'labs/x.yaml');
    assert.equal(result.lab.source, join(process.cwd(), 'labs/x.yaml'));
  });
});

describe('parseLab: YAML errors', () => {
  it('locates a syntax error', () => {
    assert.deepEqual(errors('name: x\nvms:\n  h1: { interfaces: { eth0: { connect: sw0 }\n'), [
      '4:1  | YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('rejects duplicate keys (names unique within a kind) at the second key', () => {
    assert.deepEqual(errors('name: x\nswitches:\n  sw0: {}\n  sw0: {}\nvms: { h1: }\n'), ['4:3  | YAML: Map keys must be unique']);
  });

  it('rejects tabs and several documents', () => {
    assert.match(errors('name: x\nvms:\n\th1: {}\n')[0]!, /^3:1 .*Tabs/);
    assert.match(errors('name: x\n---\nname: y\n')[0]!, /^2:1 .*multiple documents/);
  });

  it('reports an empty file', () => {
    assert.deepEqual(errors(''), ['1:1  | the lab file is empty']);
    assert.deepEqual(errors('# only a comment\n'), ['1:1  | the lab file is empty']);
  });

  it('caps alias expansion (billion laughs)', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    const result = parseLab(bomb, 'bomb.yaml');
    assert.ok('errors' in result);
  });
});

describe('parseLab: schema errors', () => {
  it('points at the key of an unknown property and suggests the right one', () => {
    const result = parseLab('name: x\nvms:\n  h1:\n    memroy: 128M\n', 'lab.yaml');
    assert.ok('errors' in result);
    assert.deepEqual(result.errors, [
      { file: 'lab.yaml', line: 4, col: 5, path: 'vms.h1.memroy', message: 'unknown property "memroy"', hint: 'did you mean "memory"?' },
    ]);
  });

  it('lists the allowed properties when nothing is close', () => {
    const result = parseLab('name: x\nswitches: { sw0: { colour: red } }\nvms: { h1: }\n', 'lab.yaml');
    assert.ok('errors' in result);
    assert.equal(result.errors[0]!.hint, 'allowed here: ageing');
    assert.equal(`${result.errors[0]!.line}:${result.errors[0]!.col}`, '2:20');
  });

  it('points at the value of a wrong type, enum or pattern, with the schema description as hint', () => {
    const result = parseLab(
      `name: Bad_Name
vms:
  h2:
    interfaces:
      eth0: { connect: 5, ip: [1] }
    routes: "default"
    console: serial
    memory: 128MB
`,
      'lab.yaml',
    );
    assert.ok('errors' in result);
    assert.deepEqual(
      result.errors.map((e) => `${e.line}:${e.col} ${e.path} | ${e.message}`),
      [
        '1:7 name | "Bad_Name" is not valid here',
        '5:24 vms.h2.interfaces.eth0.connect | must be string, not number 5',
        '5:32 vms.h2.interfaces.eth0.ip[0] | must be string, not number 1',
        '6:13 vms.h2.routes | must be array, not string "default"',
        '7:14 vms.h2.console | must be one of "log", "pty", "port"',
        '8:13 vms.h2.memory | "128MB" is not valid here',
      ],
    );
    assert.match(result.errors[0]!.hint!, /^Lab name: lowercase letters/);
    assert.match(result.errors[5]!.hint!, /a number with K, M or G/);
  });

  it('points at the key of a badly named entry', () => {
    assert.deepEqual(errors('name: x\nvms:\n  h1: {}\n  Router_1: {}\n'), ['4:3 vms.Router_1 | invalid name "Router_1"']);
  });

  it('reports missing required properties at the start of the object', () => {
    assert.deepEqual(errors('description: no name, no VMs\n'), ['1:1  | missing required property "name"', '1:1  | missing required property "vms"']);
    assert.deepEqual(errors('name: x\nvms: {}\n'), ['2:6 vms | a lab needs at least one VM']);
    assert.deepEqual(errors('name: x\nvms: { h1: }\ntests: [ { reach: { from: h1, to: h1 } } ]\n'), ['3:10 tests[0] | missing required property "name"']);
  });

  it('reports range errors with the allowed range', () => {
    assert.deepEqual(errors('name: x\nmcast: { m: { ttl: 300 } }\nvms: { h1: }\n'), ['2:20 mcast.m.ttl | 300 must be <= 255']);
  });
});

describe('loadLabFile', () => {
  it('loads a file, throws LabFileError with every diagnostic, NotFoundError for a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'umlab-load-'));
    try {
      const good = join(dir, 'good.yaml');
      await writeFile(good, 'name: good\nvms: { h1: }\n');
      const l = await loadLabFile(good);
      assert.equal(l.name, 'good');
      assert.equal(l.source, good);

      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'name: bad\nvms:\n  h1:\n    memory: 32M\n    interfaces: { eth0: { connect: nowhere } }\n');
      await assert.rejects(loadLabFile(bad), (error: unknown) => {
        assert.ok(error instanceof LabFileError);
        assert.deepEqual(
          error.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}`),
          [`${bad}:4:13`, `${bad}:5:36`],
        );
        assert.match(error.message, /^2 problems in lab file:/);
        return true;
      });

      await assert.rejects(loadLabFile(join(dir, 'missing.yaml')), NotFoundError);
      await assert.rejects(loadLabFile(dir), LabFileError); // a directory: EISDIR
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('formatPath', () => {
  it('joins plain keys with dots, quotes others, brackets indexes', () => {
    assert.equal(formatPath(['vms', 'h1', 'interfaces', 'eth0', 'connect']), 'vms.h1.interfaces.eth0.connect');
    assert.equal(formatPath(['vms', 'r1', 'sysctl', 'net.ipv4.ip_forward']), 'vms.r1.sysctl["net.ipv4.ip_forward"]');
    assert.equal(formatPath(['gateways', 'nat0', 'forward', 1]), 'gateways.nat0.forward[1]');
    assert.equal(formatPath([]), '');
  });
});
