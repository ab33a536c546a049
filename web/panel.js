// The side panel: the overview (VMs and links, with sparklines), a link's counters and
// frames (live, filtered in the server), a VM's details and the button to its terminal.
import { $, actionRow, app, el, fmtBytes, fmtCount, fmtRate, openSocket, sparkline, STATE_COLOR } from './util.js';
import { openTerminal } from './terminal.js';
import { elementOfLink } from './view.js';

const MAX_ROWS = 500;
const panel = $('panel');
let frameStream = null;

const linkState = (name) => app.live?.links?.find((l) => l.link === name);
export const vmState = (name) => app.live?.vms?.find((v) => v.name === name);

export function select(next) {
  app.selection = next;
  if (frameStream) frameStream.close();
  frameStream = null;
  app.cy.elements().unselect();
  if (next) (next.kind === 'link' ? elementOfLink(next.id) : app.cy.getElementById(next.id)).select();
  if (!next) showOverview();
  else if (next.kind === 'link') showLink(next.id);
  else showVm(next.id);
}

function useTemplate(id) {
  panel.replaceChildren(/** @type {HTMLTemplateElement} */ ($(id)).content.cloneNode(true));
  panel.querySelectorAll('.back').forEach((b) => b.addEventListener('click', () => select(null)));
  panel.querySelector('h2')?.setAttribute('tabindex', '-1');
}

export function refreshPanel() {
  if (!app.selection) return fillOverview();
  if (app.selection.kind === 'link') return fillLinkCounters(app.selection.id);
  if (app.selection.kind === 'vm') $('vm-state')?.replaceChildren(stateBadge(vmState(app.selection.id)?.state));
}

function stateBadge(state) {
  const s = app.lab.offline ? 'offline' : state || 'unknown';
  return el('span', { class: 'badge', style: `background:${STATE_COLOR[s] || '#889'}` }, s);
}

export function showOverview() {
  useTemplate('overview-template');
  fillOverview();
}

/** The overview's rows are made once per set of VMs and links, then only their cells change:
 *  a row that has the keyboard focus keeps it while the state updates every second. */
function fillOverview() {
  const vms = /** @type {HTMLTableSectionElement} */ ($('overview-vms'));
  const links = /** @type {HTMLTableSectionElement} */ ($('overview-links'));
  if (!vms || !links) return;
  const vmIds = app.lab.graph.nodes.filter((n) => n.data.kind === 'vm').map((n) => n.data.id);
  if (vms.dataset.ids !== vmIds.join()) {
    vms.dataset.ids = vmIds.join();
    vms.replaceChildren(...vmIds.map(vmRow));
  }
  for (const row of vms.rows) {
    const s = vmState(row.dataset.id);
    const state = app.lab.offline ? 'offline' : s?.state || 'unknown';
    if (row.cells[1].dataset.state !== state) {
      row.cells[1].dataset.state = state;
      row.cells[1].replaceChildren(stateBadge(s?.state));
    }
    row.cells[2].textContent = s?.pid ?? '–';
  }
  const linkIds = app.lab.graph.edges.map((e) => e.data.id);
  if (links.dataset.ids !== linkIds.join()) {
    links.dataset.ids = linkIds.join();
    links.replaceChildren(...app.lab.graph.edges.map(linkRow));
  }
  for (const row of links.rows) {
    const id = row.dataset.id;
    const s = linkState(id);
    row.cells[2].textContent = s ? fmtCount(s.frames) : '–';
    row.cells[3].textContent = s ? fmtBytes(s.bytes) : '–';
    row.cells[4].textContent = s ? fmtRate(s.framesPerSecond, 'fr') : '–';
    const fps = (app.history.get(id) ?? []).map((h) => h.fps);
    row.cells[5].replaceChildren(sparkline(fps, { label: `frames per second on ${id}, last minute` }));
  }
}

function vmRow(id) {
  const ifaces = app.lab.graph.edges.filter((e) => e.data.source === id || e.data.target === id).length;
  const term = el('button', { type: 'button', class: 'small', 'aria-label': `open a terminal on ${id}`, disabled: app.lab.offline }, 'terminal');
  term.addEventListener('click', (e) => {
    e.stopPropagation();
    openTerminal(id);
  });
  const row = actionRow(
    `VM ${id}`,
    () => select({ kind: 'vm', id }),
    el('td', {}, id),
    el('td', {}),
    el('td', { class: 'num' }),
    el('td', { class: 'num' }, ifaces),
    el('td', {}, term),
  );
  row.dataset.id = id;
  return row;
}

