// kathara-lab-checker's protocols, applications and bridges families: what checks a
// configuration gives (names, commands, what each judges), the file:line:col errors of unknown
// keys, and the judging of command outputs as FRR 8.4, dig, curl and iproute2 print them (the
// JSON samples are trimmed copies of what the Kathará image printed in a running lab).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKlcSpec } from '../../src/grade/klc-spec.ts';
import { judgeOutput, runJudged, type Judge } from '../../src/grade/klc-judge.ts';
import type { LiveCheck } from '../../src/grade/spec.ts';

function live(text: string): LiveCheck[] {
  const r = parseKlcSpec(text, 'c.yaml', () => undefined);
  assert.ok('spec' in r, JSON.stringify(r));
  return r.spec.checks.filter((c): c is LiveCheck => c.kind === 'live' && c.judge !== undefined);
}
const errorsOf = (text: string) => {
  const r = parseKlcSpec(text, 'c.yaml', () => undefined);
  assert.ok('errors' in r);
  return r.errors.map((e) => `${e.line}:${e.col} ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
};
const ok = (stdout: string, exitCode = 0) => ({ stdout, stderr: '', exitCode });
const judge = (j: Judge, stdout: string, exitCode = 0) => judgeOutput(j, ok(stdout, exitCode));

const OSPF_NEIGHBOURS = JSON.stringify({
  neighbors: {
    '2.2.2.2': [{ priority: 1, state: 'Full/Backup', converged: 'Full', role: 'Backup', ifaceName: 'eth0:10.30.12.1' }],
    '3.3.3.3': [{ priority: 1, state: 'Init/DROther', converged: 'Init', role: 'DROther', ifaceName: 'eth1:10.30.13.1' }],
  },
});
const OSPF_ROUTES = JSON.stringify({
  '10.30.1.0/24': { routeType: 'N', cost: 10, area: '0.0.0.0', nexthops: [{ ip: ' ', directlyAttachedTo: 'eth2' }] },
  '10.30.2.0/24': { routeType: 'N', cost: 20, area: '0.0.0.0', nexthops: [{ ip: '10.30.12.2', via: 'eth0' }] },
});
const OSPF_INTERFACES = JSON.stringify({ interfaces: { eth0: { ospfIfType: 'Broadcast', networkType: 'BROADCAST', cost: 10, state: 'DR' } } });
const BGP_SUMMARY = JSON.stringify({
  ipv4Unicast: {
    routerId: '10.40.0.1',
    as: 65001,
    peers: { '10.40.0.2': { remoteAs: 65002, state: 'Established', pfxRcd: 1 }, '10.40.0.3': { remoteAs: 65003, state: 'Active' } },
  },
});
const BGP_ROUTES = JSON.stringify({
  routerId: '10.40.0.1',
  routes: {
    '10.41.0.0/24': [{ valid: true, bestpath: true, path: '', network: '10.41.0.0/24' }],
    '10.42.0.0/24': [
      { valid: true, bestpath: true, path: '65002', network: '10.42.0.0/24' },
      { valid: true, path: '65003 65002', network: '10.42.0.0/24' },
    ],
  },
});
const RUNNING_OSPFD = ['router ospf', ' ospf router-id 1.1.1.1', ' redistribute connected', ' network 10.30.0.0/16 area 0', 'exit'].join('\n');

describe('kathara-lab-checker protocols', () => {
  const spec = `test:
  protocols:
    ospfd:
      neighbors:
        r1: [ { router_id: 2.2.2.2, state: FULL }, { router_id: 3.3.3.3 } ]
      routes:
        r1: [ { route: 10.30.2.0/24 } ]
      interfaces:
        r1: { eth0: { cost: 10 } }
      injections:
        r1: [ connected, "!static" ]
    bgpd:
      neighbors:
        as1r: [ { ip: 10.40.0.2, asn: 65002 } ]
      routes:
        as1r: [ { route: 10.42.0.0/24, aspath: [[65002], [65003, 65002]] } ]
      networks:
        as1r: [ 10.41.0.0/24 ]
`;
  it('one check per expectation, named as the checker names them, each a vtysh command in the device', () => {
    const checks = live(spec);
    assert.deepEqual(
      checks.map((c) => [c.name, c.test.kind === 'command' && `${c.test.vm}: ${c.test.run}`]),
      [
        ['Checking that connected routes are redistributed to ospfd on device `r1`', "r1: vtysh -c 'show running-config ospfd'"],
        ['Checking that static routes are not redistributed to ospfd on device `r1`', "r1: vtysh -c 'show running-config ospfd'"],
        ['OSPF neighbor 2.2.2.2 on r1', "r1: vtysh -c 'show ip ospf neighbor json'"],
        ['OSPF neighbor 3.3.3.3 on r1', "r1: vtysh -c 'show ip ospf neighbor json'"],
        ['OSPF route 10.30.2.0/24 on r1', "r1: vtysh -c 'show ip ospf route json'"],
        ['OSPF interface eth0 on r1: cost', "r1: vtysh -c 'show ip ospf interface json'"],
        ['Check bgpd network (10.41.0.0/24) for as1r', "as1r: vtysh -c 'show running-config bgpd'"],
        ['Checking as1r BGP neighbors', "as1r: vtysh -c 'show bgp summary json'"],
        ['as1r has bgp neighbor 10.40.0.2 AS65002 established', "as1r: vtysh -c 'show bgp summary json'"],
        ['Check BGP routes for as1r: 10.42.0.0/24', "as1r: vtysh -c 'show ip bgp json'"],
      ],
    );
    assert.ok(checks.every((c) => c.judge?.family === 'protocols'));
  });

  it('an unknown key in a daemon or an entry is an error at its position', () => {
    assert.deepEqual(
      errorsOf('test:\n  protocols:\n    ospfd:\n      neighbours: {}\n    bgpd:\n      neighbors:\n        r1: [ { ip: 10.0.0.1, as: 1 } ]\n'),
      ['4:7 unknown key "neighbours" (did you mean "neighbors"?)', '7:31 unknown key "as" (did you mean "asn"?)'],
    );
  });

  it('ospfd neighbours: present and in the expected state (FULL by default)', () => {
    const [full, init] = live(spec).filter((c) => c.name.startsWith('OSPF neighbor'));
    assert.deepEqual(judge(full!.judge!, OSPF_NEIGHBOURS), { pass: true, reason: 'neighbour 2.2.2.2 of r1 is FULL' });
    assert.deepEqual(judge(init!.judge!, OSPF_NEIGHBOURS), { pass: false, reason: 'ospfd on r1: neighbour 3.3.3.3 is Init, expected FULL' });
    assert.deepEqual(judge(full!.judge!, '{"neighbors":{}}'), { pass: false, reason: 'ospfd on r1: no neighbour 2.2.2.2 (has: none)' });
    assert.match(judge(full!.judge!, 'ospfd is not running', 1).reason, /^ospfd on r1: the command failed \(exit 1\): ospfd is not running/);
    assert.match(judge(full!.judge!, '% Unknown command').reason, /^ospfd on r1: the command printed no JSON: % Unknown command/);
  });

  it('ospfd routes and interface parameters', () => {
    const checks = live(spec);
    const route = checks.find((c) => c.name.startsWith('OSPF route'))!.judge!;
    assert.equal(judge(route, OSPF_ROUTES).pass, true);
    assert.deepEqual(judge({ ...route, route: '10.30.9.0/24' } as Judge, OSPF_ROUTES), {
      pass: false,
      reason: 'ospfd on r1: no OSPF route 10.30.9.0/24 (has: 10.30.1.0/24, 10.30.2.0/24)',
    });
    const cost = checks.find((c) => c.name.startsWith('OSPF interface'))!.judge!;
    assert.equal(judge(cost, OSPF_INTERFACES).pass, true);
    assert.deepEqual(judge({ ...cost, value: 20 } as Judge, OSPF_INTERFACES), { pass: false, reason: 'ospfd on r1: interface eth0: cost is 10, expected 20' });
    assert.match(judge({ ...cost, iface: 'eth5' } as Judge, OSPF_INTERFACES).reason, /interface eth5 not found among its OSPF interfaces \(eth0\)/);
  });

  it('injections and networks: lines of the daemon running configuration', () => {
    const [connected, noStatic] = live(spec);
    assert.equal(judge(connected!.judge!, RUNNING_OSPFD).pass, true);
    assert.equal(judge(noStatic!.judge!, RUNNING_OSPFD).pass, true);
    assert.deepEqual(judge(noStatic!.judge!, RUNNING_OSPFD.replace('connected', 'static')), {
      pass: false,
      reason: 'ospfd on r1: static routes are injected into ospfd (its redistribute lines: redistribute static)',
    });
    const network = live(spec).find((c) => c.name.startsWith('Check bgpd network'))!.judge!;
    assert.equal(judge(network, ' network 10.41.0.0/24\n').pass, true);
    assert.deepEqual(judge(network, ' network 10.43.0.0/24\n'), {
      pass: false,
      reason: 'bgpd on as1r: network 10.41.0.0/24 is not announced (its network lines: network 10.43.0.0/24)',
    });
  });

  it('bgpd: exactly the expected peers; each with its AS and Established; routes with their AS paths', () => {
    const checks = live(spec);
    const peers = checks.find((c) => c.name === 'Checking as1r BGP neighbors')!.judge!;
    assert.deepEqual(judge(peers, BGP_SUMMARY), { pass: false, reason: 'bgpd on as1r: extra BGP neighbors 10.40.0.3 (has: 10.40.0.2, 10.40.0.3)' });
    assert.deepEqual(judge({ ...peers, peers: ['2001:db8::1'] } as Judge, BGP_SUMMARY).reason.split('; ')[0], 'bgpd on as1r: no IPv6 BGP neighbors');
    const peer = checks.find((c) => c.name.endsWith('established'))!.judge!;
    assert.equal(judge(peer, BGP_SUMMARY).pass, true);
    assert.deepEqual(judge({ ...peer, ip: '10.40.0.3', asn: 65003 } as Judge, BGP_SUMMARY), {
      pass: false,
      reason: 'bgpd on as1r: the session with 10.40.0.3 AS65003 is configured but in the Active state',
    });
    assert.deepEqual(judge({ ...peer, asn: 1 } as Judge, BGP_SUMMARY), { pass: false, reason: 'bgpd on as1r: neighbor 10.40.0.2 has AS 65002 instead of 1' });
    const route = checks.find((c) => c.name.startsWith('Check BGP routes'))!.judge!;
    assert.equal(judge(route, BGP_ROUTES).pass, true, 'the AS paths in any order');
    assert.deepEqual(judge({ ...route, aspaths: ['65002'] } as Judge, BGP_ROUTES), {
      pass: false,
      reason: 'bgpd on as1r: 10.42.0.0/24 has 2 path(s) [65002] [65003 65002], expected 1: [65002]',
    });
    assert.equal(judge({ ...route, route: '10.41.0.0/24', aspaths: [''] } as Judge, BGP_ROUTES).pass, true, 'a route of its own has an empty path');
  });
});

describe('kathara-lab-checker applications', () => {
  const spec = `test:
  ip_mapping:
    dnsroot: { eth0: 10.0.0.53/24 }
    dnsorg: { 0: 10.0.1.53/24 }
  applications:
    dns:
      authoritative:
        org: [ 10.0.1.53 ]
      local_ns:
        10.0.0.53: [ pc1 ]
      records:
        A:
          www.org: [ 10.0.1.80 ]
    http:
      pc1:
        - { url: "http://10.0.1.80/", status_code: 200, body_contains: It works }
`;
  it('checks and commands: resolv.conf, dig at the name server, dig on each client, curl', () => {
    const checks = live(spec);
    assert.deepEqual(
      checks.map((c) => c.name),
      [
        'Checking that `10.0.0.53` is the local name server for device `pc1`',
        'Checking on `dnsorg` that `10.0.1.53` is the authority for domain `org`',
        'Checking correctness of DNS records: A www.org on pc1',
        "HTTP check 'http://10.0.1.80/' on pc1 status",
        "HTTP check 'http://10.0.1.80/' on pc1 body substring 'It works'",
      ],
    );
    const run = (i: number) => (checks[i]!.test.kind === 'command' ? checks[i]!.test.run : '');
    assert.match(run(1), /^out=\$\(dig \+time=2 \+tries=1 NS org @10\.0\.1\.53\);/);
    assert.equal(run(2), 'dig +short A www.org');
    assert.equal(run(3), "curl -s --max-time 10 -X GET -w '===CURL_STATUS===%{http_code}' http://10.0.1.80/");
  });

  it('the root zone is asked of every name server and local name server', () => {
    const names = live(spec.replace('org: [ 10.0.1.53 ]', '".": [ 10.0.0.53 ]')).map((c) => c.name);
    assert.equal(names.filter((n) => n.includes('is the authority for domain `.`')).length, 3);
  });

  it('a name server missing from ip_mapping is an error; authorities without local_ns are not run (as in the checker)', () => {
    assert.deepEqual(errorsOf(spec.replace('org: [ 10.0.1.53 ]', 'org: [ 10.9.9.9 ]')), [
      '8:16 no device of ip_mapping has the address 10.9.9.9 (kathara-lab-checker asks the name server on the device ip_mapping gives it)',
    ]);
    const r = parseKlcSpec('test:\n  applications:\n    dns:\n      authoritative: { org: [ 10.0.1.53 ] }\n', 'c.yaml', () => undefined);
    assert.ok('spec' in r);
    assert.deepEqual(
      r.spec.checks.map((c) => c.kind),
      ['unsupported'],
    );
    assert.deepEqual(errorsOf('test:\n  applications:\n    http:\n      pc1: [ { url: x, body: y } ]\n'), [
      '4:24 unknown key "body" (known here: url, method, status_code, regex_body, body_contains)',
    ]);
  });

  it('judges resolv.conf, the authorities, the records and the HTTP answer', () => {
    const [ns, authority, record, status, body] = live(spec).map((c) => c.judge!);
    assert.equal(judge(ns!, 'search org\nnameserver 10.0.0.53\n').pass, true);
    assert.deepEqual(judge(ns!, 'nameserver 8.8.8.8\n'), { pass: false, reason: "pc1's resolv.conf does not name 10.0.0.53 (its name servers: 8.8.8.8)" });
    assert.equal(judge(authority!, 'STATUS NOERROR\nNS ns.org. 10.0.1.53 \n').pass, true);
    assert.deepEqual(judge(authority!, 'STATUS NOERROR\nNS ns.org. 10.0.1.54 \n'), {
      pass: false,
      reason: 'the authorities for org given by 10.0.1.53 have the addresses ns.org. 10.0.1.54, not 10.0.1.53',
    });
    assert.deepEqual(judge(authority!, 'STATUS SERVFAIL\n'), { pass: false, reason: 'named on dnsorg answered SERVFAIL with 0 NS record(s) for org' });
    assert.match(judge(authority!, '').reason, /did not answer/);
    assert.equal(judge(record!, '10.0.1.80\n').pass, true);
    assert.deepEqual(judge(record!, ''), { pass: false, reason: 'pc1 resolves A www.org to nothing instead of 10.0.1.80' });
    assert.equal(judge(status!, '<h1>It works!</h1>===CURL_STATUS===200').pass, true);
    assert.deepEqual(judge(status!, 'Not Found===CURL_STATUS===404'), { pass: false, reason: 'expected HTTP 200 from http://10.0.1.80/, got 404' });
    assert.deepEqual(judge(status!, '===CURL_STATUS===000', 7), { pass: false, reason: 'http://10.0.1.80/ did not answer pc1 (curl exit 7)' });
    assert.equal(judge(body!, '<h1>It works!</h1>===CURL_STATUS===200').pass, true);
    assert.equal(judge(body!, 'Forbidden===CURL_STATUS===403').pass, false);
  });
});

describe('kathara-lab-checker bridges', () => {
  const spec = 'test:\n  bridges:\n    s1:\n      - interfaces: { eth0: { vlan_tags: [10, 20], pvid: 20 }, eth1: {} }\n';
  const links = (eth1Master?: string) =>
    JSON.stringify([
      { ifname: 'eth0', master: 'br0' },
      { ifname: 'eth1', ...(eth1Master && { master: eth1Master }) },
      { ifname: 'br0', linkinfo: { info_kind: 'bridge', info_data: { vlan_filtering: 1 } } },
      { ifname: 'br1', linkinfo: { info_kind: 'bridge', info_data: { vlan_filtering: 0 } } },
    ]);
  const vlans = JSON.stringify([
    { ifname: 'eth0', vlans: [{ vlan: 1, flags: ['Egress Untagged'] }, { vlan: 10 }, { vlan: 20, flags: ['PVID', 'Egress Untagged'] }] },
    { ifname: 'eth1', vlans: [{ vlan: 1, flags: ['PVID', 'Egress Untagged'] }] },
  ]);
  const out = (l: string) => `${l}\n\n#umlab-bridge-vlan#\n${vlans}`;
  it('membership, VLAN filtering, VLAN info, tags and PVID, from ip -d -j link and bridge -j vlan', () => {
    const checks = live(spec);
    assert.equal(checks.length, 6);
    const verdicts = checks.map((c) => judge(c.judge!, out(links('br0'))));
    assert.deepEqual(
      verdicts.map((v) => v.pass),
      [true, true, true, true, true, true],
    );
    assert.deepEqual(judge(checks[0]!.judge!, out(links())), { pass: false, reason: 'bridges on s1: interfaces eth1 are not attached to any bridge' });
    assert.match(judge(checks[0]!.judge!, out(links('br1'))).reason, /not attached to the same bridge: eth0 to br0 \(bridge\), eth1 to br1 \(bridge\)/);
    assert.deepEqual(judge({ ...checks[3]!.judge!, tags: [10] } as Judge, out(links('br0'))), {
      pass: false,
      reason: 'bridges on s1: eth0 carries the VLANs 10, 20 (besides 1), expected 10',
    });
    assert.deepEqual(judge({ ...checks[4]!.judge!, pvid: 10 } as Judge, out(links('br0'))), {
      pass: false,
      reason: 'bridges on s1: eth0 has PVID 20 (instead of 10)',
    });
  });
});

