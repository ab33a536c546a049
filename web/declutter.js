// Keeps the drawing readable: every edge-end label (interface and addresses) is slid along
// its edge to where it covers no node, no other label and no other edge; a VM with a single
// link whose label finds no such place is turned around its neighbour; as a last resort the
// whole drawing is spread out. Also what the browser tests measure (overlaps, labelsOnEdges).

/** Room kept between a label and anything else, in model pixels. */
export const GAP = 4;
const SPREAD = 1.15;
const ROUNDS = 14;
/** Turns tried for a single-link VM, in tenths of a half turn (10° steps), nearest first. */
const TURNS = [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 8, -8, 10, -10];

const overlap = (a, b, gap = 0) => a.x1 < b.x2 + gap && b.x1 < a.x2 + gap && a.y1 < b.y2 + gap && b.y1 < a.y2 + gap;
const nodeBox = (n) => n.boundingBox({ includeLabels: true, includeOverlays: false });

export const labelBox = (edge, end) =>
  edge.boundingBox({
    includeNodes: false,
    includeEdges: false,
    includeLabels: true,
    includeMainLabels: false,
    includeOverlays: false,
    includeSourceLabels: end === 'source',
    includeTargetLabels: end === 'target',
  });

/** Every box that must not overlap another: nodes (with their labels) and each edge-end label. */
export function labelBoxes(cy) {
  const boxes = [];
  cy.nodes().forEach((n) => boxes.push({ owner: n.id(), what: 'node', box: nodeBox(n) }));
  cy.edges().forEach((e) => {
    if (e.data('sourceLabel')) boxes.push({ owner: e.id(), end: 'source', what: 'label', box: labelBox(e, 'source') });
    if (e.data('targetLabel')) boxes.push({ owner: e.id(), end: 'target', what: 'label', box: labelBox(e, 'target') });
  });
  return boxes;
}

/** Pairs of boxes that overlap. */
export function overlaps(cy, gap = 0) {
  const boxes = labelBoxes(cy);
  const found = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) if (overlap(boxes[i].box, boxes[j].box, gap)) found.push([boxes[i], boxes[j]]);
  return found;
}

