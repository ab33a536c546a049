// The class server over a stand-in placement, no VM: sign-in by link, the cookie's attributes,
// the Host and Origin checks, who gets which page, and names escaped in the pages.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startClassServer, type ClassServer } from '../../src/class/server.ts';
import { ClassService } from '../../src/class/service.ts';
import { ClassStore } from '../../src/class/store.ts';
import { idlePlacement, testClass } from './class-fixtures.ts';

const placement = idlePlacement();

/** A raw request, so that Host and Origin are what the test says. */
function raw(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('class server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-server-'));
  const store = new ClassStore(join(dir, 'class.db'));
  const roster = [
    { id: 's1', name: '<img src=x onerror=alert(1)>' },
    { id: 's2', name: 'Two' },
  ];
  const loaded = testClass({ roster });
  store.syncRoster(roster);
  const service = new ClassService({ loaded, store, placement, budgetMiB: 1024 });
  let server: ClassServer;
  let host = '';
  const cookies: Record<string, string> = {};
  const get = (path: string, who?: string, extra: Record<string, string> = {}, method = 'GET') =>
    raw(server.port, path, { Host: host, ...(who ? { Cookie: cookies[who] } : {}), ...extra }, method);

  before(async () => {
    await service.init();
    server = await startClassServer({ name: 'c1', service, store, port: 0 });
    host = `127.0.0.1:${server.port}`;
    for (const who of ['s1', 's2', 'teacher']) {
      const token = store.issueToken(who === 'teacher' ? { role: 'teacher' } : { role: 'student', id: who });
      const res = await get(`/join/${token}`);
      assert.equal(res.status, 303);
      const cookie = String(res.headers['set-cookie']);
      assert.match(cookie, /^umlab-class-c1=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
      cookies[who] = cookie.split(';')[0]!;
    }
  });
  after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a request addressed to another host name (DNS rebinding), even with a session', async () => {
    assert.equal((await raw(server.port, '/api/me', { Host: `evil.example:${server.port}`, Cookie: cookies.s1! })).status, 403);
    assert.equal((await get('/api/me', 's1')).status, 200);
  });

  it('refuses a cross-site POST, takes a same-site one', async () => {
    assert.equal((await get('/api/labs/a1/start', 's1', { Origin: 'http://evil.example' }, 'POST')).status, 403);
    assert.equal((await get('/api/labs/a1/start', 's1', { Origin: `http://${host}` }, 'POST')).status, 202);
    await service.settled();
  });

  it('sends each to their own page, and escapes names in it', async () => {
    assert.equal((await get('/', 's1')).headers.location, '/student');
    assert.equal((await get('/', 'teacher')).headers.location, '/teacher');
    const page = await get('/student', 's1');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.ok(!page.body.includes('<img'), 'the name is escaped');
    assert.ok(page.body.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(!(await get('/teacher', 'teacher')).body.includes('<img'));
    assert.equal((await get('/student', 'teacher')).status, 404);
    assert.equal((await get('/teacher', 's1')).status, 403);
    assert.equal((await get('/api/labs/a1/start', 'teacher', {}, 'POST')).status, 404, 'the teacher names the student');
  });

  it('answers only GET and POST, and GET does not start a lab', async () => {
    assert.equal((await get('/api/labs/a1/stop', 's2', {}, 'DELETE')).status, 405);
    assert.equal((await get('/api/students/s2/labs/a1/start', 's2')).status, 405);
    assert.equal(service.labView('s2', 'a1').state, 'stopped');
  });

  it('gives the teacher the table as CSV, names as text (no formula), and refuses it to students', async () => {
    store.addSubmission({ student: 's2', assignment: 'a1', at: Date.UTC(2026, 11, 7), dir: '/x', files: ['h1:/etc/a'], skipped: [] });
    const csv = await get('/api/class.csv', 'teacher');
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="c1.csv"/);
    const lines = csv.body.trimEnd().split('\r\n');
    assert.equal(lines[0], 'student,name,last activity,a1 lab,a1 handed in,a1 hand-ins,a1 grade');
    assert.match(lines[1]!, /^s1,<img src=x onerror=alert\(1\)>,[^,]*,(starting|running|stopped),,0,$/);
    assert.match(lines[2]!, /^s2,Two,[^,]*,stopped,2026-12-07T00:00:00.000Z,1,$/);
    // Grades: the latest run that graded each student counts.
    const run = (stamp: string, student: string, status: string, points: number) => ({ assignment: 'a1', stamp, student, status, points, maxPoints: 11 });
    store.addGrades([run('2026-12-07T10-00-00-000Z', 's1', 'timeout', 0), run('2026-12-07T10-00-00-000Z', 's2', 'graded', 4)]);
    store.addGrades([run('2026-12-07T11-00-00-000Z', 's2', 'graded', 7.5)]);
    const graded = (await get('/api/class.csv', 'teacher')).body.trimEnd().split('\r\n');
    assert.match(graded[1]!, /,0,timeout$/);
    assert.match(graded[2]!, /,1,7\.5\/11$/);
    assert.equal((await get('/api/class.csv', 's1')).status, 403);
  });

  it('answers 404 for submit and checks without hand-ins, and refuses them to another student', async () => {
    assert.equal((await get('/api/labs/a1/submit', 's1', {}, 'POST')).status, 404);
    assert.equal((await get('/api/students/s1/labs/a1/checks', 's2', {}, 'POST')).status, 403);
  });

  it('refuses the lab in the browser to another student, and answers 409 for a lab that is not running', async () => {
    assert.equal((await get('/students/s1/labs/a1/', 's2')).status, 403);
    assert.equal((await get('/students/s1/labs/a1', 's1')).headers.location, '/students/s1/labs/a1/');
    assert.equal((await get('/students/s1/labs/a1/api/lab', 's1')).status, 409);
    assert.equal((await get('/students/s1/labs/a1/api/lab', 'teacher')).status, 409);
  });

  it('logs refusals of requests without a session and of unknown links', async () => {
    assert.equal((await get('/api/me')).status, 403);
    assert.equal((await get(`/join/${'B'.repeat(43)}`)).status, 403);
    const latest = store.events(2);
    assert.deepEqual(
      latest.map((e) => [e.actor, e.action, e.outcome]),
      [
        ['anonymous', 'join', 'refused'],
        ['anonymous', 'GET /api/me', 'refused'],
      ],
    );
  });
});
