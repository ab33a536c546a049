// The check evaluators against a simulated network: the firewall lab's checks, run
// through a fake exec that answers like the VMs would, once as shipped and once with
// the TCP 80 rule missing (which must fail exactly the web check, saying why).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compile } from '../../src/planner/compile.ts';
import { parseLab } from '../../src/planner/load.ts';
import type { Lab } from '../../src/topology/model.ts';
import type { ExecFn } from '../../src/checks/probes.ts';
import { Resolver } from '../../src/checks/resolve.ts';
import { runChecks } from '../../src/checks/run.ts';
import { junitXml } from '../../src/checks/junit.ts';

const ctx = { runDir: '/run/umlab/t', kernel: '/usr/bin/linux.uml', kernelVersion: '6.1', modulesDir: '/usr/lib/uml/modules/6.1' };

function loadFirewall(): Lab {
  const result = parseLab(readFileSync(new URL('../../labs/firewall.yaml', import.meta.url), 'utf8'), 'labs/firewall.yaml');
  assert.ok('lab' in result);
  return result.lab;
}

type Verdict = 'accept' | 'reject-rst' | 'reject-icmp' | 'drop';

/** What fw does with a new flow from the client: the lab's rules, as a table. */
function firewall(withWebRule: boolean) {
  return (proto: string, port: number): Verdict => {
    if (proto === 'tcp' && port === 80) return withWebRule ? 'accept' : 'reject-icmp';
    if (proto === 'udp' && port === 53) return 'accept';
    if (proto === 'tcp' && port === 23) return 'reject-rst';
    if (proto === 'tcp' && port === 25) return 'drop';
    return 'reject-icmp';
  };
}

/** Answers commands the way the VMs of the firewall lab print. */
function fakeExec(verdict: (proto: string, port: number) => Verdict): ExecFn {
  return async (vm, command) => {
    const socat = /socat .*(TCP|UDP)4:([\d.]+):(\d+)/.exec(command);
    if (socat) {
      const proto = socat[1]!.toLowerCase();
      const port = Number(socat[3]);
      const v = vm === 'server' ? 'drop' : verdict(proto, port);
      if (v === 'accept') return proto === 'tcp' ? { exitCode: 0, stdout: '', stderr: '' } : { exitCode: 0, stdout: 'umlab-probe\n', stderr: '' };
      if (v === 'drop')
        return proto === 'tcp'
          ? { exitCode: 1, stdout: '', stderr: `socat[9] E connecting to AF=2 ${socat[2]}:${port}: Connection timed out\n` }
          : { exitCode: 0, stdout: '', stderr: '' };
      return { exitCode: 1, stdout: '', stderr: `socat[9] E connect(5, AF=2 ${socat[2]}:${port}, 16): Connection refused\n` };
    }
    if (command.startsWith('ping')) {
      return {
        exitCode: 0,
        stdout:
          'PING 192.168.2.10 (192.168.2.10) 56(84) bytes of data.\n64 bytes from 192.168.2.10: icmp_seq=1 ttl=63 time=0.5 ms\n64 bytes from 192.168.2.10: icmp_seq=2 ttl=63 time=0.4 ms\n\n--- 192.168.2.10 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 201ms\n',
        stderr: '',
      };
    }
    if (command.includes('## listening')) {
      const ss = [
        'tcp   LISTEN 0      5            0.0.0.0:80        0.0.0.0:*',
        'tcp   LISTEN 0      5            0.0.0.0:23        0.0.0.0:*',
        'tcp   LISTEN 0      5            0.0.0.0:25        0.0.0.0:*',
        'udp   UNCONN 0      0            0.0.0.0:53        0.0.0.0:*',
      ];
      return { exitCode: 0, stdout: `## addresses\n## links\n## routes\n## listening\n${ss.join('\n')}\n## firewall\n## sysctl\n`, stderr: '' };
    }
    throw new Error(`the fake network does not know: ${command}`);
  };
}

async function run(withWebRule: boolean) {
  const lab = loadFirewall();
  const env = { exec: fakeExec(firewall(withWebRule)), resolver: new Resolver(lab, compile(lab, ctx)), framesOf: async () => [] };
  return runChecks(lab.tests, env);
}

describe('check evaluators on the firewall lab', () => {
  it('every check passes against the rules as shipped', async () => {
    const results = await run(true);
    assert.deepEqual(
      results.filter((r) => r.status !== 'pass'),
      [],
    );
    assert.equal(results.length, 8);
  });

  it('without the TCP 80 rule exactly the web check fails, saying what was expected and seen', async () => {
    const results = await run(false);
    const failed = results.filter((r) => r.status !== 'pass');
    assert.deepEqual(
      failed.map((r) => [r.name, r.status]),
      [['web (TCP 80) is allowed', 'fail']],
    );
    assert.equal(failed[0]!.message, 'expected TCP server (192.168.2.10):80 to be open from client, but it is closed (Connection refused)');
    assert.deepEqual(failed[0]!.commands, ['client: socat -T 2 /dev/null TCP4:192.168.2.10:80,connect-timeout=2']);
    const xml = junitXml('firewall', results);
    assert.match(xml, /<testsuite name="firewall" tests="8" failures="1" errors="0"/);
    assert.match(xml, /<failure message="expected TCP server \(192.168.2.10\):80 to be open/);
  });

  it('a probe that cannot run is an error, not a pass or a failure', async () => {
    const lab = loadFirewall();
    const exec: ExecFn = async () => ({ exitCode: 127, stdout: '', stderr: 'sh: socat: not found\n' });
    const results = await runChecks(
      lab.tests.filter((t) => t.kind === 'tcp'),
      { exec, resolver: new Resolver(lab, compile(lab, ctx)), framesOf: async () => [] },
    );
    assert.ok(
      results.every((r) => r.status === 'error'),
      JSON.stringify(results),
    );
    assert.match(results[0]!.message, /could not run: the probe failed \(exit 127\): sh: socat: not found/);
  });
});