/** Whether the segment from a to b passes through the box (Liang-Barsky clipping). */
function crosses(box, a, b) {
  let t0 = 0;
  let t1 = 1;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  for (const [p, q] of [
    [-dx, a.x - box.x1],
    [dx, box.x2 - a.x],
    [-dy, a.y - box.y1],
    [dy, box.y2 - a.y],
  ]) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

/** The other edges a label's box lies on (parallel twins, drawn curved, aside). */
function edgesUnder(cy, edge, box) {
  const ends = [edge.source().id(), edge.target().id()].sort().join();
  return cy
    .edges()
    .filter((e) => e !== edge && [e.source().id(), e.target().id()].sort().join() !== ends && crosses(box, e.source().position(), e.target().position()));
}

/** Edge-end labels that lie on another edge, as "label / edge". */
export function labelsOnEdges(cy) {
  return labelBoxes(cy)
    .filter((b) => b.what === 'label')
    .flatMap((b) => edgesUnder(cy, cy.getElementById(b.owner), b.box).map((e) => `${b.owner} ${b.end} label / ${e.id()}`));
}

/** Where on its edge a label starts clear of its node: the label's extent along the edge, plus a gap. */
function clearOffset(edge, end) {
  const [from, to] = end === 'source' ? [edge.source(), edge.target()] : [edge.target(), edge.source()];
  const dx = to.position('x') - from.position('x');
  const dy = to.position('y') - from.position('y');
  const len = Math.hypot(dx, dy) || 1;
  const lines = String(edge.data(`${end}Label`)).split('\n');
  // A monospace character is about 0.61 of the type size wide; a line 1.25 of it tall.
  const font = parseFloat(edge.style('font-size')) || 10;
  const w = Math.max(...lines.map((l) => l.length)) * font * 0.61 + 6;
  const h = lines.length * font * 1.25 + 6;
  return (Math.abs(dx / len) * w) / 2 + (Math.abs(dy / len) * h) / 2 + GAP * 2;
}

function edgeLength(edge) {
  const a = edge.source().position();
  const b = edge.target().position();
  return (
    Math.hypot(a.x - b.x, a.y - b.y) - (Math.max(edge.source().width(), edge.source().height()) + Math.max(edge.target().width(), edge.target().height())) / 2
  );
}

/** Slides one label from its end along its edge to the first place that hits nothing (else the least bad). */
function placeLabel(cy, edge, end, obstacles, boxWeight = 1) {
  const key = `${end}Offset`;
  const first = clearOffset(edge, end);
  const last = Math.max(first, edgeLength(edge) - first);
  let best = null;
  for (let offset = first; offset <= last + 0.1; offset += 6) {
    edge.data(key, offset);
    const box = labelBox(edge, end);
    const boxHits = obstacles.filter((o) => overlap(o, box, GAP)).length;
    const hits = boxHits + edgesUnder(cy, edge, box).length;
    const score = boxHits * boxWeight + hits;
    if (best === null || score < best.score) best = { offset, box, hits, boxHits, score };
    if (hits === 0) break;
  }
  edge.data(key, best.offset);
  return best;
}

/** Places every label in a fixed order, each against the nodes and the labels placed before it. */
function placeAll(cy, boxWeight = 1) {
  const obstacles = cy.nodes().map(nodeBox);
  const ends = [];
  cy.edges()
    .sort((a, b) => (a.id() < b.id() ? -1 : 1))
    .forEach((e) => ['source', 'target'].forEach((end) => e.data(`${end}Label`) && ends.push([e, end])));
  return ends.map(([edge, end]) => {
    const placed = placeLabel(cy, edge, end, obstacles, boxWeight);
    obstacles.push(placed.box);
    return { edge, end, ...placed };
  });
}

/** A VM with a single link whose label stays covered is turned around its neighbour, a
 *  little at a time, until its node, its edge and its label touch nothing else. */
function turnLeaves(cy, results) {
  for (const r of results.filter((x) => x.hits > 0)) {
    const node = r.end === 'source' ? r.edge.source() : r.edge.target();
    if (node.degree(false) !== 1) continue;
    const pivot = (node === r.edge.source() ? r.edge.target() : r.edge.source()).position();
    const start = { ...node.position() };
    const radius = Math.hypot(start.x - pivot.x, start.y - pivot.y);
    const angle = Math.atan2(start.y - pivot.y, start.x - pivot.x);
    const labels = results.filter((o) => o !== r).map((o) => o.box);
    let done = false;
    for (const turn of TURNS) {
      const a = angle + (turn * Math.PI) / 18;
      node.position({ x: pivot.x + radius * Math.cos(a), y: pivot.y + radius * Math.sin(a) });
      const others = [...cy.nodes().not(node).map(nodeBox), ...labels];
      if (others.some((o) => overlap(o, nodeBox(node), GAP))) continue;
      if (labels.some((box) => crosses(box, node.position(), pivot))) continue;
      const placed = placeLabel(cy, r.edge, r.end, others);
      if (placed.hits === 0) {
        Object.assign(r, placed);
        done = true;
        break;
      }
    }
    if (!done) {
      node.position(start);
      r.edge.data(`${r.end}Offset`, r.offset);
    }
  }
}

/** Places the labels; with `rearrange`, turns single-link VMs and spreads the drawing until
 *  every label is clear (or gives up after a few rounds). A layered drawing (`bands`) keeps
 *  its devices in their bands: nothing is turned, and only the gaps between bands grow, which
 *  lengthens the lines its labels slide along. Returns how many hits remain. */
export function declutter(cy, rearrange, bands = false) {
  let covered = 0;
  const spread = bands ? { x: 1, y: 1.1 } : { x: SPREAD, y: SPREAD };
  for (let round = 0; round < ROUNDS; round++) {
    // In a fabric a label near its device often crosses a neighbouring line: better that than a label.
    let results = placeAll(cy, bands ? 100 : 1);
    if (rearrange && !bands && results.some((r) => r.hits > 0)) {
      turnLeaves(cy, results);
      results = placeAll(cy);
    }
    // Where many lines cross (a fabric), a label cannot always miss them all: bands only
    // grow while a label still covers another label or a device.
    covered = results.reduce((sum, r) => sum + (bands ? r.boxHits : r.hits), 0);
    if (!rearrange || covered === 0) return covered;
    const bb = cy.nodes().boundingBox();
    const cx = (bb.x1 + bb.x2) / 2;
    const cy0 = (bb.y1 + bb.y2) / 2;
    cy.nodes().positions((n) => ({ x: cx + (n.position('x') - cx) * spread.x, y: cy0 + (n.position('y') - cy0) * spread.y }));
  }
  return covered;
}
