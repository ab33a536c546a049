// Makes the pictures of docs/class.md from a real class: two students, labs/two-hosts.yaml. The
// first student starts the lab, opens it and pings h2 from h1's terminal (class-lab.png), runs
// the checks and hands in (docs/images/class-student.png); the teacher's table shows it
// (class-teacher.png). Runs in a temporary directory and removes everything after. By hand:
//   node --import tsx scripts/class-screenshots.ts [OUT_DIR]      (default: docs/images/)
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs/images'));
const CLI = join(ROOT, 'src/cli/main.ts');
const VIEWPORT = { width: 1200, height: 800 };
/** The class's pages are short tables: less empty page below them. */
const PAGE_VIEWPORT = { width: 1200, height: 480 };
const dir = mkdtempSync(join(tmpdir(), 'umlab-class-screenshots-'));
const classFile = join(dir, 'CLASS.yaml');
const userHome = join(dir, 'user-home');
const classHome = join(dir, 'net101.class', 'home');

mkdirSync(join(dir, 'labs'));
copyFileSync(join(ROOT, 'labs/two-hosts.yaml'), join(dir, 'labs/two-hosts.yaml'));
writeFileSync(
  classFile,
  `name: net101
roster:
  - { id: ada, name: Ada Lovelace }
  - { id: alan, name: Alan Turing }
assignments:
  - { id: two-hosts, title: Two hosts on a switch, lab: labs/two-hosts.yaml }
`,
);
const umlab = (home: string, ...args: string[]) => execa(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { UMLAB_HOME: home }, cwd: ROOT });
const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'class', 'serve', classFile], {
  env: { ...process.env, UMLAB_HOME: userHome },
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'inherit'],
});

const served = new Promise<void>((ok, fail) => {
  let seen = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    if (/ at http:\/\/\S+ /.test(seen)) ok();
  });
  server.once('exit', () => fail(new Error(`umlab class serve exited:\n${seen}`)));
});

async function shoot(page: Page, name: string): Promise<void> {
  await page.mouse.move(0, 0);
  const path = join(OUT, name);
  await page.screenshot({ path });
  const kib = Math.round(statSync(path).size / 1024);
  process.stdout.write(`${path}: ${kib} KiB${kib > 200 ? ' (over 200 KiB)' : ''}\n`);
}

async function pictures(browser: Browser, links: Map<string, string>): Promise<void> {
  const student = await (await browser.newContext({ viewport: PAGE_VIEWPORT })).newPage();
  student.setDefaultTimeout(240_000);
  await student.goto(links.get('ada')!);
  const row = student.locator('tr', { hasText: 'Two hosts on a switch' }).filter({ has: student.getByRole('button') });
  await row.getByRole('button', { name: 'start', exact: true }).click();
  await row.getByRole('cell', { name: 'running', exact: true }).waitFor();

  const [lab] = await Promise.all([student.context().waitForEvent('page'), row.getByRole('link', { name: 'open the lab' }).click()]);
  lab.setDefaultTimeout(120_000);
  await lab.setViewportSize(VIEWPORT);
  await lab.getByRole('button', { name: 'open a terminal on h1' }).click();
  const terminalHas = (text: string) =>
    lab.waitForFunction((t) => (window as unknown as { umlabTerminalText(vm: string): string }).umlabTerminalText('h1').includes(t), text);
  await terminalHas('connected to the console of h1');
  await lab.locator('.term-pane[data-vm="h1"]').click();
  // A file under /etc for the hand-in.
  await lab.keyboard.type('ping -c3 h2 && echo "h2 answers" > /etc/answer\n');
  await terminalHas('3 received');
  await shoot(lab, 'class-lab.png');
  await lab.close();

  await row.getByRole('button', { name: 'checks', exact: true }).click();
  await student.getByRole('heading', { name: /^checks of two-hosts/ }).waitFor();
  await row.getByRole('button', { name: 'submit', exact: true }).click();
  await student
    .getByRole('status')
    .filter({ hasText: /^handed in/ })
    .waitFor();
  await shoot(student, 'class-student.png');

  const teacher = await (await browser.newContext({ viewport: PAGE_VIEWPORT })).newPage();
  await teacher.goto(links.get('teacher')!);
  await teacher.locator('tr', { hasText: 'Ada Lovelace' }).getByRole('cell', { name: 'running', exact: true }).waitFor();
  await shoot(teacher, 'class-teacher.png');
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await served;
  const invite = await umlab(userHome, 'class', 'invite', classFile, '--json');
  const links = new Map((JSON.parse(invite.stdout) as { id: string; url: string }[]).map((l) => [l.id, l.url]));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    await pictures(browser, links);
  } finally {
    await browser.close();
  }
}

try {
  await main();
} finally {
  server.kill('SIGTERM');
  await umlab(classHome, 'down', '--all').catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
