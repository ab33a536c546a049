// The umlab web view: starts from the lab and state the server put into the page (so the
// first paint is right), then follows the live state over a WebSocket. Plain browser
// JavaScript modules, no build step; the server is src/web/server.ts.
import { drawGraph, declutter, fitPane, placeNear, savePositions } from './graph.js';
import { trafficWidth } from './graph-style.js';
import { refreshPanel, select, showOverview } from './panel.js';
import { fitTerminals } from './terminal.js';
import { $, app, openSocket } from './util.js';
import { savedView, viewElements } from './view.js';

const HISTORY = 60;
const RETRY_MS = 2000;

function showDown(reason) {
  document.body.dataset.live = 'down';
  $('live-pill').textContent = 'not running';
  $('live-pill').className = 'pill down';
  const banner = $('banner');
  banner.hidden = false;
  banner.textContent = `Lab ${app.lab.lab} is not running — ${reason}. The drawing stays; counters and frames stop.`;
}

function applyState(state) {
  if (app.lab.offline || !state) return;
  const cy = app.cy;
  if (!state.running) {
    app.live = null;
    showDown(state.reason);
    cy.nodes('[kind = "vm"]').forEach((n) => n.data('state', 'stopped'));
    cy.edges().removeClass('active');
    return refreshPanel();
  }
  // `umlab link add|rm` changed the lab: fetch its new drawing first.
  const known = new Set(app.lab.graph.edges.map((e) => e.data.id));
  if (state.links.length !== known.size || state.links.some((l) => !known.has(l.link))) return void rewire(state);
  app.live = state;
  document.body.dataset.live = 'running';
  document.body.dataset.stateAt = String(state.at);
  $('banner').hidden = true;
  const allReady = state.vms.every((v) => v.state === 'ready');
  $('live-pill').textContent = state.phase === 'running' && allReady ? 'running' : state.phase;
  $('live-pill').className = `pill ${state.phase === 'running' && allReady ? 'ok' : 'warn'}`;
  for (const link of state.links) {
    const history = app.history.get(link.link) ?? [];
    history.push({ fps: link.framesPerSecond, bps: link.bytesPerSecond });
    if (history.length > HISTORY) history.shift();
    app.history.set(link.link, history);
  }
  drawState(state);
  refreshPanel();
}

/** States and traffic onto the drawing; a line shows the busier of its two links. */
function drawState(state) {
  const cy = app.cy;
  cy.batch(() => {
    for (const vm of state.vms) cy.getElementById(vm.name).data('state', vm.state);
    cy.edges().forEach((edge) => {
      const links = state.links.filter((l) => (edge.data('links') ?? [edge.id()]).includes(l.link));
      if (!links.length) return;
      edge.data('width', trafficWidth(Math.max(...links.map((l) => l.bytesPerSecond))));
      edge.toggleClass(
        'active',
        links.some((l) => l.framesPerSecond > 0),
      );
      edge.toggleClass(
        'down',
        links.some((l) => !l.up),
      );
      const conditions = links
        .map((l) => l.conditions)
        .filter(Boolean)
        .join('; ');
      edge.data('conditions', conditions);
      edge.toggleClass('impaired', Boolean(conditions));
    });
  });
}

/** Adds and removes the nodes and edges that live rewiring changed, keeping everything else in place. */
let rewiring = false;
async function rewire(state) {
  if (rewiring) return;
  rewiring = true;
  try {
    app.lab = await (await fetch('api/lab')).json();
    const cy = app.cy;
    const wanted = viewElements(app.lab.graph, app.view);
    const ids = new Set(wanted.map((e) => e.data.id));
    cy.elements()
      .filter((e) => !ids.has(e.id()))
      .remove();
    const added = wanted.filter((e) => cy.getElementById(e.data.id).empty());
    cy.add(added);
    // New nodes go next to their neighbours; then labels are placed again (spreading if need be).
    added.filter((e) => !e.data.source).forEach((n) => placeNear(cy.getElementById(n.data.id)));
    declutter(true);
    savePositions();
    fitPane();
  } finally {
    rewiring = false;
  }
  applyState(state);
}

function connectLive() {
  const socket = openSocket('api/live');
  socket.addEventListener('message', (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === 'state') applyState(msg);
  });
  socket.addEventListener('close', () => {
    showDown('lost the connection to umlab web (it was stopped?)');
    setTimeout(connectLive, RETRY_MS);
  });
}

function start() {
  const initial = JSON.parse($('initial').textContent);
  const { state, ...lab } = initial;
  app.lab = lab;
  app.view = savedView();
  document.title = `umlab · ${lab.lab}`;
  $('lab-name').textContent = lab.lab;
  $('lab-description').textContent = lab.description;
  // The token came in the address; the cookie carries it from now on, so it need not stay on screen.
  if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);
  drawGraph(select);
  showOverview();
  if (lab.offline) {
    document.body.dataset.live = 'offline';
    $('live-pill').textContent = 'offline: lab file';
    $('live-pill').className = 'pill offline';
    return;
  }
  applyState(state);
  connectLive();
  // A new view (every domain as a node, projector mode) gets the state at once.
  window.addEventListener('umlab:redrawn', () => app.live && drawState(app.live));
}

function watchSize() {
  new ResizeObserver(() => {
    app.cy.resize();
    fitPane();
    fitTerminals();
  }).observe($('graph'));
}

try {
  start();
  watchSize();
} catch (err) {
  document.body.dataset.live = 'error';
  $('banner').hidden = false;
  $('banner').textContent = `umlab web: ${err.message}`;
  throw err;
}
