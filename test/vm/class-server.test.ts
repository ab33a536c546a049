// `umlab class serve` for real: two students of a class with labs/two-hosts.yaml. A student signs
// in with an invitation link, starts the lab and sees it run; the other student is refused on
// every path of that lab (and it is logged); a forged cookie and a revoked link are refused; the
// server is killed with SIGKILL and restarted: the session still works, the lab still runs, the
// hand-in made before is still there; the student stops it, and nothing of it is left.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { listLabs } from '../../src/runtime/lab.ts';
import { assertNothingLeft, cleanHome, eventually, lab, processesMentioning, sleep, umlabOk } from './helpers.ts';
import { startClassServe } from './class-helpers.ts';
import { freePort } from './net-helpers.ts';

const CLASS_YAML = `name: net101
roster:
  - { id: s1, name: Student One }
  - { id: s2, name: Student Two }
assignments:
  - { id: two-hosts, lab: labs/two-hosts.yaml }
`;

describe('umlab class serve with real labs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-'));
  const classFile = join(dir, 'CLASS.yaml');
  const classHome = join(dir, 'net101.class', 'home');
  // The CLI's own UMLAB_HOME: the class must not use it.
  const userHome = join(dir, 'user-home');
  let port = 0;
  let base = '';
  let server: ChildProcess | null = null;
  const links = new Map<string, string>();
  const cookies = new Map<string, string>();
  let labName = '';

  async function serve(): Promise<void> {
    server = await startClassServe(classFile, `127.0.0.1:${port}`, base, userHome);
  }

  const request = (path: string, who: string | null, method = 'GET', cookie = who ? cookies.get(who) : undefined) =>
    fetch(base + path, { method, redirect: 'manual', headers: cookie ? { Cookie: cookie } : {} });
  const json = async (path: string, who: string, method = 'GET') => {
    const res = await request(path, who, method);
    assert.ok(res.ok, `${method} ${path} as ${who}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as { assignments: { lab: string; state: string; queue: number | null; vms: { name: string; state: string }[] }[] };
  };
  const myLab = async (who: string) => (await json('/api/me', who)).assignments[0];

  async function signIn(who: string): Promise<void> {
    const res = await request(new URL(links.get(who)!).pathname, null);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), who === 'teacher' ? '/teacher' : '/student');
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^umlab-class-net101=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    cookies.set(who, setCookie.split(';')[0]);
  }

  before(async () => {
    mkdirSync(join(dir, 'labs'));
    copyFileSync(lab('two-hosts.yaml'), join(dir, 'labs', 'two-hosts.yaml'));
    writeFileSync(classFile, CLASS_YAML);
    port = await freePort({ from: 42400 });
    base = `http://127.0.0.1:${port}`;
    await serve();
    const invite = await umlabOk(userHome, ['class', 'invite', classFile, '--json']);
    for (const l of JSON.parse(invite.stdout) as { id: string; url: string }[]) links.set(l.id, l.url);
    assert.deepEqual([...links.keys()], ['s1', 's2', 'teacher']);
    for (const url of links.values()) assert.match(url, new RegExp(`^${base}/join/[A-Za-z0-9_-]{43}$`));
  });

  after(async () => {
    server?.kill('SIGKILL');
    await cleanHome(classHome);
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs students and the teacher in with their links; a student starts a lab and sees it run', async () => {
    for (const who of ['s1', 's2', 'teacher']) await signIn(who);
    const started = await request('/api/labs/two-hosts/start', 's1', 'POST');
    assert.equal(started.status, 202);
    const answer = (await started.json()) as { state: string; lab: string };
    assert.equal(answer.state, 'starting', 'the API answers at once');
    labName = answer.lab;
    const running = await eventually(async () => {
      const mine = await myLab('s1');
      assert.equal(mine.state, 'running', JSON.stringify(mine));
      return mine;
    }, 150_000);
    assert.deepEqual(
      running.vms.map((v) => `${v.name} ${v.state}`),
      ['h1 ready', 'h2 ready'],
    );
    assert.deepEqual(
      listLabs(classHome).map((l) => [l.lab, l.alive]),
      [[labName, true]],
      "the lab runs in the class's own home",
    );
    assert.deepEqual(listLabs(userHome), [], "nothing in the user's home");
    assert.equal((await myLab('s2')).state, 'stopped', "s2's own lab is another one");
  });

  it("refuses s2 every path of s1's lab, and logs each refusal", async () => {
    const paths: [string, string][] = [
      ['GET', '/api/students/s1/labs/two-hosts'],
      ['POST', '/api/students/s1/labs/two-hosts/start'],
      ['POST', '/api/students/s1/labs/two-hosts/stop'],
      ['POST', '/api/students/s1/labs/two-hosts/reset'],
      ['POST', '/api/students/s1/labs/two-hosts/other'],
      ['GET', '/api/class'],
      ['GET', '/teacher'],
    ];
    for (const [method, path] of paths) {
      const res = await request(path, 's2', method);
      assert.equal(res.status, 403, `${method} ${path}`);
    }
    // s1 itself may look at it under the same path: the refusal is about who asks.
    assert.equal((await request('/api/students/s1/labs/two-hosts', 's1')).status, 200);
    const db = new Database(join(dir, 'net101.class', 'class.db'), { readonly: true });
    const refused = db.prepare("SELECT action FROM events WHERE actor = 'student s2' AND outcome = 'refused'").all() as { action: string }[];
    db.close();
    assert.deepEqual(
      refused.map((r) => r.action),
      paths.map(([m, p]) => `${m} ${p}`),
    );
    assert.equal((await myLab('s1')).state, 'running', "s1's lab was not touched");
  });

  it('refuses a forged cookie, no cookie, a token as a cookie, and a revoked link', async () => {
    const forged = `umlab-class-net101=${'A'.repeat(43)}`;
    const token = new URL(links.get('s1')!).pathname.split('/').pop()!;
    for (const cookie of [forged, '', `umlab-class-net101=${token}`, cookies.get('s1')!.replace('umlab-class-net101', 'umlab-class-other')]) {
      assert.equal((await request('/api/me', null, 'GET', cookie)).status, 403, cookie);
      assert.equal((await request('/api/labs/two-hosts/stop', null, 'POST', cookie)).status, 403, cookie);
    }
    await umlabOk(userHome, ['class', 'invite', classFile, '--revoke', 's2']);
    assert.equal((await request(new URL(links.get('s2')!).pathname, null)).status, 403, 'the revoked link');
    assert.equal((await request('/api/me', 's2')).status, 403, "the revoked student's session ended with it");
    assert.equal((await request('/api/me', 's1')).status, 200, 'other sessions go on');
  });

  it('keeps sessions, running labs and hand-ins across a SIGKILL of the server', async () => {
    const handedIn = await request('/api/labs/two-hosts/submit', 's1', 'POST');
    assert.equal(handedIn.status, 201, await handedIn.clone().text());
    const handIns = async () => (await (await request('/api/labs/two-hosts/submit', 's1')).json()) as { at: number; files: string[] }[];
    const before = await handIns();
    assert.equal(before.length, 1);
    server!.kill('SIGKILL');
    await new Promise((resolve) => server!.once('exit', resolve));
    await sleep(500);
    assert.deepEqual(
      listLabs(classHome).map((l) => [l.lab, l.alive]),
      [[labName, true]],
      'the lab outlives its server',
    );
    await serve();
    const mine = await myLab('s1');
    assert.equal(mine.state, 'running');
    assert.equal(mine.lab, labName);
    assert.deepEqual(await handIns(), before, 'the hand-in is still there');
    assert.equal(readdirSync(join(dir, 'net101.class', 'submissions', 'two-hosts')).length, 1, 'and its folder');
    const table = (await json('/api/class', 'teacher')) as unknown as { students: { id: string; labs: { state: string }[] }[] };
    assert.deepEqual(
      table.students.map((s) => [s.id, s.labs[0].state]),
      [
        ['s1', 'running'],
        ['s2', 'stopped'],
      ],
    );
  });

  it('stops the lab for its student; nothing of it is left', async () => {
    const stopped = await request('/api/labs/two-hosts/stop', 's1', 'POST');
    assert.equal(stopped.status, 202);
    await eventually(async () => assert.equal((await myLab('s1')).state, 'stopped'), 60_000);
    server!.kill('SIGTERM');
    await new Promise((resolve) => server!.once('exit', resolve));
    server = null;
    await assertNothingLeft(classHome, labName);
    assert.deepEqual(
      processesMentioning(dir).map((p) => p.cmdline),
      [],
      'no process of the class is left (no linux.uml, no supervisor, no server)',
    );
  });
});
