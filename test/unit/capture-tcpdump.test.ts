// What tcpdump says as it exits, as `down` reads it: the frames left out of a capture.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { framesMissedBy, tcpdumpLogOf } from '../../src/capture/tcpdump.ts';

test('framesMissedBy reads the "dropped by kernel" count, 0 when there is none', () => {
  const saturated = [
    'tcpdump: listening on vp0, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
    '35368 packets captured',
    '60683 packets received by filter',
    '25315 packets dropped by kernel',
  ].join('\n');
  assert.equal(framesMissedBy(saturated), 25315);
  assert.equal(framesMissedBy(saturated.replace('25315 packets dropped', '0 packets dropped')), 0);
  assert.equal(framesMissedBy('1 packet dropped by kernel\n'), 1);
  // Still running, or killed before it could say: nothing known to be missing.
  assert.equal(framesMissedBy('tcpdump: listening on vp0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n'), 0);
});

test('the log sits next to the capture', () => {
  assert.equal(tcpdumpLogOf('/run/l/captures/h1.eth0.pcap'), '/run/l/captures/h1.eth0.tcpdump.log');
});
