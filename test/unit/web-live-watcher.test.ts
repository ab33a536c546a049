// LabWatcher against a stand-in control socket that counts status requests: it polls on a
// schedule while wanted, stops after a poll when not, and wake() polls once (never twice at once).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LabWatcher, type LiveEvent } from '../../src/web/live.ts';

const dir = mkdtempSync(join(tmpdir(), 'umlab-watcher-'));
const socket = join(dir, 'control.sock');
let statusRequests = 0;
let server: Server;

const STATUS = { lab: 'l', phase: 'ready', supervisorPid: 1, mode: 'netns', runDir: dir, startedAt: '', vms: [], links: [] };

before(async () => {
  server = createServer((conn) =>
    conn.on('data', () => {
      statusRequests++;
      conn.end(`${JSON.stringify({ ok: true, status: STATUS })}\n`);
    }),
  );
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean): Promise<void> {
  for (const t = Date.now(); !ok(); await sleep(10)) if (Date.now() - t > 10_000) assert.fail(`${what}: not within 10 s`);
}

describe('LabWatcher', () => {
  it('polls once per wake() while nobody wants it, on its schedule while somebody does', async () => {
    let wanted = false;
    const events: LiveEvent[] = [];
    const watcher = new LabWatcher(
      socket,
      (e) => events.push(e),
      20,
      () => wanted,
    );
    statusRequests = 0;
    await watcher.start();
    assert.equal(statusRequests, 1);
    assert.equal(events.length, 1);
    assert.equal(watcher.last?.running, true);
    await sleep(150);
    assert.equal(statusRequests, 1, 'no poll of its own while unwanted');

    await Promise.all([watcher.wake(), watcher.wake(), watcher.wake()]);
    assert.equal(statusRequests, 2, 'wakes at once share one poll');

    wanted = true;
    await watcher.wake();
    await until('polls on its schedule', () => statusRequests >= 6);

    wanted = false;
    // The next poll to end finds it unwanted and schedules nothing more.
    const seen = events.length;
    await until('one more poll ends', () => events.length > seen);
    const stoppedAt = statusRequests;
    await sleep(150);
    assert.equal(statusRequests, stoppedAt, 'stops after the poll that found it unwanted');
    watcher.stop();
  });

  it('a wake() while a poll is due within the interval asks nothing more', async () => {
    const watcher = new LabWatcher(socket, () => {}, 60_000);
    statusRequests = 0;
    await watcher.start();
    await watcher.wake();
    assert.equal(statusRequests, 1);
    watcher.stop();
    await watcher.wake();
    assert.equal(statusRequests, 1, 'nothing after stop()');
  });
});