describe('judged checks run until their deadline', () => {
  it('retries until the output passes; a command that cannot run is an error, never a pass', async () => {
    const [check] = live('test:\n  protocols:\n    ospfd:\n      neighbors:\n        r1: [ { router_id: 2.2.2.2 } ]\n');
    const test = check!.test.kind === 'command' ? { ...check!.test, within: 5 } : assert.fail();
    let calls = 0;
    const r = await runJudged(test, check!.judge!, async () => ok(++calls < 3 ? '{"neighbors":{}}' : OSPF_NEIGHBOURS), 1);
    assert.equal(r.status, 'pass');
    assert.equal(r.tries, 3);
    assert.match(r.message, /^neighbour 2\.2\.2\.2 of r1 is FULL \(try 3, after /);
    assert.deepEqual(r.commands, ["r1: vtysh -c 'show ip ospf neighbor json'"]);
    const failed = await runJudged({ ...test, within: 0.05 }, check!.judge!, async () => ok('{"neighbors":{}}'), 1);
    assert.equal(failed.status, 'fail');
    assert.match(failed.message, /^ospfd on r1: no neighbour 2\.2\.2\.2 \(has: none\) \(still so after \d+ tries in /);
    const broken = await runJudged({ ...test, within: 0 }, check!.judge!, () => Promise.reject(new Error('no agent')), 1);
    assert.deepEqual([broken.status, broken.message.split(' (')[0]], ['error', 'could not run: no agent']);
  });
});
