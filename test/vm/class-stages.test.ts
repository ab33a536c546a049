// Stages of an assignment for real: a class with labs/two-hosts.yaml and two stages. s1 starts
// the lab; the first stage's check fails; s2 may not jump in s1's lab (403, logged); s1 jumps to
// "addressed": h1 has the stage's file and the address its h1.startup adds, and the check passes;
// the teacher jumps s1's lab to "marked", which applies both stages' files; the teacher's page
// says where the lab was put. A second assignment graded by a spec of its own: its checks on demand
// are that spec's visible ones. Then the labs are stopped and nothing of them is left.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LabClient } from '../../src/client/lab-client.ts';
import { runDirFor, runFiles } from '../../src/runtime/paths.ts';
import { assertNothingLeft, cleanHome, eventually, lab, processesMentioning, umlabOk } from './helpers.ts';
import { startClassServe } from './class-helpers.ts';
import { freePort } from './net-helpers.ts';

const CLASS_YAML = `name: net101
roster:
  - { id: s1, name: Student One }
  - { id: s2, name: Student Two }
assignments:
  - id: two-hosts
    lab: labs/two-hosts.yaml
    stages:
      - id: addressed
        title: h1 has a second address
        files: stages/addressed
        checks:
          - name: h1 has its second address
            command: { vm: h1, run: "ip -4 -o addr show dev eth0", stdout: "inet 10\\\\.0\\\\.0\\\\.11/24 " }
      - id: marked
        files: stages/marked
        checks:
          - name: h2 carries the mark
            command: { vm: h2, run: "cat /etc/umlab-mark", stdout: "^two$" }
  - { id: graded, lab: labs/two-hosts.yaml, grading: grading.yaml }
`;

const GRADING_YAML = `deadline: 20s
tests:
  - name: h1 has its address
    command: { vm: h1, run: "ip -4 -o addr show dev eth0", stdout: "inet 10\\\\.0\\\\.0\\\\.1/24 " }
  - name: the teacher's own check
    hidden: true
    command: { vm: h2, run: "true" }
`;

const STAGE_FILES: Record<string, string> = {
  'stages/addressed/h1/etc/umlab-stage': 'addressed\n',
  // replace, not add: a second jump runs it again.
  'stages/addressed/h1.startup': 'ip addr replace 10.0.0.11/24 dev eth0\n',
  'stages/marked/h2/etc/umlab-mark': 'two\n',
};

interface CheckAnswer {
  results: { name: string; status: string; stage: string | null }[];
}
interface JumpAnswer {
  stage: string;
  stages: string[];
  ok: boolean;
  applied: { stage: string; device: string; files: string[]; startup: { exitCode: number; output: string } | null }[];
}

