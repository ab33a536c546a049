// Consoles and serial lines: what compile() makes of `console:` and `serial:`, and the pure
// parts of the supervisor's relay (telnet filtering, the fd hand-over from `umlab up`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { LabPlan, PlanContext } from '../../src/topology/plan.ts';
import { formatLineFds, parseLineFds, portLines, ptyLines, TELNET_HELLO, telnetFilter } from '../../src/vm/lines.ts';
import { AGENT_DEVICE } from '../../src/topology/agent-protocol.ts';

const ctx: PlanContext = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1.0', modulesDir: '/usr/lib/uml/modules/6.1.0' };

function plan(text: string): LabPlan {
  const result = parseLab(text, '/labs/lab.yaml');
  assert.ok('lab' in result, 'errors' in result ? JSON.stringify(result.errors, null, 2) : '');
  return compile(result.lab, ctx);
}

const HOWTO = `name: serial
vms:
  r1:
    console: port
    console_port: 4001
    serial: { ssl10: log, ssl1: r2.ssl1, ssl2: "port:4002" }
  r2:
    console: pty
    serial: { ssl3: pty }
  r3:
    serial: { ssl5: r2.ssl7 }
`;

describe('compile: consoles and serial lines', () => {
  const p = plan(HOWTO);
  const vm = (name: string) => p.vms.find((v) => v.name === name)!;

  it('keeps con0 on fd 0/1 and puts the agent on the last line, ssl63', () => {
    for (const v of p.vms) {
      assert.ok(v.argv.includes('con0=fd:0,fd:1'));
      assert.ok(v.argv.includes('ssl63=fd:3,fd:4'));
      assert.ok(v.argv.indexOf('ssl=none') < v.argv.indexOf('ssl63=fd:3,fd:4'), 'ssl=none first, then the lines it configures');
    }
    assert.equal(AGENT_DEVICE, '/dev/ttyS63');
  });

  it('gives each serial line two fds from 5 on, in line order, with its device', () => {
    assert.deepEqual(
      vm('r1').argv.filter((a) => /^ssl\d+=/.test(a)),
      ['ssl1=fd:5,fd:6', 'ssl2=fd:7,fd:8', 'ssl10=fd:9,fd:10', 'ssl63=fd:3,fd:4'],
    );
    assert.deepEqual(
      vm('r1').lines.map((l) => [l.name, l.device, l.to, l.umlArg]),
      [
        ['con0', '/dev/tty0', 'port', 'fd:0,fd:1'],
        ['ssl1', '/dev/ttyS1', 'vm', 'fd:5,fd:6'],
        ['ssl2', '/dev/ttyS2', 'port', 'fd:7,fd:8'],
        ['ssl10', '/dev/ttyS10', 'log', 'fd:9,fd:10'],
      ],
    );
    assert.equal(vm('r1').lines[0]!.port, 4001);
    assert.equal(vm('r1').lines[0]!.log, '/run/umlab/t/vms/r1/console.log');
    assert.equal(vm('r1').lines[2]!.port, 4002);
    assert.equal(vm('r1').lines[3]!.log, '/run/umlab/t/vms/r1/ssl10.log');
  });

  it('creates the far end of a joined line on the peer, pointing back', () => {
    assert.deepEqual(vm('r1').lines[1]!.peer, { vm: 'r2', line: 'ssl1' });
    assert.deepEqual(
      vm('r2').lines.map((l) => [l.name, l.to, l.peer ?? l.pty ?? null]),
      [
        ['con0', 'pty', '/run/umlab/t/vms/r2/console.pty'],
        ['ssl1', 'vm', { vm: 'r1', line: 'ssl1' }],
        ['ssl3', 'pty', '/run/umlab/t/vms/r2/ssl3.pty'],
        ['ssl7', 'vm', { vm: 'r3', line: 'ssl5' }],
      ],
    );
    assert.deepEqual(
      vm('r3').lines.map((l) => l.name),
      ['con0', 'ssl5'],
    );
  });

  it('lists the ports up binds and the ptys', () => {
    assert.deepEqual(
      portLines(p).map((l) => [l.key, l.line.port]),
      [
        ['r1.con0', 4001],
        ['r1.ssl2', 4002],
      ],
    );
    assert.deepEqual(
      ptyLines(p).map((l) => l.pty),
      ['/run/umlab/t/vms/r2/console.pty', '/run/umlab/t/vms/r2/ssl3.pty'],
    );
  });

  it('a lab without consoles or serial lines only has con0 to the log', () => {
    const q = plan('name: x\nvms: { h1: {} }\n');
    assert.deepEqual(q.vms[0]!.lines, [
      { name: 'con0', device: '/dev/tty0', to: 'log', umlArg: 'fd:0,fd:1', fds: [0, 1], log: '/run/umlab/t/vms/h1/console.log' },
    ]);
    assert.deepEqual(portLines(q), []);
  });
});

describe('telnet', () => {
  const run = (chunks: (number[] | string)[]) => {
    const f = telnetFilter();
    return Buffer.concat(chunks.map((c) => f(typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.from(c)))).toString('latin1');
  };

  it('asks for character mode with remote echo', () => {
    assert.deepEqual([...TELNET_HELLO], [255, 251, 1, 255, 251, 3]);
  });

  it('drops option negotiation and subnegotiation, also split across chunks', () => {
    assert.equal(run([[255, 253, 1, 255, 253, 3], 'ls']), 'ls');
    assert.equal(run(['a', [255], [253], [1], 'b']), 'ab');
    assert.equal(run(['x', [255, 250, 24, 0, 65, 78, 83, 73, 255, 240], 'y']), 'xy');
    assert.equal(run([[255, 244], 'z']), 'z', 'IAC IP and other two-byte commands');
  });

  it('keeps an escaped 255, turns CR NUL and CR LF into CR, leaves a plain LF', () => {
    assert.equal(run([[97, 255, 255, 98]]), 'a\xffb');
    assert.equal(run(['ls\r\0', 'pwd\r\n', 'id\n']), 'ls\rpwd\rid\n');
    assert.equal(run(['ls\r', '\0', 'x\r', 'y']), 'ls\rx\ry');
  });
});

describe('line fds handed to the supervisor', () => {
  it('round-trip through the environment', () => {
    const fds = { 'r1.con0': 3, 'r-2.ssl12': 4 };
    assert.equal(formatLineFds(fds), 'r1.con0=3,r-2.ssl12=4');
    assert.deepEqual(parseLineFds(formatLineFds(fds)), fds);
    assert.deepEqual(parseLineFds(undefined), {});
    assert.deepEqual(parseLineFds(''), {});
  });
});
