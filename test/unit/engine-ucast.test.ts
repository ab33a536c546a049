// The ucast engine with real UDP sockets on 127.0.0.1: each FakeVm plays a UML VM's ucast
// interface (it listens on vmPort and sends to the engine's port).
//
// "Does not see" is proven without sleeping: after the frame under test, a broadcast marker
// is sent on the same path; frames on a link are never reordered, so once the marker has
// arrived, a frame that was going to arrive before it would have.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { startUcastSegment, type UcastSegment } from '../../src/kinds/forwarding/ucast-engine.ts';
import { readCapture } from '../../src/capture/decode.ts';
import { linkTable, type SegmentPlan } from '../../src/topology/plan.ts';
import type { PortVlans } from '../../src/topology/model.ts';
import { freePort } from '../vm/net-helpers.ts';
import { eventually } from '../vm/helpers.ts';

const BROADCAST = 'ff:ff:ff:ff:ff:ff';
/** IEEE "local experimental" ethertype: the engine must forward frames it does not understand. */
const TEST_ETHERTYPE = 0x88b5;

class FakeVm {
  readonly received: Buffer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    readonly port: number,
    readonly mac: string,
  ) {
    socket.on('message', (frame: Buffer) => {
      this.received.push(frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async create(mac: string): Promise<FakeVm> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.setRecvBufferSize(4 * 1024 * 1024);
    return new FakeVm(socket, socket.address().port, mac);
  }

  /** Sends a frame from this VM's MAC (or a spoofed one) to `dst`; resolves once the kernel has it
   *  (on loopback: once it is in the engine's receive queue). */
  send(enginePort: number, dst: string, tag: string, src = this.mac): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(frame(dst, src, tag), enginePort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  tags(): string[] {
    return this.received.map(tagOf);
  }

  /** Resolves when a frame with this tag has arrived. */
  waitForTag(tag: string, timeoutMs = 2000): Promise<void> {
    return this.waitUntil(() => this.tags().includes(tag), timeoutMs, `no frame '${tag}'`);
  }

  /** Resolves when `n` frames have arrived. */
  waitForCount(n: number, timeoutMs = 2000): Promise<void> {
    return this.waitUntil(() => this.received.length >= n, timeoutMs, `not ${n} frames`);
  }

  private async waitUntil(arrived: () => boolean, timeoutMs: number, missing: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!arrived()) {
      if (Date.now() > deadline) throw new Error(`${this.mac}: ${missing} within ${timeoutMs} ms; got ${JSON.stringify(this.tags())}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** An Ethernet frame carrying an ASCII tag, padded to the 60-byte minimum like a real NIC does. */
function frame(dst: string, src: string, tag: string): Buffer {
  const type = Buffer.alloc(2);
  type.writeUInt16BE(TEST_ETHERTYPE);
  const body = Buffer.concat([macBytes(dst), macBytes(src), type, Buffer.from(`${tag}\0`)]);
  return body.length >= 60 ? body : Buffer.concat([body, Buffer.alloc(60 - body.length)]);
}

function tagOf(f: Buffer): string {
  const end = f.indexOf(0, 14);
  return f.subarray(14, end).toString();
}

/** performance.now(), which the engine's ageing reads, moved ahead by `advance(ms)` on demand. */
function fakeClock(t: { mock: { method: (object: object, name: string, impl: () => number) => unknown } }): { advance(ms: number): void } {
  const realNow = performance.now.bind(performance);
  let offset = 0;
  t.mock.method(performance, 'now', () => realNow() + offset);
  return { advance: (ms) => void (offset += ms) };
}

/** Resolves once the kernel's receive queue of the UDP socket on 127.0.0.1:port is empty
 *  (/proc/net/udp): the engine, in this process, has read, and handled, every frame sent to it. */
async function receiveQueueDrained(port: number, timeoutMs = 2000): Promise<void> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .find((line) => line.trim().split(/\s+/)[1] === local);
    assert.ok(row, `no UDP socket on 127.0.0.1:${port}`);
    const rxQueue = parseInt(row.trim().split(/\s+/)[4]!.split(':')[1]!, 16);
    if (rxQueue === 0) return;
    assert.ok(Date.now() < deadline, `the engine did not read its socket on port ${port} within ${timeoutMs} ms`);
    await nextTurn();
  }
}

interface Lab {
  segment: UcastSegment;
  vms: FakeVm[];
  enginePorts: number[];
  captureDir: string;
  capturePath(i: number): string;
  close(): Promise<void>;
}

/** Starts a segment with n fake VMs; link i is "vm<i>.eth0", MAC fe:fd:00:00:00:0<i+1>. */
async function startLab(
  engine: 'switch' | 'hub' | 'wire',
  n: number,
  extra: { options?: Record<string, unknown>; capture?: boolean; sharedCapture?: boolean; vlans?: (PortVlans | undefined)[] } = {},
): Promise<Lab> {
  const captureDir = mkdtempSync(join(tmpdir(), 'umlab-engine-'));
  const capturePath = (i: number) => join(captureDir, extra.sharedCapture ? 'wire.pcap' : `vm${i}.eth0.pcap`);
  const vms = await Promise.all(Array.from({ length: n }, (_, i) => FakeVm.create(`fe:fd:00:00:00:0${i + 1}`)));
  const enginePorts = await Promise.all(vms.map(() => freePort({ protocol: 'udp' })));
  const plan: SegmentPlan = {
    name: `test-${engine}`,
    kind: engine === 'wire' ? 'p2p' : engine,
    engine,
    ports: vms.map((vm, i) => ({
      link: `vm${i}.eth0`,
      vm: `vm${i}`,
      iface: 'eth0',
      mac: vm.mac,
      vmPort: vm.port,
      enginePort: enginePorts[i]!,
      ...(extra.vlans?.[i] && { vlans: extra.vlans[i] }),
    })),
    options: extra.options ?? {},
    needs: [],
  };
  const links = linkTable(
    vms.map((_, i) => ({
      name: `vm${i}.eth0`,
      segment: plan.name,
      endpoints: [{ vm: `vm${i}`, iface: 'eth0' }],
      capture: extra.capture === false ? null : capturePath(i),
    })),
  );
  const segment = await startUcastSegment(plan, { links }).catch(async (err: unknown) => {
    await Promise.all(vms.map((vm) => vm.close()));
    rmSync(captureDir, { recursive: true, force: true });
    throw err;
  });
  return {
    segment,
    vms,
    enginePorts,
    captureDir,
    capturePath,
    async close() {
      await segment.stop();
      await Promise.all(vms.map((vm) => vm.close()));
      rmSync(captureDir, { recursive: true, force: true });
    },
  };
}

test('switch: floods unknown and broadcast, then keeps learned unicast off other ports', async (t) => {
  const lab = await startLab('switch', 3);
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];

  a.send(pa, b.mac, 'a-to-b-unknown'); // b not learned yet: flooded, c sees it
  await c.waitForTag('a-to-b-unknown');
  await b.waitForTag('a-to-b-unknown');

  b.send(pb, a.mac, 'b-to-a'); // a was learned from the previous frame
  b.send(pb, BROADCAST, 'marker-1');
  await c.waitForTag('marker-1');
  await a.waitForTag('b-to-a');
  assert.ok(!c.tags().includes('b-to-a'), 'c saw unicast for a learned MAC');

  a.send(pa, b.mac, 'a-to-b-known');
  a.send(pa, BROADCAST, 'marker-2');
  await c.waitForTag('marker-2');
  await b.waitForTag('a-to-b-known');
  assert.ok(!c.tags().includes('a-to-b-known'));

  a.send(pa, 'fe:fd:00:00:00:99', 'to-nobody'); // unknown destination is flooded
  await b.waitForTag('to-nobody');
  await c.waitForTag('to-nobody');
  a.send(pa, '01:00:5e:00:00:01', 'multicast'); // group address is flooded
  await b.waitForTag('multicast');
  await c.waitForTag('multicast');

  // Nothing is ever sent back to its ingress port: a sent frames and markers, b's marker closes the check.
  b.send(pb, BROADCAST, 'marker-3');
  await a.waitForTag('marker-3');
  assert.deepEqual(a.tags(), ['b-to-a', 'marker-1', 'marker-3']);

  const byLink = Object.fromEntries(lab.segment.counters().map((c) => [c.link, c]));
  assert.equal(byLink['vm0.eth0']!.rxFrames, 5);
  assert.equal(byLink['vm0.eth0']!.txFrames, 3);
  assert.equal(byLink['vm2.eth0']!.rxFrames, 0);
  assert.equal(byLink['vm2.eth0']!.txFrames, 6); // a-to-b-unknown, marker-1, marker-2, to-nobody, multicast, marker-3
  assert.equal(byLink['vm2.eth0']!.txBytes, 6 * 60);
});

test('switch: a learned MAC ages out and is flooded again', async (t) => {
  const clock = fakeClock(t);
  const lab = await startLab('switch', 3, { options: { ageing: 0.5 } });
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];

  b.send(pb, BROADCAST, 'b-hello');
  await c.waitForTag('b-hello');
  a.send(pa, b.mac, 'fresh');
  a.send(pa, BROADCAST, 'marker-1');
  await c.waitForTag('marker-1');
  assert.ok(!c.tags().includes('fresh'), 'b was just learned: c must not see unicast to it');

  clock.advance(600); // longer than the 0.5 s ageing; b stays silent meanwhile
  a.send(pa, b.mac, 'aged');
  await c.waitForTag('aged');
});

test('switch: ageing 0 never forgets a learned MAC', async (t) => {
  const clock = fakeClock(t);
  const lab = await startLab('switch', 3, { options: { ageing: 0 } });
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];

  b.send(pb, BROADCAST, 'b-hello');
  await c.waitForTag('b-hello');
  clock.advance(24 * 3600 * 1000); // a day later, still learned
  a.send(pa, b.mac, 'remembered');
  a.send(pa, BROADCAST, 'marker');
  await c.waitForTag('marker');
  await b.waitForTag('remembered');
  assert.ok(!c.tags().includes('remembered'), 'b stays learned: c must not see unicast to it');
});

test('switch: a MAC that moves to another port is re-learned there', async (t) => {
  const lab = await startLab('switch', 3);
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb, pc] = lab.enginePorts as [number, number, number];
  const roaming = 'fe:fd:00:00:00:42';

  b.send(pb, BROADCAST, 'roaming-on-b', roaming);
  await c.waitForTag('roaming-on-b');
  c.send(pc, BROADCAST, 'roaming-on-c', roaming); // the same MAC now talks from c's port
  await b.waitForTag('roaming-on-c');

  a.send(pa, roaming, 'to-roaming');
  a.send(pa, BROADCAST, 'marker');
  await b.waitForTag('marker');
  await c.waitForTag('to-roaming');
  assert.ok(!b.tags().includes('to-roaming'), 'frame went to the old port');
});

test('hub: floods unicast to every other port, even between talking peers', async (t) => {
  const lab = await startLab('hub', 3);
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];

  a.send(pa, b.mac, 'a-to-b-1');
  b.send(pb, a.mac, 'b-to-a');
  await a.waitForTag('b-to-a');
  a.send(pa, b.mac, 'a-to-b-2');
  await b.waitForTag('a-to-b-2');
  await c.waitForTag('a-to-b-2');
  assert.deepEqual(c.tags(), ['a-to-b-1', 'b-to-a', 'a-to-b-2']);
  b.send(pb, BROADCAST, 'marker');
  await a.waitForTag('marker');
  assert.deepEqual(a.tags(), ['b-to-a', 'marker'], 'a hub must not echo frames back to the sender');
});

test('wire: forwards both ways and writes each frame once to the shared capture', async (t) => {
  const lab = await startLab('wire', 2, { sharedCapture: true });
  t.after(() => lab.close());
  const [a, b] = lab.vms as [FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];

  a.send(pa, b.mac, 'ping');
  await b.waitForTag('ping');
  b.send(pb, a.mac, 'pong');
  await a.waitForTag('pong');
  a.send(pa, 'fe:fd:00:00:00:77', 'any-destination'); // a wire does not look at addresses
  await b.waitForTag('any-destination');

  await lab.segment.stop();
  const frames = await readCapture(lab.capturePath(0));
  assert.deepEqual(
    frames.map((f) => [f.src, f.dst]),
    [
      [a.mac, b.mac],
      [b.mac, a.mac],
      [a.mac, 'fe:fd:00:00:00:77'],
    ],
  );
});

test('wire: refuses a plan without exactly two ports', async () => {
  await assert.rejects(startLab('wire', 3), /exactly 2 ports/);
});

test('link down drops frames both ways; link up restores them', async (t) => {
  const lab = await startLab('switch', 3);
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];

  lab.segment.setLinkUp('vm1.eth0', false);
  a.send(pa, BROADCAST, 'to-cut-b');
  a.send(pa, BROADCAST, 'marker-1');
  await b.send(pb, BROADCAST, 'from-cut-b');
  await c.waitForTag('marker-1'); // so the engine has handled 'to-cut-b' while b was down
  await receiveQueueDrained(pb); // 'from-cut-b' comes in on another socket: the engine has read (and dropped) it

  lab.segment.setLinkUp('vm1.eth0', true);
  a.send(pa, BROADCAST, 'a-back');
  b.send(pb, BROADCAST, 'b-back');
  await b.waitForTag('a-back');
  await a.waitForTag('b-back');
  await c.waitForTag('b-back');
  // Per-port order: a dropped frame would have arrived before the frame sent after it.
  assert.deepEqual(b.tags(), ['a-back'], 'b received while its cable was cut');
  assert.deepEqual(a.tags(), ['b-back'], 'b transmitted while its cable was cut');
  assert.ok(!c.tags().includes('from-cut-b'));
  const bCounters = lab.segment.counters().find((x) => x.link === 'vm1.eth0')!;
  assert.deepEqual([bCounters.rxFrames, bCounters.txFrames], [1, 1], 'dropped frames are not counted as traffic');

  assert.throws(() => lab.segment.setLinkUp('nope.eth0', false), /no link nope\.eth0/);
});

test('a burst of 2000 frames arrives in order, and the capture holds them in order', async (t) => {
  const lab = await startLab('switch', 2);
  t.after(() => lab.close());
  const [a, b] = lab.vms as [FakeVm, FakeVm];
  const [pa] = lab.enginePorts as [number];
  const total = 2000;
  for (let i = 0; i < total; i++) {
    a.send(pa, b.mac, `seq-${i}`);
    // Let the engine drain now and then: sender and engine share this thread, so an unpaced
    // loop would only measure the socket buffer size.
    if (i % 100 === 99) await nextTurn();
  }
  await b.waitForTag(`seq-${total - 1}`, 5000);
  const expected = Array.from({ length: total }, (_, i) => `seq-${i}`);
  assert.deepEqual(b.tags(), expected);

  await lab.segment.stop();
  for (const link of [0, 1]) {
    const captured = await readCapture(lab.capturePath(link));
    assert.equal(captured.length, total, `capture of link ${link}`);
  }
  const tsSorted = (await readCapture(lab.capturePath(1))).map((f) => f.time);
  assert.deepEqual(
    tsSorted,
    [...tsSorted].sort((x, y) => x - y),
    'timestamps must not go backwards',
  );
});

test('captures: readable while running, complete after stop, microsecond timestamps, per-port contents', async (t) => {
  const lab = await startLab('switch', 3);
  t.after(() => lab.close());
  const [a, b, c] = lab.vms as [FakeVm, FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];
  const startedMicros = Date.now() * 1000;

  a.send(pa, BROADCAST, 'hello-from-a');
  await b.waitForTag('hello-from-a');
  b.send(pb, a.mac, 'b-to-a');
  b.send(pb, BROADCAST, 'marker');
  await c.waitForTag('marker');
  await a.waitForTag('b-to-a');

  // Flushed after the writer's 50 ms delay, without stopping anything.
  await eventually(async () => {
    const midRunA = await readCapture(lab.capturePath(0));
    assert.deepEqual(
      midRunA.map((f) => f.dst),
      [BROADCAST, a.mac, BROADCAST],
      'a: its broadcast (rx), b-to-a and marker (tx)',
    );
  });

  a.send(pa, b.mac, 'after-read');
  await b.waitForTag('after-read');
  await lab.segment.stop();
  const endedMicros = Date.now() * 1000 + 1000;

  const fileA = await readCapture(lab.capturePath(0));
  const fileB = await readCapture(lab.capturePath(1));
  const fileC = await readCapture(lab.capturePath(2));
  assert.equal(fileA.length, 4);
  assert.deepEqual(
    fileB.map((f) => f.dst),
    [BROADCAST, a.mac, BROADCAST, b.mac],
  );
  assert.deepEqual(
    fileC.map((f) => f.dst),
    [BROADCAST, BROADCAST],
    'c sees only the two broadcasts',
  );
  for (const f of [...fileA, ...fileB, ...fileC]) {
    assert.ok(f.time >= startedMicros - 1000 && f.time <= endedMicros, `timestamp ${f.time} outside the test run`);
    assert.equal(f.length, 60);
  }
  // Microsecond resolution: with 10 timestamps, all being whole milliseconds would be a 1e-30 fluke.
  const all = [...fileA, ...fileB, ...fileC].map((f) => f.time);
  assert.ok(
    all.some((us) => us % 1000 !== 0),
    'timestamps look like milliseconds, not microseconds',
  );

  if (existsSync('/usr/bin/tshark')) {
    const out = execFileSync('/usr/bin/tshark', ['-r', lab.capturePath(1), '-T', 'fields', '-e', 'eth.dst'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.deepEqual(out.trim().split('\n'), [BROADCAST, a.mac, BROADCAST, b.mac]);
  }
});

test('capture can be turned off per link; onFrame sees both directions until unsubscribed', async (t) => {
  const lab = await startLab('switch', 2, { capture: false });
  t.after(() => lab.close());
  const [a, b] = lab.vms as [FakeVm, FakeVm];
  const [pa, pb] = lab.enginePorts as [number, number];
  const seen: { tag: string; ts: number }[] = [];
  const unsubscribe = lab.segment.onFrame('vm0.eth0', (f, ts) => seen.push({ tag: tagOf(f), ts: Number(ts) }));

  a.send(pa, BROADCAST, 'out-of-a');
  await b.waitForTag('out-of-a');
  b.send(pb, BROADCAST, 'into-a');
  await a.waitForTag('into-a');
  unsubscribe();
  b.send(pb, BROADCAST, 'unwatched');
  await a.waitForTag('unwatched');

  assert.deepEqual(
    seen.map((s) => s.tag),
    ['out-of-a', 'into-a'],
  );
  assert.ok(
    seen.every((s) => s.ts > 1e15),
    'tsMicros is microseconds since the epoch',
  );
  await lab.segment.stop();
  assert.ok(!existsSync(lab.capturePath(0)), 'no capture file when capture is null');
});

test('a port that is already taken fails the start and releases the other ports', async () => {
  const squatter = createSocket('udp4');
  await new Promise<void>((resolve) => squatter.bind(0, '127.0.0.1', resolve));
  const takenPort = squatter.address().port;
  const freeEnginePort = await freePort({ protocol: 'udp' });
  const plan: SegmentPlan = {
    name: 'clash',
    kind: 'switch',
    engine: 'switch',
    ports: [
      { link: 'x.eth0', vm: 'x', iface: 'eth0', mac: 'fe:fd:00:00:00:01', vmPort: 1, enginePort: freeEnginePort },
      { link: 'y.eth0', vm: 'y', iface: 'eth0', mac: 'fe:fd:00:00:00:02', vmPort: 2, enginePort: takenPort },
    ],
    options: {},
    needs: [],
  };
  const links = linkTable(plan.ports.map((p) => ({ name: p.link, segment: 'clash', endpoints: [{ vm: p.vm, iface: p.iface }], capture: null })));
  await assert.rejects(startUcastSegment(plan, { links }), /cannot use UDP port/);
  // The first port was released: binding it again succeeds.
  const again = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.bind(freeEnginePort, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => again.close(() => resolve()));
  await new Promise<void>((resolve) => squatter.close(() => resolve()));
});

test('a VLAN-aware switch keeps VLANs apart, tags on trunks, untags on access ports and native VLANs', async (t) => {
  // a: access 10, b: access 20, c: trunk 10+20, d: trunk 20+30 with native 10.
  const lab = await startLab('switch', 4, {
    vlans: [{ untagged: 10, tagged: [] }, { untagged: 20, tagged: [] }, { tagged: [10, 20] }, { untagged: 10, tagged: [20, 30] }],
  });
  t.after(() => lab.close());
  const [a, b, c, d] = lab.vms as [FakeVm, FakeVm, FakeVm, FakeVm];
  const [pa, , pc] = lab.enginePorts as [number, number, number];
  const vlanOf = (f: Buffer) => (f.readUInt16BE(12) === 0x8100 ? f.readUInt16BE(14) & 0xfff : null);

  a.send(pa, BROADCAST, 'from-a');
  await c.waitForCount(1);
  await d.waitForCount(1);
  assert.deepEqual(c.received.map(vlanOf), [10], 'tagged on the trunk');
  assert.deepEqual(d.received.map(vlanOf), [null], "untagged on d's native VLAN");
  assert.equal(tagOf(d.received[0]!), 'from-a');

  // A frame tagged 20 from the trunk reaches b untagged, and d tagged; a never sees VLAN 20.
  /** A broadcast from c tagged with `vid`. */
  const taggedFrame = (vid: number, tag: string) =>
    Buffer.concat([macBytes(BROADCAST), macBytes(c.mac), Buffer.from([0x81, 0x00, 0x00, vid]), frame(BROADCAST, c.mac, tag).subarray(12)]);
  c.socket.send(taggedFrame(20, 'from-c'), pc, '127.0.0.1');
  await b.waitForTag('from-c');
  await d.waitForCount(2);
  assert.deepEqual(d.received.map(vlanOf), [null, 20]);
  // A VLAN the port does not carry is dropped at the door, though d carries it. The markers
  // leave the same socket after it, so the engine has handled it when they arrive.
  c.socket.send(taggedFrame(30, 'vlan-30'), pc, '127.0.0.1');
  c.socket.send(taggedFrame(10, 'marker-10'), pc, '127.0.0.1');
  c.socket.send(taggedFrame(20, 'marker-20'), pc, '127.0.0.1');
  await a.waitForTag('marker-10');
  await b.waitForTag('marker-20');
  assert.deepEqual(a.received.map(tagOf), ['marker-10'], 'a (VLAN 10) saw nothing of VLAN 20 or 30');
  assert.deepEqual(b.received.map(tagOf), ['from-c', 'marker-20'], 'b (VLAN 20) saw nothing of VLAN 30');
  await d.waitForCount(4);
  assert.deepEqual(d.received.map(vlanOf), [null, 20, null, 20], 'd got both markers and nothing of VLAN 30');
});