describe('stages of an assignment, jumping to one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-stages-'));
  const classFile = join(dir, 'CLASS.yaml');
  const classHome = join(dir, 'net101.class', 'home');
  const userHome = join(dir, 'user-home');
  let base = '';
  let server: ChildProcess | null = null;
  const cookies = new Map<string, string>();
  let labName = '';
  let gradedLab = '';

  const request = (path: string, who: string, method = 'GET') => fetch(base + path, { method, redirect: 'manual', headers: { Cookie: cookies.get(who)! } });
  async function json<T>(path: string, who: string, method = 'GET'): Promise<T> {
    const res = await request(path, who, method);
    assert.ok(res.ok, `${method} ${path} as ${who}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  }
  const stageCheck = (answer: CheckAnswer, stage: string) => answer.results.find((r) => r.stage === stage)!;
  const inVm = async (vm: string, command: string) => new LabClient(runFiles(runDirFor(classHome, labName)).control).execText(vm, command, 20_000);

  before(async () => {
    mkdirSync(join(dir, 'labs'));
    copyFileSync(lab('two-hosts.yaml'), join(dir, 'labs', 'two-hosts.yaml'));
    for (const [path, text] of Object.entries(STAGE_FILES)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    writeFileSync(classFile, CLASS_YAML);
    writeFileSync(join(dir, 'grading.yaml'), GRADING_YAML);
    const port = await freePort({ from: 42500 });
    base = `http://127.0.0.1:${port}`;
    server = await startClassServe(classFile, `127.0.0.1:${port}`, base, userHome);
    const invite = await umlabOk(userHome, ['class', 'invite', classFile, '--json']);
    for (const l of JSON.parse(invite.stdout) as { id: string; url: string }[]) {
      const res = await fetch(base + new URL(l.url).pathname, { redirect: 'manual' });
      assert.equal(res.status, 303);
      cookies.set(l.id, (res.headers.get('set-cookie') ?? '').split(';')[0]);
    }
  });

  after(async () => {
    server?.kill('SIGKILL');
    await cleanHome(classHome);
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts s1's lab; before any jump the stages' checks fail", async () => {
    const started = await json<{ lab: string }>('/api/labs/two-hosts/start', 's1', 'POST');
    labName = started.lab;
    await eventually(async () => {
      const me = await json<{ assignments: { state: string }[] }>('/api/me', 's1');
      assert.equal(me.assignments[0].state, 'running');
    }, 150_000);
    const page = await (await request('/student', 's1')).text();
    assert.match(page, /h1 has a second address <button type="button" data-post="\/api\/labs\/two-hosts\/stages\/addressed">jump here<\/button>/);
    const checks = await json<CheckAnswer>('/api/labs/two-hosts/checks', 's1', 'POST');
    assert.equal(stageCheck(checks, 'addressed').status, 'fail', JSON.stringify(checks));
    assert.equal(stageCheck(checks, 'marked').status, 'fail');
    assert.ok(
      checks.results.some((r) => r.stage === null && r.name === 'h1 reaches h2' && r.status === 'pass'),
      "the lab's own tests run too, with no stage",
    );
  });

  it("refuses s2 a jump in s1's lab, and logs it", async () => {
    assert.equal((await request('/api/students/s1/labs/two-hosts/stages/addressed', 's2', 'POST')).status, 403);
    const db = new Database(join(dir, 'net101.class', 'class.db'), { readonly: true });
    const refused = db.prepare("SELECT action, detail FROM events WHERE actor = 'student s2' AND outcome = 'refused'").all();
    db.close();
    assert.deepEqual(refused, [{ action: 'POST /api/students/s1/labs/two-hosts/stages/addressed', detail: 'student s2 asked for a lab of s1' }]);
    assert.equal((await inVm('h1', 'cat /etc/umlab-stage')).exitCode, 1, 'nothing was applied');
    assert.equal((await request('/api/labs/two-hosts/stages/nope', 's1', 'POST')).status, 404, 'a stage that does not exist');
  });

  it('jumps s1 to "addressed": the file is in h1, its startup added the address, the check passes', async () => {
    const answer = await json<JumpAnswer>('/api/labs/two-hosts/stages/addressed', 's1', 'POST');
    assert.deepEqual(answer.stages, ['addressed']);
    assert.ok(answer.ok);
    assert.deepEqual(
      answer.applied.map((a) => [a.stage, a.device, a.files, a.startup?.exitCode]),
      [['addressed', 'h1', ['/etc/umlab-stage'], 0]],
    );
    assert.equal((await inVm('h1', 'cat /etc/umlab-stage')).stdout, 'addressed\n');
    assert.match((await inVm('h1', 'ip -4 addr show dev eth0')).stdout, /inet 10\.0\.0\.11\/24 /);
    const checks = await json<CheckAnswer>('/api/labs/two-hosts/checks', 's1', 'POST');
    assert.equal(stageCheck(checks, 'addressed').status, 'pass', JSON.stringify(checks));
    assert.equal(stageCheck(checks, 'marked').status, 'fail');
  });

  it('lets the teacher jump s1\'s lab to "marked": both stages are applied, and the table says so', async () => {
    const answer = await json<JumpAnswer>('/api/students/s1/labs/two-hosts/stages/marked', 'teacher', 'POST');
    assert.deepEqual(answer.stages, ['addressed', 'marked']);
    assert.ok(answer.ok, JSON.stringify(answer));
    assert.deepEqual(
      answer.applied.map((a) => [a.stage, a.device, a.files]),
      [
        ['addressed', 'h1', ['/etc/umlab-stage']],
        ['marked', 'h2', ['/etc/umlab-mark']],
      ],
    );
    assert.equal((await inVm('h2', 'cat /etc/umlab-mark')).stdout, 'two\n');
    const checks = await json<CheckAnswer>('/api/students/s1/labs/two-hosts/checks', 'teacher', 'POST');
    assert.deepEqual(
      checks.results.filter((r) => r.stage !== null).map((r) => [r.stage, r.status]),
      [
        ['addressed', 'pass'],
        ['marked', 'pass'],
      ],
    );
    const table = await (await request('/teacher', 'teacher')).text();
    assert.match(table, /<tr data-student="s1">.*at stage marked/);
    assert.doesNotMatch(table, /<tr data-student="s2">.*at stage/);
    assert.match(await (await request('/student', 's1')).text(), /<li data-stage="marked">marked <strong>\(here\)<\/strong>/);
  });

  it("an assignment with a grading spec: its checks on demand are the spec's visible ones, not the lab's tests", async () => {
    const started = await json<{ lab: string }>('/api/labs/graded/start', 's2', 'POST');
    gradedLab = started.lab;
    await eventually(async () => {
      const me = await json<{ assignments: { assignment: string; state: string }[] }>('/api/me', 's2');
      assert.equal(me.assignments.find((a) => a.assignment === 'graded')?.state, 'running');
    }, 150_000);
    const checks = await json<CheckAnswer>('/api/labs/graded/checks', 's2', 'POST');
    assert.deepEqual(
      checks.results.map((r) => [r.name, r.stage, r.status]),
      [['h1 has its address', null, 'pass']],
    );
    assert.equal((await request('/api/labs/graded/stop', 's2', 'POST')).status, 202);
    await eventually(async () => {
      const me = await json<{ assignments: { assignment: string; state: string }[] }>('/api/me', 's2');
      assert.equal(me.assignments.find((a) => a.assignment === 'graded')?.state, 'stopped');
    }, 60_000);
  });

  it('stops the lab; nothing of it is left', async () => {
    assert.equal((await request('/api/labs/two-hosts/stop', 's1', 'POST')).status, 202);
    await eventually(async () => {
      const me = await json<{ assignments: { state: string }[] }>('/api/me', 's1');
      assert.equal(me.assignments[0].state, 'stopped');
    }, 60_000);
    server!.kill('SIGTERM');
    await new Promise((resolve) => server!.once('exit', resolve));
    server = null;
    await assertNothingLeft(classHome, labName);
    await assertNothingLeft(classHome, gradedLab);
    assert.deepEqual(
      processesMentioning(dir).map((p) => p.cmdline),
      [],
    );
  });
});
