// Makes the web view's pictures from real runs: docs/web.png (labs/fat-tree.yaml after a
// ping, a line's frames open), docs/web-tiers.png (the same lab in projector mode) and
// docs/web-terminal.png (labs/two-hosts.yaml, h1's terminal after a ping typed in it).
// Boots the labs in a temporary UMLAB_HOME and removes everything after.
//   node --import tsx scripts/web-screenshots.ts [OUT_DIR]      (default: docs/)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { chromium, type Browser } from 'playwright-core';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs'));
const CLI = join(ROOT, 'src/cli/main.ts');
const home = mkdtempSync(join(tmpdir(), 'umlab-screenshots-'));
const env = { UMLAB_HOME: home };
const umlab = (...args: string[]) => execa(process.execPath, ['--import', 'tsx', CLI, ...args], { env, cwd: ROOT });

/** Starts `umlab web LAB` and returns it with the address it printed. */
async function startWeb(labName: string) {
  const web = execa(process.execPath, ['--import', 'tsx', CLI, 'web', labName], { env, cwd: ROOT, reject: false, buffer: false });
  const url = await new Promise<string>((ok, fail) => {
    let seen = '';
    web.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /http:\/\/\S+\?token=[0-9a-f]+/.exec(seen);
      if (m) ok(m[0]);
    });
    void web.then(() => fail(new Error(`umlab web exited:\n${seen}`)));
  });
  return { web, url };
}

async function fatTree(browser: Browser): Promise<void> {
  await umlab('up', join(ROOT, 'labs/fat-tree.yaml'), '--quiet');
  const { web, url } = await startWeb('fat-tree');
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(120_000);
    await page.goto(url, { waitUntil: 'networkidle' });
    await page.waitForFunction(() => document.body.dataset.layout === 'done');
    await umlab('exec', 'server-1a', '--', 'ping', '-c', '5', '-i', '0.3', '10.0.17.1');
    await page.click('#overview-links tr[aria-label="link leaf-1-1.eth2"]');
    await page.waitForFunction(() => (document.getElementById('frames')?.textContent ?? '').includes('echo reply'));
    // Traffic on the line while the picture is taken: wider, orange, a sparkline.
    const traffic = umlab('exec', 'server-1a', '--', 'ping', '-c', '40', '-i', '0.2', '10.0.17.1');
    await page.waitForFunction(() => Number(document.getElementById('link-fps')?.textContent?.split(' ')[0]) > 0);
    await new Promise((r) => setTimeout(r, 5000)); // a few seconds of sparkline
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(OUT, 'web.png') });
    await traffic;
    await page.click('.back');
    await page.click('#projector');
    await page.waitForFunction(() => document.body.dataset.layout === 'done');
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(OUT, 'web-tiers.png') });
    await page.close();
  } finally {
    web.kill('SIGTERM');
    await web;
    await umlab('down', 'fat-tree');
  }
}

async function main(): Promise<void> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    await fatTree(browser);
    await twoHosts(browser);
  } finally {
    await browser.close();
  }
}

async function twoHosts(browser: Browser): Promise<void> {
  await umlab('up', join(ROOT, 'labs/two-hosts.yaml'), '--quiet');
  const { web, url } = await startWeb('two-hosts');
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url, { waitUntil: 'networkidle' });
    await page.click('#overview-vms tr[aria-label="VM h1"] button');
    const text = () => page.evaluate(() => (window as any).umlabTerminalText('h1') as string);
    await page.waitForFunction(() => (window as any).umlabTerminalText('h1').includes('connected to the console'));
    await page.keyboard.type('ip -br addr\n');
    await page.waitForFunction(() => /^eth0 .*10\.0\.0\.1\/24/m.test((window as any).umlabTerminalText('h1')));
    await page.keyboard.type('ping -c3 10.0.0.2\n');
    await page.waitForFunction(() => /3 received/.test((window as any).umlabTerminalText('h1')));
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(OUT, 'web-terminal.png') });
    process.stdout.write(`${(await text()).trimEnd().split('\n').slice(-3).join('\n')}\nwrote web.png, web-tiers.png and web-terminal.png in ${OUT}\n`);
  } finally {
    web.kill('SIGTERM');
    await web;
  }
}

try {
  await main();
} finally {
  await umlab('down', '--all').catch(() => {});
  rmSync(home, { recursive: true, force: true });
}
