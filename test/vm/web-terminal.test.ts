// A terminal per VM in the page (xterm.js over a WebSocket to the VM's console): typing a
// ping in h1's terminal and reading its answer, its frames on h1.eth0, two terminals in
// tabs, `umlab console` attached at the same time, and reconnecting after a reboot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { Page } from 'playwright-core';
import { assertNothingLeft, cleanHome, CLI_ARGS, lab, makeHome, umlabOk } from './helpers.ts';
import { clickInGraph, closeLabPage, openLabPage, stopWeb, terminalText, type Browser, type WebChild } from './web-helpers.ts';

/** Waits until the VM's terminal holds text matching `pattern`. */
async function waitForTerminal(page: Page, vm: string, pattern: RegExp, timeout = 30_000): Promise<string> {
  await page.waitForFunction(
    ([name, source, flags]) => new RegExp(source, flags).test((window as any).umlabTerminalText(name)),
    [vm, pattern.source, pattern.flags] as const,
    {
      timeout,
    },
  );
  return terminalText(page, vm);
}

/** Brings a VM's tab to the front and puts the keyboard in its terminal. */
async function focusTerminal(page: Page, vm: string): Promise<void> {
  await page.click(`#term-tab-${vm}`);
  await page.click(`.term-pane[data-vm="${vm}"]`);
}

describe('a terminal per VM in the web view', () => {
  const home = makeHome();
  let web: WebChild | null = null;
  let browser: Browser;
  let page: Page;

  before(async () => {
    await umlabOk(home, ['up', lab('two-hosts.yaml'), '--quiet']);
    ({ web, browser, page } = await openLabPage(home, ['two-hosts'], { load: true }));
  });

  after(async () => {
    await closeLabPage({ web, browser });
    await cleanHome(home);
  });

  it("types `ping -c1 10.0.0.2` in h1's terminal and reads `1 received` there; the frames show on h1.eth0", async () => {
    await clickInGraph(page, 'h1.eth0');
    await page.waitForFunction(() => /no frames yet|shown/.test(document.getElementById('frames-note')?.textContent ?? ''));
    // Open the terminal from h1's row in the overview.
    await page.click('.back');
    await page.click('#overview-vms tr[aria-label="VM h1"] button');
    await waitForTerminal(page, 'h1', /connected to the console of h1/);
    // The console's shell is there: it echoes what is typed and answers.
    await page.keyboard.type('ping -c1 10.0.0.2\n');
    const text = await waitForTerminal(page, 'h1', /1 received/);
    assert.match(text, /ping -c1 10\.0\.0\.2/);
    assert.match(text, /64 bytes from 10\.0\.0\.2/);
    await clickInGraph(page, 'h1.eth0');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#frames tr')].map((r) => r.textContent ?? '');
      return rows.some((r) => r.includes('10.0.0.1') && r.includes('echo request')) && rows.some((r) => r.includes('echo reply'));
    });
  });

  it('the terminal takes its size: the VM sees the columns and rows of the pane', async () => {
    const size = await page.evaluate(() => {
      const t = (window as any).umlabTerminals.get('h1').term;
      return { cols: t.cols, rows: t.rows };
    });
    await focusTerminal(page, 'h1');
    await page.keyboard.type('stty size\n');
    await waitForTerminal(page, 'h1', new RegExp(`^${size.rows} ${size.cols}\\s*$`, 'm'));
  });

  it("a second VM's terminal opens in its own tab; both keep their own text", async () => {
    await clickInGraph(page, 'h2');
    await page.click('#vm-terminal');
    await waitForTerminal(page, 'h2', /connected to the console of h2/);
    await page.keyboard.type('echo from-$(hostname)\n');
    // The first line typed starts h2's shell, whose first prompt comes after the line's echo.
    await waitForTerminal(page, 'h2', /^(# )?from-h2\s*$/m);
    assert.doesNotMatch(await terminalText(page, 'h1'), /from-h2/);
    assert.equal(await page.locator('#term-tabs [role="tab"]').count(), 2);
    await page.click('#term-tab-h1');
    assert.equal(await page.getAttribute('#term-tab-h1', 'aria-selected'), 'true');
    assert.equal(await page.getAttribute('#term-tab-h2', 'aria-selected'), 'false');
  });

  it('`umlab console` and the page are attached at once: what one types, both see', async () => {
    const cli = execa(process.execPath, [...CLI_ARGS, 'console', 'h1'], { env: { UMLAB_HOME: home }, reject: false, timeout: 60_000 });
    let seen = '';
    cli.stdout!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    try {
      await focusTerminal(page, 'h1');
      // Typed in the page until the CLI sees the shell's answer (it attaches meanwhile).
      const deadline = Date.now() + 30_000;
      while (!seen.includes('both-42') && Date.now() < deadline) {
        await page.keyboard.type('echo both-$((6*7))\n');
        await new Promise((r) => setTimeout(r, 500)); // paces the retyping; the verdict is the answer arriving
      }
      assert.match(seen, /both-42/, 'the CLI sees what the page typed');
      cli.stdin!.write('echo cli-$((6*8))\n');
      await waitForTerminal(page, 'h1', /^cli-48\s*$/m);
    } finally {
      cli.stdin!.write(Buffer.from([0x1d]));
      assert.equal((await cli).exitCode, 0);
    }
  });

  it('reconnects after the VM reboots, and the shell answers again', async () => {
    await umlabOk(home, ['vm', 'reboot', 'h1']);
    await waitForTerminal(page, 'h1', /reconnected to the console of h1/, 120_000);
    await focusTerminal(page, 'h1');
    const deadline = Date.now() + 60_000;
    let text = '';
    while (!/^again-63\s*$/m.test(text) && Date.now() < deadline) {
      await page.keyboard.type('echo again-$((9*7))\n');
      await new Promise((r) => setTimeout(r, 1000)); // paces the retyping while the console reconnects
      text = await terminalText(page, 'h1');
    }
    assert.match(text, /^again-63\s*$/m);
  });

  it('closing the tabs closes the terminals and then the dock; the lab goes down cleanly', async () => {
    await page.click('#term-tabs .tab:has-text("h2") .tab-close');
    assert.equal(await page.locator('#term-tabs [role="tab"]').count(), 1);
    await page.click('#term-tabs .tab:has-text("h1") .tab-close');
    assert.equal(await page.isHidden('#dock'), true);
    assert.equal(await page.evaluate(() => (window as any).umlabTerminals.size), 0);
    await umlabOk(home, ['down', 'two-hosts']);
    await stopWeb(web);
    web = null;
    await assertNothingLeft(home, 'two-hosts');
    assert.deepEqual(browser.errors, [], 'no script error in the page');
  });
});
