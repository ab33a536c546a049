// A student's lab in the browser, served by `umlab class serve` itself: s1 opens the page of their
// running lab (labs/two-hosts.yaml), its API and a link's pcap, and a terminal on h1 over a
// WebSocket where what they type runs; s2 is refused every one of those (HTTP and the WebSocket
// upgrade), and each refusal is logged; the teacher's console on s1's h1 shows s1's output, takes
// no input, and s1's page says the teacher is watching. Then s1 changes files in h1 and hands the
// lab in: the submission holds what changed under /etc (not logs, not /tmp, not a hostile name)
// and `umlab grade`'s loader reads it; s1 runs the lab's checks on demand and sees them pass; the
// teacher grades every hand-in through umlab grade and reads the report.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { LabClient } from '../../src/client/lab-client.ts';
import { loadSubmission } from '../../src/grade/load-submission.ts';
import { findSubmissions } from '../../src/grade/submissions.ts';
import { runDirFor, runFiles } from '../../src/runtime/paths.ts';
import { assertNothingLeft, cleanHome, eventually, lab, processesMentioning, sleep, umlabOk } from './helpers.ts';
import { startClassServe } from './class-helpers.ts';
import { freePort } from './net-helpers.ts';
import { openBrowser, terminalText } from './web-helpers.ts';

const CLASS_YAML = `name: net102
roster:
  - { id: s1, name: Student One }
  - { id: s2, name: Student Two }
assignments:
  - { id: two-hosts, lab: labs/two-hosts.yaml }
`;

/** The page's globals (web/app.js, web/terminal.js) the browser test reads; types erased in the page. */
type PageGlobals = { cy?: { nodes(): { length: number } }; umlabTerminalText(vm: string): string };

/** A console WebSocket and everything it received, as text. */
interface Term {
  ws: WebSocket;
  text: () => string;
  attached: Promise<{ readOnly: boolean }>;
}

