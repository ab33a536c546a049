// The isolation that matters on a shared class server: a student's VMs reach nothing of another
// student's lab and nothing of the server. Two labs of the same file have the SAME addresses, so
// "s1 reaches s2's h2" cannot be asked of an address; it is shown by what s2's lab sees. s2's h2
// records every TCP connection on a port (its own h1 gets through: the listener works), s1's h1
// sends to 10.0.0.2 (a ping with a random pattern, a UDP datagram and a TCP connection with a
// random text): s1's own h2 answers and s1's capture holds the pattern, while s2's listener hears
// nothing and neither of s2's captures holds it. And the server: it listens on the host's
// 127.0.0.1:PORT, which inside a VM is the VM's own loopback (refused: nothing listens there);
// the VM has no route off its lab at all, so the host's other addresses are unreachable.
// Commands run in the VMs through each lab's control socket; captures are read as the teacher.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { LabClient } from '../../src/client/lab-client.ts';
import { runDirFor, runFiles } from '../../src/runtime/paths.ts';
import type { ServedClass } from './class-helpers.ts';
import { eventually } from './helpers.ts';

interface Me {
  assignments: { lab: string; state: string }[];
}

/** Checks the isolation of s1's running lab `s1Lab`, starting s2's lab for it and stopping it after. */
export async function checkIsolation(cls: ServedClass, s1Lab: string): Promise<void> {
  const signIn = async (who: string) => {
    const res = await fetch(cls.links.get(who)!, { redirect: 'manual' });
    return (res.headers.get('set-cookie') ?? '').split(';')[0];
  };
  const s2Cookie = await signIn('s2');
  const teacherCookie = await signIn('teacher');
  const request = (cookie: string, path: string, method = 'GET') => fetch(cls.base + path, { method, redirect: 'manual', headers: { Cookie: cookie } });
  const s2State = async () => ((await (await request(s2Cookie, '/api/me')).json()) as Me).assignments[0];

  assert.equal((await request(s2Cookie, '/api/labs/two-hosts/start', 'POST')).status, 202);
  const s2Lab = await eventually(async () => {
    const mine = await s2State();
    assert.equal(mine.state, 'running');
    return mine.lab;
  }, 240_000);
  const s1 = new LabClient(runFiles(runDirFor(cls.home, s1Lab)).control);
  const s2 = new LabClient(runFiles(runDirFor(cls.home, s2Lab)).control);

  // s2's h2 appends what every TCP connection on 7777 sends to /tmp/heard; s2's own h1 gets through.
  const listen = await s2.execText('h2', 'setsid socat -u TCP-LISTEN:7777,reuseaddr,fork OPEN:/tmp/heard,creat,append </dev/null >/dev/null 2>&1 &');
  assert.equal(listen.exitCode, 0, listen.stderr);
  await eventually(async () => {
    await s2.execText('h1', 'echo from-s2 | nc -w2 10.0.0.2 7777');
    assert.match((await s2.execText('h2', 'cat /tmp/heard')).stdout, /from-s2/);
  }, 30_000);

  const marker = randomBytes(8).toString('hex');
  const ping = await s1.execText('h1', `ping -c3 -W2 -p ${marker} 10.0.0.2`);
  assert.match(ping.stdout, /3 received/, "s1's h1 reaches its own h2 at 10.0.0.2");
  await s1.execText('h1', `echo udp-${marker} | nc -u -w1 10.0.0.2 7778`);
  const tcp = await s1.execText('h1', `echo from-s1-${marker} | nc -v -w2 10.0.0.2 7777`);
  assert.match(tcp.stderr, /refused/, `s1's own h2 refuses 7777 (nothing listens there): ${tcp.stderr}`);

  const pcap = async (student: string, link: string) => {
    const res = await request(teacherCookie, `/students/${student}/labs/two-hosts/api/links/${link}/pcap`);
    assert.equal(res.status, 200, `${student}'s ${link} capture`);
    return Buffer.from(await res.arrayBuffer());
  };
  const pattern = Buffer.from(marker, 'hex');
  const datagram = Buffer.from(`udp-${marker}`);
  await eventually(async () => {
    const own = await pcap('s1', 'h2.eth0');
    assert.ok(own.includes(pattern) && own.includes(datagram), "s1's capture holds the ping's pattern and the datagram");
  }, 10_000);
  for (const link of ['h1.eth0', 'h2.eth0']) {
    const theirs = await pcap('s2', link);
    assert.ok(theirs.length > 24, `s2's ${link} capture has frames of its own`);
    assert.ok(!theirs.includes(pattern) && !theirs.includes(datagram), `s1's packets appear in s2's ${link} capture`);
  }
  assert.doesNotMatch((await s2.execText('h2', 'cat /tmp/heard')).stdout, /from-s1/, "s2's h2 heard s1");

  // The server answers on the host's 127.0.0.1 (403: no session); inside the VM that address is
  // the VM's own loopback, where nothing listens.
  assert.equal((await fetch(`${cls.base}/teacher`, { redirect: 'manual' })).status, 403);
  const loopback = await s1.execText('h1', `nc -v -z -w3 127.0.0.1 ${cls.port}`);
  assert.notEqual(loopback.exitCode, 0);
  assert.match(loopback.stderr, /refused/, loopback.stderr);
  // No route leaves the lab: not to a documentation address, not to the host's own addresses.
  const route = await s1.execText('h1', 'ip route get 192.0.2.1');
  assert.match(route.stderr, /unreachable/i, `a route off the lab: ${route.stdout}`);
  const hostAddresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === 'IPv4')
    .map((a) => a!.address);
  for (const address of hostAddresses) {
    const r = await s1.execText('h1', `nc -v -z -w3 ${address} ${cls.port}`);
    assert.notEqual(r.exitCode, 0, `h1 connected to the host's ${address}:${cls.port}`);
    assert.match(r.stderr, /unreachable|timed out/i, r.stderr);
  }

  assert.equal((await request(s2Cookie, '/api/labs/two-hosts/stop', 'POST')).status, 202);
  await eventually(async () => assert.equal((await s2State()).state, 'stopped'), 60_000);
}
