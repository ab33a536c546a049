// Every semantic rule against a fixture that breaks it: exact line, column, path and
// the gist of message and hint. The whole rule set must report exactly these errors
// on the fixture (no false positives from other rules), and the rule alone as well.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { labRules, parseLab } from '../../src/planner/load.ts';
import * as rules from '../../src/topology/rules/index.ts';
import type { Rule } from '../../src/topology/rules/index.ts';
import { kernelArgs } from '../../src/topology/rules/kernel.ts';
import { mcastGroups } from '../../src/kinds/mcast/rules.ts';
import { forwardPorts, forwardTargets, gatewayNetworks } from '../../src/kinds/slirp/rules.ts';
import { rwShareTargets } from '../../src/topology/rules/shares.ts';
import { filePaths } from '../../src/topology/rules/files.ts';
import { diskSizes, imagePaths, memoryMaximum } from '../../src/topology/rules/resources.ts';

interface Expected {
  line: number;
  col: number;
  path: string;
  /** A piece of the message. */
  message: string;
  /** A piece of the hint. */
  hint: string;
}

interface Case {
  rule: Rule;
  fixture: string;
  errors: Expected[];
}

const CASES: Case[] = [
  {
    rule: rules.startAfterNames,
    fixture: 'rule-start-after-names.yaml',
    errors: [
      { line: 5, col: 19, path: 'vms.a.start_after[0]', message: 'a cannot start after itself', hint: 'name the VMs' },
      { line: 5, col: 22, path: 'vms.a.start_after[1]', message: 'no VM named "ghost"', hint: 'VMs of this lab: a, b' },
    ],
  },
  {
    rule: rules.startAfterAcyclic,
    fixture: 'rule-start-after-cycle.yaml',
    errors: [{ line: 7, col: 5, path: 'vms.b.start_after', message: 'start_after goes round in a circle: b -> c -> b', hint: 'take one of these out' }],
  },
  {
    rule: rules.linkConditionsValid,
    fixture: 'rule-link-conditions.yaml',
    errors: [
      { line: 8, col: 23, path: 'vms.h1.interfaces.eth0.link.loss', message: 'loss 120% is over 100%', hint: 'Link conditions' },
      { line: 8, col: 37, path: 'vms.h1.interfaces.eth0.link.jitter', message: 'jitter needs a delay', hint: 'Link conditions' },
      { line: 13, col: 23, path: 'vms.h2.interfaces.eth0.link.rate', message: 'rate 1kbit is below 8kbit', hint: 'Link conditions' },
      { line: 13, col: 50, path: 'vms.h2.interfaces.eth0.link.ingress.reorder', message: 'reorder needs a delay', hint: 'Link conditions' },
    ],
  },
  {
    rule: rules.linkSettingsSupported,
    fixture: 'rule-link-settings-supported.yaml',
    errors: [
      { line: 7, col: 28, path: 'vms.h1.interfaces.eth0.link', message: 'whose links cannot be impaired', hint: 'switches, hubs and point-to-point links' },
      { line: 8, col: 30, path: 'vms.h1.interfaces.eth1.vlan', message: 'is on a hub, which has no VLANs', hint: 'ports of switches' },
    ],
  },
  {
    rule: rules.vlanPorts,
    fixture: 'rule-vlan-ports.yaml',
    errors: [
      { line: 6, col: 39, path: 'vms.h1.interfaces.eth0.vlans', message: 'either an access port (vlan:) or a trunk', hint: 'native: N' },
      { line: 7, col: 29, path: 'vms.h1.interfaces.eth1.native', message: '`native:` is for trunks', hint: 'vlan: N' },
      { line: 8, col: 54, path: 'vms.h1.interfaces.eth2.native', message: 'VLAN 20 cannot be both native', hint: 'take 20 out' },
    ],
  },
  {
    rule: rules.uniqueNames,
    fixture: 'rule-unique-names.yaml',
    errors: [
      { line: 6, col: 3, path: 'hubs.lan', message: 'name "lan" is already used by a switch (line 4)', hint: 'rename one' },
      { line: 8, col: 3, path: 'vms.lan', message: 'name "lan" is already used by a switch (line 4)', hint: 'share one set of names' },
    ],
  },
  {
    rule: rules.interfaceNames,
    fixture: 'rule-interface-names.yaml',
    errors: [
      { line: 8, col: 7, path: 'vms.h1.interfaces.lan0', message: '"lan0" is not ethN', hint: 'eth0, eth1' },
      { line: 9, col: 7, path: 'vms.h1.interfaces.eth01', message: '"eth01" is not ethN', hint: 'no leading zeros' },
    ],
  },
  {
    rule: rules.connectTargetsExist,
    fixture: 'rule-connect-targets.yaml',
    errors: [
      { line: 7, col: 24, path: 'vms.h1.interfaces.eth0.connect', message: 'no segment named "sw9"', hint: 'did you mean "sw0"?' },
      { line: 8, col: 24, path: 'vms.h1.interfaces.eth1.connect', message: '"h2" is a VM, not a segment', hint: '`connect: h2.eth0`' },
      { line: 9, col: 24, path: 'vms.h1.interfaces.eth2.connect', message: 'no VM named "h9"', hint: 'did you mean "h1.eth0"?' },
      { line: 10, col: 24, path: 'vms.h1.interfaces.eth3.connect', message: '"lan0" is not an interface name', hint: 'h2.eth0' },
      { line: 11, col: 24, path: 'vms.h1.interfaces.eth4.connect', message: 'cannot connect to itself', hint: 'another interface' },
    ],
  },
  {
    rule: rules.p2pPeerPointsBack,
    fixture: 'rule-p2p-peer-points-back.yaml',
    errors: [
      {
        line: 8,
        col: 24,
        path: 'vms.r1.interfaces.eth1.connect',
        message: 'h2.eth0 connects to "sw0", not back to r1.eth1',
        hint: 'remove `connect:` from h2.eth0',
      },
      { line: 11, col: 24, path: 'vms.h2.interfaces.eth0.connect', message: 'but r1.eth1 links to it point-to-point', hint: 'or link r1.eth1 elsewhere' },
    ],
  },
  {
    rule: rules.interfaceUsedOnce,
    fixture: 'rule-interface-used-once.yaml',
    errors: [{ line: 9, col: 24, path: 'vms.r2.interfaces.eth0.connect', message: 'h2.eth0 is already linked with r1.eth0 (line 6)', hint: 'e.g. h2.eth1' }],
  },
  {
    rule: rules.interfaceConnected,
    fixture: 'rule-interface-connected.yaml',
    errors: [{ line: 8, col: 7, path: 'vms.h1.interfaces.eth1', message: 'h1.eth1 is not connected to anything', hint: 'add `connect: <segment>`' }],
  },
  {
    rule: rules.validCidrs,
    fixture: 'rule-valid-cidrs.yaml',
    errors: [
      { line: 5, col: 19, path: 'taps.up0.host_ip', message: '"192.168.0.254" is not a valid CIDR', hint: 'e.g. 192.168.0.254/24' },
      { line: 9, col: 33, path: 'vms.h1.interfaces.eth0.ip', message: '"10.0.0.300/24" is not a valid CIDR', hint: 'with its prefix length' },
      { line: 12, col: 31, path: 'vms.h1.interfaces.eth1.ip[1]', message: '"10.0.1.1" is not a valid CIDR', hint: 'add the prefix length, e.g. 10.0.1.1/24' },
      { line: 12, col: 41, path: 'vms.h1.interfaces.eth1.ip[2]', message: '"fd00::1::2/64" is not a valid CIDR', hint: 'IPv6 (fd00::1/64)' },
    ],
  },
  {
    rule: rules.uniqueAddressPerSegment,
    fixture: 'rule-unique-address.yaml',
    errors: [
      {
        line: 10,
        col: 34,
        path: 'vms.h1.interfaces.eth2.ip',
        message: '10.0.2.2 is already used on nat0 by gateway nat0 (its router)',
        hint: 'its own address',
      },
      { line: 13, col: 48, path: 'vms.h2.interfaces.eth0.ip[1]', message: '10.0.0.1 is already used on sw0 by h1.eth0 (line 8)', hint: 'its own address' },
      // fd00:0::1 and fd00::1 are the same address.
      {
        line: 14,
        col: 19,
        path: 'vms.h2.interfaces.eth1.ip',
        message: 'fd00::1 is already used on the link h1.eth1--h2.eth1 by h1.eth1 (line 9)',
        hint: 'its own address',
      },
    ],
  },
  {
    rule: rules.macFirstByteEven,
    fixture: 'rule-mac-even.yaml',
    errors: [{ line: 7, col: 51, path: 'vms.h1.interfaces.eth0.mac', message: '01:00:5e:00:00:01 is a multicast MAC', hint: 'even first byte' }],
  },
  {
    rule: rules.macUnique,
    fixture: 'rule-mac-unique.yaml',
    errors: [{ line: 10, col: 51, path: 'vms.h2.interfaces.eth0.mac', message: 'fe:fd:00:00:00:01 is already used by h1.eth0 (line 7)', hint: 'its own MAC' }],
  },
  {
    rule: rules.memoryMinimum,
    fixture: 'rule-memory-minimum.yaml',
    errors: [
      { line: 3, col: 21, path: 'defaults.memory', message: 'default memory 64M is below 96M', hint: 'at least 96M' },
      { line: 7, col: 13, path: 'vms.h1.memory', message: 'memory 48M is below 96M', hint: 'deadlock' },
    ],
  },
  {
    rule: memoryMaximum,
    fixture: 'rule-memory-maximum.yaml',
    errors: [
      { line: 3, col: 21, path: 'defaults.memory', message: 'default memory 100000000000000000000000G is larger than 64G', hint: 'at most 64G' },
      { line: 6, col: 13, path: 'vms.h1.memory', message: 'memory 65G is larger than 64G', hint: "host's free memory" },
    ],
  },
  {
    rule: diskSizes,
    fixture: 'rule-disk-sizes.yaml',
    errors: [
      { line: 5, col: 22, path: 'vms.h1.disks[0].size', message: 'disk size 100T is larger than 2T', hint: 'at most 2T' },
      { line: 5, col: 38, path: 'vms.h1.disks[1].size', message: 'disk size 99999999999999T is larger than 2T', hint: 'at most 2T' },
    ],
  },
  {
    rule: imagePaths,
    fixture: 'rule-image-paths.yaml',
    errors: [
      { line: 5, col: 12, path: 'vms.h1.image', message: 'image /etc/shadow is under /etc', hint: 'umlab image build' },
      { line: 7, col: 12, path: 'vms.h2.image', message: 'image /dev/sda is under /dev', hint: 'umlab image build' },
      { line: 9, col: 12, path: 'vms.h3.image', message: 'has a comma', hint: 'rename the file' },
    ],
  },
  {
    rule: filePaths,
    fixture: 'rule-file-paths.yaml',
    errors: [
      { line: 6, col: 7, path: 'vms.h1.files["/../../../../tmp/pwned"]', message: 'has a ".." component', hint: 'plain absolute path' },
      { line: 7, col: 7, path: 'vms.h1.files["/etc/ok\\u0000"]', message: 'NUL or control character', hint: 'plain absolute path' },
      { line: 8, col: 7, path: 'vms.h1.files["/"]', message: "the VM's root directory", hint: 'plain absolute path' },
      { line: 9, col: 7, path: 'vms.h1.files["/var"]', message: '/var is a directory in every VM', hint: 'cannot replace a directory' },
      { line: 10, col: 7, path: 'vms.h1.files["/usr"]', message: '/usr is a directory in every VM', hint: 'cannot replace a directory' },
      { line: 12, col: 7, path: 'vms.h1.files["/srv/a/b"]', message: 'inside /srv/a, which is a file', hint: 'cannot also be a directory' },
      { line: 13, col: 7, path: 'vms.h1.files["/etc/hosts/x"]', message: 'inside /etc/hosts, which is a file', hint: 'cannot also be a directory' },
      { line: 14, col: 7, path: 'vms.h1.files["/proc/x"]', message: "under /proc, which the VM's init mounts over", hint: 'would be hidden' },
      { line: 15, col: 7, path: 'vms.h1.files["/etc//x"]', message: 'empty or "." component', hint: 'plain absolute path' },
    ],
  },
  {
    rule: kernelArgs,
    fixture: 'rule-kernel-args.yaml',
    errors: [
      { line: 2, col: 31, path: 'kernel.args[1]', message: 'kernel argument mem is set by umlab', hint: '`memory:`' },
      { line: 5, col: 23, path: 'vms.h1.kernel.args[0]', message: 'kernel argument eth0 is set by umlab', hint: '`interfaces:`' },
    ],
  },
  {
    rule: rwShareTargets,
    fixture: 'rule-rw-share-targets.yaml',
    errors: [
      { line: 5, col: 25, path: 'vms.h1.shares["/mnt/all"].path', message: "read-write share of the host's whole filesystem", hint: 'read-only' },
      { line: 6, col: 25, path: 'vms.h1.shares["/mnt/etc"].path', message: 'a system directory (/etc)', hint: 'a directory of its own' },
      { line: 9, col: 24, path: 'vms.h1.shares["/mnt/up"].path', message: 'a system directory (/usr)', hint: 'read-only' },
    ],
  },
  {
    rule: rules.consolePorts,
    fixture: 'rule-console-ports.yaml',
    errors: [
      { line: 6, col: 14, path: 'vms.h1.console', message: 'console: port but no console_port', hint: '`console_port: 4001`' },
      { line: 10, col: 5, path: 'vms.h2.console_port', message: 'console_port is set but h2\'s console is "log"', hint: 'add `console: port`' },
      { line: 15, col: 19, path: 'vms.h3.console_port', message: 'console port 4002 is already used by h2', hint: 'its own console port' },
    ],
  },
  {
    rule: rules.serialLines,
    fixture: 'rule-serial-lines.yaml',
    errors: [
      { line: 9, col: 13, path: 'vms.r1.serial.ssl1', message: 'no VM named "router9" for r1.ssl1', hint: 'VMs: r1, r2, r3, r4' },
      { line: 10, col: 13, path: 'vms.r1.serial.ssl2', message: '"ssl63" is not a serial line a lab can use', hint: "ssl63 is umlab's agent line" },
      { line: 11, col: 13, path: 'vms.r1.serial.ssl3', message: 'r1.ssl3 is joined to itself', hint: 'another VM' },
      { line: 12, col: 13, path: 'vms.r1.serial.ssl4', message: 'r2.ssl4 goes to "pty", not back to r1.ssl4', hint: '`ssl4: r1.ssl4` in r2' },
      { line: 14, col: 13, path: 'vms.r1.serial.ssl6', message: "port 4001 is already used by r1's console", hint: 'its own port' },
      { line: 15, col: 13, path: 'vms.r1.serial.ssl7', message: 'port 70000 of r1.ssl7 is not a TCP port', hint: 'port:4002' },
      { line: 22, col: 13, path: 'vms.r4.serial.ssl1', message: 'r3.ssl1 is already joined with r1.ssl5 (line 13)', hint: 'another line of r3' },
    ],
  },
  {
    rule: rules.shareMountPoints,
    fixture: 'rule-share-mount-points.yaml',
    errors: [
      { line: 6, col: 7, path: 'vms.h1.shares["/proc/x"]', message: 'is under /proc', hint: 'under /mnt' },
      { line: 7, col: 7, path: 'vms.h1.shares["/mnt/../etc"]', message: 'has a "." or ".." component', hint: 'plain absolute path' },
    ],
  },
  {
    rule: rules.sharePaths,
    fixture: 'rule-share-paths.yaml',
    errors: [
      { line: 5, col: 15, path: 'vms.h1.shares["/mnt/a"]', message: 'has a comma', hint: 'rename the directory' },
      { line: 6, col: 23, path: 'vms.h1.shares["/mnt/b"].path', message: 'has a comma', hint: 'rename the directory' },
    ],
  },
  {
    rule: mcastGroups,
    fixture: 'rule-mcast-groups.yaml',
    errors: [
      { line: 4, col: 18, path: 'mcast.lan0.group', message: '"10.0.0.1" is not an IPv4 multicast group', hint: '224.0.0.0/4' },
      { line: 6, col: 18, path: 'mcast.lan2.group', message: '239.192.5.1:2000 is already the group of lan1', hint: 'its own group or port' },
    ],
  },
  {
    rule: gatewayNetworks,
    fixture: 'rule-gateway-networks.yaml',
    errors: [
      { line: 4, col: 20, path: 'gateways.nat0.network', message: '"10.0.2.1/24" is not an IPv4 network', hint: 'e.g. 10.0.2.0/24' },
      { line: 5, col: 20, path: 'gateways.nat1.network', message: '"10.0.3.0/28" is not an IPv4 network of /27 or larger', hint: 'DHCP from .15' },
      { line: 6, col: 20, path: 'gateways.nat2.network', message: '"fd00::/64" is not an IPv4 network', hint: 'e.g. 10.0.2.0/24' },
    ],
  },
  {
    rule: forwardTargets,
    fixture: 'rule-forward-targets.yaml',
    errors: [
      { line: 6, col: 34, path: 'gateways.nat0.forward[1]', message: 'forward "tcp:8081:h9:80" names no VM "h9"', hint: 'did you mean "h1"?' },
      { line: 6, col: 52, path: 'gateways.nat0.forward[2]', message: 'targets h2, which has no interface on nat0', hint: 'VMs on nat0: h1' },
    ],
  },
  {
    rule: forwardPorts,
    fixture: 'rule-forward-ports.yaml',
    errors: [
      { line: 4, col: 22, path: 'gateways.nat0.forward[0]', message: 'port 70000 in forward "tcp:70000:80" is out of range', hint: '1-65535' },
      {
        line: 5,
        col: 59,
        path: 'gateways.nat1.forward[1]',
        message: 'host port tcp:8080 is already forwarded by "tcp:8080:80"',
        hint: 'forward each host port once',
      },
    ],
  },
  {
    rule: rules.testKindGiven,
    fixture: 'rule-test-kind.yaml',
    errors: [
      { line: 6, col: 5, path: 'tests[0]', message: 'the check has no kind', hint: 'exactly one of reach, tcp' },
      { line: 7, col: 5, path: 'tests[1]', message: 'the check has 2 kinds (reach, command)', hint: 'write two checks' },
    ],
  },
  {
    rule: rules.testOrder,
    fixture: 'rule-test-order.yaml',
    errors: [
      { line: 8, col: 11, path: 'tests[1].name', message: 'check name "ping" is already used (line 6)', hint: 'its own name' },
      { line: 11, col: 13, path: 'tests[2].after[0]', message: 'no check named "secnd"', hint: 'name a check' },
      { line: 11, col: 20, path: 'tests[2].after[1]', message: 'cannot run after itself', hint: 'remove it' },
      { line: 14, col: 5, path: 'tests[3].after', message: 'in a circle: a -> b -> a', hint: 'remove one' },
    ],
  },
  {
    rule: rules.testReferences,
    fixture: 'rule-test-references.yaml',
    errors: [
      { line: 11, col: 20, path: 'tests[0].reach.from', message: 'no VM named "h3"', hint: 'did you mean "h1"?' },
      { line: 11, col: 39, path: 'tests[0].reach.path[0]', message: 'no VM named "r9"', hint: 'VMs of this lab: h1, h2' },
      { line: 13, col: 26, path: 'tests[1].tcp.to', message: '"10.0.0.300" is not an IP address', hint: 'write an IP address' },
      { line: 15, col: 18, path: 'tests[2].udp.from', message: '"h1.eth0" is not a VM name', hint: 'e.g. h1' },
      { line: 15, col: 31, path: 'tests[2].udp.to', message: 'h2.eth1 has no static address', hint: 'write the address itself' },
      { line: 17, col: 45, path: 'tests[3].command.stdout', message: 'not a valid regular expression', hint: 'escape special characters' },
      { line: 19, col: 22, path: 'tests[4].capture.link', message: 'h1 has no interface "eth7"', hint: 'interfaces of h1: eth0' },
      { line: 19, col: 43, path: 'tests[4].capture.do[0].vm', message: 'no VM named "h4"', hint: 'did you mean "h1"?' },
      { line: 19, col: 95, path: 'tests[4].capture.match.ip_dst', message: 'no VM named "hx"', hint: 'did you mean "h1"?' },
      { line: 21, col: 22, path: 'tests[5].capture.link', message: 'the link of h2.eth1 is not captured', hint: 'remove `capture: false`' },
      { line: 23, col: 33, path: 'tests[6].throughput.to', message: 'is an address; the iperf3 server needs a VM', hint: 'name the VM' },
    ],
  },
  {
    rule: rules.readyConditions,
    fixture: 'rule-ready-conditions.yaml',
    errors: [
      { line: 6, col: 24, path: 'vms.h1.ready[1]', message: '"tcp:99999": tcp: needs a port number 1-65535', hint: 'tcp:80' },
      { line: 6, col: 37, path: 'vms.h1.ready[2]', message: 'file: needs an absolute path', hint: 'file:/run/frr/zebra.pid' },
      { line: 6, col: 51, path: 'vms.h1.ready[3]', message: 'cmd: needs a shell command', hint: 'the command exits 0' },
      { line: 6, col: 59, path: 'vms.h1.ready[4]', message: '"http:80" is not a readiness condition', hint: '`tcp:PORT`, `udp:PORT`' },
      { line: 7, col: 20, path: 'vms.h1.ready_timeout', message: 'ready_timeout is not a duration', hint: '30s, 500ms or 2m' },
      { line: 11, col: 20, path: 'vms.h2.ready_timeout', message: 'at most 60m', hint: '30s' },
      { line: 14, col: 5, path: 'vms.h3.ready_timeout', message: 'h3 has a ready_timeout but no ready: conditions', hint: 'remove ready_timeout' },
    ],
  },
  {
    rule: rules.checkBounds,
    fixture: 'rule-check-bounds.yaml',
    errors: [
      { line: 8, col: 13, path: 'tests[0].within', message: '`within:` is not a duration', hint: '30s' },
      { line: 11, col: 5, path: 'tests[1].throughput', message: 'needs `min:` or `max:`', hint: 'min: 8mbit' },
      { line: 13, col: 42, path: 'tests[2].throughput.min', message: 'min: is not a rate', hint: '8mbit' },
      { line: 15, col: 42, path: 'tests[3].throughput.min', message: 'min 10 Mbit/s is above max 1 Mbit/s', hint: 'swap them' },
      { line: 17, col: 39, path: 'tests[4].latency.min', message: 'min 50 ms is above avg_max 20 ms', hint: 'no round trip' },
      { line: 17, col: 63, path: 'tests[4].latency.max', message: 'max: is not a duration', hint: 'milliseconds' },
      { line: 19, col: 5, path: 'tests[5].latency', message: 'a latency check needs a bound', hint: 'avg_max: 30ms' },
      { line: 21, col: 13, path: 'tests[6].within', message: 'at most 60m', hint: '500ms' },
    ],
  },
];

