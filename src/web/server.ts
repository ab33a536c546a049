// The web view's HTTP server (Node's own http module). Every request must show the user's
// token (auth.ts), or gets 403; it listens on 127.0.0.1 unless told otherwise.
//
//   GET /?token=T                the page (web/), with the lab and its current state inside
//   GET /app.js, /style.css ...  the page's modules; /vendor/... cytoscape, fcose, xterm.js
//   GET /api/lab                 lab name, whether offline, and the graph (graph.ts)
//   GET /api/state               the lab's latest live state (live.ts)
//   GET /api/links/LINK/pcap     the link's capture file, as a download
//   GET /api/vms/VM              interfaces, routes, live addresses and console tail
//   WebSockets (sockets.ts)      /api/live, /api/links/LINK/frames, /api/vms/VM/console
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { LabRuntimeError } from '../errors.ts';
import type { LabPlan } from '../topology/plan.ts';
import { authorize, tokenCookie } from './auth.ts';
import { assetFile, INDEX_HTML, renderPage, type PageState } from './assets.ts';
import { answerLabApi, LabView, sendBody, sendFile, sendJson } from './lab-view.ts';

export interface WebServerOptions {
  plan: LabPlan;
  /** The running lab's run directory; null for the offline view of a lab file. */
  runDir: string | null;
  /** The secret every request must show (auth.ts loadToken). */
  token: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Address to listen on; 127.0.0.1 unless given (a classroom server's --listen). */
  listen?: string;
}

export interface WebServer {
  /** The address to open, token included. */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Who may ask: the token, and on a loopback address only requests addressed to this server. */
interface Access {
  token: string;
  loopback: boolean;
  port(): number;
}

/** Another site's page that rebinds its DNS name to 127.0.0.1 sends its own Host. */
function hostOk(access: Access, req: IncomingMessage): boolean {
  const port = access.port();
  return !access.loopback || [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(req.headers.host ?? '');
}

const requestUrl = (req: IncomingMessage) => new URL(req.url ?? '/', `http://${req.headers.host || 'localhost'}`);

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const listen = options.listen ?? '127.0.0.1';
  const view = new LabView(options.plan, options.runDir);
  let port = 0;
  const access: Access = { token: options.token, loopback: LOOPBACK.has(listen), port: () => port };

  const server: Server = createServer((req, res) => {
    answer(view, access, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrade(view, access, req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new LabRuntimeError(`cannot listen on ${listen}:${options.port ?? 0}: ${cause.message}`, { cause })));
    server.listen(options.port ?? 0, listen, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  await view.watcher?.start();

  // Every interface: the address to give the class is this host's name.
  const shownHost = listen === '0.0.0.0' || listen === '::' ? hostname() : listen.includes(':') ? `[${listen}]` : listen;
  return {
    url: `http://${shownHost}:${port}/?token=${options.token}`,
    async close() {
      view.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** One HTTP request: refused without the token, else the page, an asset or the API. */
async function answer(view: LabView, access: Access, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostOk(access, req)) return sendJson(res, 403, { error: 'unexpected Host header' });
  const url = requestUrl(req);
  const how = authorize(req, url, access.token, access.port());
  if (!how) return sendJson(res, 403, { error: 'forbidden: open the address umlab web printed, with its ?token=' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'only GET' });
  // The token came in the address: from now on the page shows it through its cookie.
  if (how === 'query') res.setHeader('Set-Cookie', tokenCookie(access.token, access.port()));
  const path = url.pathname;
  view.followPlan();
  if (path === '/' || path === '/index.html') {
    const state: PageState = { ...view.payload(), state: view.state() };
    return sendBody(res, 200, 'text/html; charset=utf-8', renderPage(readFileSync(INDEX_HTML, 'utf8'), state));
  }
  const asset = assetFile(path);
  if (asset) return sendFile(res, asset.file, asset.type);
  return answerLabApi(view, path, res);
}

/** A WebSocket upgrade: with the token, from our own page, to one of the live channels. */
function upgrade(view: LabView, access: Access, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => {});
  const refuse = (status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  const url = requestUrl(req);
  if (!hostOk(access, req) || !authorize(req, url, access.token, access.port())) return refuse(403, 'Forbidden');
  // A page of another origin may open a WebSocket here; only our own page may.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host}`) return refuse(403, 'Forbidden');
  view.followPlan();
  if (!view.channels.upgrade(req, socket, head, url)) refuse(404, 'Not Found');
}
