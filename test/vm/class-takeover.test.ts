// The teacher takes over a student's console, and idle labs pause: the teacher opens s1's h1
// console with ?takeover=1 and types a command that runs (both the teacher's and s1's sockets see
// its output), s1's terminal is told the teacher joined (and left) and s1's page says so, and the
// store logs it; s2 and s1 are refused a take-over. Then the server is restarted with
// limits.idle_after: 3s: the lab, left alone, is paused (its UML kernels in state T), shown paused
// in /api/class, stays paused across another restart, and s1's next visit resumes it: a console
// command answers again. Nothing is left behind.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import type { LabStatus } from '../../src/client/control.ts';
import { runDirFor, runFiles } from '../../src/runtime/paths.ts';
import { assertNothingLeft, cleanHome, eventually, lab, processesMentioning, umlabOk } from './helpers.ts';
import { startClassServe } from './class-helpers.ts';
import { freePort } from './net-helpers.ts';
import { openBrowser } from './web-helpers.ts';

/** web/terminal.js's global the browser test reads (types erased in the page). */
type PageGlobals = { umlabTerminalText(vm: string): string };

const classYaml = (limits: string) => `name: net103
roster:
  - { id: s1, name: Student One }
  - { id: s2, name: Student Two }
assignments:
  - { id: two-hosts, lab: labs/two-hosts.yaml }
${limits}`;

interface Term {
  ws: WebSocket;
  text: () => string;
  attached: Promise<{ readOnly: boolean }>;
}

