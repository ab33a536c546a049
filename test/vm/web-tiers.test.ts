// A data-center lab drawn legibly (issue 25): labs/fat-tree.yaml (2 ToF, 4 spines, 4 leaves,
// 8 servers, 24 two-member segments) booted for real, `umlab web` on it, Debian's Chromium
// at 1400x900. From the rendered page: 18 device nodes and one line per two-member segment,
// every device name at least 11 px tall, no label's box on another's, the tiers in four
// bands in order, a click on a line opens its frames; then the node view and projector mode.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { assertNothingLeft, cleanHome, lab, makeHome, umlab, umlabOk } from './helpers.ts';
import { clickInGraph, closeLabPage, openLabPage, type Browser, type LabPage, type WebChild } from './web-helpers.ts';

const TIERS = ['tof-', 'spine-', 'leaf-', 'server-'];

/** Waits until the drawing stands (the layered layout runs asynchronously). */
const drawn = (page: Page) => page.waitForFunction(() => document.body.dataset.layout === 'done');

/** Each device's name as drawn: its label's height on screen, and whether it is inside the pane. */
function deviceLabels(page: Page): Promise<{ id: string; height: number; inPane: boolean }[]> {
  return page.evaluate(() => {
    const cy = (window as any).cy;
    return cy.nodes('[kind = "vm"]').map((n: any) => {
      const box = n.renderedBoundingBox({ includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false });
      return { id: n.id(), height: box.h, inPane: box.x1 >= 0 && box.y1 >= 0 && box.x2 <= cy.width() && box.y2 <= cy.height() };
    });
  });
}

/** Box overlaps only (a label on another label or a device). Where a fabric's lines cross, a
 *  label cannot always miss every line, so unlike the force layout's tests this holds the boxes. */
function overlappingBoxes(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).umlabGraph.overlaps().map(([a, b]: any[]) => `${a.owner} ${a.what} / ${b.owner} ${b.what}`));
}

/** The page of `umlab web ARGS` in a 1400x900 Chromium, once drawn. */
async function openPage(home: string, args: string[]): Promise<LabPage> {
  const view = await openLabPage(home, args, { viewport: { width: 1400, height: 900 }, load: true, timeout: 120_000 });
  await drawn(view.page).catch(async (err: unknown) => {
    await closeLabPage(view);
    throw err;
  });
  return view;
}

