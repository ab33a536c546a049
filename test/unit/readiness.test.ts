// The pure parts of readiness (issue 15): `ready:` conditions parsed and turned into the
// commands the plan holds, durations and rates, and the runtime's polling loop against a fake
// agent (conditions in order, retried until they hold, the last output of one that never does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import { formatRate, formatSeconds, parseDuration, parseRate } from '../../src/topology/measures.ts';
import { parseReadyCondition, readyCommand } from '../../src/topology/readiness.ts';
import { awaitReadiness, notReadyMessage } from '../../src/vm/readiness.ts';

const ctx = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1', modulesDir: '/usr/lib/uml/modules/6.1' };

describe('ready: conditions', () => {
  it('parses the four forms and refuses the rest with a hint', () => {
    assert.deepEqual(parseReadyCondition('tcp:80'), { kind: 'tcp', port: 80 });
    assert.deepEqual(parseReadyCondition('udp: 53'), { kind: 'udp', port: 53 });
    assert.deepEqual(parseReadyCondition('file:/run/frr/zebra.pid'), { kind: 'file', path: '/run/frr/zebra.pid' });
    assert.deepEqual(parseReadyCondition("cmd: vtysh -c 'show ip route' | grep -q 10.0.2.0"), {
      kind: 'cmd',
      command: "vtysh -c 'show ip route' | grep -q 10.0.2.0",
    });
    for (const [spec, message] of [
      ['tcp:0', 'needs a port number'],
      ['tcp:http', 'needs a port number'],
      ['udp:65536', 'needs a port number'],
      ['file:run/x', 'absolute path'],
      ['cmd:  ', 'needs a shell command'],
      ['http:80', 'is not a readiness condition'],
      ['tcp', 'needs a port number'],
    ] as const) {
      const r = parseReadyCondition(spec);
      assert.ok('error' in r && r.error.includes(message) && r.hint.length > 0, `${spec}: ${JSON.stringify(r)}`);
    }
  });

  it('becomes a command that exits 0 once the condition holds', () => {
    assert.equal(readyCommand({ kind: 'tcp', port: 80 }, 60), "ss -H -ltn 'sport = :80' | grep -q .");
    assert.equal(readyCommand({ kind: 'udp', port: 53 }, 60), "ss -H -lun 'sport = :53' | grep -q .");
    assert.equal(readyCommand({ kind: 'file', path: "/srv/my app's.pid" }, 60), "test -e '/srv/my app'\\''s.pid'");
    // A cmd: try never outlives the whole wait.
    assert.equal(
      readyCommand({ kind: 'cmd', command: "ip route | grep -q 'via 10.0.0.1'" }, 2.5),
      "timeout 3 sh -c 'ip route | grep -q '\\''via 10.0.0.1'\\'''",
    );
  });

  it("compile puts each VM's conditions with their commands and its timeout in the plan; the map form is the same", () => {
    const text = `name: r
switches: { sw0: {} }
vms:
  h1:
    interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 } }
    ready: [ "tcp: 80", { udp: 53 }, { file: /run/x.pid }, { cmd: "test -s /run/x.pid" } ]
    ready_timeout: 1.5m
  h2:
    interfaces: { eth0: { connect: sw0, ip: 10.0.0.2/24 } }
`;
    const r = parseLab(text, 'r.yaml');
    assert.ok('lab' in r, JSON.stringify(r));
    const plan = compile(r.lab, ctx);
    assert.deepEqual(plan.vms[0]!.ready, [
      { condition: 'tcp:80', command: "ss -H -ltn 'sport = :80' | grep -q ." },
      { condition: 'udp:53', command: "ss -H -lun 'sport = :53' | grep -q ." },
      { condition: 'file:/run/x.pid', command: 'test -e /run/x.pid' },
      { condition: 'cmd: test -s /run/x.pid', command: "timeout 90 sh -c 'test -s /run/x.pid'" },
    ]);
    assert.equal(plan.vms[0]!.readyTimeout, 90);
    assert.deepEqual(plan.vms[1]!.ready, []);
    assert.equal(plan.vms[1]!.readyTimeout, 60, 'the default, as the README says');
  });

  it('an entry of the wrong shape is one schema error, at the entry', () => {
    const r = parseLab('name: x\nvms:\n  h1:\n    ready: [ 80, { cmd: a, tcp: 1 }, { http: 1 } ]\n', 'x.yaml');
    assert.ok('errors' in r);
    assert.deepEqual(
      r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`),
      [
        '4:14 vms.h1.ready[0]: must be string or object, not number 80',
        '4:18 vms.h1.ready[1]: {"cmd":"a","tcp":1} must NOT have more than 1 properties',
        '4:40 vms.h1.ready[2].http: unknown property "http"',
      ],
    );
  });
});

describe('durations and rates', () => {
  it('reads durations in the unit a setting defaults to', () => {
    assert.equal(parseDuration('30s'), 30);
    assert.equal(parseDuration('250ms'), 0.25);
    assert.equal(parseDuration('2m'), 120);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration(10), 10);
    assert.equal(parseDuration(20, 'ms'), 0.02);
    assert.equal(parseDuration('20', 'ms'), 0.02);
    for (const bad of ['soon', '10 seconds', '-1s', '1d', '']) assert.equal(parseDuration(bad), undefined, bad);
    assert.equal(formatSeconds(0.0205), '20.5 ms');
    assert.equal(formatSeconds(0.020438), '20.44 ms');
    assert.equal(formatSeconds(2.5), '2.5 s');
  });

  it("reads rates in tc's units (powers of 1000) and prints them", () => {
    assert.equal(parseRate('8mbit'), 8e6);
    assert.equal(parseRate('10.5Mbit'), 10.5e6);
    assert.equal(parseRate('500kbit'), 5e5);
    assert.equal(parseRate('1gbit'), 1e9);
    assert.equal(parseRate('9600bit'), 9600);
    assert.equal(parseRate(1000), 1000);
    for (const bad of ['8mbps', '8MB', 'fast', '']) assert.equal(parseRate(bad), undefined, bad);
    assert.equal(formatRate(9_474_000), '9.47 Mbit/s');
    assert.equal(formatRate(1e9), '1 Gbit/s');
    assert.equal(formatRate(640_000), '640 kbit/s');
  });
});

describe('waiting for the conditions (src/vm/readiness.ts)', () => {
  const ok = { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  const no = (out = '') => ({ exitCode: 1, stdout: Buffer.from(out), stderr: Buffer.alloc(0) });
  const vm = (timeout: number) => ({
    ready: [
      { condition: 'tcp:80', command: 'C80' },
      { condition: 'cmd: check', command: 'CHECK' },
    ],
    readyTimeout: timeout,
  });

  it('checks the conditions in order, each again until it holds, saying what it waits for', async () => {
    const ran: string[] = [];
    const waiting: string[] = [];
    let tries80 = 0;
    const exec = async (command: string) => {
      ran.push(command);
      if (command === 'C80') return ++tries80 < 3 ? no() : ok;
      return ok;
    };
    assert.equal(await awaitReadiness(vm(30), exec, (c) => waiting.push(c), 1), null);
    assert.deepEqual(ran, ['C80', 'C80', 'C80', 'CHECK']);
    assert.deepEqual(waiting, ['tcp:80', 'cmd: check']);
  });

  it('gives up when the time is up, with the condition, the tries and the last output', async () => {
    let n = 0;
    const exec = async (command: string) => (command === 'C80' ? ok : no(`attempt ${++n}: no route yet\n`));
    const r = await awaitReadiness(vm(1), exec, () => {}, 10);
    assert.ok(r);
    assert.equal(r.condition, 'cmd: check');
    assert.ok(r.tries > 1, `tried again: ${r.tries}`);
    assert.equal(r.lastExit, 1);
    assert.equal(r.lastOutput, `attempt ${n}: no route yet`);
    const message = notReadyMessage('h1', 1, r);
    assert.match(
      message,
      /^VM h1 was not ready within 1 s of its startup: cmd: check never held \(\d+ tries; if it only needs longer, raise the VM's ready_timeout\)\n {4}last output \(exit 1\):\n {6}attempt \d+: no route yet$/,
    );
  });

  it('does not wait past the timeout for a try that hangs', async () => {
    const r = await awaitReadiness(
      vm(0.2),
      () => new Promise(() => {}),
      () => {},
      10,
    );
    assert.deepEqual(r, { condition: 'tcp:80', tries: 1, lastExit: null, lastOutput: '' });
    assert.match(notReadyMessage('h1', 0.2, r!), /its last try did not finish in time/);
  });

  it("passes on a VM that stops answering (the agent's error), for the caller to report", async () => {
    await assert.rejects(
      awaitReadiness(
        vm(5),
        async () => Promise.reject(new Error('VM h1 is not running')),
        () => {},
        10,
      ),
      /VM h1 is not running/,
    );
  });
});
