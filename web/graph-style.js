// How the drawing looks: cytoscape's stylesheet, in the normal and the projector mode
// (bigger type, darker lines and text), and the sizes the zoom floor is computed from.
import { app, STATE_COLOR } from './util.js';

const VM_STYLE = { shape: 'round-rectangle', color: '#2f6fb3', label: 'VM' };
/** Node kind -> shape, colour, legend (and size): the VM's here, each segment kind's from /api/lab (src/kinds/). */
export const kindStyles = () => ({ vm: VM_STYLE, ...app.lab.graph.styles });

/** Type sizes in model pixels: a device's name, a segment's name, a line end's interface and addresses. */
const FONT = { device: 15, segment: 13, end: 12 };
/** The smallest size on screen a label is drawn at; below it the label is hidden until one zooms in. */
export const LEGIBLE_PX = 11;
/** Projector mode scales the type (and so the drawing) by this. */
const PROJECTOR_SCALE = 1.4;

/** Scale of the type in the current mode. */
export const typeScale = () => (app.projector ? PROJECTOR_SCALE : 1);
/** The zoom below which a device's name would be smaller than 12 px (18 px on a projector, read from the back row). */
export const floorZoom = () => (app.projector ? 18 : LEGIBLE_PX + 1) / (FONT.device * typeScale());

/** The width of a device's box: room for its (shortened) name in bold. */
const deviceWidth = (n) => Math.max(56, n.data('label').length * FONT.device * 0.58 + 14) * typeScale();

/** @returns {any[]} cytoscape's stylesheet for the current mode */
export function graphStyle() {
  const s = typeScale();
  const ink = app.projector ? '#000' : '#223';
  const line = app.projector ? '#4a5561' : '#9aa5b1';
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'font-family': 'system-ui, sans-serif',
        'font-size': FONT.segment * s,
        'min-zoomed-font-size': LEGIBLE_PX - 2,
        'text-valign': 'bottom',
        'text-margin-y': 4,
        color: ink,
        'background-color': (n) => kindStyles()[n.data('kind')]?.color ?? '#889',
        shape: (n) => kindStyles()[n.data('kind')]?.shape ?? 'ellipse',
        width: 40 * s,
        height: 40 * s,
        'border-width': 2,
        'border-color': '#fff',
      },
    },
    {
      selector: 'node[kind = "vm"]',
      style: {
        width: deviceWidth,
        height: 36 * s,
        'font-size': FONT.device * s,
        'text-valign': 'center',
        'text-margin-y': 0,
        color: '#fff',
        'font-weight': 'bold',
        'border-width': 4,
        'border-color': (n) => STATE_COLOR[n.data('state')] || (app.projector ? '#1f2933' : '#aab'),
      },
    },
    ...Object.entries(app.lab.graph.styles)
      .filter(([, st]) => st.width && st.height)
      .map(([kind, st]) => ({ selector: `node[kind = "${kind}"]`, style: { width: st.width * s, height: st.height * s } })),
    {
      selector: 'edge',
      style: {
        width: (e) => (e.data('width') || 2) * (app.projector ? 1.5 : 1),
        'line-color': line,
        'curve-style': 'bezier',
        'font-family': 'ui-monospace, monospace',
        'font-size': FONT.end * s,
        'min-zoomed-font-size': LEGIBLE_PX - 2,
        color: ink,
        'text-wrap': 'wrap',
        'source-label': 'data(sourceLabel)',
        'target-label': 'data(targetLabel)',
        'source-text-offset': (e) => e.data('sourceOffset') || 40,
        'target-text-offset': (e) => e.data('targetOffset') || 40,
        'text-background-color': '#fff',
        'text-background-opacity': app.projector ? 1 : 0.92,
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

/** Edge width from bytes/s (log scale): 2 px idle, up to 10 px. */
export function trafficWidth(bytesPerSecond) {
  return bytesPerSecond > 0 ? Math.min(10, 2.5 + Math.log10(1 + bytesPerSecond)) : 2;
}