// The drawing is the same offline and running (both from the plan): the layout checks need no VM.
describe('a 20-device data-center lab drawn in tiers, legible at 1400x900 (offline)', () => {
  const home = makeHome();
  let web: WebChild | null = null;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ web, browser, page } = await openPage(home, [lab('fat-tree.yaml'), '--offline']));
  });

  after(async () => {
    await closeLabPage({ web, browser });
    await cleanHome(home);
  });

  it('18 device nodes, one line per two-member segment, no segment node', async () => {
    const graph = await page.evaluate(() => {
      const cy = (window as any).cy;
      return {
        kinds: [...new Set(cy.nodes().map((n: any) => n.data('kind')))],
        devices: cy.nodes('[kind = "vm"]').length,
        lines: cy
          .edges()
          .map((e: any) => ({ segment: e.data('segment'), links: e.data('links'), line: e.hasClass('line'), ends: [e.source().id(), e.target().id()] })) as {
          segment: string;
          links: string[];
          line: boolean;
          ends: string[];
        }[],
      };
    });
    assert.deepEqual(graph.kinds, ['vm']);
    assert.equal(graph.devices, 18);
    assert.equal(graph.lines.length, 24);
    assert.equal(new Set(graph.lines.map((l) => l.segment)).size, 24, 'one line per segment');
    for (const l of graph.lines) {
      assert.ok(l.line && l.links.length === 2, JSON.stringify(l));
      assert.ok(
        l.ends.every((end) => !end.startsWith('segment:')),
        'a line joins two devices',
      );
    }
  });

  it('every device name is at least 11 px tall at the first view, and no two labels overlap', async () => {
    const labels = await deviceLabels(page);
    assert.equal(labels.length, 18);
    const small = labels.filter((l) => l.height < 11);
    assert.deepEqual(small, [], `names under 11 px: ${JSON.stringify(small)}`);
    assert.deepEqual(await overlappingBoxes(page), []);
  });

  it('the tiers sit in four horizontal bands, top to bottom: ToF, spines, leaves, servers', async () => {
    const ys = await page.evaluate(() => (window as any).cy.nodes('[kind = "vm"]').map((n: any) => [n.id(), n.renderedPosition('y')]) as [string, number][]);
    const bands = TIERS.map((prefix) => ys.filter(([id]) => id.startsWith(prefix)).map(([, y]) => y));
    assert.deepEqual(
      bands.map((b) => b.length),
      [2, 4, 4, 8],
    );
    bands.forEach((band, i) => {
      assert.ok(Math.max(...band) - Math.min(...band) < 1, `${TIERS[i]}* on one band: ${band}`);
      if (i > 0) assert.ok(Math.min(...band) > Math.max(...bands[i - 1]!) + 40, `${TIERS[i]}* below ${TIERS[i - 1]}*`);
    });
  });

  it('every domain as a node: 42 nodes, an edge per link; and back', async () => {
    await page.check('#domains-as-nodes');
    await drawn(page);
    assert.deepEqual(await page.evaluate(() => [(window as any).cy.nodes().length, (window as any).cy.edges().length]), [42, 48]);
    await page.uncheck('#domains-as-nodes');
    await drawn(page);
    assert.deepEqual(await page.evaluate(() => [(window as any).cy.nodes().length, (window as any).cy.edges().length]), [18, 24]);
  });

  it('projector mode, by keyboard: no panel, bigger names, still no overlap; and back', async () => {
    const before = Math.min(...(await deviceLabels(page)).map((l) => l.height));
    await page.focus('#projector');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.classList.contains('projector'));
    await drawn(page);
    assert.equal(await page.isVisible('#panel'), false, 'the panel is hidden');
    const bigger = Math.min(...(await deviceLabels(page)).map((l) => l.height));
    assert.ok(bigger > before, `names ${before} px, then ${bigger} px`);
    assert.deepEqual(await overlappingBoxes(page), []);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.body.classList.contains('projector'));
    await drawn(page);
    assert.equal(await page.isVisible('#panel'), true);
    assert.deepEqual(browser.errors, [], 'no script error in the page');
  });
});

describe('the fat tree running: a click on a line opens its frames', () => {
  const home = makeHome();
  let web: WebChild | null = null;
  let browser: Browser;
  let page: Page;

  before(async () => {
    // 18 VMs on a busy 2-core machine may take minutes to boot.
    await umlabOk(home, ['up', lab('fat-tree.yaml'), '--quiet'], 0, { timeout: 900_000 });
    ({ web, browser, page } = await openPage(home, ['fat-tree']));
  });

  after(async () => {
    await closeLabPage({ web, browser });
    await umlab(home, ['down', 'fat-tree']);
    await assertNothingLeft(home, 'fat-tree');
    await cleanHome(home);
  });

  it('a click on a line opens its frames: a ping across the cable shows up', async () => {
    await umlabOk(home, ['exec', 'server-1a', '--', 'ping', '-c', '3', '-i', '0.3', '-W', '5', '10.0.17.1']);
    // Into view (the drawing may be taller than the pane), then a click where the line is.
    await page.evaluate(() => (window as any).cy.center((window as any).cy.getElementById('line:l11-srv1a')));
    await clickInGraph(page, 'line:l11-srv1a');
    await page.waitForFunction(() => document.getElementById('link-name')?.textContent === 'leaf-1-1.eth2');
    assert.match((await page.textContent('#link-ends')) ?? '', /segment l11-srv1a: leaf-1-1 eth2 10\.0\.17\.1\/30 ↔ server-1a eth0 10\.0\.17\.2\/30/);
    await page.waitForFunction(() => /echo reply/.test(document.getElementById('frames')?.textContent ?? ''));
    // The other end's capture is one button away.
    await page.click('#other-end');
    await page.waitForFunction(() => document.getElementById('link-name')?.textContent === 'server-1a.eth0');
    await page.waitForFunction(() => /echo request/.test(document.getElementById('frames')?.textContent ?? ''));
    assert.equal(await page.evaluate(() => (window as any).cy.$(':selected').id()), 'line:l11-srv1a', 'the line stays selected');
    assert.deepEqual(browser.errors, [], 'no script error in the page');
  });
});
