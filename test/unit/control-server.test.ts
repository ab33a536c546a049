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
  sock.on(
    'data',
    jsonLines((v) => replies.push(v)),
  );
  sock.write(JSON.stringify({ op: 'status' }) + '\n' + JSON.stringify({ op: 'down' }) + '\n');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(replies.length, 1);
  assert.deepEqual(calls, []);
});

test('watch: the VM states now, then each progress event; down answers, closes the socket, then afterDown', async (t) => {
  const { path, calls, server } = await stubServer(t);
  const events: { type: string }[] = [];
  const sock = connect(path);
  t.after(() => sock.destroy());
  sock.on(
    'data',
    jsonLines<(typeof events)[number]>((v) => events.push(v)),
  );
  sock.write(JSON.stringify({ op: 'watch' }) + '\n');
  await new Promise((r) => setTimeout(r, 100));
  server.broadcast({ type: 'step', message: 'hello' });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(events, [{ type: 'step', message: 'hello' }]);
  assert.deepEqual(await ask(path, { op: 'down' }), { ok: true, captureFaults: [] });
  assert.deepEqual(calls, ['down', 'afterDown']);
  assert.equal(existsSync(path), false);
});