describe('the teacher takes over a console; an idle lab pauses and resumes on the next visit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-takeover-'));
  const classFile = join(dir, 'CLASS.yaml');
  const classHome = join(dir, 'net103.class', 'home');
  const userHome = join(dir, 'user-home');
  const VIEW = '/students/s1/labs/two-hosts';
  let base = '';
  let listen = '';
  let server: ChildProcess | null = null;
  const cookies = new Map<string, string>();
  const links = new Map<string, string>();
  let labName = '';

  const request = (path: string, who: string, method = 'GET') => fetch(base + path, { method, redirect: 'manual', headers: { Cookie: cookies.get(who)! } });
  const me = async () =>
    ((await (await request('/api/me', 's1')).json()) as { assignments: { lab: string; state: string; joined: boolean; watched: boolean }[] }).assignments[0];
  const classState = async () =>
    ((await (await request('/api/class', 'teacher')).json()) as { students: { id: string; labs: { state: string }[] }[] }).students.find((s) => s.id === 's1')!
      .labs[0].state;
  const events = () => {
    const db = new Database(join(dir, 'net103.class', 'class.db'), { readonly: true });
    try {
      return db.prepare('SELECT actor, action, target, outcome, detail FROM events ORDER BY id').all() as Record<string, string>[];
    } finally {
      db.close();
    }
  };

  function openTerm(who: string, query = ''): Term {
    const ws = new WebSocket(`${base.replace('http', 'ws')}${VIEW}/api/vms/h1/console${query}`, { headers: { Cookie: cookies.get(who)! } });
    let text = '';
    const attached = new Promise<{ readOnly: boolean }>((resolve, reject) => {
      ws.on('message', (data, isBinary) => {
        const s = (data as Buffer).toString();
        if (isBinary) text += s;
        else if ((JSON.parse(s) as { type: string }).type === 'attached') resolve(JSON.parse(s) as { readOnly: boolean });
      });
      ws.on('error', reject);
    });
    return { ws, text: () => text, attached };
  }

  const refusedUpgrade = (who: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers: { Cookie: cookies.get(who)! } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error(`${who} opened ${path}`)));
      ws.on('error', () => {});
    });

  /** Starts `umlab class serve` on the class file as it is now; resolves when it listens. */
  async function serve(): Promise<void> {
    server = await startClassServe(classFile, listen, base, userHome);
  }

  async function stopServer(signal: NodeJS.Signals): Promise<void> {
    const child = server!;
    server = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** The state letter of each VM's UML kernel process (/proc/PID/stat), by VM. */
  function vmProcessStates(): Record<string, string> {
    const status = JSON.parse(readFileSync(runFiles(runDirFor(classHome, labName)).state, 'utf8')) as LabStatus;
    const states: Record<string, string> = {};
    for (const vm of status.vms) {
      assert.ok(vm.pid, `VM ${vm.name} has a pid`);
      const stat = readFileSync(`/proc/${vm.pid}/stat`, 'utf8');
      states[vm.name] = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }
    return states;
  }

  before(async () => {
    mkdirSync(join(dir, 'labs'));
    copyFileSync(lab('two-hosts.yaml'), join(dir, 'labs', 'two-hosts.yaml'));
    writeFileSync(classFile, classYaml(''));
    const port = await freePort({ from: 42700 });
    base = `http://127.0.0.1:${port}`;
    listen = `127.0.0.1:${port}`;
    await serve();
    const invite = await umlabOk(userHome, ['class', 'invite', classFile, '--json']);
    for (const l of JSON.parse(invite.stdout) as { id: string; url: string }[]) {
      links.set(l.id, l.url);
      const res = await fetch(base + new URL(l.url).pathname, { redirect: 'manual' });
      cookies.set(l.id, (res.headers.get('set-cookie') ?? '').split(';')[0]);
    }
    assert.equal((await request('/api/labs/two-hosts/start', 's1', 'POST')).status, 202);
    labName = await eventually(async () => {
      const mine = await me();
      assert.equal(mine.state, 'running');
      return mine.lab;
    }, 150_000);
  });

  after(async () => {
    server?.kill('SIGKILL');
    await cleanHome(classHome);
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets the teacher take over s1's h1 console: the command runs, both see it, s1 is told", async () => {
    const mine = openTerm('s1');
    assert.equal((await mine.attached).readOnly, false);
    const teacher = openTerm('teacher', '?takeover=1');
    assert.equal((await teacher.attached).readOnly, false, 'taken over: the console takes the teacher’s keys');
    await eventually(() => assert.match(mine.text(), /\[umlab: the teacher joined this terminal and types with you\]/), 5000);
    await eventually(async () => assert.equal((await me()).joined, true), 5000);
    assert.match(await (await request('/student', 's1')).text(), /the teacher joined a terminal of this lab/);

    const marker = Math.floor(Math.random() * 1e9);
    // The shell computes the answer: what comes back is output, not the echo of what was typed.
    teacher.ws.send(Buffer.from(`echo teacher-$((${marker} + 1))\n`));
    await eventually(() => assert.match(teacher.text(), new RegExp(`teacher-${marker + 1}`)), 30_000);
    await eventually(() => assert.match(mine.text(), new RegExp(`teacher-${marker + 1}`)), 10_000);
    // The student keeps typing too: a shared terminal.
    mine.ws.send(Buffer.from(`echo student-$((${marker} + 2))\n`));
    await eventually(() => assert.match(teacher.text(), new RegExp(`student-${marker + 2}`)), 30_000);

    teacher.ws.close();
    await eventually(() => assert.match(mine.text(), /\[umlab: the teacher left this terminal\]/), 5000);
    await eventually(async () => assert.equal((await me()).joined, false), 5000);
    mine.ws.close();
    const log = events().filter((e) => e.action.includes('console take-over') || e.action === 'take over console');
    assert.deepEqual(
      log.map((e) => [e.actor, e.action, e.target, e.outcome]),
      [
        ['teacher', 'take over console', 's1/two-hosts', 'ok'],
        ['teacher', 'end console take-over', 's1/two-hosts', 'ok'],
      ],
    );
  });

  it('refuses a take-over to s2 and to s1 (a student types into their own console without one)', async () => {
    assert.equal(await refusedUpgrade('s2', `${VIEW}/api/vms/h1/console?takeover=1`), 403);
    assert.equal(await refusedUpgrade('s1', `${VIEW}/api/vms/h1/console?takeover=1`), 403);
    const refused = events().filter((e) => e.outcome === 'refused' && e.action.startsWith('UPGRADE'));
    assert.deepEqual(
      refused.map((e) => [e.actor, e.detail]),
      [
        ['student s2', 'student s2 asked for a lab of s1'],
        ['student s1', 'only the teacher takes over a console'],
      ],
    );
  });

  it("offers the teacher 'take over' on a read-only terminal of the lab page; after it, the teacher's keys reach s1's h1", async () => {
    const mine = openTerm('s1');
    await mine.attached;
    const browser = await openBrowser();
    try {
      const { page, errors } = browser;
      await page.goto(links.get('teacher')!);
      await page.goto(`${base}${VIEW}/`, { waitUntil: 'networkidle' });
      await page.click('#overview-vms tr[aria-label="VM h1"] button');
      await page.waitForFunction(() => /watching, read-only, the console of h1/.test((window as unknown as PageGlobals).umlabTerminalText('h1')));
      await page.click('.tab-takeover');
      await page.waitForFunction(() =>
        /took over \(the student is told, and types too\) the console of h1/.test((window as unknown as PageGlobals).umlabTerminalText('h1')),
      );
      await eventually(() => assert.match(mine.text(), /the teacher joined this terminal/), 5000);
      await page.click('.term-pane[data-vm="h1"]');
      await page.keyboard.type('echo from-the-page-$((40 + 2))\n');
      await eventually(() => assert.match(mine.text(), /from-the-page-42/), 30_000);
      assert.equal(await page.$('.tab-takeover'), null, 'the button is gone once taken over');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
    await eventually(() => assert.match(mine.text(), /the teacher left this terminal/), 10_000);
    mine.ws.close();
  });

  it('pauses the lab when idle for limits.idle_after (3s), keeps it paused across a restart, resumes it on s1’s next visit', async () => {
    writeFileSync(classFile, classYaml('limits: { idle_after: 3s }\n'));
    await stopServer('SIGTERM');
    await serve();
    await eventually(async () => assert.equal(await classState(), 'paused'), 60_000);
    assert.deepEqual(Object.values(vmProcessStates()), ['T', 'T'], 'every UML kernel of the lab is stopped');
    const pause = events().filter((e) => e.action === 'lab pause');
    assert.equal(pause.length, 1);
    assert.match(pause[0].detail, /^idle for \d+s$/);
    assert.equal((await me()).state, 'paused', 'the student sees it too');

    // Killed, not asked to stop: the paused lab is found paused again.
    await stopServer('SIGKILL');
    await serve();
    assert.equal(await classState(), 'paused');
    assert.deepEqual(Object.values(vmProcessStates()), ['T', 'T']);

    // s1 opens the lab: it runs again, and a console command answers.
    assert.equal((await request(`${VIEW}/`, 's1')).status, 200);
    assert.equal(await classState(), 'running');
    assert.ok(
      Object.values(vmProcessStates()).every((s) => s !== 'T'),
      'the UML kernels go on',
    );
    const term = openTerm('s1');
    await term.attached;
    const marker = Math.floor(Math.random() * 1e9);
    term.ws.send(Buffer.from(`echo back-$((${marker} + 1))\n`));
    await eventually(() => assert.match(term.text(), new RegExp(`back-${marker + 1}`)), 30_000);
    term.ws.close();
    assert.deepEqual(
      events()
        .filter((e) => e.action === 'lab resume')
        .map((e) => e.actor),
      ['student s1'],
    );
  });

  it('stops the lab; nothing of it is left', async () => {
    assert.equal((await request('/api/labs/two-hosts/stop', 's1', 'POST')).status, 202);
    await eventually(async () => assert.equal((await me()).state, 'stopped'), 60_000);
    await stopServer('SIGTERM');
    await assertNothingLeft(classHome, labName);
    assert.deepEqual(
      processesMentioning(dir).map((p) => p.cmdline),
      [],
    );
  });
});