const read = (fixture: string) => readFileSync(new URL(`../fixtures/labs/${fixture}`, import.meta.url), 'utf8');

function assertErrors(result: ReturnType<typeof parseLab>, fixture: string, expected: Expected[]) {
  assert.ok('errors' in result, `${fixture} should not validate`);
  const actual = result.errors.map((e) => ({ line: e.line, col: e.col, path: e.path, file: e.file }));
  assert.deepEqual(
    actual,
    expected.map((e) => ({ line: e.line, col: e.col, path: e.path, file: fixture })),
  );
  result.errors.forEach((e, i) => {
    assert.ok(e.message.includes(expected[i]!.message), `message "${e.message}" should contain "${expected[i]!.message}"`);
    assert.ok(e.hint?.includes(expected[i]!.hint), `hint "${e.hint}" should contain "${expected[i]!.hint}"`);
  });
}

describe('semantic rules', () => {
  it('every rule in labRules() has a case here', () => {
    const tested = new Set(CASES.map((c) => c.rule));
    const untested = labRules()
      .filter((r) => !tested.has(r))
      .map((r) => r.name);
    assert.deepEqual(untested, []);
  });

  for (const c of CASES) {
    describe(c.rule.name, () => {
      it(`reports ${c.fixture} at the offending nodes (all rules)`, () => assertErrors(parseLab(read(c.fixture), c.fixture), c.fixture, c.errors));
      it(`reports ${c.fixture} at the offending nodes (this rule alone)`, () =>
        assertErrors(parseLab(read(c.fixture), c.fixture, [c.rule]), c.fixture, c.errors));
    });
  }

  it('reports the problems of several rules at once, sorted by position', () => {
    const text = [
      'name: many-problems',
      'switches: { sw0: {} }',
      'vms:',
      '  h1:',
      '    memory: 32M',
      '    interfaces:',
      '      eth0: { connect: sw1, ip: 10.0.0.1 }',
      '      eth1: { connect: sw0, mac: "03:00:00:00:00:01" }',
    ].join('\n');
    const result = parseLab(text, 'many.yaml');
    assert.ok('errors' in result);
    assert.deepEqual(
      result.errors.map((e) => `${e.line}:${e.col} ${e.path}`),
      ['5:13 vms.h1.memory', '7:24 vms.h1.interfaces.eth0.connect', '7:33 vms.h1.interfaces.eth0.ip', '8:34 vms.h1.interfaces.eth1.mac'],
    );
  });

  it('accepts a p2p link declared on both ends, and one whose far end is declared without connect', () => {
    const text = `name: p2p-ok
vms:
  a: { interfaces: { eth0: { connect: b.eth0, ip: 10.0.0.1/30 } } }
  b: { interfaces: { eth0: { connect: a.eth0, ip: 10.0.0.2/30 }, eth1: { ip: 10.0.1.1/30 } } }
  c: { interfaces: { eth0: { connect: b.eth1, ip: 10.0.1.2/30 } } }
`;
    assert.ok('lab' in parseLab(text, 'ok.yaml'));
  });

  it('memoryMiB reads K, M and G like mem= does', () => {
    assert.equal(rules.memoryMiB('98304K'), 96);
    assert.equal(rules.memoryMiB('96M'), 96);
    assert.equal(rules.memoryMiB('1G'), 1024);
  });

  it('didYouMean suggests only close names', () => {
    assert.equal(rules.didYouMean('sw1', ['sw0', 'hub0']), 'sw0');
    assert.equal(rules.didYouMean('memroy', ['memory', 'console']), 'memory');
    assert.equal(rules.didYouMean('router', ['sw0', 'hub0']), undefined);
  });
});
