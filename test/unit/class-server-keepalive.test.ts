// The class server under a stalled event loop (a 2-core host with 30 labs booting starves it for
// seconds): a request that arrived on a kept-alive connection during the stall is answered, not
// reset. With node's default keepAliveTimeout (5 s), the connection's idle timer fires before the
// waiting request is read, the socket is destroyed with the request unread, and the client gets
// ECONNRESET (bench/class.sh's students saw it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startClassServer, type ClassServer } from '../../src/class/server.ts';
import { ClassService } from '../../src/class/service.ts';
import { ClassStore } from '../../src/class/store.ts';
import { idlePlacement, testClass } from './class-fixtures.ts';

const placement = idlePlacement();

/** Longer than node's default keepAliveTimeout of 5 s. */
const STALL_MS = 6500;

describe('class server keep-alive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-keepalive-'));
  const store = new ClassStore(join(dir, 'class.db'));
  const loaded = testClass({ roster: [{ id: 's1', name: 'One' }] });
  store.syncRoster(loaded.spec.roster);
  const service = new ClassService({ loaded, store, placement, budgetMiB: 1024 });
  let server: ClassServer;

  before(async () => {
    await service.init();
    server = await startClassServer({ name: 'c1', service, store, port: 0 });
  });

  after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a request that waited on a kept-alive connection while the event loop stalled', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    const count = () => (received.match(/HTTP\/1\.1 \d+/g) ?? []).length;
    let waiting: { n: number; resolve: () => void } | null = null;
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (waiting && count() >= waiting.n) waiting.resolve();
    });
    const closed = new Promise<string>((resolve) => {
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      socket.on('close', () => resolve('closed'));
    });
    const answers = (n: number) =>
      new Promise<void>((resolve, reject) => {
        waiting = { n, resolve };
        void closed.then((how) => reject(new Error(`the connection ended (${how}) after ${count()} answers`)));
      });
    const request = `GET /class.css HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: keep-alive\r\n\r\n`;
    const first = answers(1);
    socket.write(request);
    await first;
    const second = answers(2);
    // The second request reaches the server's socket buffer, and the server's loop is busy before
    // it reads it.
    socket.write(request);
    // A starved process: no timer and no I/O runs meanwhile. In a check-phase callback, as work
    // after I/O is: the loop's next phase is the timers', before the waiting request is read.
    setImmediate(() => {
      const until = Date.now() + STALL_MS;
      while (Date.now() < until);
    });
    await second;
    assert.equal((received.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
    socket.destroy();
  });
});
