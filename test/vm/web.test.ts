// `umlab web` end to end: a real lab, the real server as a child process, and Debian's
// Chromium driven by playwright-core. The first paint with the current state, the drawing
// (no label on another, inside the pane, dragged positions kept), live counters, the frames
// of a link (whole addresses, the filter's words), the pcap download, a VM's details, live
// rewiring, the offline view, and that the page notices when the lab goes down.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { readCapture } from '../../src/capture/decode.ts';
import { assertNothingLeft, cleanHome, lab, makeHome, umlab, umlabOk } from './helpers.ts';
import {
  clickInGraph,
  closeLabPage,
  drawingFitsPane,
  frameRows,
  graphPoint,
  openLabPage,
  overlappingLabels,
  startWeb,
  stopWeb,
  type Browser,
  type WebChild,
} from './web-helpers.ts';

/** Types a filter and waits for the list to show its result. */
async function filterFrames(page: Page, text: string): Promise<string[][]> {
  await page.fill('#frame-filter', text);
  // The list says which filter its rows are for once the server's first answer for it came.
  await page.waitForFunction((t) => document.getElementById('frames')?.dataset.filter === t, text);
  return frameRows(page);
}

describe('umlab web on a running lab, in a real browser', () => {
  const home = makeHome();
  let web: WebChild | null = null;
  let browser: Browser;
  let page: Page;

  before(async () => {
    await umlabOk(home, ['up', lab('two-hosts.yaml'), '--quiet']);
    ({ web, browser, page } = await openLabPage(home, ['two-hosts']));
  });

  after(async () => {
    await closeLabPage({ web, browser });
    await cleanHome(home);
  });

  it('the first paint already shows the current state, and the page lets the network go idle', async () => {
    assert.match(web!.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    // A page whose live channel never answers still shows the state: it came inside the page.
    const cut = await browser.context.newPage();
    await cut.routeWebSocket(/\/api\/live/, () => {});
    await cut.goto(web!.url, { waitUntil: 'load' });
    assert.equal(
      await cut.evaluate(() =>
        (window as any).cy
          .nodes('[kind = "vm"]')
          .map((n: any) => n.data('state'))
          .join(),
      ),
      'ready,ready',
    );
    assert.match((await cut.textContent('#overview-vms')) ?? '', /h1ready\d+/);
    await cut.close();
    // networkidle: no request pending for 500 ms. An event stream held open would never let it come.
    await page.goto(web!.url, { waitUntil: 'networkidle', timeout: 30_000 });
    const first = await page.evaluate(() => ({
      live: document.body.dataset.live,
      pill: document.getElementById('live-pill')?.textContent,
      rows: [...document.querySelectorAll('#overview-vms tr')].map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
      states: (window as any).cy
        .nodes('[kind = "vm"]')
        .map((n: any) => `${n.id()}:${n.data('state')}`)
        .sort(),
    }));
    assert.equal(first.live, 'running');
    assert.equal(first.pill, 'running');
    assert.deepEqual(first.states, ['h1:ready', 'h2:ready']);
    assert.equal(first.rows.length, 2);
    for (const [name, state, pid] of first.rows) {
      assert.equal(state, 'ready', `${name} ready on the first paint`);
      assert.match(pid!, /^\d+$/, `${name}'s pid on the first paint`);
    }
    assert.equal(new URL(page.url()).search, '', 'the token is taken out of the address bar (the cookie keeps it)');
  });

  it('draws the lab: two VMs on a switch as one line, both ends labelled; every domain as a node shows the switch', async () => {
    const graph = () =>
      page.evaluate(() => {
        const cy = (window as any).cy;
        return {
          nodes: cy
            .nodes()
            .map((n: any) => `${n.id()}:${n.data('kind')}`)
            .sort(),
          edges: cy
            .edges()
            .map((e: any) => `${e.id()}:${e.source().id()}->${e.target().id()}:${e.data('sourceLabel')}|${e.data('targetLabel')}`.replace(/\n/g, ' '))
            .sort(),
        };
      });
    assert.deepEqual(await graph(), { nodes: ['h1:vm', 'h2:vm'], edges: ['line:sw0:h1->h2:eth0 10.0.0.1/24|eth0 10.0.0.2/24'] });
    await page.check('#domains-as-nodes');
    assert.deepEqual(await graph(), {
      nodes: ['h1:vm', 'h2:vm', 'segment:sw0:switch'],
      edges: ['h1.eth0:h1->segment:sw0:eth0 10.0.0.1/24|', 'h2.eth0:h2->segment:sw0:eth0 10.0.0.2/24|'],
    });
    assert.deepEqual(await overlappingLabels(page), []);
    await page.uncheck('#domains-as-nodes');
    assert.equal((await graph()).edges.length, 1);
  });

  it('no label overlaps another label, a node or an edge, and the drawing fits the pane', async () => {
    assert.deepEqual(await overlappingLabels(page), []);
    const fit = await drawingFitsPane(page);
    assert.ok(fit.fits, JSON.stringify(fit));
  });

  it('a node dragged elsewhere stays there after a reload', async () => {
    // Away from h1, so the line gets longer (a node dropped onto another may cover its labels).
    const from = await graphPoint(page, 'h2');
    const sw = await graphPoint(page, 'h1');
    const len = Math.hypot(from.x - sw.x, from.y - sw.y);
    const to = { x: from.x + ((from.x - sw.x) / len) * 70 + 25, y: from.y + ((from.y - sw.y) / len) * 70 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    const moved = await page.evaluate(() => (window as any).cy.getElementById('h2').position());
    await page.reload({ waitUntil: 'networkidle' });
    const after = await page.evaluate(() => (window as any).cy.getElementById('h2').position());
    assert.ok(Math.abs(after.x - moved.x) < 0.5 && Math.abs(after.y - moved.y) < 0.5, `${JSON.stringify(moved)} then ${JSON.stringify(after)}`);
    assert.deepEqual(await overlappingLabels(page), [], 'labels are cleared again after a drag');
    await page.click('#relayout');
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
    assert.ok(
      icmp.some((c) => c[2] === '10.0.0.1' && c[3] === '10.0.0.2' && /echo request .*seq 3/.test(c[5]!)),
      JSON.stringify(icmp),
    );
    assert.ok(
      icmp.some((c) => c[2] === '10.0.0.2' && c[3] === '10.0.0.1' && /echo reply .*seq 3/.test(c[5]!)),
      JSON.stringify(icmp),
    );
    // Traffic at a glance: the edge got wider while it flowed, and the link has a sparkline.
    assert.ok(await page.$('#link-spark svg.sparkline polyline'));
  });

  it('the frame table shows whole addresses: no cell is cut short', async () => {
    // IPv6 neighbour discovery and ARP put long addresses (fe80::..., MACs) in the list.
    // Whether an answer comes does not matter (h2's link-local address may still be tentative): the frames do.
    await umlab(home, ['exec', 'h1', '--', 'for i in 1 2 3 4 5; do ping -6 -c 1 -W 2 ff02::1%eth0 && break; sleep 1; done']);
    await page.waitForFunction(() => [...document.querySelectorAll('#frames tr td:nth-child(3)')].some((td) => td.textContent?.startsWith('fe80::')));
    const cut = await page.$$eval('#frames td', (cells) => cells.filter((td) => td.scrollWidth > td.clientWidth + 1).map((td) => td.textContent));
    assert.deepEqual(cut, []);
    const v6 = (await frameRows(page)).find((c) => c[2]!.startsWith('fe80::'));
    assert.ok(v6 && /^fe80::[0-9a-f:]+$/.test(v6[2]!), JSON.stringify(v6));
  });

  it('the filter understands icmp, arp, tcp port 80 and host 10.0.0.2', async () => {
    // Something on TCP port 80: h2 answers the SYN with a reset (nothing listens there).
    await umlabOk(home, ['exec', 'h1', '--', 'sh', '-c', 'nc -w 2 10.0.0.2 80 </dev/null; true']);
    await umlabOk(home, ['exec', 'h1', '--', 'sh', '-c', 'ip neigh flush dev eth0; ping -c 1 -W 5 10.0.0.2']);
    const icmp = await filterFrames(page, 'icmp');
    assert.ok(icmp.length >= 6 && icmp.every((c) => c[4] === 'ICMP'), JSON.stringify(icmp));
    const arp = await filterFrames(page, 'arp');
    assert.ok(arp.length >= 1 && arp.every((c) => c[4] === 'ARP'), JSON.stringify(arp));
    await page.waitForFunction(() => (document.getElementById('frames')?.textContent ?? '').includes('who-has 10.0.0.2'));
    const web80 = await filterFrames(page, 'tcp port 80');
    assert.ok(web80.length >= 2 && web80.every((c) => c[4] === 'TCP' && /\b80\b/.test(c[5]!)), JSON.stringify(web80));
    const host = await filterFrames(page, 'host 10.0.0.2');
    // IP frames from or to 10.0.0.2, and ARP about it; not the IPv6 neighbour discovery of the other test.
    assert.ok(host.length >= 8, JSON.stringify(host));
    assert.ok(
      host.every((c) =>
        c[4] === 'ARP' ? /10\.0\.0\.2\b/.test(c[5]!) || c[3] === 'fe:fd:0a:00:00:02' || c[2] === 'fe:fd:0a:00:00:02' : c.slice(2, 4).includes('10.0.0.2'),
      ),
      JSON.stringify(host),
    );
    const all = await filterFrames(page, '');
    assert.ok(all.some((c) => c[2]!.startsWith('fe80::')) && !host.some((c) => c[2]!.startsWith('fe80::')), JSON.stringify(all));
    const notIcmp = await filterFrames(page, '!icmp');
    assert.ok(
      notIcmp.every((c) => c[4] !== 'ICMP'),
      JSON.stringify(notIcmp),
    );
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

  it('every action is reachable by keyboard: a row of the overview keeps the focus through updates, Enter opens it', async () => {
    await page.click('.back');
    await page.waitForSelector('#overview-links tr');
    await page.focus('#overview-links tr[aria-label="link h2.eth0"]');
    // The state comes every second; the row keeps the focus through two updates.
    const at = Number(await page.evaluate(() => document.body.dataset.stateAt));
    await page.waitForFunction((t) => Number(document.body.dataset.stateAt) > t, at);
    const next = Number(await page.evaluate(() => document.body.dataset.stateAt));
    await page.waitForFunction((t) => Number(document.body.dataset.stateAt) > t, next);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'link h2.eth0');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('link-name')?.textContent === 'h2.eth0');
    await page.focus('.back');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#overview-vms tr');
    const unlabelled = await page.$$eval('button, input, a.button', (els) =>
      els
        .filter((e) => !(e.textContent?.trim() || e.getAttribute('aria-label') || (e.id && document.querySelector(`label[for="${e.id}"]`))))
        .map((e) => e.outerHTML),
    );
    assert.deepEqual(unlabelled, [], 'every control has a label');
  });

  it('follows live rewiring: a cut link is drawn as cut, an added link appears, a removed one goes', async () => {
    await umlabOk(home, ['link', 'down', 'h2', 'eth0']);
    // h2.eth0 is drawn as part of sw0's line (h1-h2).
    await page.waitForFunction(() => (window as any).cy.getElementById((window as any).umlabGraph.elementOfLink('h2.eth0')).hasClass('down'));
    await umlabOk(home, ['link', 'up', 'h2', 'eth0']);
    await page.waitForFunction(() => !(window as any).cy.getElementById((window as any).umlabGraph.elementOfLink('h2.eth0')).hasClass('down'));
    // A third member makes sw0 a node again (the line goes); taking it out makes it a line again.
    await umlabOk(home, ['link', 'add', 'h1', 'eth1', 'sw0', '--ip', '10.0.0.11/24']);
    await page.waitForFunction(() => (window as any).cy.getElementById('h1.eth1').nonempty());
    const label = await page.evaluate(() => (window as any).cy.getElementById('h1.eth1').data('sourceLabel') as string);
    assert.match(label, /eth1\s+10\.0\.0\.11\/24/);
    assert.deepEqual(await overlappingLabels(page), [], 'the added link does not cover a label');
    assert.ok(await page.evaluate(() => (window as any).cy.getElementById('segment:sw0').nonempty() && (window as any).cy.getElementById('line:sw0').empty()));
    await umlabOk(home, ['link', 'rm', 'h1', 'eth1']);
    await page.waitForFunction(() => (window as any).cy.getElementById('h1.eth1').empty() && (window as any).cy.getElementById('line:sw0').nonempty());
    assert.deepEqual(await overlappingLabels(page), []);
  });

  it('says so when the lab goes down, and the server stops cleanly on SIGTERM', async () => {
    await umlabOk(home, ['down', 'two-hosts']);
    await page.waitForFunction(() => document.body.dataset.live === 'down');
    assert.match((await page.textContent('#banner')) ?? '', /not running/);
    await stopWeb(web);
    web = null;
    await assertNothingLeft(home, 'two-hosts');
    assert.deepEqual(browser.errors, [], 'no script error in the page');
  });

  it('draws a lab file that is not running (--offline), each kind of segment with its own shape', async () => {
    const offline = await startWeb(home, [lab('all-kinds.yaml'), '--offline']);
    try {
      await page.goto(offline.url);
      await page.waitForFunction(() => document.body.dataset.live === 'offline');
      // all-kinds has two-member segments, drawn as lines by default: every kind shows as a node here.
      await page.check('#domains-as-nodes');
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
      assert.deepEqual(await overlappingLabels(page), []);
    } finally {
      await stopWeb(offline);
    }
  });
});
