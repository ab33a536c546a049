// `umlab web` end to end: a real lab, the real server as a child process, and Debian's
// Chromium driven by playwright-core. Checks the drawing, live counters, the frames of a
// link (with the filter), the pcap download, a VM's details, the offline view, and that
// the page notices when the lab goes down. Takes the README screenshot (docs/web.png).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, CLI, lab, makeHome, ROOT, TSX, umlabOk } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
// docs/web.png, the README's picture, is rewritten only when asked, so a test run leaves the checkout clean.
const UPDATE_SCREENSHOT = process.env.UMLAB_UPDATE_SCREENSHOT === '1';

/** Starts `umlab web ARGS...` and returns the child and the URL it printed. */
async function startWeb(home: string, args: string[]): Promise<{ child: ResultPromise; url: string }> {
  const child = execa(process.execPath, ['--import', TSX, CLI, 'web', ...args], { env: { UMLAB_HOME: home }, reject: false, buffer: false });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(seen);
      if (m) resolve(m[0]);
    });
    child.stderr!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    void child.then((r) => reject(new Error(`umlab web exited (${r.exitCode}) before printing its URL:\n${seen}`)));
  });
  return { child, url };
}

/** Clicks an element of the drawing where it is on screen, as a user would. */
async function clickInGraph(page: Page, id: string): Promise<void> {
  const point = await page.evaluate((elementId) => {
    const cy = (window as any).cy;
    const element = cy.getElementById(elementId);
    const at = element.isEdge() ? element.renderedMidpoint() : element.renderedPosition();
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + at.x, y: box.top + at.y };
  }, id);
  await page.mouse.click(point.x, point.y);
}

