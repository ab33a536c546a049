// The whole class, clicked through in Chromium like people do: a student (s1) and the teacher each
// open their invitation link in a browser of their own. The student starts the lab from the
// student page, opens it, types in h1's terminal and sees the output, runs the checks, hands in
// and sees what was handed in, resets it and sees it restart; the teacher's page, never reloaded,
// shows the lab start, the hand-in appear and the resets; the teacher watches the student's
// terminal read-only (sees the typing, types nothing into it), resets the lab, grades the class and
// opens the report. Every step waits for what a person would see, so a step that does not happen
// fails the test. Then the isolation that matters in a shared server (class-isolation.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { serveClass, type ServedClass } from './class-helpers.ts';
import { checkIsolation } from './class-isolation.ts';
import { assertNothingLeft, processesMentioning } from './helpers.ts';
import { openBrowser, type Browser } from './web-helpers.ts';

const BOOT = 240_000;
const VIEWPORT = { width: 1200, height: 800 };

/** The browser terminal's text of a VM (web/terminal.js). */
type TerminalGlobals = { umlabTerminalText(vm: string): string };
const waitForTerminal = (page: Page, vm: string, pattern: RegExp, timeout = 60_000) =>
  page.waitForFunction(
    ([name, source]) => new RegExp(source).test((window as unknown as TerminalGlobals).umlabTerminalText(name)),
    [vm, pattern.source] as const,
    {
      timeout,
    },
  );
const terminalOf = (page: Page, vm: string) => page.evaluate((name) => (window as unknown as TerminalGlobals).umlabTerminalText(name), vm);

/** A lab's state as its cell reads (the whole cell: `running`, `starting`, `waiting (...)`, ...). */
const stateCell = (row: Locator, state: RegExp) => row.getByRole('cell', { name: state });
const RUNNING = /^running$/;
const NOT_RUNNING = /^(stopping|starting|waiting \(.*\))$/;

