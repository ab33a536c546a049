// Shared bits of the page: the app's state, element helpers, number formatting, sockets.

/** What the page knows: the lab (GET /api/lab), the drawing, the last live state, the selection. */
export const app = {
  lab: null,
  cy: null,
  live: null,
  selection: null, // { kind: 'link' | 'vm', id }
  /** link name -> the last 60 samples of { fps, bps } (one a second). */
  history: new Map(),
};

export const $ = (id) => document.getElementById(id);

export const STATE_COLOR = {
  ready: '#2e8b57',
  booting: '#c9a227',
  starting: '#c9a227',
  paused: '#c9a227',
  stopping: '#888',
  stopped: '#888',
  failed: '#c0392b',
  crashed: '#c0392b',
};

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** A table row that acts as a button: click, Enter or Space. */
export function actionRow(label, action, ...cells) {
  const row = el('tr', { class: 'clickable', tabindex: '0', role: 'button', 'aria-label': label, onclick: action }, ...cells);
  row.addEventListener('keydown', (e) => {
    if (e.target !== row || (e.key !== 'Enter' && e.key !== ' ')) return;
    e.preventDefault();
    action();
  });
  return row;
}

export function fmtCount(n) {
  return n.toLocaleString('en-US');
}
export function fmtBytes(n) {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let u = -1;
  do {
    n /= 1000;
    u++;
  } while (n >= 1000 && u < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}
export function fmtRate(perSecond, unit) {
  if (!perSecond) return `0 ${unit}/s`;
  if (unit === 'B') return `${fmtBytes(perSecond)}/s`;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} ${unit}/s`;
}

/** A WebSocket to this server (the token travels in the page's cookie). */
export function openSocket(path) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  return new WebSocket(url);
}

/** A thin SVG sparkline of the values (newest right), scaled to their own maximum. */
export function sparkline(values, { width = 90, height = 18, label = '' } = {}) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / 59 : 0;
  const x0 = width - step * (values.length - 1);
  const points = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points.join(' ') || `0,${height - 1} ${width},${height - 1}`);
  svg.append(line);
  return svg;
}
