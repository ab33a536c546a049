// What the drawing shows of the graph payload (src/web/graph.ts): by default a two-member
// switch or hub is one line between its devices; "every domain as a node" draws each
// segment as its node with an edge per link, as before. Also finds the element of a link.
import { app } from './util.js';

/** @typedef {'lines' | 'nodes'} View */

const VIEW_KEY = 'umlab.view';
/** Names longer than this are shortened in the drawing (the full name is on hover and in the panel). */
const LONGEST_LABEL = 14;

/** @returns {View} the view the user chose last (lines unless they asked for nodes). */
export const savedView = () => (localStorage.getItem(VIEW_KEY) === 'nodes' ? 'nodes' : 'lines');
/** @param {View} view */
export const saveView = (view) => localStorage.setItem(VIEW_KEY, view);

/**
 * "spine-leaf-router-12" -> "spine-l…uter-12": the start and the end, which tell names apart.
 * @param {string} name
 */
export function shortName(name) {
  if (name.length <= LONGEST_LABEL) return name;
  const keep = LONGEST_LABEL - 1;
  return `${name.slice(0, Math.ceil(keep / 2))}…${name.slice(name.length - Math.floor(keep / 2))}`;
}

/**
 * The cytoscape element of an edge or line of the payload, with its classes.
 * @param {{data: Record<string, any>}} e
 */
export function edgeElement(e) {
  const classes = [e.data.hasCapture ? '' : 'nocapture', e.data.conditions ? 'impaired' : '', e.data.vlans ? 'vlan' : '', e.data.links ? 'line' : ''];
  return { ...e, data: { ...e.data, width: 2 }, classes: classes.filter(Boolean).join(' ') };
}

/**
 * The nodes and edges of a view, ready for cytoscape.
 * @param {{nodes: any[], edges: any[], lines: any[]}} graph
 * @param {View} view
 */
export function viewElements(graph, view) {
  const asLines = view === 'lines' ? graph.lines : [];
  const segments = new Set(asLines.map((l) => l.data.segment));
  const nodes = graph.nodes
    .filter((n) => n.data.kind === 'vm' || !segments.has(n.data.label))
    .map((n) => ({ ...n, data: { ...n.data, name: n.data.label, label: shortName(n.data.label) } }));
  const edges = [...graph.edges.filter((e) => !segments.has(e.data.segment)), ...asLines];
  return [...nodes, ...edges.map(edgeElement)];
}

/** Whether the drawing is layered: the lines view of a lab with tiers. */
export const layeredTiers = () => (app.view === 'lines' ? app.lab.graph.tiers : null);

/**
 * The edge or line that draws a link (a line stands for both links of its segment).
 * @param {string} link
 */
export function elementOfLink(link) {
  return app.cy.edges().filter((e) => e.id() === link || (e.data('links') ?? []).includes(link));
}