describe('the class, clicked through by a student and the teacher in Chromium', () => {
  let cls: ServedClass;
  let student: Browser | undefined;
  let teacher: Browser | undefined;
  let labOfS1: Page;
  let labName = '';
  const errors: string[] = [];

  const studentRow = () => student!.page.locator('tr', { hasText: 'two-hosts' }).filter({ has: student!.page.getByRole('button') });
  const teacherRow = () => teacher!.page.locator('tr', { hasText: 'Student One' });
  /** The teacher's page is never reloaded: a value set on it at sign-in is still there. */
  const assertTeacherNotReloaded = async () =>
    assert.equal(await teacher!.page.evaluate(() => (window as unknown as { flowMark?: string }).flowMark), 'signed in', 'the teacher page was reloaded');
  /** A person looks at a tab before using it: Chromium pauses the frames of a tab behind another,
   *  and a click waits for frames. */
  async function clickOn(page: Page, target: Locator): Promise<void> {
    await page.bringToFront();
    await target.click();
  }
  async function typeIn(page: Page, text: string): Promise<void> {
    await page.bringToFront();
    await page.keyboard.type(text);
  }
  /** When a row's lab last became running, as the row says ("running since ... UTC"). */
  const runningSince = async (row: Locator) => {
    const text = await row.locator('.since').innerText();
    assert.match(text, /^running since /);
    return text;
  };
  /** The other page, refreshed every 2 s, may never show a reset's short stop: it must show the
   *  lab running again since a later time. */
  const restartedAfter = (row: Locator, before: string) =>
    row
      .locator('.since', { hasText: /^running since / })
      .filter({ hasNotText: before })
      .waitFor({ timeout: 10_000 });
  /** A page the click opens (the links to a lab open a tab of their own). */
  async function opened(browser: Browser, link: Locator): Promise<Page> {
    await browser.page.bringToFront();
    const [page] = await Promise.all([browser.context.waitForEvent('page'), link.click()]);
    page.on('pageerror', (err) => errors.push(err.stack ?? err.message));
    return page;
  }

  before(async () => {
    cls = await serveClass('flow101', 42600);
  });

  after(async () => {
    await student?.close();
    await teacher?.close();
    await cls?.remove();
  });

  it('signs the student and the teacher in with their invitation links', async () => {
    teacher = await openBrowser(VIEWPORT);
    student = await openBrowser(VIEWPORT);
    for (const b of [teacher, student]) b.page.setDefaultTimeout(30_000);
    await teacher.page.goto(cls.links.get('teacher')!);
    assert.equal(new URL(teacher.page.url()).pathname, '/teacher');
    await stateCell(teacherRow(), /^stopped$/).waitFor();
    await teacher.page.evaluate(() => ((window as unknown as { flowMark: string }).flowMark = 'signed in'));
    await student.page.goto(cls.links.get('s1')!);
    assert.equal(new URL(student.page.url()).pathname, '/student');
    await student.page.getByText('Signed in as Student One (s1).').waitFor();
    await stateCell(studentRow(), /^stopped$/).waitFor();
  });

  it("starts the lab from the student page; both pages show it running, the teacher's without a reload", async () => {
    await clickOn(student!.page, studentRow().getByRole('button', { name: 'start', exact: true }));
    await stateCell(studentRow(), RUNNING).waitFor({ timeout: BOOT });
    await stateCell(teacherRow(), RUNNING).waitFor({ timeout: 10_000 });
    await teacherRow().getByText('h1: ready, h2: ready').waitFor();
    await assertTeacherNotReloaded();
    const me = (await (await student!.page.request.get(`${cls.base}/api/me`)).json()) as { assignments: { lab: string }[] };
    labName = me.assignments[0].lab;
  });

  it("opens the lab from the student page and types in h1's terminal", async () => {
    labOfS1 = await opened(student!, studentRow().getByRole('link', { name: 'open the lab' }));
    assert.equal(new URL(labOfS1.url()).pathname, '/students/s1/labs/two-hosts/');
    await labOfS1.getByRole('button', { name: 'open a terminal on h1' }).click();
    await waitForTerminal(labOfS1, 'h1', /connected to the console of h1/);
    await clickOn(labOfS1, labOfS1.locator('.term-pane[data-vm="h1"]'));
    // The shell computes the answer: what comes back is output, not the echo of the keys.
    await typeIn(labOfS1, 'echo flow-$((6 * 7))\n');
    await waitForTerminal(labOfS1, 'h1', /flow-42/);
  });

  it("lets the teacher watch h1's terminal read-only: the student's typing shows, the teacher's keys go nowhere", async () => {
    const watching = await opened(teacher!, teacherRow().getByRole('link', { name: 'watch' }));
    await watching.getByRole('button', { name: 'open a terminal on h1' }).click();
    await waitForTerminal(watching, 'h1', /watching, read-only, the console of h1/);
    await student!.page.getByText('the teacher is watching this lab').waitFor({ timeout: 10_000 });
    await typeIn(labOfS1, 'echo watched-$((50 + 1))\n');
    await waitForTerminal(watching, 'h1', /watched-51/);
    await clickOn(watching, watching.locator('.term-pane[data-vm="h1"]'));
    await typeIn(watching, 'echo teacher-$((1 + 1))\n');
    await typeIn(labOfS1, 'echo after-$((2 + 1))\n');
    await waitForTerminal(labOfS1, 'h1', /after-3/);
    await waitForTerminal(watching, 'h1', /after-3/);
    for (const page of [labOfS1, watching]) assert.doesNotMatch(await terminalOf(page, 'h1'), /teacher-2/, "the teacher's keys reached the VM");
    await watching.close();
    await student!.page.getByText('the teacher is watching this lab').waitFor({ state: 'detached', timeout: 10_000 });
  });

  it("runs the lab's checks from the student page and lists their results", async () => {
    await clickOn(student!.page, studentRow().getByRole('button', { name: 'checks', exact: true }));
    await student!.page.getByRole('heading', { name: 'checks of two-hosts: 4 of 4 passed' }).waitFor({ timeout: 120_000 });
    const items = await student!.page.locator('#checks li').allTextContents();
    assert.deepEqual(
      items.map((t) => t.split(':')[0]),
      ['PASS h1 reaches h2', 'PASS h2 reaches h1 by name', 'PASS h1 has its address', "PASS h2 answers h1's ARP request with its own MAC"],
    );
  });

  it("hands in from the student page and shows what was handed in; the teacher's table shows it appear", async () => {
    await teacherRow().getByRole('cell', { name: 'not yet' }).waitFor();
    await typeIn(labOfS1, 'echo flow-answer > /etc/flow-answer && echo written-$((1 + 1))\n');
    await waitForTerminal(labOfS1, 'h1', /written-2/);
    await clickOn(student!.page, studentRow().getByRole('button', { name: 'submit', exact: true }));
    await student!.page
      .getByRole('status')
      .filter({ hasText: /^handed in \d+ files: .*h1:\/etc\/flow-answer/ })
      .waitFor({ timeout: 60_000 });
    const handedIn = studentRow().getByRole('link', { name: /UTC \(\d+ files\)$/ });
    await clickOn(student!.page, handedIn);
    assert.match(await student!.page.locator('body').innerText(), /"h1:\/etc\/flow-answer"/, 'the hand-in lists the file');
    await student!.page.goBack();
    await teacherRow()
      .getByRole('link', { name: /UTC \(\d+ files\)$/ })
      .waitFor({ timeout: 10_000 });
    await assertTeacherNotReloaded();
  });

  it('resets from the student page: the lab restarts as a fresh copy, and the teacher page follows', async () => {
    await labOfS1.close();
    const before = await runningSince(teacherRow());
    await clickOn(student!.page, studentRow().getByRole('button', { name: 'reset', exact: true }));
    await stateCell(studentRow(), NOT_RUNNING).waitFor({ timeout: 10_000 });
    await stateCell(studentRow(), RUNNING).waitFor({ timeout: BOOT });
    await restartedAfter(teacherRow(), before);
    const fresh = await opened(student!, studentRow().getByRole('link', { name: 'open the lab' }));
    await fresh.getByRole('button', { name: 'open a terminal on h1' }).click();
    await waitForTerminal(fresh, 'h1', /connected to the console of h1/);
    await clickOn(fresh, fresh.locator('.term-pane[data-vm="h1"]'));
    await typeIn(fresh, 'cat /etc/flow-answer || echo gone-$((2 * 2))\n');
    await waitForTerminal(fresh, 'h1', /gone-4/);
    await fresh.close();
    await assertTeacherNotReloaded();
  });

  it("resets the student's lab from the teacher page; the student page follows", async () => {
    const before = await runningSince(studentRow());
    await clickOn(teacher!.page, teacherRow().getByRole('button', { name: 'reset', exact: true }));
    await stateCell(teacherRow(), NOT_RUNNING).waitFor({ timeout: 10_000 });
    await stateCell(teacherRow(), RUNNING).waitFor({ timeout: BOOT });
    await restartedAfter(studentRow(), before);
  });

  it("keeps s1's lab from s2's VMs and from the class server's port", async () => {
    await checkIsolation(cls, labName);
  });

  it('grades the class from the teacher page and opens the report', async () => {
    await assertTeacherNotReloaded();
    await clickOn(teacher!.page, teacher!.page.getByRole('button', { name: 'grade all' }));
    await teacher!.page.getByText('grading 1 submissions...').waitFor({ timeout: 10_000 });
    const report = teacher!.page.getByRole('link', { name: /^two-hosts, \d{4}-\d\d-\d\dT/ });
    await report.waitFor({ timeout: 300_000 });
    await clickOn(teacher!.page, report);
    assert.match(new URL(teacher!.page.url()).pathname, /^\/grades\/two-hosts\/[^/]+\/index\.html$/);
    const text = await teacher!.page.locator('body').innerText();
    assert.match(text, /s1/);
  });

  it('stops the lab from the student page; nothing of the class is left', async () => {
    await clickOn(student!.page, studentRow().getByRole('button', { name: 'stop', exact: true }));
    await stateCell(studentRow(), /^stopped$/).waitFor({ timeout: 60_000 });
    assert.deepEqual(errors.concat(student!.errors, teacher!.errors), [], 'no script error on any page');
    await student!.close();
    await teacher!.close();
    student = teacher = undefined;
    await cls.stopServer();
    await assertNothingLeft(cls.home, labName);
    assert.deepEqual(
      processesMentioning(cls.dir).map((p) => p.cmdline),
      [],
    );
  });
});
