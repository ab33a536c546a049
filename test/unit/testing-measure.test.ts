// The measuring checks and `within:` against a fake exec (issue 15): iperf3 and ping output
// parsed, bounds judged with the measured value in the message, the iperf3 server stopped
// even when the client fails, throughput checks run alone, and `within:` retrying a check.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate } from '../../src/checks/evaluate.ts';
import { iperfClientCommand, iperfServerCommand, iperfStopCommand, latencyPingCommand, parseIperf, parseRtt } from '../../src/checks/measure-probes.ts';
import type { ExecFn } from '../../src/checks/probes.ts';
import { Resolver } from '../../src/checks/resolve.ts';
import { runChecks } from '../../src/checks/run.ts';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { Lab } from '../../src/topology/model.ts';

const ctx = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1', modulesDir: '/usr/lib/uml/modules/6.1' };

function lab(tests: string): Lab {
  const text = `name: m
switches: { sw0: {} }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 } } }
  h2: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.2/24 } } }
tests:
${tests}`;
  const r = parseLab(text, 'm.yaml');
  assert.ok('lab' in r, JSON.stringify(r));
  return r.lab;
}

const env = (l: Lab, exec: ExecFn) => ({ exec, resolver: new Resolver(l, compile(l, ctx)), framesOf: async () => [] });
const iperfJson = (received: number, sent = received, retransmits = 4) =>
  JSON.stringify({ start: {}, intervals: [], end: { sum_sent: { bits_per_second: sent, retransmits }, sum_received: { bits_per_second: received } } });
const PING = `PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.
64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=20.4 ms
64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=20.7 ms

--- 10.0.0.2 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 405ms
rtt min/avg/max/mdev = 20.438/20.573/20.700/0.072 ms
`;

describe('iperf3 and ping output', () => {
  it('commands: a one-off server that is listening when its command returns, the client, the stop', () => {
    assert.match(
      iperfServerCommand(5201),
      /^iperf3 -s -1 -p 5201 > \/tmp\/umlab-iperf3-5201.log 2>&1 < \/dev\/null & echo \$! > \/tmp\/umlab-iperf3-5201.pid\n/,
    );
    assert.match(iperfServerCommand(5201), /until ss -H -ltn 'sport = :5201' \| grep -q \.; do/);
    assert.equal(iperfClientCommand('10.0.0.2', 5202, 3, false), 'iperf3 -c 10.0.0.2 -p 5202 -t 3 --connect-timeout 5000 -J');
    assert.equal(iperfClientCommand('fd00::2', 5202, 3, true), 'iperf3 -c fd00::2 -p 5202 -t 3 --connect-timeout 5000 -J -R');
    assert.equal(
      iperfStopCommand(5201),
      'kill $(cat /tmp/umlab-iperf3-5201.pid 2>/dev/null) 2>/dev/null; rm -f /tmp/umlab-iperf3-5201.pid /tmp/umlab-iperf3-5201.log; true',
    );
    assert.equal(latencyPingCommand('10.0.0.2', 10), 'ping -n -c 10 -i 0.2 -W 2 10.0.0.2');
  });

  it("parses the rates, iperf3's own errors and output that is not JSON", () => {
    assert.deepEqual(parseIperf(iperfJson(9.4e6, 9.6e6, 3)), { receivedBps: 9.4e6, sentBps: 9.6e6, retransmits: 3 });
    assert.deepEqual(parseIperf(JSON.stringify({ start: {}, error: 'unable to connect to server: Connection refused' })), {
      error: 'iperf3: unable to connect to server: Connection refused',
    });
    assert.deepEqual(parseIperf('sh: iperf3: not found'), { error: 'iperf3 printed no JSON: sh: iperf3: not found' });
  });

  it("parses ping's RTT summary in seconds, and a run without replies", () => {
    assert.deepEqual(parseRtt(PING), {
      transmitted: 3,
      received: 2,
      rtt: { transmitted: 3, received: 2, min: 20.438 / 1000, avg: 20.573 / 1000, max: 20.7 / 1000 },
    });
    assert.deepEqual(parseRtt('--- x ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2030ms\n'), {
      transmitted: 3,
      received: 0,
      rtt: null,
    });
    assert.equal(parseRtt('ping: unknown host'), null);
  });
});

