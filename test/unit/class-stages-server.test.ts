// Jumping to a stage over the class server, no VM (a stand-in placement whose labs have no run
// directory): who may jump which lab (another student is refused, and it is logged), unknown
// stages, a lab that is not running; the stages on the student's page and, from the events,
// the stage each running lab was put at on the teacher's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Handins } from '../../src/class/handins.ts';
import { startClassServer, type ClassServer } from '../../src/class/server.ts';
import { ClassService } from '../../src/class/service.ts';
import type { Stage } from '../../src/class/stages.ts';
import { ClassStore } from '../../src/class/store.ts';
import { idlePlacement, testClass } from './class-fixtures.ts';

/** Labs "run" by the store's word; none has a run directory, so nothing reaches a VM. */
const placement = idlePlacement('running');

function post(port: number, path: string, cookie: string, method = 'POST'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { Host: `127.0.0.1:${port}`, Cookie: cookie } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('jumping to a stage over the class server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-stages-server-'));
  let clock = 1_000_000;
  const store = new ClassStore(join(dir, 'class.db'), () => clock);
  const roster = [
    { id: 's1', name: 'One' },
    { id: 's2', name: 'Two' },
  ];
  const stage = (id: string, title: string): Stage => ({ id, title, checks: [], files: [], startups: [] });
  const loaded = testClass({ roster, stages: new Map([['a1', [stage('one', 'First <step>'), stage('two', 'Second')]]]) });
  store.syncRoster(roster);
  const service = new ClassService({ loaded, store, placement, budgetMiB: 1024 });
  const handins = new Handins({ loaded, store, placement, submissionsDir: join(dir, 'submissions') });
  let server: ClassServer;
  const cookies: Record<string, string> = {};
  const as = (who: string, path: string, method = 'POST') => post(server.port, path, cookies[who]!, method);
  const page = async (who: string, path: string) => (await as(who, path, 'GET')).body;

  before(async () => {
    server = await startClassServer({ name: 'c1', service, store, handins, port: 0 });
    for (const who of ['s1', 's2', 'teacher'])
      cookies[who] = `umlab-class-c1=${store.createSession(who === 'teacher' ? { role: 'teacher' } : { role: 'student', id: who })}`;
  });
  after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a student a jump in another's lab, and logs who asked for what", async () => {
    assert.equal((await as('s2', '/api/students/s1/labs/a1/stages/one')).status, 403);
    const [last] = store.events(1);
    assert.deepEqual(
      { actor: last!.actor, action: last!.action, outcome: last!.outcome, detail: last!.detail },
      { actor: 'student s2', action: 'POST /api/students/s1/labs/a1/stages/one', outcome: 'refused', detail: 'student s2 asked for a lab of s1' },
    );
  });

  it('answers 404 for a stage that does not exist, 409 for a lab that does not run, 405 for GET', async () => {
    assert.equal((await as('s1', '/api/labs/a1/stages/nope')).status, 404);
    const stopped = await as('s1', '/api/labs/a1/stages/one');
    assert.equal(stopped.status, 409, stopped.body);
    assert.match(stopped.body, /lab a1 is not running/);
    assert.equal(store.events(1)[0]!.action, 'stage', 'the failed jump is in the log');
    assert.equal(store.events(1)[0]!.outcome, 'failed');
    assert.equal((await as('teacher', '/api/students/s1/labs/a1/stages/one')).status, 409, 'the teacher may: the lab is not running');
    assert.equal((await as('teacher', '/api/labs/a1/stages/one')).status, 404, 'the teacher names the student');
    assert.equal((await as('s1', '/api/labs/a1/stages/one', 'GET')).status, 405);
  });

  it("lists the stages on the student's page, and shows where a running lab was put", async () => {
    const student = await page('s1', '/student');
    assert.match(student, /<li data-stage="one">First &lt;step&gt; <button type="button" data-post="\/api\/labs\/a1\/stages\/one">jump here<\/button><\/li>/);
    assert.doesNotMatch(student, /\(here\)/);
    store.setLabState('s1', 'a1', 'running');
    clock += 1000;
    store.event({ actor: 'student s1', action: 'stage', target: 's1/a1', outcome: 'ok', detail: 'two' });
    assert.match(await page('s1', '/student'), /<li data-stage="two">Second <strong>\(here\)<\/strong>/);
    assert.match(await page('teacher', '/teacher'), /<tr data-student="s1">.*<small class="stage">at stage two<\/small>/);
    assert.doesNotMatch(await page('teacher', '/teacher'), /<tr data-student="s2">.*at stage/);
    // A restart of the lab (its state changes later) puts it back at its start: the jump no longer counts.
    clock += 1000;
    store.setLabState('s1', 'a1', 'stopped');
    store.setLabState('s1', 'a1', 'running');
    assert.doesNotMatch(await page('teacher', '/teacher'), /at stage/);
  });
});