describe("a student's lab in the browser, from the class server", () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-view-'));
  const classFile = join(dir, 'CLASS.yaml');
  const classHome = join(dir, 'net102.class', 'home');
  const userHome = join(dir, 'user-home');
  let base = '';
  let server: ChildProcess | null = null;
  const cookies = new Map<string, string>();
  const links = new Map<string, string>();
  let labName = '';
  const VIEW = '/students/s1/labs/two-hosts';

  const request = (path: string, who: string, method = 'GET') => fetch(base + path, { method, redirect: 'manual', headers: { Cookie: cookies.get(who)! } });
  const me = async (who: string) =>
    ((await (await request('/api/me', who)).json()) as { assignments: { lab: string; state: string; watched: boolean }[] }).assignments[0];

  function openTerm(who: string, vm = 'h1'): Term {
    const ws = new WebSocket(`${base.replace('http', 'ws')}${VIEW}/api/vms/${vm}/console`, { headers: { Cookie: cookies.get(who)! } });
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

  /** The status of a WebSocket upgrade that is refused. */
  const refusedUpgrade = (who: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers: { Cookie: cookies.get(who)! } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error(`${who} opened ${path}`)));
      ws.on('error', () => {});
    });

  before(async () => {
    mkdirSync(join(dir, 'labs'));
    copyFileSync(lab('two-hosts.yaml'), join(dir, 'labs', 'two-hosts.yaml'));
    writeFileSync(classFile, CLASS_YAML);
    const port = await freePort({ from: 42500 });
    base = `http://127.0.0.1:${port}`;
    server = await startClassServe(classFile, `127.0.0.1:${port}`, base, userHome);
    const invite = await umlabOk(userHome, ['class', 'invite', classFile, '--json']);
    for (const l of JSON.parse(invite.stdout) as { id: string; url: string }[]) {
      links.set(l.id, l.url);
      const res = await fetch(base + new URL(l.url).pathname, { redirect: 'manual' });
      cookies.set(l.id, (res.headers.get('set-cookie') ?? '').split(';')[0]);
    }
    assert.equal((await request('/api/labs/two-hosts/start', 's1', 'POST')).status, 202);
    labName = await eventually(async () => {
      const mine = await me('s1');
      assert.equal(mine.state, 'running');
      return mine.lab;
    }, 150_000);
  });

  after(async () => {
    server?.kill('SIGKILL');
    await cleanHome(classHome);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves s1 the page of their running lab, its API and a link's pcap, under the lab's path", async () => {
    const bare = await request(VIEW, 's1');
    assert.equal(bare.status, 303);
    assert.equal(bare.headers.get('location'), `${VIEW}/`, "the page's links are relative: a trailing slash");
    const page = await request(`${VIEW}/`, 's1');
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script id="initial" type="application\/json">/);
    assert.match(html, new RegExp(`"lab":"${labName}"`));
    assert.match(html, /src="app\.js"/);
    assert.equal((await request(`${VIEW}/app.js`, 's1')).status, 200);
    assert.equal((await request('/vendor/xterm.mjs', 's1')).status, 200);
    const api = (await (await request(`${VIEW}/api/lab`, 's1')).json()) as { lab: string; graph: unknown };
    assert.equal(api.lab, labName);
    const vm = await request(`${VIEW}/api/vms/h1`, 's1');
    assert.equal(vm.status, 200);
    // The student's page links to it.
    assert.match(await (await request('/student', 's1')).text(), new RegExp(`href="${VIEW}/"`));
    // A few frames on h1.eth0, then its capture as a download.
    const term = openTerm('s1');
    await term.attached;
    term.ws.send(Buffer.from('ping -c1 -W2 10.0.0.2\n'));
    await eventually(() => assert.match(term.text(), /1 received/), 30_000);
    term.ws.close();
    const pcap = await eventually(async () => {
      const res = await request(`${VIEW}/api/links/h1.eth0/pcap`, 's1');
      assert.equal(res.status, 200);
      return Buffer.from(await res.arrayBuffer());
    }, 10_000);
    assert.ok(pcap.length > 24, 'a pcap header and frames');
  });

  it('opens the lab from the student page in a browser: the drawing, and a terminal where s1 types', async () => {
    const browser = await openBrowser();
    try {
      const { page, errors } = browser;
      await page.goto(links.get('s1')!);
      assert.equal(new URL(page.url()).pathname, '/student');
      const href = await page.getAttribute('a.open', 'href');
      assert.equal(href, `${VIEW}/`);
      await page.goto(base + href!, { waitUntil: 'networkidle' });
      await page.waitForFunction(() => ((window as unknown as PageGlobals).cy?.nodes().length ?? 0) > 0);
      await page.click('#overview-vms tr[aria-label="VM h1"] button');
      await page.waitForFunction(() => /connected to the console of h1/.test((window as unknown as PageGlobals).umlabTerminalText('h1')));
      await page.click('.term-pane[data-vm="h1"]');
      await page.keyboard.type('echo browser-$((40 + 2))\n');
      await page.waitForFunction(() => /browser-42/.test((window as unknown as PageGlobals).umlabTerminalText('h1')), undefined, { timeout: 30_000 });
      assert.match(await terminalText(page, 'h1'), /browser-42/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it("refuses s2 every path and WebSocket of s1's lab with 403, and logs each", async () => {
    const paths = [`${VIEW}/`, `${VIEW}/api/lab`, `${VIEW}/api/vms/h1`, `${VIEW}/api/links/h1.eth0/pcap`, `${VIEW}/app.js`];
    for (const path of paths) assert.equal((await request(path, 's2')).status, 403, path);
    const sockets = [`${VIEW}/api/vms/h1/console`, `${VIEW}/api/live`, `${VIEW}/api/links/h1.eth0/frames`];
    for (const path of sockets) assert.equal(await refusedUpgrade('s2', path), 403, path);
    const db = new Database(join(dir, 'net102.class', 'class.db'), { readonly: true });
    const refused = db.prepare("SELECT action FROM events WHERE actor = 'student s2' AND outcome = 'refused' ORDER BY id").all() as { action: string }[];
    db.close();
    assert.deepEqual(
      refused.map((r) => r.action),
      [...paths.map((p) => `GET ${p}`), ...sockets.map((p) => `UPGRADE ${p}`)],
    );
  });

  it("shows s1's typing in s1's terminal and the teacher's read-only one; the teacher's input is ignored", async () => {
    const mine = openTerm('s1');
    assert.deepEqual(await mine.attached, { type: 'attached', vm: 'h1', readOnly: false });
    const watching = openTerm('teacher');
    assert.equal((await watching.attached).readOnly, true);
    await eventually(async () => assert.equal((await me('s1')).watched, true), 5000);
    assert.match(await (await request('/student', 's1')).text(), /the teacher is watching this lab/);

    const marker = Math.floor(Math.random() * 1e9);
    // The shell computes the answer: what comes back is output, not the echo of what was typed.
    mine.ws.send(Buffer.from(`echo hello-$((${marker} + 1))\n`));
    await eventually(() => assert.match(mine.text(), new RegExp(`hello-${marker + 1}`)), 30_000);
    await eventually(() => assert.match(watching.text(), new RegExp(`hello-${marker + 1}`)), 10_000);

    watching.ws.send(Buffer.from(`echo teacher-$((${marker} + 2))\n`));
    watching.ws.send(JSON.stringify({ type: 'resize', cols: 20, rows: 5 }));
    mine.ws.send(Buffer.from(`echo after-$((${marker} + 3))\n`));
    await eventually(() => assert.match(mine.text(), new RegExp(`after-${marker + 3}`)), 30_000);
    await sleep(500);
    for (const t of [mine, watching]) assert.doesNotMatch(t.text(), new RegExp(`teacher-`), "the teacher's keys never reached the VM");

    watching.ws.close();
    await eventually(async () => assert.equal((await me('s1')).watched, false), 5000);
    mine.ws.close();
  });

  it('hands in the files s1 changed under /etc, in a form `umlab grade` reads; nobody else may hand it in', async () => {
    const client = new LabClient(runFiles(runDirFor(classHome, labName)).control);
    const made = await client.execText(
      'h1',
      "mkdir -p /etc/umlab-test && echo 'answer 42' > /etc/umlab-test/answer && echo noise > /etc/umlab-test/x.log && " +
        'echo t > /tmp/umlab-t && echo l > /var/log/umlab-l && touch "/etc/umlab-test/$(printf \'evil\\nname\')"',
    );
    assert.equal(made.exitCode, 0, made.stderr);
    assert.equal((await request('/api/students/s1/labs/two-hosts/submit', 's2', 'POST')).status, 403, "s2 hands in s1's lab");
    assert.equal((await request('/api/students/s1/labs/two-hosts/submit', 'teacher', 'POST')).status, 403, 'the teacher does not hand in for a student');
    const res = await request('/api/labs/two-hosts/submit', 's1', 'POST');
    assert.equal(res.status, 201, await res.clone().text());
    const handed = (await res.json()) as { files: string[]; skipped: string[]; dir?: string };
    assert.ok(handed.files.includes('h1:/etc/umlab-test/answer'), JSON.stringify(handed));
    assert.ok(
      handed.files.every((f) => /^h[12]:\/etc\//.test(f) && !f.endsWith('.log')),
      `only /etc, no logs: ${JSON.stringify(handed.files)}`,
    );
    assert.match(handed.skipped.join('\n'), /h1:\/etc\/umlab-test\/evil\\nname \(not a plain path/);
    assert.equal(handed.dir, undefined, 'where the server keeps it is not shown');
    const listed = (await (await request('/api/labs/two-hosts/submit', 's1')).json()) as { files: string[] }[];
    assert.deepEqual(listed[0].files, handed.files);
    assert.match(await (await request('/student', 's1')).text(), /UTC \(\d+ files\)/);

    const root = join(dir, 'net102.class', 'submissions', 'two-hosts');
    const stamps = readdirSync(root);
    assert.equal(stamps.length, 1);
    const found = findSubmissions([join(root, stamps[0])]);
    assert.deepEqual(
      found.map((s) => [s.student, s.kind]),
      [['s1', 'yaml']],
    );
    const loaded = await loadSubmission(found[0].path);
    const h1 = loaded.lab.vms.find((v) => v.name === 'h1')!;
    assert.equal(h1.files['/etc/umlab-test/answer'], 'answer 42\n');
  });

  it("runs the lab's checks on s1's running lab for s1 and the teacher, not for s2", async () => {
    const res = await request('/api/labs/two-hosts/checks', 's1', 'POST');
    assert.equal(res.status, 200, await res.clone().text());
    const answer = (await res.json()) as { results: { name: string; status: string; message: string }[] };
    assert.deepEqual(
      answer.results.map((r) => `${r.name}: ${r.status}`),
      ['h1 reaches h2: pass', 'h2 reaches h1 by name: pass', 'h1 has its address: pass', "h2 answers h1's ARP request with its own MAC: pass"],
      JSON.stringify(answer.results),
    );
    assert.equal((await request('/api/students/s1/labs/two-hosts/checks', 's2', 'POST')).status, 403);
    assert.equal((await request('/api/students/s1/labs/two-hosts/checks', 'teacher', 'POST')).status, 200);
  });

  it('grades every hand-in of the assignment for the teacher through umlab grade, and serves the report to the teacher only', async () => {
    assert.equal((await request('/api/assignments/two-hosts/grade', 's1', 'POST')).status, 403);
    const started = await request('/api/assignments/two-hosts/grade', 'teacher', 'POST');
    assert.equal(started.status, 202, await started.clone().text());
    const run = (await started.json()) as { stamp: string; state: string; students: string[] };
    assert.deepEqual([run.state, run.students], ['grading', ['s1']]);
    await eventually(async () => {
      const runs = (await (await request('/api/grades', 'teacher')).json()) as { stamp: string; state: string; error?: string }[];
      assert.deepEqual(
        runs.map((r) => [r.stamp, r.state, r.error]),
        [[run.stamp, 'done', undefined]],
      );
    }, 240_000);
    const reportPath = `/grades/two-hosts/${run.stamp}`;
    const index = await request(`${reportPath}/index.html`, 'teacher');
    assert.equal(index.status, 200);
    assert.match(await index.text(), /s1/);
    assert.match(await (await request('/teacher', 'teacher')).text(), new RegExp(`href="${reportPath}/index.html"`));
    const results = (await (await request(`${reportPath}/results.json`, 'teacher')).json()) as {
      students: { student: string; checks: { verdict: string }[] }[];
    };
    assert.deepEqual(
      results.students.map((s) => [s.student, s.checks.every((c) => c.verdict === 'pass')]),
      [['s1', true]],
      JSON.stringify(results.students),
    );
    assert.equal((await request(`${reportPath}/index.html`, 's1')).status, 403);
    assert.equal((await request(`${reportPath}/%2e%2e%2f%2e%2e%2fclass.db`, 'teacher')).status, 404, 'nothing outside the report');
  });

  it('stops the lab; nothing of it is left', async () => {
    assert.equal((await request('/api/labs/two-hosts/stop', 's1', 'POST')).status, 202);
    await eventually(async () => assert.equal((await me('s1')).state, 'stopped'), 60_000);
    assert.equal((await request(`${VIEW}/api/lab`, 's1')).status, 409, 'a stopped lab has no view');
    server!.kill('SIGTERM');
    await new Promise((resolve) => server!.once('exit', resolve));
    server = null;
    await assertNothingLeft(classHome, labName);
    assert.deepEqual(
      processesMentioning(dir).map((p) => p.cmdline),
      [],
    );
  });
});
