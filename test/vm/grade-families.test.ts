// `umlab grade` with kathara-lab-checker's protocols, applications and bridges families on real
// VMs: the Kathará OSPF lab judged from FRR's vtysh JSON, the DNS lab from dig and resolv.conf,
// the web lab from curl, a one-switch lab from ip -j link and bridge -j vlan; each check passes
// or fails with the evidence as its reason (one lab at a time, about two minutes).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedImagePath } from '../../src/kathara/images.ts';
import type { ClassReport } from '../../src/grade/reports.ts';
import { imageCacheDir } from '../../src/runtime/image-cache.ts';
import { cleanHome, lab, makeHome, umlab } from './helpers.ts';

const image = cachedImagePath(imageCacheDir(), 'kathara');
const notRoot = process.getuid?.() !== 0;
const skip =
  (process.platform !== 'linux' && 'needs Linux') ||
  (notRoot && !existsSync(image) && 'building the Kathará image needs root') ||
  (process.env.UMLAB_SKIP_SLOW_TESTS === '1' && !existsSync(image) && 'UMLAB_SKIP_SLOW_TESTS=1 and the Kathará image is not built yet (debootstrap)');
if (skip) process.stderr.write(`== test/vm/grade-families.test.ts is NOT run: ${skip}\n`);

const home = makeHome('umlab-grade-families-');
after(() => cleanHome(home));

// OSPF's LSAs wait up to 5 s between originations; under a loaded CI host 20 s was once too short for r1's stub LAN
// (the checks are judged from 35 s after the lab is up, each retried for 10 s).
const OSPF = `convergence_time: 35
test:
  protocols:
    ospfd:
      neighbors:
        r1: [ { router_id: 2.2.2.2, state: FULL }, { router_id: 9.9.9.9 } ]
      routes:
        r2: [ { route: 10.30.1.0/24 } ]
      interfaces:
        r1: { eth0: { cost: 10, networkType: BROADCAST } }
      networks:
        r1: [ 10.30.0.0/16 ]
      injections:
        r1: [ "!connected", static ]
`;

const DNS = `convergence_time: 15
test:
  ip_mapping:
    dns: { eth0: 10.50.0.53/24 }
  applications:
    dns:
      authoritative:
        lab.example: [ 10.50.0.53 ]
      local_ns:
        10.50.0.53: [ client ]
      records:
        A:
          www.lab.example: [ 10.50.0.80 ]
          mail.lab.example: [ 10.50.0.25 ]
`;

const WEB = `convergence_time: 20
test:
  applications:
    http:
      client:
        - { url: "http://10.60.2.80/", status_code: 200, body_contains: umlab kathara web lab }
        - { url: "http://10.60.2.80/missing.html", method: get, status_code: 200 }
`;

const BRIDGES = `convergence_time: 10
test:
  bridges:
    s1:
      - interfaces: { eth0: { vlan_tags: [10, 20], pvid: 20 }, eth1: { pvid: 5 } }
`;