function linkRow(e) {
  const id = e.data.id;
  const row = actionRow(
    `link ${id}`,
    () => select({ kind: 'link', id }),
    el('td', {}, id),
    el('td', {}, e.data.segment),
    el('td', { class: 'num' }),
    el('td', { class: 'num' }),
    el('td', { class: 'num' }),
    el('td', {}),
  );
  row.dataset.id = id;
  return row;
}

function showLink(name) {
  useTemplate('link-template');
  const edge = app.lab.graph.edges.find((e) => e.data.id === name);
  $('link-name').textContent = name;
  const conditions = linkState(name)?.conditions ?? edge.data.conditions;
  $('link-ends').textContent = [linkEnds(edge), edge.data.vlans && `VLAN port: ${edge.data.vlans}`, conditions && `conditions: ${conditions}`]
    .filter(Boolean)
    .join(' · ');
  otherEnd(name);
  fillLinkCounters(name);
  const download = /** @type {HTMLAnchorElement} */ ($('download'));
  const filter = /** @type {HTMLInputElement} */ ($('frame-filter'));
  if (app.lab.offline || !edge.data.hasCapture) {
    download.classList.add('disabled');
    download.removeAttribute('href');
    download.setAttribute('aria-disabled', 'true');
    filter.disabled = true;
    $('frames-note').textContent = app.lab.offline ? 'Offline view: no frames until the lab runs (umlab up).' : 'Capture is off for this link.';
    return;
  }
  download.href = `api/links/${encodeURIComponent(name)}/pcap`;
  download.setAttribute('download', `${app.lab.lab}-${name}.pcap`);
  let timer = null;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => openFrames(name, filter.value), 300);
  });
  openFrames(name, '');
}

/** "segment sw0: h1 eth0 10.0.0.1/24 ↔ h2 eth0 10.0.0.2/24": a line's two ends, or a link's. */
function linkEnds(edge) {
  const line = app.lab.graph.lines.find((l) => l.data.links.includes(edge.data.id));
  const d = line?.data ?? edge.data;
  const [a, b] = [d.sourceLabel, d.targetLabel].map((l) => l.replace(/\n/g, ' '));
  return `segment ${d.segment}: ${d.source} ${a}${b ? ` ↔ ${d.target} ${b}` : ''}`;
}

/** A line is two links, each with its own capture: the panel shows one and offers the other. */
function otherEnd(name) {
  const line = app.cy.edges().filter((e) => (e.data('links') ?? []).includes(name));
  const other = line.nonempty() ? line.data('links').find((l) => l !== name) : null;
  const button = $('other-end');
  button.hidden = !other;
  if (!other) return;
  button.textContent = `frames at the other end (${other})`;
  button.addEventListener('click', () => select({ kind: 'link', id: other }));
}

function fillLinkCounters(name) {
  const s = linkState(name);
  if (!$('link-frames')) return;
  $('link-frames').textContent = s ? fmtCount(s.frames) : '–';
  $('link-bytes').textContent = s ? fmtBytes(s.bytes) : '–';
  $('link-fps').textContent = s ? fmtRate(s.framesPerSecond, 'fr') : '–';
  $('link-bps').textContent = s ? fmtRate(s.bytesPerSecond, 'B') : '–';
  $('link-frames').dataset.value = s ? String(s.frames) : '';
  const history = app.history.get(name) ?? [];
  $('link-spark').replaceChildren(
    el('span', { class: 'hint' }, 'frames/s, last minute '),
    sparkline(
      history.map((h) => h.fps),
      { width: 220, height: 28, label: `frames per second on ${name}, last minute` },
    ),
  );
}