describe('throughput and latency checks', () => {
  it('a throughput check starts the server in `to`, measures from `from`, stops the server, and judges the rate', async () => {
    const l = lab(
      '  - name: fast enough\n    throughput: { from: h1, to: h2, min: 8mbit, max: 10.5mbit }\n  - name: too fast\n    throughput: { from: h1, to: h2.eth0, reverse: true, max: 1mbit }\n',
    );
    const ran: string[] = [];
    const exec: ExecFn = async (vm, command) => {
      ran.push(`${vm}: ${command.split('\n')[0]}`);
      return { exitCode: 0, stdout: command.startsWith('iperf3 -c') ? iperfJson(9.47e6) : '', stderr: '' };
    };
    const [ok, tooFast] = await runChecks(l.tests, env(l, exec));
    assert.equal(ok!.status, 'pass');
    assert.equal(ok!.message, 'measured 9.47 Mbit/s h1 -> h2 over 3 s (4 retransmissions)');
    assert.equal(tooFast!.status, 'fail');
    assert.equal(tooFast!.message, 'expected a rate at most 1 Mbit/s, measured 9.47 Mbit/s h2.eth0 -> h1 over 3 s (4 retransmissions)');
    assert.deepEqual(ran, [
      'h2: iperf3 -s -1 -p 5201 > /tmp/umlab-iperf3-5201.log 2>&1 < /dev/null & echo $! > /tmp/umlab-iperf3-5201.pid',
      'h1: iperf3 -c 10.0.0.2 -p 5201 -t 3 --connect-timeout 5000 -J',
      'h2: kill $(cat /tmp/umlab-iperf3-5201.pid 2>/dev/null) 2>/dev/null; rm -f /tmp/umlab-iperf3-5201.pid /tmp/umlab-iperf3-5201.log; true',
      // The lab's second throughput check has its own port.
      'h2: iperf3 -s -1 -p 5202 > /tmp/umlab-iperf3-5202.log 2>&1 < /dev/null & echo $! > /tmp/umlab-iperf3-5202.pid',
      'h1: iperf3 -c 10.0.0.2 -p 5202 -t 3 --connect-timeout 5000 -J -R',
      'h2: kill $(cat /tmp/umlab-iperf3-5202.pid 2>/dev/null) 2>/dev/null; rm -f /tmp/umlab-iperf3-5202.pid /tmp/umlab-iperf3-5202.log; true',
    ]);
  });

  it('a client that cannot measure is an ERROR, and the server is stopped all the same', async () => {
    const l = lab('  - name: t\n    throughput: { from: h1, to: h2, min: 1mbit }\n');
    const ran: string[] = [];
    const exec: ExecFn = async (vm, command) => {
      ran.push(command.split(' ')[0]!);
      if (command.startsWith('iperf3 -c'))
        return { exitCode: 1, stdout: JSON.stringify({ error: 'unable to connect to server: No route to host' }), stderr: '' };
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    const [r] = await runChecks(l.tests, env(l, exec));
    assert.equal(r!.status, 'error');
    assert.equal(r!.message, 'could not run: iperf3: unable to connect to server: No route to host (exit 1)');
    assert.deepEqual(ran, ['iperf3', 'iperf3', 'kill']);
  });

  it('a latency check judges min, average and max RTT and says what it measured', async () => {
    const l = lab(
      '  - name: in bounds\n    latency: { from: h1, to: h2, count: 3, min: 20ms, avg_max: 25, max: 0.1s }\n  - name: out of bounds\n    latency: { from: h1, to: h2, avg_min: 20.6ms, max: 20.65ms }\n  - name: no replies\n    latency: { from: h1, to: h2, max: 1s }\n',
    );
    let calls = 0;
    const exec: ExecFn = async () =>
      ++calls === 3
        ? { exitCode: 1, stdout: '3 packets transmitted, 0 received, 100% packet loss, time 2030ms\n', stderr: '' }
        : { exitCode: 0, stdout: PING, stderr: '' };
    const results = await runChecks(l.tests, env(l, exec), { parallel: 1 });
    assert.deepEqual(
      results.map((r) => r.status),
      ['pass', 'fail', 'fail'],
    );
    assert.equal(results[0]!.message, 'measured RTT min 20.44 ms, avg 20.57 ms, max 20.7 ms (2/3 replies) from h1 to h2 (10.0.0.2)');
    assert.equal(
      results[1]!.message,
      'expected an average RTT at least 20.6 ms and the largest RTT at most 20.65 ms, measured RTT min 20.44 ms, avg 20.57 ms, max 20.7 ms (2/3 replies) from h1 to h2 (10.0.0.2)',
    );
    assert.equal(results[2]!.message, 'expected replies from h2 (10.0.0.2) to measure, got none of 3');
  });

  it('a throughput check runs alone: nothing else runs while it measures', async () => {
    const l = lab(
      ['a', 'b', 'c'].map((n) => `  - name: ${n}\n    command: { vm: h1, run: "sleep ${n}" }\n`).join('') +
        '  - name: t\n    throughput: { from: h1, to: h2, min: 1mbit }\n  - name: d\n    command: { vm: h1, run: "sleep d" }\n',
    );
    let inFlight = 0;
    let throughputRunning = false;
    const overlaps: string[] = [];
    const exec: ExecFn = async (_vm, command) => {
      const iperf = command.includes('iperf3');
      if (iperf) throughputRunning = true;
      if ((throughputRunning && !iperf) || (iperf && inFlight > 0)) overlaps.push(command.split('\n')[0]!);
      inFlight++;
      // A run time during which any other exec started (the bug) is an overlap; not a wait for an event.
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      if (command.startsWith('kill')) throughputRunning = false;
      return { exitCode: 0, stdout: command.startsWith('iperf3 -c') ? iperfJson(5e6) : '', stderr: '' };
    };
    const results = await runChecks(l.tests, env(l, exec));
    assert.deepEqual(
      results.map((r) => r.status),
      ['pass', 'pass', 'pass', 'pass', 'pass'],
    );
    assert.deepEqual(overlaps, []);
  });
});

describe('within:', () => {
  it('retries a failing check until it passes, and says after how many tries and how long', async () => {
    const l = lab('  - name: converges\n    within: 5s\n    command: { vm: h1, run: "test -e /run/done" }\n');
    let tries = 0;
    const exec: ExecFn = async () => ({ exitCode: ++tries < 3 ? 1 : 0, stdout: '', stderr: '' });
    const r = await evaluate(l.tests[0]!, env(l, exec), 5);
    assert.equal(r.status, 'pass');
    assert.equal(r.tries, 3);
    assert.match(r.message, /^exit 0 \(try 3, after [\d.]+ m?s\)$/);
    assert.deepEqual(r.commands, ['h1: test -e /run/done'], 'the commands of the last try');
  });

  it("fails with the last try's reason when the time is up", async () => {
    const l = lab('  - name: never\n    within: 1s\n    command: { vm: h1, run: "false" }\n');
    const exec: ExecFn = async () => ({ exitCode: 1, stdout: '', stderr: 'no route\n' });
    const r = await evaluate(l.tests[0]!, env(l, exec), 20);
    assert.equal(r.status, 'fail');
    assert.ok(r.tries! > 1);
    assert.match(r.message, /^expected exit code 0, got 1 \(still so after \d+ tries in [\d.]+ m?s, within: 1 s\)$/);
    assert.equal(r.detail, 'no route');
  });

  it('a check without within: runs once', async () => {
    const l = lab('  - name: once\n    command: { vm: h1, run: "false" }\n');
    let tries = 0;
    const r = await evaluate(
      l.tests[0]!,
      env(l, async () => ({ exitCode: ++tries && 1, stdout: '', stderr: '' })),
      1,
    );
    assert.equal(r.status, 'fail');
    assert.equal(tries, 1);
    assert.equal(r.tries, undefined);
  });
});
