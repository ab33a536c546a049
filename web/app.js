// The umlab web view: draws the lab with cytoscape, follows its live state over
// server-sent events, and shows a link's frames or a VM's details in the side panel.
// Plain browser JavaScript, no build step; the server is src/web/server.ts.

/* global cytoscape */

const VM_STYLE = { shape: 'round-rectangle', color: '#2f6fb3', label: 'VM' };
/** Node kind -> shape, colour, legend (and size): the VM's here, each segment kind's from /api/lab (src/kinds/). */
const kindStyles = () => ({ vm: VM_STYLE, ...lab.graph.styles });
const STATE_COLOR = {
  ready: '#2e8b57',
  booting: '#c9a227',
  starting: '#c9a227',
  paused: '#c9a227',
  stopping: '#888',
  stopped: '#888',
  failed: '#c0392b',
  crashed: '#c0392b',
};
const MAX_ROWS = 500;

const $ = (id) => document.getElementById(id);
const panel = $('panel');

let lab = null; // GET /api/lab
let cy = null;
let live = null; // last 'state' event
let selection = null; // { kind: 'link' | 'vm', id }
let frameStream = null;

// ---------- formatting ----------

function fmtCount(n) {
  return n.toLocaleString('en-US');
}
function fmtBytes(n) {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let u = -1;
  do {
    n /= 1000;
    u++;
  } while (n >= 1000 && u < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}
function fmtRate(perSecond, unit) {
  if (!perSecond) return `0 ${unit}/s`;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} ${unit}/s`;
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// ---------- graph ----------

function graphStyle() {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'font-family': 'system-ui, sans-serif',
        'font-size': 12,
        'text-valign': 'bottom',
        'text-margin-y': 4,
        color: '#223',
        'background-color': (n) => kindStyles()[n.data('kind')].color,
        shape: (n) => kindStyles()[n.data('kind')].shape,
        width: 44,
        height: 44,
        'border-width': 2,
        'border-color': '#fff',
      },
    },
    {
      selector: 'node[kind = "vm"]',
      style: {
        width: 64,
        height: 40,
        'text-valign': 'center',
        'text-margin-y': 0,
        color: '#fff',
        'font-weight': 'bold',
        'border-width': 4,
        'border-color': (n) => STATE_COLOR[n.data('state')] || '#aab',
      },
    },
    ...Object.entries(lab.graph.styles)
      .filter(([, s]) => s.width && s.height)
      .map(([kind, s]) => ({ selector: `node[kind = "${kind}"]`, style: { width: s.width, height: s.height } })),
    {
      selector: 'edge',
      style: {
        width: 2,
        'line-color': '#9aa5b1',
        'curve-style': 'bezier',
        'font-family': 'ui-monospace, monospace',
        'font-size': 9,
        color: '#334',
        'text-wrap': 'wrap',
        'source-label': 'data(sourceLabel)',
        // A VM-to-segment edge shows its counter at the segment end; a VM-to-VM edge in the middle.
        'target-label': (e) => e.data('targetLabel') || e.data('counter'),
        'source-text-offset': 40,
        'target-text-offset': 48,
        label: (e) => (e.data('targetLabel') ? e.data('counter') : ''),
        'text-background-color': '#fff',
        'text-background-opacity': 0.85,
        'text-background-padding': 2,
        'text-rotation': 'none',
      },
    },
    { selector: 'edge.active', style: { 'line-color': '#e08a1e', width: 4 } },
    { selector: 'edge.nocapture', style: { 'line-style': 'dashed' } },
    { selector: 'edge.down', style: { 'line-style': 'dotted', 'line-color': '#c0392b' } },
    { selector: ':selected', style: { 'overlay-color': '#2f6fb3', 'overlay-opacity': 0.18, 'overlay-padding': 6 } },
  ];
}

/** Positions survive reloads: saved per lab and per set of nodes, so an edited lab is laid out afresh. */
function positionsKey() {
  const ids = cy.nodes().map((n) => n.id()).sort();
  return `umlab.positions.${lab.lab}.${ids.join(',')}`;
}
function savePositions() {
  const positions = {};
  cy.nodes().forEach((n) => (positions[n.id()] = n.position()));
  localStorage.setItem(positionsKey(), JSON.stringify(positions));
}

/** Deterministic: the same lab always gets the same drawing (cose runs from fixed circle positions). */
function layOut(useSaved) {
  const saved = useSaved ? JSON.parse(localStorage.getItem(positionsKey()) || 'null') : null;
  if (saved && cy.nodes().every((n) => saved[n.id()])) {
    cy.layout({ name: 'preset', positions: (n) => saved[n.id()], fit: false }).run();
    return fitGently();
  }
  const nodes = cy.nodes().sort((a, b) => (a.id() < b.id() ? -1 : 1));
  const radius = 60 + nodes.length * 18;
  nodes.forEach((n, i) => n.position({ x: radius * Math.cos((2 * Math.PI * i) / nodes.length), y: radius * Math.sin((2 * Math.PI * i) / nodes.length) }));
  cy.layout({
    name: 'cose',
    randomize: false,
    animate: false,
    fit: false,
    nodeRepulsion: () => 400000,
    idealEdgeLength: () => 100,
    edgeElasticity: () => 100,
    gravity: 80,
    numIter: 2000,
  }).run();
  savePositions();
  fitGently();
}

/** A small lab fitted to the pane would be drawn huge: cap the zoom so labels keep their size. */
function fitGently() {
  cy.fit(undefined, 40);
  if (cy.zoom() > 1.5) {
    cy.zoom(1.5);
    cy.center();
  }
}

function drawGraph() {
  cy = cytoscape({
    container: $('graph'),
    elements: [...lab.graph.nodes, ...lab.graph.edges.map((e) => ({ ...e, data: { ...e.data, counter: '' }, classes: e.data.hasCapture ? '' : 'nocapture' }))],
    style: graphStyle(),
    minZoom: 0.2,
    maxZoom: 3,
    boxSelectionEnabled: false,
  });
  window.cy = cy; // for the browser test and for curious users in the console
  layOut(true);
  cy.on('dragfree', 'node', savePositions);
  cy.on('tap', 'edge', (e) => select({ kind: 'link', id: e.target.id() }));
  cy.on('tap', 'node[kind = "vm"]', (e) => select({ kind: 'vm', id: e.target.id() }));
  cy.on('tap', (e) => {
    if (e.target === cy) select(null);
  });
  $('relayout').addEventListener('click', () => layOut(false));
  $('legend').replaceChildren(
    ...Object.entries(kindStyles())
      .filter(([kind]) => lab.graph.nodes.some((n) => n.data.kind === kind))
      .map(([kind, s]) => el('span', { class: `legend-item shape-${s.shape}` }, el('i', { style: `background:${s.color}` }), s.label)),
  );
}

// ---------- live state ----------

function connectState() {
  const events = new EventSource('/api/events');
  events.addEventListener('state', (e) => applyState(JSON.parse(e.data)));
  events.onerror = () => {
    if (!lab.offline) showDown('lost the connection to umlab web (it was stopped?)');
  };
}

function showDown(reason) {
  document.body.dataset.live = 'down';
  $('live-pill').textContent = 'not running';
  $('live-pill').className = 'pill down';
  const banner = $('banner');
  banner.hidden = false;
  banner.textContent = `Lab ${lab.lab} is not running — ${reason}. The drawing stays; counters and frames stop.`;
}

function applyState(state) {
  if (lab.offline) return;
  if (!state.running) {
    live = null;
    showDown(state.reason);
    cy.nodes('[kind = "vm"]').forEach((n) => n.data('state', 'stopped'));
    cy.edges().removeClass('active');
    return refreshPanel();
  }
  live = state;
  document.body.dataset.live = 'running';
  $('banner').hidden = true;
  const allReady = state.vms.every((v) => v.state === 'ready');
  $('live-pill').textContent = state.phase === 'running' && allReady ? 'running' : state.phase;
  $('live-pill').className = `pill ${state.phase === 'running' && allReady ? 'ok' : 'warn'}`;
  // `umlab link add|rm` changed the lab: fetch its new drawing first.
  const known = new Set(cy.edges().map((e) => e.id()));
  if (state.links.length !== known.size || state.links.some((l) => !known.has(l.link))) return rewire(state);
  for (const vm of state.vms) cy.getElementById(vm.name).data('state', vm.state);
  for (const link of state.links) {
    const edge = cy.getElementById(link.link);
    edge.data('counter', `${fmtCount(link.frames)} frames${link.framesPerSecond ? `\n${fmtRate(link.framesPerSecond, 'fr')}` : ''}`);
    edge.toggleClass('active', link.framesPerSecond > 0);
    edge.toggleClass('down', !link.up);
  }
  refreshPanel();
}

/** Adds and removes the nodes and edges that live rewiring changed, keeping everything else in place. */
async function rewire(state) {
  if (rewiring) return;
  rewiring = true;
  try {
    lab = await (await fetch('/api/lab')).json();
    const wanted = [...lab.graph.nodes, ...lab.graph.edges];
    const ids = new Set(wanted.map((e) => e.data.id));
    cy.elements().filter((e) => !ids.has(e.id())).remove();
    const added = wanted.filter((e) => cy.getElementById(e.data.id).empty());
    cy.add(added.map((e) => (e.data.source ? { ...e, data: { ...e.data, counter: '' }, classes: e.data.hasCapture ? '' : 'nocapture' } : e)));
  } finally {
    rewiring = false;
  }
  applyState(state);
}
let rewiring = false;

const linkState = (name) => live?.links.find((l) => l.link === name);
const vmState = (name) => live?.vms.find((v) => v.name === name);

// ---------- side panel ----------

function select(next) {
  selection = next;
  if (frameStream) frameStream.close();
  frameStream = null;
  cy.elements().unselect();
  if (next) cy.getElementById(next.id).select();
  if (!next) showOverview();
  else if (next.kind === 'link') showLink(next.id);
  else showVm(next.id);
}

function useTemplate(id) {
  panel.replaceChildren($(id).content.cloneNode(true));
  panel.querySelectorAll('.back').forEach((b) => b.addEventListener('click', () => select(null)));
}

function refreshPanel() {
  if (!selection) return fillOverview();
  if (selection.kind === 'link') return fillLinkCounters(selection.id);
  if (selection.kind === 'vm') $('vm-state').replaceChildren(stateBadge(vmState(selection.id)?.state));
}

function stateBadge(state) {
  const s = lab.offline ? 'offline' : state || 'unknown';
  return el('span', { class: `badge`, style: `background:${STATE_COLOR[s] || '#889'}` }, s);
}

function showOverview() {
  useTemplate('overview-template');
  fillOverview();
}

function fillOverview() {
  const vms = $('overview-vms');
  const links = $('overview-links');
  if (!vms || !links) return;
  vms.replaceChildren(
    ...lab.graph.nodes
      .filter((n) => n.data.kind === 'vm')
      .map((n) => {
        const s = vmState(n.data.id);
        const ifaces = lab.graph.edges.filter((e) => e.data.source === n.data.id || e.data.target === n.data.id).length;
        return el('tr', { class: 'clickable', onclick: () => select({ kind: 'vm', id: n.data.id }) }, el('td', {}, n.data.id), el('td', {}, stateBadge(s?.state)), el('td', {}, s?.pid ?? '–'), el('td', {}, ifaces));
      }),
  );
  links.replaceChildren(
    ...lab.graph.edges.map((e) => {
      const s = linkState(e.data.id);
      return el(
        'tr',
        { class: 'clickable', onclick: () => select({ kind: 'link', id: e.data.id }) },
        el('td', {}, e.data.id),
        el('td', {}, e.data.segment),
        el('td', { class: 'num' }, s ? fmtCount(s.frames) : '–'),
        el('td', { class: 'num' }, s ? fmtBytes(s.bytes) : '–'),
        el('td', { class: 'num' }, s ? fmtRate(s.framesPerSecond, 'fr') : '–'),
      );
    }),
  );
}

function showLink(name) {
  useTemplate('link-template');
  const edge = lab.graph.edges.find((e) => e.data.id === name);
  $('link-name').textContent = name;
  const ends = [edge.data.sourceLabel, edge.data.targetLabel].filter(Boolean).map((l) => l.replace(/\n/g, ' '));
  $('link-ends').textContent = `segment ${edge.data.segment}: ${edge.data.source} ${ends[0] ?? ''}${edge.data.targetLabel ? ` ↔ ${edge.data.target} ${ends[1]}` : ''}`;
  fillLinkCounters(name);
  const download = $('download');
  const filter = $('frame-filter');
  if (lab.offline || !edge.data.hasCapture) {
    download.classList.add('disabled');
    download.removeAttribute('href');
    filter.disabled = true;
    $('frames-note').textContent = lab.offline ? 'Offline view: no frames until the lab runs (umlab up).' : 'Capture is off for this link.';
    return;
  }
  download.href = `/api/links/${encodeURIComponent(name)}/pcap`;
  download.setAttribute('download', `${lab.lab}-${name}.pcap`);
  let timer = null;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => openFrames(name, filter.value), 300);
  });
  openFrames(name, '');
}

function fillLinkCounters(name) {
  const s = linkState(name);
  if (!$('link-frames')) return;
  $('link-frames').textContent = s ? fmtCount(s.frames) : '–';
  $('link-bytes').textContent = s ? fmtBytes(s.bytes) : '–';
  $('link-fps').textContent = s ? fmtRate(s.framesPerSecond, 'fr') : '–';
  $('link-bps').textContent = s ? fmtRate(s.bytesPerSecond, 'B') : '–';
  $('link-frames').dataset.value = s ? String(s.frames) : '';
}

function openFrames(name, filterText) {
  if (frameStream) frameStream.close();
  const body = $('frames');
  body.replaceChildren();
  $('frames-note').textContent = 'latest frames, new ones appear as they pass';
  const url = `/api/links/${encodeURIComponent(name)}/frames?limit=200&filter=${encodeURIComponent(filterText)}`;
  frameStream = new EventSource(url);
  frameStream.addEventListener('frames', (e) => {
    const batch = JSON.parse(e.data);
    if (batch.error) $('frames-note').textContent = batch.error;
    const scroller = body.closest('.frames-scroll');
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    for (const f of batch.frames) body.append(frameRowElement(f));
    while (body.rows.length > MAX_ROWS) body.deleteRow(0);
    if (batch.initial && batch.frames.length === 0) $('frames-note').textContent = filterText ? 'no frame matches the filter yet' : 'no frames yet';
    else if (batch.frames.length) $('frames-note').textContent = `${body.rows.length} frame${body.rows.length === 1 ? '' : 's'} shown${filterText ? ' (filtered)' : ''}, newest at the bottom`;
    if (atBottom || batch.initial) scroller.scrollTop = scroller.scrollHeight;
  });
}

function frameRowElement(f) {
  return el(
    'tr',
    { class: `proto-${f.protocol.toLowerCase().replace(/[^a-z0-9]/g, '')}`, title: `frame ${f.number}, ${f.length} bytes on the wire` },
    el('td', { class: 'num' }, f.number),
    el('td', { title: f.time }, f.time.slice(0, 12)),
    el('td', { title: f.source }, f.source),
    el('td', { title: f.destination }, f.destination),
    el('td', {}, f.protocol),
    el('td', { class: 'info' }, f.info),
  );
}

async function showVm(name) {
  useTemplate('vm-template');
  $('vm-name').textContent = name;
  $('vm-state').replaceChildren(stateBadge(vmState(name)?.state));
  $('vm-refresh').addEventListener('click', () => fillVm(name));
  await fillVm(name);
}

async function fillVm(name) {
  $('vm-live-addr').textContent = $('vm-live-routes').textContent = lab.offline ? '(offline view)' : 'asking the VM…';
  const reply = await fetch(`/api/vms/${encodeURIComponent(name)}`);
  const vm = await reply.json();
  if (selection?.kind !== 'vm' || selection.id !== name) return; // the user moved on meanwhile
  if (!reply.ok) {
    $('vm-summary').textContent = vm.error;
    return;
  }
  const pid = vmState(name)?.pid;
  $('vm-summary').textContent = `${vm.memory} of memory${pid ? `, pid ${pid}` : ''}`;
  $('vm-interfaces').replaceChildren(
    ...vm.interfaces.map((i) =>
      el(
        'tr',
        { class: 'clickable', onclick: () => select({ kind: 'link', id: i.link }) },
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
  consoleText.textContent = lab.offline ? '(offline view)' : vm.console || '(empty)';
  consoleText.scrollTop = consoleText.scrollHeight;
}

// ---------- start ----------

async function start() {
  lab = await (await fetch('/api/lab')).json();
  document.title = `umlab · ${lab.lab}`;
  $('lab-name').textContent = lab.lab;
  $('lab-description').textContent = lab.description;
  drawGraph();
  showOverview();
  if (lab.offline) {
    document.body.dataset.live = 'offline';
    $('live-pill').textContent = 'offline: lab file';
    $('live-pill').className = 'pill offline';
    return;
  }
  connectState();
}

start().catch((err) => {
  document.body.dataset.live = 'error';
  $('banner').hidden = false;
  $('banner').textContent = `umlab web: ${err.message}`;
});
