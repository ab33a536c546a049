// The drawing: cytoscape with the fcose layout, every label kept clear of every other
// label and node (declutter), positions a user drags kept per lab, traffic as edge width.
/* global cytoscape, cytoscapeFcose */
// layout-base.js sets window.layoutBase (fcose's base), loaded before this module.
import { declutter as declutterLabels, labelBoxes, labelsOnEdges, overlaps } from './declutter.js';
import { floorZoom, graphStyle, kindStyles } from './graph-style.js';
import { layOutLayered } from './layered.js';
import { elementOfLink, layeredTiers, saveView, viewElements } from './view.js';
import { $, app, el, fmtBytes, fmtCount, fmtRate } from './util.js';

cytoscape.use(cytoscapeFcose);

/** Extra size a VM has for the force layout only: room for its interface labels. */
const ROOM = { w: 90, h: 50 };
const PROJECTOR_KEY = 'umlab.projector';

/** A small seeded generator: fcose's spectral step draws random samples, and the same lab must get the same drawing. */
function seeded(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Positions survive reloads: saved per lab, mode and set of nodes, so an edited lab is laid out afresh. */
function positionsKey() {
  const ids = app.cy
    .nodes()
    .map((n) => n.id())
    .sort();
  return `umlab.positions.${app.lab.lab}.${app.projector ? 'projector.' : ''}${ids.join(',')}`;
}
export function savePositions() {
  const positions = {};
  app.cy.nodes().forEach((n) => (positions[n.id()] = n.position()));
  localStorage.setItem(positionsKey(), JSON.stringify(positions));
}

/** Lays the drawing out (or puts it back where the user left it), then places the labels and
 *  fits the pane. Layered for a lab with tiers, force-directed otherwise. body[data-layout] says
 *  "done" once the drawing stands (the layered layout takes a moment). */
export async function layOut(useSaved) {
  const cy = app.cy;
  document.body.dataset.layout = 'running';
  const saved = useSaved ? JSON.parse(localStorage.getItem(positionsKey()) || 'null') : null;
  const tiers = layeredTiers();
  if (saved && cy.nodes().every((n) => saved[n.id()])) {
    cy.nodes().forEach((n) => n.position(saved[n.id()]));
    declutter(false);
  } else {
    if (tiers) await layOutLayered(cy, tiers);
    else layOutForce(cy);
    // A layered drawing keeps its bands horizontal; a force drawing may be turned to suit the pane.
    if (!tiers) turnToPane();
    declutter(true);
    savePositions();
  }
  fitPane();
  document.body.dataset.layout = 'done';
}

function layOutForce(cy) {
  // From one start, whatever was drawn before: the same lab always gets the same drawing.
  cy.nodes().positions(() => ({ x: 0, y: 0 }));
  const random = Math.random;
  Math.random = seeded(cy.nodes().length * 7919 + cy.edges().length);
  // layout-base keeps a seed of its own that every layout advances: start it over too.
  if (window.layoutBase?.RandomSeed) window.layoutBase.RandomSeed.seed = 1;
  try {
    // Room for the interface labels at a VM's edges: the layout sees each VM bigger than drawn.
    cy.nodes('[kind = "vm"]').forEach((n) => n.style({ width: n.width() + ROOM.w, height: n.height() + ROOM.h }));
    cy.layout({
      name: 'fcose',
      quality: 'proof',
      randomize: true,
      animate: false,
      fit: false,
      nodeDimensionsIncludeLabels: true,
      idealEdgeLength: (e) => (e.data('targetLabel') ? 160 : 100),
      nodeRepulsion: () => 40000,
      nodeSeparation: 120,
      edgeElasticity: () => 0.45,
      gravity: 0.4,
      numIter: 3000,
      packComponents: true,
    }).run();
  } finally {
    cy.nodes('[kind = "vm"]').removeStyle('width height');
    Math.random = random;
  }
}

/** A drawing taller than wide in a wide pane (or the other way round) is turned a quarter. */
function turnToPane() {
  const cy = app.cy;
  const bb = cy.nodes().boundingBox();
  if (bb.h > bb.w === cy.height() > cy.width() || Math.abs(bb.h - bb.w) < 40) return;
  cy.nodes().positions((n) => ({ x: n.position('y'), y: -n.position('x') }));
}

/** The whole drawing in the pane, a small lab not blown up past 1.6×; a big one only down to
 *  the zoom where names stay legible, then shown from its top, centred (drag to pan). */
export function fitPane() {
  const cy = app.cy;
  cy.fit(undefined, 24);
  if (cy.zoom() > 1.6) {
    cy.zoom(1.6);
    cy.center();
  } else if (cy.zoom() < floorZoom()) {
    const bb = cy.elements().boundingBox({ includeOverlays: false });
    cy.zoom(floorZoom());
    cy.pan({ x: cy.width() / 2 - ((bb.x1 + bb.x2) / 2) * cy.zoom(), y: 24 - bb.y1 * cy.zoom() });
  }
}

/** Labels placed again; with `rearrange` (a new layout), nodes may be turned and spread for them. */
export function declutter(rearrange) {
  return declutterLabels(app.cy, rearrange, Boolean(layeredTiers()));
}

/** Creates the drawing; `onSelect({kind, id} | null)` is called on a tap (a line selects its first link). */
export function drawGraph(onSelect) {
  app.projector = localStorage.getItem(PROJECTOR_KEY) === 'on';
  document.body.classList.toggle('projector', app.projector);
  const cy = cytoscape({
    container: $('graph'),
    elements: viewElements(app.lab.graph, app.view),
    style: graphStyle(),
    minZoom: 0.1,
    maxZoom: 3,
    boxSelectionEnabled: false,
  });
  app.cy = cy;
  window.cy = cy; // for the browser test and for curious users in the console
  window.umlabGraph = {
    overlaps: () => overlaps(cy),
    labelBoxes: () => labelBoxes(cy),
    labelsOnEdges: () => labelsOnEdges(cy),
    elementOfLink: (link) => elementOfLink(link).id(),
    floorZoom,
  };
  void layOut(true);
  cy.on('dragfree', 'node', () => {
    declutter(false);
    savePositions();
  });
  cy.on('tap', 'edge', (e) => onSelect({ kind: 'link', id: e.target.data('link') }));
  cy.on('tap', 'node[kind = "vm"]', (e) => onSelect({ kind: 'vm', id: e.target.id() }));
  cy.on('tap', (e) => {
    if (e.target === cy) onSelect(null);
  });
  cy.on('mouseover', 'edge', (e) => showTip(edgeTip(e.target), e.renderedPosition));
  cy.on('mouseover', 'node', (e) => showTip(`${e.target.data('name')}: ${e.target.data('detail')}`, e.renderedPosition));
  cy.on('mouseout', 'edge, node', hideTip);
  $('relayout').addEventListener('click', () => layOut(false));
  setUpToggles();
  drawLegend();
}

/** "every domain as a node" and the projector mode: both redraw, keyboard and mouse alike. */
function setUpToggles() {
  const nodes = /** @type {HTMLInputElement} */ ($('domains-as-nodes'));
  nodes.checked = app.view === 'nodes';
  nodes.disabled = !app.lab.graph.lines.length;
  nodes.addEventListener('change', () => {
    app.view = nodes.checked ? 'nodes' : 'lines';
    saveView(app.view);
    redraw();
  });
  const projector = $('projector');
  projector.setAttribute('aria-pressed', String(app.projector));
  projector.addEventListener('click', () => {
    app.projector = !app.projector;
    localStorage.setItem(PROJECTOR_KEY, app.projector ? 'on' : 'off');
    projector.setAttribute('aria-pressed', String(app.projector));
    document.body.classList.toggle('projector', app.projector);
    app.cy.style(graphStyle());
    redraw();
  });
}

/** The elements of the current view, laid out again (or as the user left them in this mode). */
export function redraw() {
  const cy = app.cy;
  cy.batch(() => {
    cy.elements().remove();
    cy.add(viewElements(app.lab.graph, app.view));
  });
  // The page applies the live state to the new elements on its next update (app.js).
  window.dispatchEvent(new Event('umlab:redrawn'));
  drawLegend();
  cy.resize();
  return layOut(true);
}

function drawLegend() {
  $('legend').replaceChildren(
    ...Object.entries(kindStyles())
      // Only what this view draws: a switch drawn as a line is not in the legend.
      .filter(([kind]) => app.cy.nodes(`[kind = "${kind}"]`).nonempty())
      .map(([, s]) => el('span', { class: `legend-item shape-${s.shape}` }, el('i', { style: `background:${s.color}` }), s.label)),
    // Edge looks, when the lab has such links.
    ...[
      ['vlans', '#7d5ba6', 'VLAN port'],
      ['conditions', '#b9770e', 'link conditions (dashed)'],
    ]
      .filter(([key]) => app.lab.graph.edges.some((e) => e.data[key]))
      .map(([, color, label]) => el('span', { class: 'legend-item' }, el('i', { style: `background:${color}` }), label)),
  );
}

/** A link's counters, for the tooltip; a line says both of its links'. */
function edgeTip(edge) {
  const counters = (link) => {
    const s = app.live?.links?.find((l) => l.link === link);
    return `${link}: ${s ? `${fmtCount(s.frames)} frames, ${fmtBytes(s.bytes)}, ${fmtRate(s.framesPerSecond, 'fr')}, ${fmtRate(s.bytesPerSecond, 'B')}${s.up ? '' : ', down'}` : 'no counters'}`;
  };
  const links = edge.data('links') ?? [edge.id()];
  const extra = [edge.data('vlans') && `VLAN ${edge.data('vlans')}`, edge.data('conditions')]
    .filter(Boolean)
    .map((t) => `; ${t}`)
    .join('');
  return `${edge.data('links') ? `segment ${edge.data('segment')}: ` : ''}${links.map(counters).join(' · ')}${extra}`;
}

/** Counters on hover, so they never sit on the drawing's labels. */
function showTip(text, at) {
  const tip = $('tip');
  tip.textContent = text;
  tip.style.left = `${at.x + 12}px`;
  tip.style.top = `${at.y + 12}px`;
  tip.hidden = false;
}
function hideTip() {
  $('tip').hidden = true;
}

/** A node added while the lab runs: next to what it connects to, or right of the drawing. */
export function placeNear(node) {
  const others = node.neighborhood('node').filter((n) => n.id() !== node.id());
  const bb = app.cy.nodes().not(node).boundingBox();
  if (others.empty()) return node.position({ x: bb.x2 + 120, y: (bb.y1 + bb.y2) / 2 });
  const x = others.reduce((sum, n) => sum + n.position('x'), 0) / others.length;
  const y = others.reduce((sum, n) => sum + n.position('y'), 0) / others.length;
  node.position({ x: x + 140, y: y + 90 });
}
