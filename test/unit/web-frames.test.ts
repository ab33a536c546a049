// The frame list's rows and the filter box's language, on hand-built frames.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, type DecodedFrame } from '../../src/capture/decode.ts';
import { frameRow, parseFilter } from '../../src/web/frames.ts';
import { arpRequest, echo, MAC_1, TS, tcpSyn, udp } from './web-frames-fixtures.ts';

const ARP = decodeFrame(arpRequest('10.0.0.1', '10.0.0.2'), TS);
const REQUEST = decodeFrame(echo('request', '10.0.0.1', '10.0.0.2', 1), TS);
const REPLY = decodeFrame(echo('reply', '10.0.0.2', '10.0.0.1', 1), TS);
const DNS = decodeFrame(udp('10.0.1.5', '10.0.0.53', 40000, 53), TS);
const WEB = decodeFrame(tcpSyn('10.0.0.1', '192.168.7.9', 41000, 80), TS);
const ALL: [string, DecodedFrame][] = [
  ['arp', ARP],
  ['request', REQUEST],
  ['reply', REPLY],
  ['dns', DNS],
  ['web', WEB],
];
const matching = (filter: string) =>
  ALL.filter(([, f]) => parseFilter(filter)(f))
    .map(([name]) => name)
    .join(' ');

describe('frameRow', () => {
  it('an ICMP echo: IP ends as source and destination, Info without what the columns show, TTL last', () => {
    assert.deepEqual(frameRow({ number: 3, frame: REQUEST }), {
      number: 3,
      time: '03:04:05.000123',
      source: '10.0.0.1',
      destination: '10.0.0.2',
      protocol: 'ICMP',
      length: 98,
      info: 'echo request id 7 seq 1, ttl 64',
    });
  });

  it('ARP: MACs as ends, the question as Info', () => {
    const row = frameRow({ number: 1, frame: ARP });
    assert.equal(row.source, MAC_1);
    assert.equal(row.destination, 'ff:ff:ff:ff:ff:ff');
    assert.equal(row.protocol, 'ARP');
    assert.equal(row.info, 'request who-has 10.0.0.2 tell 10.0.0.1');
  });

  it('TCP and UDP keep ports and flags', () => {
    assert.equal(frameRow({ number: 1, frame: WEB }).info, '41000 > 80 [S] len 0, ttl 64');
    assert.equal(frameRow({ number: 1, frame: DNS }).protocol, 'UDP');
    assert.equal(frameRow({ number: 1, frame: DNS }).info, '40000 > 53 len 4, ttl 64');
  });
});

describe('parseFilter', () => {
  it('an empty filter (or only spaces) matches everything', () => {
    assert.equal(matching(''), 'arp request reply dns web');
    assert.equal(matching('   '), 'arp request reply dns web');
  });

  it('by protocol, case-insensitively', () => {
    assert.equal(matching('arp'), 'arp');
    assert.equal(matching('ICMP'), 'request reply');
    assert.equal(matching('udp'), 'dns');
    assert.equal(matching('tcp'), 'web');
    assert.equal(matching('ip'), 'request reply dns web');
    assert.equal(matching('ipv6'), '');
    assert.equal(matching('icmpv6'), '');
  });

  it('by address: either end, ARP fields included; by subnet; by MAC', () => {
    assert.equal(matching('10.0.0.2'), 'arp request reply');
    assert.equal(matching('192.168.7.9'), 'web');
    assert.equal(matching('10.0.1.0/24'), 'dns');
    assert.equal(matching('10.0.0.0/16'), 'arp request reply dns web');
    assert.equal(matching(MAC_1), 'arp request reply dns web');
    assert.equal(matching('fe:fd:0a:00:00:99'), '');
  });

  it('by port, either end', () => {
    assert.equal(matching('53'), 'dns');
    assert.equal(matching('80'), 'web');
    assert.equal(matching('41000'), 'web');
  });

  it('words are ANDed, `or` gives alternatives, ! and not negate', () => {
    assert.equal(matching('icmp 10.0.0.2'), 'request reply');
    assert.equal(matching('icmp and 10.0.0.1'), 'request reply');
    assert.equal(matching('udp or arp'), 'arp dns');
    assert.equal(matching('udp || tcp 80'), 'dns web');
    assert.equal(matching('!icmp'), 'arp dns web');
    assert.equal(matching('not arp not icmp'), 'dns web');
    assert.equal(matching('ip !10.0.0.1'), 'dns');
    assert.equal(matching('!10.0.1.0/24'), 'arp request reply web');
  });

  it("tcpdump's words: host, port, net, each maybe after src or dst", () => {
    assert.equal(matching('tcp port 80'), 'web');
    assert.equal(matching('port 53'), 'dns');
    assert.equal(matching('udp port 80'), '');
    assert.equal(matching('host 10.0.0.2'), 'arp request reply');
    assert.equal(matching('icmp and host 10.0.0.2'), 'request reply');
    assert.equal(matching('src host 10.0.0.2'), 'reply');
    assert.equal(matching('dst 10.0.0.2'), 'arp request');
    assert.equal(matching('dst port 53'), 'dns');
    assert.equal(matching('src port 53'), '');
    assert.equal(matching('src net 10.0.1.0/24'), 'dns');
    assert.equal(matching('net 192.168.0.0/16'), 'web');
    assert.equal(matching('!host 10.0.0.2'), 'dns web');
    assert.equal(matching('not port 80'), 'arp request reply dns');
    assert.equal(matching('arp or tcp port 80'), 'arp web');
    assert.equal(matching(`host ${MAC_1}`), 'arp request reply dns web');
  });

  it('anything else is text in the summary; quotes keep spaces', () => {
    assert.equal(matching('"echo reply"'), 'reply');
    assert.equal(matching('who-has'), 'arp');
    assert.equal(matching('[S]'), 'web');
    assert.equal(matching('nothing-like-this'), '');
  });
});