function openFrames(name, filterText) {
  if (frameStream) frameStream.close();
  const body = /** @type {HTMLTableSectionElement} */ ($('frames'));
  body.replaceChildren();
  delete body.dataset.filter;
  $('frames-note').textContent = 'latest frames, new ones appear as they pass';
  const stream = openSocket(`api/links/${encodeURIComponent(name)}/frames?limit=200&filter=${encodeURIComponent(filterText)}`);
  frameStream = stream;
  stream.addEventListener('message', (e) => {
    if (frameStream !== stream) return;
    const batch = JSON.parse(e.data);
    if (batch.error) $('frames-note').textContent = batch.error;
    const scroller = body.closest('.frames-scroll');
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    for (const f of batch.frames) body.append(frameRowElement(f));
    while (body.rows.length > MAX_ROWS) body.deleteRow(0);
    if (batch.initial) body.dataset.filter = filterText;
    if (batch.initial && batch.frames.length === 0) $('frames-note').textContent = filterText ? 'no frame matches the filter yet' : 'no frames yet';
    else if (batch.frames.length)
      $('frames-note').textContent =
        `${body.rows.length} frame${body.rows.length === 1 ? '' : 's'} shown${filterText ? ' (filtered)' : ''}, newest at the bottom`;
    if (atBottom || batch.initial) scroller.scrollTop = scroller.scrollHeight;
  });
  stream.addEventListener('close', (e) => {
    if (frameStream === stream && e.reason) $('frames-note').textContent = e.reason;
  });
}

/** An address that may wrap after its colons (a long IPv6 address), never inside a group. */
function breakable(address) {
  return address.split(/(?<=:)/).flatMap((part, i) => (i ? [document.createElement('wbr'), part] : [part]));
}

function frameRowElement(f) {
  return el(
    'tr',
    { class: `proto-${f.protocol.toLowerCase().replace(/[^a-z0-9]/g, '')}`, title: `frame ${f.number}, ${f.length} bytes on the wire` },
    el('td', { class: 'num' }, f.number),
    el('td', { title: f.time }, f.time.slice(0, 12)),
    el('td', { class: 'addr' }, ...breakable(f.source)),
    el('td', { class: 'addr' }, ...breakable(f.destination)),
    el('td', {}, f.protocol),
    el('td', { class: 'info' }, f.info),
  );
}

async function showVm(name) {
  useTemplate('vm-template');
  $('vm-name').textContent = name;
  $('vm-state').replaceChildren(stateBadge(vmState(name)?.state));
  $('vm-refresh').addEventListener('click', () => fillVm(name));
  const term = /** @type {HTMLButtonElement} */ ($('vm-terminal'));
  term.disabled = app.lab.offline;
  term.addEventListener('click', () => openTerminal(name));
  await fillVm(name);
}

async function fillVm(name) {
  $('vm-live-addr').textContent = $('vm-live-routes').textContent = app.lab.offline ? '(offline view)' : 'asking the VM…';
  const reply = await fetch(`api/vms/${encodeURIComponent(name)}`);
  const vm = await reply.json();
  if (app.selection?.kind !== 'vm' || app.selection.id !== name) return; // the user moved on meanwhile
  if (!reply.ok) {
    $('vm-summary').textContent = vm.error;
    return;
  }
  const pid = vmState(name)?.pid;
  $('vm-summary').textContent = `${vm.memory} of memory${pid ? `, pid ${pid}` : ''}`;
  $('vm-interfaces').replaceChildren(
    ...vm.interfaces.map((i) =>
      actionRow(
        `link ${i.link}`,
        () => select({ kind: 'link', id: i.link }),
        el('td', {}, i.name),
        el('td', {}, i.addresses.join(' ') || (i.dhcp ? 'dhcp' : '–')),
        el('td', { class: 'mono' }, i.mac),
        el('td', {}, i.segment),
      ),
    ),
  );
  $('vm-routes').textContent = vm.routes.join('\n') || '(only the routes of its own networks)';
  if (vm.live === null) {
    $('vm-live-addr').textContent = $('vm-live-routes').textContent = '(offline view)';
  } else if (vm.live.error) {
    $('vm-live-addr').textContent = $('vm-live-routes').textContent = `could not ask the VM: ${vm.live.error}`;
  } else {
    $('vm-live-addr').textContent = vm.live.addresses.trimEnd();
    $('vm-live-routes').textContent = vm.live.routes.trimEnd();
  }
  const consoleText = $('vm-console');
  consoleText.textContent = app.lab.offline ? '(offline view)' : vm.console || '(empty)';
}
