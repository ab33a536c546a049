// The control server alone, over a stub lab: dispatch, refusals with their codes, `down`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, errorReply, type ControlTarget } from '../../src/runtime/control-server.ts';
import { ask, jsonLines, type LabStatus } from '../../src/client/control.ts';
import { LabRuntimeError, NotFoundError, UsageError } from '../../src/errors.ts';
import type { UmlProcess } from '../../src/vm/uml-process.ts';

const STATUS = { lab: 'stub', phase: 'starting', supervisorPid: 1, mode: 'userns', runDir: '/x', startedAt: 'now', vms: [], links: [] } as LabStatus;

async function stubServer(t: { after(fn: () => unknown): void }, overrides: Partial<ControlTarget> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-ctl-'));
  const path = join(dir, 'control.sock');
  const calls: string[] = [];
  const server = new ControlServer(path, {
    lab: 'stub',
    phase: () => 'starting',
    status: () => STATUS,
    vms: () => [],
    vmAction: async () => ({ ok: true }),
    linkAction: async (req) => {
      calls.push(`link ${req.action}`);
      if (req.action === 'add') throw new UsageError('no such segment', { hint: 'segments: sw0' });
      if (req.action === 'rm') throw new NotFoundError('no link h1.eth9');
      throw new LabRuntimeError('the segment is gone');
    },
    down: async () => (calls.push('down'), { captureFaults: [] }),
    afterDown: () => calls.push('afterDown'),
    ...overrides,
  });
  assert.equal(existsSync(path), false);
  await server.listen();
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, calls, server };
}

test('the socket appears once it listens; status is answered, an unknown request refused', async (t) => {
  const { path } = await stubServer(t);
  assert.equal(existsSync(path), true);
  assert.equal(existsSync(path + '.binding'), false);
  assert.deepEqual(await ask(path, { op: 'status' }), { ok: true, status: STATUS });
  assert.deepEqual(await ask(path, { op: 'frobnicate' } as never), { ok: false, error: 'unknown request frobnicate' });
});

test('a thrown error becomes a refusal whose code the CLI maps to its exit code', async (t) => {
  const { path } = await stubServer(t);
  assert.deepEqual(await ask(path, { op: 'link', action: 'add', vm: 'h1', iface: 'eth1' }), {
    ok: false,
    error: 'no such segment',
    code: 'usage',
    hint: 'segments: sw0',
  });
  assert.deepEqual(await ask(path, { op: 'link', action: 'rm', vm: 'h1', iface: 'eth9' }), { ok: false, error: 'no link h1.eth9', code: 'not-found' });
  assert.deepEqual(await ask(path, { op: 'link', action: 'down', vm: 'h1', iface: 'eth0' }), { ok: false, error: 'the segment is gone' });
  assert.deepEqual(errorReply('plain'), { ok: false, error: 'plain' });
});

test('a VM the lab does not have is not found, with the lab name', async (t) => {
  const { path } = await stubServer(t);
  for (const req of [
    { op: 'exec', vm: 'h9', command: 'true' },
    { op: 'console', vm: 'h9' },
    { op: 'vm', vm: 'h9', action: 'pause' },
  ] as const)
    assert.deepEqual(await ask(path, req), { ok: false, code: 'not-found', error: 'no VM named h9 in lab stub (VMs: )' });
});

test('one request per connection: a second line is ignored', async (t) => {
  const { path, calls } = await stubServer(t);
  const sock = connect(path);
  t.after(() => sock.destroy());
  const replies: unknown[] = [];
  const firstReply = new Promise<void>((resolve) =>
    sock.on(
      'data',
      jsonLines((v) => (replies.push(v), resolve())),
    ),
  );
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.write(JSON.stringify({ op: 'status' }) + '\n' + JSON.stringify({ op: 'down' }) + '\n');
  await firstReply;
  // Our end of the stream comes after both lines, and the server closes on it: once the socket is
  // closed the server has read the second line, and a dispatched `down` would be in `calls`.
  sock.end();
  await closed;
  assert.equal(replies.length, 1);
  assert.deepEqual(calls, []);
});

test('watch: the VM states now, then each progress event; down answers, closes the socket, then afterDown', async (t) => {
  // One VM, so that its state line acknowledges the subscription: it is sent once the watcher is registered.
  const { path, calls, server } = await stubServer(t, { vms: () => [{ name: 'h1', state: 'booting' }] as unknown as UmlProcess[] });
  const events: { type: string }[] = [];
  const sock = connect(path);
  t.after(() => sock.destroy());
  let arrived = () => {};
  sock.on(
    'data',
    jsonLines<(typeof events)[number]>((v) => (events.push(v), arrived())),
  );
  const eventCount = (n: number) => new Promise<void>((resolve) => (arrived = () => events.length >= n && resolve()));
  const subscribed = eventCount(1);
  sock.write(JSON.stringify({ op: 'watch' }) + '\n');
  await subscribed;
  const broadcastSeen = eventCount(2);
  server.broadcast({ type: 'step', message: 'hello' });
  await broadcastSeen;
  assert.deepEqual(events, [
    { type: 'vm', vm: 'h1', state: 'booting' },
    { type: 'step', message: 'hello' },
  ]);
  assert.deepEqual(await ask(path, { op: 'down' }), { ok: true, captureFaults: [] });
  assert.deepEqual(calls, ['down', 'afterDown']);
  assert.equal(existsSync(path), false);
});
