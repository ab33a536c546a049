// The HTML reports: a student's page shows each failed check's reason, commands, output and
// the captures of the links it involved; the index links every student; everything a
// submission wrote is escaped (untrusted input), so no tag of it survives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linksOfCheck } from '../../src/grade/check-links.ts';
import { classIndex, escapeHtml, studentPage } from '../../src/grade/html-report.ts';
import type { SubmissionResult } from '../../src/grade/result.ts';
import type { Lab, LabTest } from '../../src/topology/model.ts';

const EVIL = '<script>alert(1)</script>';

const result = (student: string): SubmissionResult => ({
  student,
  source: '/x',
  status: 'graded',
  seconds: 4.2,
  points: 1,
  maxPoints: 3,
  hash: 'h',
  warnings: [],
  captures: 'bob/captures',
  checks: [
    {
      name: 'a',
      description: 'pc1 pings web',
      verdict: 'fail',
      reason: `no reply ${EVIL}`,
      points: 0,
      maxPoints: 2,
      hidden: false,
      commands: ['pc1: ping -c1 10.1.2.80'],
      detail: `output ${EVIL} & "q"`,
      links: ['pc1.eth0', 'r9.eth0'],
    },
    { name: 'b', description: 'web address', verdict: 'pass', reason: 'ok', points: 1, maxPoints: 1, hidden: false, commands: [], secondsToPass: 0.5 },
  ],
});

describe('grade HTML reports', () => {
  it('escapes every character that could open markup', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\``), '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;');
  });

  it("a student's page: reason, command, output, links to the captures that exist; nothing unescaped", () => {
    const html = studentPage(result(`bob${EVIL}`), ['pc1.eth0.pcap', 'r1.eth0.pcap']);
    assert.ok(!html.includes(EVIL) && !html.includes('<script'), 'no tag from the submission survives');
    assert.match(html, /no reply &#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.match(html, /<pre class="commands">pc1: ping -c1 10\.1\.2\.80<\/pre>/);
    assert.match(html, /<pre class="output">output &#60;script&#62;.*&#38; &#34;q&#34;<\/pre>/);
    assert.match(html, /<a href="captures\/pc1\.eth0\.pcap">pc1\.eth0\.pcap<\/a>/);
    assert.ok(!html.includes('r9.eth0.pcap'), 'a link without a kept capture is not linked');
    assert.match(html, /Checks that did not pass \(1\)/);
  });

  it("a failed check's captures come with their last frames decoded, escaped, and how many there were", () => {
    const tail = { total: 57, lines: [`12:00:01.000001 ${EVIL} ICMP echo request id 7 seq 1`, '12:00:02.000001 ARP who-has 10.1.2.80'] };
    const html = studentPage(result('bob'), ['pc1.eth0.pcap', 'r1.eth0.pcap'], { 'pc1.eth0.pcap': tail });
    assert.ok(!html.includes(EVIL));
    assert.match(html, /<details><summary>pc1\.eth0\.pcap: the last 2 of 57 frames, decoded<\/summary><pre class="frames">12:00:01\.000001 &#60;script&#62;/);
    assert.match(html, /ICMP echo request id 7 seq 1\n12:00:02\.000001 ARP who-has 10\.1\.2\.80<\/pre><\/details>/);
    const whole = studentPage(result('bob'), ['pc1.eth0.pcap'], { 'pc1.eth0.pcap': { total: 2, lines: tail.lines } });
    assert.match(whole, /pc1\.eth0\.pcap: its 2 frames, decoded/);
  });

  it('the index: a row per student linking its page, a sort script of our own only', () => {
    const html = classIndex(
      [result(`x${EVIL}`), result('alice')],
      new Map([
        [`x${EVIL}`, 'x-script'],
        ['alice', 'alice'],
      ]),
      { spec: 'spec.yaml', generated: 'now' },
    );
    assert.equal(html.match(/<script>/g)?.length, 1, 'only the sorting script');
    assert.ok(!html.includes(EVIL));
    assert.match(html, /<a href="x-script\/index\.html">x&#60;script&#62;/);
    assert.match(html, /<a href="alice\/index\.html">alice<\/a><\/td><td>1<\/td><td>3<\/td><td>1<\/td><td>1<\/td>/);
  });

  it('a reach check involves the interfaces of its source, its target (or its subnet) and its path', () => {
    const iface = (name: string, ip: string) => ({ name, addresses: [ip], dhcp: false, proxyArp: false, capture: true, expect: 'present' as const });
    const lab = {
      vms: [
        { name: 'pc1', interfaces: [iface('eth0', '10.1.1.10/24')] },
        { name: 'r1', interfaces: [iface('eth0', '10.1.1.1/24'), iface('eth1', '10.0.13.1/24')] },
        { name: 'r2', interfaces: [iface('eth0', '10.0.12.2/24')] },
        { name: 'web', interfaces: [iface('eth0', '10.1.2.80/24')] },
      ],
    } as unknown as Lab;
    const reach = { kind: 'reach', from: 'pc1', to: '10.1.2.80', path: ['10.0.13.1'], expect: 'success' } as unknown as LabTest;
    assert.deepEqual(linksOfCheck(reach, lab), ['pc1.eth0', 'web.eth0', 'r1.eth0', 'r1.eth1']);
    const lost = { kind: 'reach', from: 'r2', to: '10.1.1.99', expect: 'success' } as unknown as LabTest;
    assert.deepEqual(linksOfCheck(lost, lab), ['r2.eth0', 'pc1.eth0', 'r1.eth0'], 'an address no VM holds: the interfaces on its subnet');
    assert.deepEqual(linksOfCheck({ kind: 'command', vm: 'pc1' } as unknown as LabTest, lab), []);
  });
});
