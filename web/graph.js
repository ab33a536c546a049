// The drawing: cytoscape with the fcose layout, every label kept clear of every other
// label and node (declutter), positions a user drags kept per lab, traffic as edge width.
/* global cytoscape, cytoscapeFcose */
// layout-base.js sets window.layoutBase (fcose's base), loaded before this module.
import { declutter as declutterLabels, labelBoxes, labelsOnEdges, overlaps } from './declutter.js';
import { $, app, el, fmtBytes, fmtCount, fmtRate, STATE_COLOR } from './util.js';

cytoscape.use(cytoscapeFcose);

const VM_STYLE = { shape: 'round-rectangle', color: '#2f6fb3', label: 'VM' };
/** Node kind -> shape, colour, legend (and size): the VM's here, each segment kind's from /api/lab (src/kinds/). */
export const kindStyles = () => ({ vm: VM_STYLE, ...app.lab.graph.styles });
/** Extra size a VM has for the layout only: room for its interface labels. */
const ROOM = { w: 90, h: 50 };

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
        'background-color': (n) => kindStyles()[n.data('kind')]?.color ?? '#889',
        shape: (n) => kindStyles()[n.data('kind')]?.shape ?? 'ellipse',
        width: 40,
        height: 40,
        'border-width': 2,
        'border-color': '#fff',
      },
    },
    {
      selector: 'node[kind = "vm"]',
      style: {
        width: (n) => Math.max(60, n.data('label').length * 8 + 18),
        height: 36,
        'text-valign': 'center',
        'text-margin-y': 0,
        color: '#fff',
        'font-weight': 'bold',
        'border-width': 4,
        'border-color': (n) => STATE_COLOR[n.data('state')] || '#aab',
      },
    },
    ...Object.entries(app.lab.graph.styles)
      .filter(([, s]) => s.width && s.height)
      .map(([kind, s]) => ({ selector: `node[kind = "${kind}"]`, style: { width: s.width, height: s.height } })),
    {
      selector: 'edge',
      style: {
        width: (e) => e.data('width') || 2,
        'line-color': '#9aa5b1',
        'curve-style': 'bezier',
        'font-family': 'ui-monospace, monospace',
        'font-size': 10,
        color: '#223',
        'text-wrap': 'wrap',
        'source-label': 'data(sourceLabel)',
        'target-label': 'data(targetLabel)',
        'source-text-offset': (e) => e.data('sourceOffset') || 40,
        'target-text-offset': (e) => e.data('targetOffset') || 40,
        'text-background-color': '#fff',
        'text-background-opacity': 0.92,
        'text-background-padding': 2,
        'text-rotation': 'none',
      },
    },
    { selector: 'edge.active', style: { 'line-color': '#e08a1e' } },
    { selector: 'edge.nocapture', style: { 'line-style': 'dashed' } },
    { selector: 'edge.vlan', style: { 'line-color': '#7d5ba6' } },
    { selector: 'edge.impaired', style: { 'line-style': 'dashed', 'line-dash-pattern': [8, 4], 'line-color': '#b9770e' } },
    { selector: 'edge.down', style: { 'line-style': 'dotted', 'line-color': '#c0392b', width: 3 } },
    { selector: ':selected', style: { 'overlay-color': '#2f6fb3', 'overlay-opacity': 0.18, 'overlay-padding': 6 } },
  ];
}

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

/** Positions survive reloads: saved per lab and per set of nodes, so an edited lab is laid out afresh. */
function positionsKey() {
  const ids = app.cy.nodes().map((n) => n.id()).sort();
  return `umlab.positions.${app.lab.lab}.${ids.join(',')}`;
}
export function savePositions() {
  const positions = {};
  app.cy.nodes().forEach((n) => (positions[n.id()] = n.position()));
  localStorage.setItem(positionsKey(), JSON.stringify(positions));
}

export function layOut(useSaved) {
  const cy = app.cy;
  const saved = useSaved ? JSON.parse(localStorage.getItem(positionsKey()) || 'null') : null;
  if (saved && cy.nodes().every((n) => saved[n.id()])) {
    cy.nodes().forEach((n) => n.position(saved[n.id()]));
    declutter(false);
    return fitPane();
  }
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
  turnToPane();
  declutter(true);
  savePositions();
  fitPane();
}

