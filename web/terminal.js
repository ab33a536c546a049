// Terminals on the VMs' consoles (xterm.js, served from node_modules), one tab per VM in a
// dock under the drawing. Each is a WebSocket to /api/vms/VM/console, the same console
// `umlab console` attaches to; it reconnects when the VM comes back after a stop or reboot.
import { Terminal } from '/vendor/xterm.mjs';
import { FitAddon } from '/vendor/addon-fit.mjs';
import { $, el, openSocket } from './util.js';

const RETRY_MS = 2000;
/** Close code for "no such VM" (src/web/console-bridge.ts CLOSE_REFUSED): no retry. */
const CLOSE_REFUSED = 4004;
/** vm -> { term, fit, tab, pane, socket, closed } */
const open = new Map();
window.umlabTerminals = open; // for the browser test: the text in each terminal's buffer

export function terminalText(vm) {
  const t = open.get(vm);
  if (!t) return '';
  const buffer = t.term.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
  return lines.join('\n');
}
window.umlabTerminalText = terminalText;

export function openTerminal(vm) {
  const existing = open.get(vm);
  if (existing) return activate(vm);
  const dock = $('dock');
  dock.hidden = false;
  document.body.classList.add('with-dock');
  const tabId = `term-tab-${vm}`;
  const paneId = `term-pane-${vm}`;
  const close = el('button', { type: 'button', class: 'tab-close', 'aria-label': `close the terminal of ${vm}`, title: 'close' }, '×');
  const label = el('button', { type: 'button', role: 'tab', id: tabId, 'aria-controls': paneId, class: 'tab-label' }, vm);
  const tab = el('span', { class: 'tab' }, label, close);
  const status = el('span', { class: 'term-status', 'aria-live': 'polite' }, 'connecting…');
  const pane = el('div', { class: 'term-pane', role: 'tabpanel', id: paneId, 'aria-labelledby': tabId, 'data-vm': vm });
  $('term-tabs').append(tab);
  $('term-panes').append(pane);
  const term = new Terminal({
    scrollback: 5000,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    fontSize: 13,
    convertEol: false,
    cursorBlink: true,
    theme: { background: '#1f2933', foreground: '#e4e7eb' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(pane);
  term.attachCustomKeyEventHandler((e) => clipboardKeys(term, e));
  const t = { vm, term, fit, tab, pane, label, status, socket: null, closed: false, attached: false };
  open.set(vm, t);
  label.addEventListener('click', () => activate(vm));
  close.addEventListener('click', () => closeTerminal(vm));
  term.onData((data) => {
    if (t.socket?.readyState === WebSocket.OPEN) t.socket.send(new TextEncoder().encode(data));
  });
  term.onBinary((data) => {
    if (t.socket?.readyState === WebSocket.OPEN) t.socket.send(Uint8Array.from(data, (c) => c.charCodeAt(0)));
  });
  term.onResize(({ cols, rows }) => sendSize(t, cols, rows));
  tab.append(status);
  activate(vm);
  connect(t);
}

/** Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes (Ctrl+C stays an interrupt for the VM). */
function clipboardKeys(term, e) {
  if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
  if (e.code === 'KeyC' && term.hasSelection()) {
    navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
    return false;
  }
  if (e.code === 'KeyV') {
    navigator.clipboard?.readText().then(
      (text) => term.paste(text),
      () => {},
    );
    return false;
  }
  return true;
}

function sendSize(t, cols, rows) {
  if (t.socket?.readyState === WebSocket.OPEN && t.attached) t.socket.send(JSON.stringify({ type: 'resize', cols, rows }));
}

function connect(t) {
  const socket = openSocket(`api/vms/${encodeURIComponent(t.vm)}/console${t.takeover ? '?takeover=1' : ''}`);
  socket.binaryType = 'arraybuffer';
  t.socket = socket;
  socket.addEventListener('message', (e) => {
    if (typeof e.data !== 'string') return t.term.write(new Uint8Array(e.data));
    const msg = JSON.parse(e.data);
    if (msg.type !== 'attached') return;
    const again = t.attached === null;
    t.attached = true;
    setStatus(t, msg.readOnly ? 'watching (read-only)' : t.takeover ? 'taken over' : 'connected');
    // Only the class server's teacher watches read-only: they may take the console over.
    if (msg.readOnly) offerTakeover(t);
    const how = msg.readOnly
      ? 'watching, read-only,'
      : t.takeover
        ? 'took over (the student is told, and types too)'
        : again
          ? 'reconnected to'
          : 'connected to';
    t.term.write(`\x1b[2m[umlab: ${how} the console of ${t.vm}${msg.readOnly ? '' : '; press Enter for a prompt'}]\x1b[0m\r\n`);
    sendSize(t, t.term.cols, t.term.rows);
  });
  socket.addEventListener('close', (e) => {
    if (t.closed) return;
    if (t.switching) {
      t.switching = false;
      t.attached = false;
      return connect(t);
    }
    const wasAttached = t.attached === true;
    t.attached = null;
    if (wasAttached) t.term.write(`\r\n\x1b[2m[umlab: console closed${e.reason ? `: ${e.reason}` : ''}]\x1b[0m\r\n`);
    if (e.code === CLOSE_REFUSED) return setStatus(t, e.reason || 'refused');
    setStatus(t, `waiting for ${t.vm}…`);
    t.retry = setTimeout(() => connect(t), RETRY_MS);
  });
}

/** A "take over" button on a read-only tab: reconnects the console with ?takeover=1 (the server decides). */
function offerTakeover(t) {
  if (t.takeoverButton) return;
  const button = el('button', { type: 'button', class: 'tab-takeover', title: 'type into this console; the student is told' }, 'take over');
  button.addEventListener('click', () => {
    button.remove();
    t.takeoverButton = null;
    t.takeover = true;
    t.switching = true;
    t.socket?.close();
  });
  t.takeoverButton = button;
  t.tab.append(button);
}

function setStatus(t, text) {
  t.status.textContent = text;
  t.tab.dataset.status = text === 'connected' || text === 'taken over' || text.startsWith('watching') ? 'connected' : 'waiting';
}

function activate(vm) {
  for (const [name, t] of open) {
    const on = name === vm;
    t.pane.hidden = !on;
    t.label.setAttribute('aria-selected', String(on));
    t.tab.classList.toggle('active', on);
  }
  const t = open.get(vm);
  requestAnimationFrame(() => {
    t.fit.fit();
    t.term.focus();
  });
}

export function closeTerminal(vm) {
  const t = open.get(vm);
  if (!t) return;
  t.closed = true;
  clearTimeout(t.retry);
  t.socket?.close();
  t.term.dispose();
  t.tab.remove();
  t.pane.remove();
  open.delete(vm);
  if (open.size === 0) {
    $('dock').hidden = true;
    document.body.classList.remove('with-dock');
  } else activate([...open.keys()].at(-1));
  window.dispatchEvent(new Event('resize'));
}

/** Every open terminal fits its pane again (the window or the dock changed size). */
export function fitTerminals() {
  for (const t of open.values()) if (!t.pane.hidden) t.fit.fit();
}
window.addEventListener('resize', fitTerminals);
