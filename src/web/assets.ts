// The page's files: web/ itself, and the browser libraries it uses, served from
// node_modules (never a CDN). Also puts the lab and its current state into the page,
// so its first paint is already right.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
export const INDEX_HTML = join(WEB_DIR, 'index.html');

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** A package's folder: from its main file up to its package.json (some packages export no ./package.json). */
function packageDir(name: string, from: string = import.meta.url): string {
  let dir = dirname(createRequire(from).resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !readFileSync(join(dir, 'package.json'), 'utf8').includes(`"name": "${name}"`)) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package folder of ${name}`);
    dir = up;
  }
  return dir;
}

let vendorFiles: Record<string, { file: string; type: string }> | null = null;
/** Resolved on first use: every umlab command loads this module, only `umlab web` serves these. */
function vendor(): Record<string, { file: string; type: string }> {
  if (vendorFiles) return vendorFiles;
  const fcose = packageDir('cytoscape-fcose');
  const coseBase = packageDir('cose-base', join(fcose, 'package.json'));
  const layoutBase = packageDir('layout-base', join(coseBase, 'package.json'));
  const xterm = packageDir('@xterm/xterm');
  vendorFiles = {
    '/vendor/cytoscape.min.js': { file: join(packageDir('cytoscape'), 'dist', 'cytoscape.min.js'), type: JS },
    '/vendor/layout-base.js': { file: join(layoutBase, 'layout-base.js'), type: JS },
    '/vendor/cose-base.js': { file: join(coseBase, 'cose-base.js'), type: JS },
    '/vendor/cytoscape-fcose.js': { file: join(fcose, 'cytoscape-fcose.js'), type: JS },
    '/vendor/elk.bundled.js': { file: join(packageDir('elkjs'), 'lib', 'elk.bundled.js'), type: JS },
    '/vendor/xterm.mjs': { file: join(xterm, 'lib', 'xterm.mjs'), type: JS },
    '/vendor/xterm.css': { file: join(xterm, 'css', 'xterm.css'), type: CSS },
    '/vendor/addon-fit.mjs': { file: join(packageDir('@xterm/addon-fit'), 'lib', 'addon-fit.mjs'), type: JS },
  };
  return vendorFiles;
}

/** The file behind a path of the page (web/NAME.js or .css, or a vendor library), or null. */
export function assetFile(path: string): { file: string; type: string } | null {
  const known = vendor()[path];
  if (known) return known;
  const own = /^\/([a-z][a-z0-9-]*)\.(js|css)$/.exec(path);
  const file = own && join(WEB_DIR, `${own[1]}.${own[2]}`);
  if (!own || !file || !existsSync(file)) return null;
  return { file, type: own[2] === 'js' ? JS : CSS };
}

/** What the page starts from: GET /api/lab's payload and the latest state. */
export interface PageState {
  lab: string;
  offline: boolean;
  state: unknown;
  [key: string]: unknown;
}

/** index.html with the initial state in a JSON script element (safe inside HTML: no `<`). */
export function renderPage(html: string, initial: PageState): string {
  const json = JSON.stringify(initial)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return html.replace('<!--umlab:initial-->', () => `<script id="initial" type="application/json">${json}</script>`);
}