const frameRows = (page: Page) =>
  page.$$eval('#frames tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));

describe('umlab web on a running lab, in a real browser', () => {
  const home = makeHome();
  const profile = mkdtempSync(join(tmpdir(), 'umlab-chromium-'));
  let web: { child: ResultPromise; url: string } | null = null;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh --test`);
    await umlabOk(home, ['up', lab('two-hosts.yaml'), '--quiet']);
    web = await startWeb(home, ['two-hosts']);
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1600, height: 900 },
      acceptDownloads: true,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    web?.child.kill('SIGTERM');
    await web?.child;
    rmSync(profile, { recursive: true, force: true });
    await cleanHome(home);
  });

  it('prints its address on 127.0.0.1 and draws the lab: two VMs on a switch, one edge per link', async () => {
    assert.match(web!.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await page.goto(web!.url);
    await page.waitForFunction(() => typeof (window as any).cy?.nodes === 'function' && (window as any).cy.nodes().length > 0);
    const graph = await page.evaluate(() => {
      const cy = (window as any).cy;
      return {
        nodes: cy.nodes().map((n: any) => `${n.id()}:${n.data('kind')}`).sort(),
        edges: cy.edges().map((e: any) => `${e.id()}:${e.source().id()}->${e.target().id()}:${e.data('sourceLabel').replace(/\n/g, ' ')}`).sort(),
      };
    });
    assert.deepEqual(graph.nodes, ['h1:vm', 'h2:vm', 'segment:sw0:switch']);
    assert.deepEqual(graph.edges, ['h1.eth0:h1->segment:sw0:eth0 10.0.0.1/24', 'h2.eth0:h2->segment:sw0:eth0 10.0.0.2/24']);
    await page.waitForFunction(() => document.body.dataset.live === 'running');
    await page.waitForFunction(() => (window as any).cy.nodes('[kind = "vm"]').every((n: any) => n.data('state') === 'ready'));
  });

  it("a VM's panel shows its addresses as the VM reports them", async () => {
    await clickInGraph(page, 'h1');
    await page.waitForFunction(() => document.getElementById('vm-live-addr')?.textContent?.includes('10.0.0.1/24'));
    assert.match((await page.textContent('#vm-live-routes')) ?? '', /10\.0\.0\.0\/24 dev eth0/);
    assert.match((await page.textContent('#vm-interfaces')) ?? '', /fe:fd:0a:00:00:01/);
  });

  it("a ping raises the link's counter and its ICMP frames appear in the link's list", async () => {
    await clickInGraph(page, 'h1.eth0');
    await page.waitForSelector('#link-frames');
    assert.equal(await page.textContent('#link-name'), 'h1.eth0');
    await page.waitForFunction(() => document.getElementById('link-frames')?.dataset.value !== '');
    const before = Number(await page.getAttribute('#link-frames', 'data-value'));
    const ping = await umlabOk(home, ['exec', 'h1', '--', 'ping', '-c', '3', '-i', '0.3', '-W', '5', '10.0.0.2']);
    assert.match(ping.stdout, /3 received/);
    await page.waitForFunction((n) => Number(document.getElementById('link-frames')?.dataset.value) >= n + 6, before);
    await page.waitForFunction(() => {
      const text = document.getElementById('frames')?.textContent ?? '';
      return (text.match(/echo request/g) ?? []).length >= 3 && (text.match(/echo reply/g) ?? []).length >= 3;
    });
    const icmp = (await frameRows(page)).filter((cells) => cells[4] === 'ICMP');
    assert.ok(icmp.some((c) => c[2] === '10.0.0.1' && c[3] === '10.0.0.2' && /echo request .*seq 3/.test(c[5]!)), JSON.stringify(icmp));
    assert.ok(icmp.some((c) => c[2] === '10.0.0.2' && c[3] === '10.0.0.1' && /echo reply .*seq 3/.test(c[5]!)), JSON.stringify(icmp));
  });

  it('the filter box narrows the list by protocol', async () => {
    await page.fill('#frame-filter', 'icmp');
    await page.waitForFunction(() => /filtered/.test(document.getElementById('frames-note')?.textContent ?? ''));
    const onlyIcmp = await frameRows(page);
    assert.ok(onlyIcmp.length >= 6, JSON.stringify(onlyIcmp));
    assert.ok(onlyIcmp.every((c) => c[4] === 'ICMP'), JSON.stringify(onlyIcmp));
    await page.fill('#frame-filter', '!icmp');
    await page.waitForFunction(() => ![...document.querySelectorAll('#frames tr td:nth-child(5)')].some((td) => td.textContent === 'ICMP'));
    await page.fill('#frame-filter', '');
    await page.waitForFunction(() => /echo reply/.test(document.getElementById('frames')?.textContent ?? ''));
  });

  it("downloads the link's pcap, which parses and holds the ping", async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'two-hosts-h1.eth0.pcap');
    const saved = join(home, 'downloaded.pcap');
    await download.saveAs(saved);
    const frames = await readCapture(saved);
    assert.ok(frames.some((f) => f.icmp?.name === 'echo request' && f.ip?.src === '10.0.0.1' && f.ip.dst === '10.0.0.2'));
    assert.ok(frames.some((f) => f.icmp?.name === 'echo reply' && f.ip?.src === '10.0.0.2'));
  });

  it('takes the screenshot for the README', async () => {
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    await page.mouse.move(0, 0); // no hover highlight in the picture
    const path = UPDATE_SCREENSHOT ? join(ROOT, 'docs', 'web.png') : join(home, 'web.png');
    await page.screenshot({ path });
    assert.ok(existsSync(path));
  });

  it('follows live rewiring: a cut link is drawn as cut, an added link appears, a removed one goes', async () => {
    const edgeClasses = (id: string) => page.evaluate((i) => (window as any).cy.getElementById(i).classes() as string[], id);
    await umlabOk(home, ['link', 'down', 'h2', 'eth0']);
    await page.waitForFunction(() => (window as any).cy.getElementById('h2.eth0').hasClass('down'));
    await umlabOk(home, ['link', 'up', 'h2', 'eth0']);
    await page.waitForFunction(() => !(window as any).cy.getElementById('h2.eth0').hasClass('down'));
    assert.ok(!(await edgeClasses('h2.eth0')).includes('down'));
    await umlabOk(home, ['link', 'add', 'h1', 'eth1', 'sw0', '--ip', '10.0.0.11/24']);
    await page.waitForFunction(() => (window as any).cy.getElementById('h1.eth1').nonempty());
    const label = await page.evaluate(() => (window as any).cy.getElementById('h1.eth1').data('sourceLabel') as string);
    assert.match(label, /eth1\s+10\.0\.0\.11\/24/);
    await umlabOk(home, ['link', 'rm', 'h1', 'eth1']);
    await page.waitForFunction(() => (window as any).cy.getElementById('h1.eth1').empty());
  });

  it('says so when the lab goes down, and the server stops cleanly on SIGTERM', async () => {
    await umlabOk(home, ['down', 'two-hosts']);
    await page.waitForFunction(() => document.body.dataset.live === 'down');
    assert.match((await page.textContent('#banner')) ?? '', /not running/);
    web!.child.kill('SIGTERM');
    const result = await web!.child;
    assert.equal(result.exitCode, 0);
    web = null;
    await assertNothingLeft(home, 'two-hosts');
    assert.deepEqual(pageErrors, [], 'no script error in the page');
  });

  it('draws a lab file that is not running (--offline), each kind of segment with its own shape', async () => {
    const offline = await startWeb(home, [lab('all-kinds.yaml'), '--offline']);
    try {
      await page.goto(offline.url);
      await page.waitForFunction(() => document.body.dataset.live === 'offline');
      const shapes = await page.evaluate(() => {
        const byKind: Record<string, string> = {};
        for (const n of (window as any).cy.nodes()) byKind[n.data('kind')] = n.style('shape');
        return byKind;
      });
      assert.deepEqual(Object.keys(shapes).sort(), ['gateway', 'hub', 'mcast', 'switch', 'tap', 'vm']);
      assert.equal(new Set(Object.values(shapes)).size, 6, `distinct shapes: ${JSON.stringify(shapes)}`);
      const p2p = await page.evaluate(() => {
        const e = (window as any).cy.getElementById('h2.eth1--r1.eth5');
        return `${e.source().id()}->${e.target().id()}`;
      });
      assert.equal(p2p, 'h2->r1', 'a point-to-point link is an edge between its two VMs');
    } finally {
      offline.child.kill('SIGTERM');
      assert.equal((await offline.child).exitCode, 0);
    }
  });
});
