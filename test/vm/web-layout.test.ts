// The drawing stays readable from 2 to 60 nodes: a 30-VM lab (three LANs of nine hosts
// behind a router each, the routers on a core switch) and a chain of routers, drawn by the
// real server (--offline: the same drawing as a running lab's) in a real Chromium: no
// label covers another label or a node, and the whole drawing fits the pane (unless names
// would then be smaller than legible: the zoom stops at that floor and one pans).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanHome, makeHome } from './helpers.ts';
import { drawingFitsPane, openBrowser, overlappingLabels, startWeb, stopWeb, type Browser } from './web-helpers.ts';

/** LANs of hosts, a router each, the routers on a core switch (3 × 9: 30 VMs, 4 switches). */
function campusLab(lans: number, hosts: number): string {
  const lines = ['name: campus', 'switches:', '  core: {}'];
  for (let lan = 1; lan <= lans; lan++) lines.push(`  lan${lan}: {}`);
  lines.push('vms:');
  for (let lan = 1; lan <= lans; lan++) {
    lines.push(`  r${lan}:`, '    sysctl: { net.ipv4.ip_forward: 1 }', '    interfaces:');
    lines.push(`      eth0: { connect: lan${lan}, ip: 10.0.${lan}.1/24 }`, `      eth1: { connect: core, ip: 10.0.0.${lan}/24 }`);
    for (let h = 1; h <= hosts; h++) {
      lines.push(`  h${lan}-${h}:`, '    interfaces:', `      eth0: { connect: lan${lan}, ip: 10.0.${lan}.${10 + h}/24 }`);
      lines.push(`    routes: [ "default via 10.0.${lan}.1" ]`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Routers in a row, joined by point-to-point wires, a host at each end. */
function chainLab(routers: number): string {
  const names = ['ha', ...Array.from({ length: routers }, (_, i) => `r${i + 1}`), 'hb'];
  const lines = ['name: chain', 'vms:'];
  names.forEach((name, i) => {
    lines.push(`  ${name}:`, '    interfaces:');
    if (i > 0) lines.push(`      eth0: { ip: 10.${i}.0.2/30 }`);
    if (i + 1 < names.length) lines.push(`      eth1: { connect: ${names[i + 1]}.eth0, ip: 10.${i + 1}.0.1/30 }`);
  });
  return lines.join('\n') + '\n';
}

describe('a readable drawing for bigger labs', () => {
  const home = makeHome();
  const dir = mkdtempSync(join(tmpdir(), 'umlab-web-layout-'));
  let browser: Browser;

  before(async () => {
    browser = await openBrowser({ width: 1400, height: 900 });
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
    await cleanHome(home);
  });

  for (const [name, text, vms] of [
    ['campus', campusLab(3, 9), 30],
    ['big campus', campusLab(5, 10), 55],
    ['chain', chainLab(8), 10],
  ] as const) {
    it(`${name}: ${vms} VMs drawn with no label on another label, a node or an edge, inside the pane, the same way every time`, async () => {
      const file = join(dir, `${name.replace(' ', '-')}.yaml`);
      writeFileSync(file, text);
      const web = await startWeb(home, [file, '--offline']);
      try {
        const page = browser.page;
        await page.goto(web.url, { waitUntil: 'networkidle' });
        // The drawing is done when the page says so (a big lab takes a while on a busy machine).
        await page.waitForFunction(() => document.body.dataset.layout === 'done', undefined, { timeout: 120_000 });
        const count = await page.evaluate(() => (window as any).cy.nodes('[kind = "vm"]').length);
        assert.equal(count, vms);
        assert.deepEqual(await overlappingLabels(page), []);
        // The whole drawing in the pane, unless that would make names illegible: then the
        // page stops zooming out at the floor (and one pans).
        const fit = await drawingFitsPane(page);
        const zoom = await page.evaluate(() => [(window as any).cy.zoom(), (window as any).umlabGraph.floorZoom()]);
        assert.ok(fit.fits || Math.abs(zoom[0]! - zoom[1]!) < 1e-9, JSON.stringify({ fit, zoom }));
        // A small lab is at most one short pan away from whole: names at the legibility floor
        // (12 px) make a 10-VM chain with labelled lines slightly larger than the pane.
        if (vms <= 10)
          assert.ok(fit.drawing.w <= fit.pane.w * 1.5 && fit.drawing.h <= fit.pane.h * 1.5, `${vms} VMs within 1.5x the pane: ${JSON.stringify(fit)}`);
        const positions = () =>
          page.evaluate(() => JSON.stringify((window as any).cy.nodes().map((n: any) => [n.id(), Math.round(n.position('x')), Math.round(n.position('y'))])));
        const first = await positions();
        // re-layout forgets the saved positions and computes them again: the same drawing.
        await page.click('#relayout');
        assert.equal(await positions(), first);
        assert.deepEqual(browser.errors, []);
      } finally {
        await stopWeb(web);
      }
    });
  }
});