/** A drawing taller than wide in a wide pane (or the other way round) is turned a quarter. */
function turnToPane() {
  const cy = app.cy;
  const bb = cy.nodes().boundingBox();
  if (bb.h > bb.w === cy.height() > cy.width() || Math.abs(bb.h - bb.w) < 40) return;
  cy.nodes().positions((n) => ({ x: n.position('y'), y: -n.position('x') }));
}

/** The whole drawing in the pane; a small lab is not blown up past 1.6×. */
export function fitPane() {
  const cy = app.cy;
  cy.fit(undefined, 24);
  if (cy.zoom() > 1.6) {
    cy.zoom(1.6);
    cy.center();
  }
}

export function edgeElement(e) {
  const classes = [e.data.hasCapture ? '' : 'nocapture', e.data.conditions ? 'impaired' : '', e.data.vlans ? 'vlan' : ''];
  return { ...e, data: { ...e.data, width: 2 }, classes: classes.filter(Boolean).join(' ') };
}

/** Labels placed again; with `rearrange` (a new layout), nodes may be turned and spread for them. */
export function declutter(rearrange) {
  return declutterLabels(app.cy, rearrange);
}

/** Creates the drawing; `onSelect({kind, id} | null)` is called on a tap. */
export function drawGraph(onSelect) {
  const cy = cytoscape({
    container: $('graph'),
    elements: [...app.lab.graph.nodes, ...app.lab.graph.edges.map(edgeElement)],
    style: graphStyle(),
    minZoom: 0.1,
    maxZoom: 3,
    boxSelectionEnabled: false,
  });
  app.cy = cy;
  window.cy = cy; // for the browser test and for curious users in the console
  window.umlabGraph = { overlaps: () => overlaps(cy), labelBoxes: () => labelBoxes(cy), labelsOnEdges: () => labelsOnEdges(cy) };
  layOut(true);
  cy.on('dragfree', 'node', () => {
    declutter(false);
    savePositions();
  });
  cy.on('tap', 'edge', (e) => onSelect({ kind: 'link', id: e.target.id() }));
  cy.on('tap', 'node[kind = "vm"]', (e) => onSelect({ kind: 'vm', id: e.target.id() }));
  cy.on('tap', (e) => {
    if (e.target === cy) onSelect(null);
  });
  cy.on('mouseover', 'edge', (e) => showTip(e.target, e.renderedPosition));
  cy.on('mouseout', 'edge', hideTip);
  $('relayout').addEventListener('click', () => layOut(false));
  $('legend').replaceChildren(
    ...Object.entries(kindStyles())
      .filter(([kind]) => app.lab.graph.nodes.some((n) => n.data.kind === kind))
      .map(([kind, s]) => el('span', { class: `legend-item shape-${s.shape}` }, el('i', { style: `background:${s.color}` }), s.label)),
    // Edge looks, when the lab has such links.
    ...[
      ['vlans', '#7d5ba6', 'VLAN port'],
      ['conditions', '#b9770e', 'link conditions (dashed)'],
    ]
      .filter(([key]) => app.lab.graph.edges.some((e) => e.data[key]))
      .map(([, color, label]) => el('span', { class: 'legend-item' }, el('i', { style: `background:${color}` }), label)),
  );
}

/** Counters of a link on hover, so they never sit on the drawing's labels. */
function showTip(edge, at) {
  const s = app.live?.links?.find((l) => l.link === edge.id());
  const tip = $('tip');
  const extra = [edge.data('vlans') && `VLAN ${edge.data('vlans')}`, edge.data('conditions')].filter(Boolean).map((t) => `; ${t}`).join('');
  tip.textContent = `${edge.id()}: ${s ? `${fmtCount(s.frames)} frames, ${fmtBytes(s.bytes)}, ${fmtRate(s.framesPerSecond, 'fr')}, ${fmtRate(s.bytesPerSecond, 'B')}${s.up ? '' : ', down'}` : 'no counters'}${extra}`;
  tip.style.left = `${at.x + 12}px`;
  tip.style.top = `${at.y + 12}px`;
  tip.hidden = false;
}
function hideTip() {
  $('tip').hidden = true;
}

/** Edge width from bytes/s (log scale): 2 px idle, up to 10 px. */
export function trafficWidth(bytesPerSecond) {
  return bytesPerSecond > 0 ? Math.min(10, 2.5 + Math.log10(1 + bytesPerSecond)) : 2;
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