/** A Kathará lab of one switch: a VLAN-filtering Linux bridge of eth0 (VLANs 10 and 20, PVID 20) and eth1. */
function bridgeLab(): string {
  const dir = join(home, 'switch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'lab.conf'), 's1[0]=a\ns1[1]=b\n');
  const startup = [
    'ip link add br0 type bridge vlan_filtering 1',
    'ip link set eth0 master br0',
    'ip link set eth1 master br0',
    'bridge vlan add dev eth0 vid 10',
    'bridge vlan add dev eth0 vid 20 pvid untagged',
    'ip link set br0 up',
  ];
  writeFileSync(join(dir, 's1.startup'), `${startup.join('\n')}\n`);
  return dir;
}

/** Grades one Kathará lab directory with a kathara-lab-checker configuration; each check as "verdict name: reason". */
async function grade(name: string, config: string, labDir: string): Promise<string[]> {
  const spec = join(home, `${name}.yaml`);
  writeFileSync(spec, config);
  const out = join(home, `${name}-out`);
  const r = await umlab(home, ['grade', spec, labDir, '--out', out, '--timeout', '240', '--build-images'], { timeout: 20 * 60_000 });
  assert.equal(r.exitCode === 0 || r.exitCode === 1, true, `umlab grade exited ${r.exitCode}\n${r.stderr}`);
  const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ClassReport;
  assert.equal(report.students.length, 1);
  assert.equal(report.students[0]!.status, 'graded', report.students[0]!.problem);
  return report.students[0]!.checks.map((c) => `${c.verdict} ${c.name}: ${c.reason.replace(/ \((try \d+, after|still so after) [^)]*\)$/, '')}`);
}

describe('umlab grade: kathara-lab-checker protocols, applications and bridges', { skip }, () => {
  it('OSPF on FRR: neighbours, routes, interface parameters, networks and injections from vtysh', { timeout: 20 * 60_000 }, async () => {
    assert.deepEqual(await grade('ospf', OSPF, lab('kathara/ospf')), [
      'pass Check ospfd network (10.30.0.0/16) for r1: ospfd on r1 announces 10.30.0.0/16',
      'pass Checking that connected routes are not redistributed to ospfd on device `r1`: connected routes are not redistributed into ospfd on r1',
      'fail Checking that static routes are redistributed to ospfd on device `r1`: ospfd on r1: static routes are not injected into ospfd (its redistribute lines: none)',
      'pass OSPF neighbor 2.2.2.2 on r1: neighbour 2.2.2.2 of r1 is FULL',
      'fail OSPF neighbor 9.9.9.9 on r1: ospfd on r1: no neighbour 9.9.9.9 (has: 2.2.2.2 Full, 3.3.3.3 Full)',
      'pass OSPF route 10.30.1.0/24 on r2: r2 has the OSPF route 10.30.1.0/24',
      'pass OSPF interface eth0 on r1: cost: eth0 of r1 has cost 10',
      'pass OSPF interface eth0 on r1: networkType: eth0 of r1 has networkType "BROADCAST"',
    ]);
  });

  it('DNS on bind9: the local name server, the zone authority and the records, from resolv.conf and dig', { timeout: 10 * 60_000 }, async () => {
    assert.deepEqual(await grade('dns', DNS, lab('kathara/dns')), [
      'pass Verifying the IP address (10.50.0.53/24) assigned to eth0 of dns: exit 0, output matches /inet6? 10\\.50\\.0\\.53/24 /',
      'pass Checking that `10.50.0.53` is the local name server for device `client`: 10.50.0.53 is a name server of client',
      'pass Checking on `dns` that `10.50.0.53` is the authority for domain `lab.example`: 10.50.0.53 names 10.50.0.53 as an authority for lab.example',
      'pass Checking correctness of DNS records: A www.lab.example on client: client resolves A www.lab.example to 10.50.0.80',
      'fail Checking correctness of DNS records: A mail.lab.example on client: client resolves A mail.lab.example to nothing instead of 10.50.0.25',
    ]);
  });

  it('HTTP on apache2: status codes and body from curl on the client', { timeout: 10 * 60_000 }, async () => {
    assert.deepEqual(await grade('web', WEB, lab('kathara/web')), [
      "pass HTTP check 'http://10.60.2.80/' on client status: HTTP 200 from http://10.60.2.80/",
      "pass HTTP check 'http://10.60.2.80/' on client body substring 'umlab kathara web lab': the body of http://10.60.2.80/ contains 'umlab kathara web lab'",
      "fail HTTP check 'http://10.60.2.80/missing.html' on client status: expected HTTP 200 from http://10.60.2.80/missing.html, got 404",
    ]);
  });

  it('a Linux bridge: membership, VLAN filtering, VLAN tags and PVIDs from ip -j link and bridge -j vlan', { timeout: 10 * 60_000 }, async () => {
    assert.deepEqual(await grade('bridges', BRIDGES, bridgeLab()), [
      'pass Checking that interfaces ["eth0","eth1"] are attached to the same bridge on `s1`: eth0, eth1 are attached to br0',
      'pass Checking if VLAN filtering is enabled on the bridge of eth0, eth1 of `s1`: br0 filters VLANs',
      'pass Getting VLAN info for `eth0` on `s1`: eth0 has VLANs 1, 10, 20',
      'pass Checking that vlans `[10,20]` are configured on `eth0` of `s1`: eth0 carries the VLANs 10, 20',
      'pass Checking that `eth0` of `s1` has pvid 20: eth0 has PVID 20',
      'pass Getting VLAN info for `eth1` on `s1`: eth1 has VLANs 1',
      'fail Checking that `eth1` of `s1` has pvid 5: bridges on s1: eth1 has PVID 1 (instead of 5)',
    ]);
  });
});
