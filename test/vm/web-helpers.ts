// Helpers of the web view's browser tests: `umlab web` as a child process, Debian's
// Chromium through playwright-core, and a few looks into the page.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CLI_ARGS } from './helpers.ts';

export const CHROMIUM = '/usr/bin/chromium';

export interface WebChild {
  child: ResultPromise;
  /** As printed, token included. */
  url: string;
  /** The same without the token. */
  base: string;
  token: string;
}

/** Starts `umlab web ARGS...` and returns the child and the URL it printed. */
export async function startWeb(home: string, args: string[]): Promise<WebChild> {
  const child = execa(process.execPath, [...CLI_ARGS, 'web', ...args], { env: { UMLAB_HOME: home }, reject: false, buffer: false });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /http:\/\/[^\s"]+\/\?token=[0-9a-f]+/.exec(seen);
      if (m) resolve(m[0]);
    });
    child.stderr!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    void child.then((r) => reject(new Error(`umlab web exited (${r.exitCode}) before printing its URL:\n${seen}`)));
  });
  const parsed = new URL(url);
  return { child, url, base: `${parsed.origin}/`, token: parsed.searchParams.get('token')! };
}

/** Stops a `umlab web` child with SIGTERM and checks it exits cleanly. */
export async function stopWeb(web: WebChild | null): Promise<void> {
  if (!web) return;
  web.child.kill('SIGTERM');
  const result = await web.child;
  assert.equal(result.exitCode, 0, 'umlab web stops cleanly on SIGTERM');
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Script errors of the page (a test ends by checking there were none). */
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh --test`);
  const profile = mkdtempSync(join(tmpdir(), 'umlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.stack ?? err.message));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Clicks an element of the drawing where it is on screen, as a user would. */
export async function clickInGraph(page: Page, id: string): Promise<void> {
  const point = await graphPoint(page, id);
  await page.mouse.click(point.x, point.y);
}

/** Where a node (its centre) or an edge (its middle) is on the page; a link's line for a link it draws. */
export async function graphPoint(page: Page, id: string): Promise<{ x: number; y: number }> {
  return page.evaluate((elementId) => {
    const cy = (window as any).cy;
    // A link drawn as part of a line (a two-member segment) is clicked on its line.
    const own = cy.getElementById(elementId);
    const element = own.nonempty() ? own : cy.getElementById((window as any).umlabGraph.elementOfLink(elementId));
    const at = element.isEdge() ? element.renderedMidpoint() : element.renderedPosition();
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + at.x, y: box.top + at.y };
  }, id);
}

/** Pairs of the drawing's boxes (nodes with their labels, edge-end labels) that overlap, as
 *  "a / b", and edge-end labels that lie on another edge, as "label / edge". */
export function overlappingLabels(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const graph = (window as any).umlabGraph;
    const boxes = graph.overlaps().map(([a, b]: { owner: string; what: string }[]) => `${a!.owner} ${a!.what} / ${b!.owner} ${b!.what}`);
    return [...boxes, ...graph.labelsOnEdges()];
  });
}

/** Whether every box of the drawing is inside the graph pane (rendered coordinates). */
export function drawingFitsPane(page: Page): Promise<{ fits: boolean; drawing: { w: number; h: number }; pane: { w: number; h: number } }> {
  return page.evaluate(() => {
    const cy = (window as any).cy;
    const bb = cy.elements().renderedBoundingBox({ includeLabels: true, includeOverlays: false });
    const pane = { w: cy.width(), h: cy.height() };
    return { fits: bb.x1 >= 0 && bb.y1 >= 0 && bb.x2 <= pane.w && bb.y2 <= pane.h, drawing: bb, pane };
  });
}

/** The text in the browser terminal of a VM (its whole buffer). */
export function terminalText(page: Page, vm: string): Promise<string> {
  return page.evaluate((name) => (window as any).umlabTerminalText(name) as string, vm);
}

export const frameRows = (page: Page) => page.$$eval('#frames tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));

export interface LabPage {
  /** null once a test has stopped the server itself. */
  web: WebChild | null;
  browser: Browser;
  page: Page;
}

export interface LabPageOptions {
  viewport?: { width: number; height: number };
  /** Load the page until the network is idle (a test of the first paint loads it itself). */
  load?: boolean;
  /** The page's default timeout of every wait, set before loading: big labs on a busy machine. */
  timeout?: number;
}

/** `umlab web ARGS...` and a Chromium on its page: the setup of the browser tests. On a failure
 *  half-way, what was started is stopped again before the error is thrown. */
export async function openLabPage(home: string, args: string[], options: LabPageOptions = {}): Promise<LabPage> {
  const web = await startWeb(home, args);
  let browser: Browser | undefined;
  try {
    browser = await openBrowser(options.viewport);
    const page = browser.page;
    if (options.timeout !== undefined) page.setDefaultTimeout(options.timeout);
    if (options.load) await page.goto(web.url, { waitUntil: 'networkidle' });
    return { web, browser, page };
  } catch (err) {
    await closeLabPage({ web, browser });
    throw err;
  }
}

/** Closes the browser and stops the server (if the test has not): for `after()` hooks. */
export async function closeLabPage(view: { web: WebChild | null; browser: Browser | undefined }): Promise<void> {
  await view.browser?.close();
  await stopWeb(view.web).catch(() => {});
}
