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
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { LabRuntimeError } from '../errors.ts';
import { readPlan, runFiles } from '../runtime/paths.ts';
import { linkTable, type LabPlan } from '../topology/plan.ts';
import { authorize, tokenCookie } from './auth.ts';
import { assetFile, INDEX_HTML, renderPage, type PageState } from './assets.ts';
import { graphFromPlan } from './graph.ts';
import { LinkTail } from './link-tail.ts';
import { LabWatcher, type LiveEvent } from './live.ts';
import { liveChannels } from './sockets.ts';
import { vmDetails } from './vm-info.ts';

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
const SECURITY_HEADERS = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY' };

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { runDir, token } = options;
  const listen = options.listen ?? '127.0.0.1';
  const loopback = LOOPBACK.has(listen);
  const offline = runDir === null;
  // `umlab link add|rm` rewrites the running lab's plan: follow it.
  let plan = options.plan;
  let graph = graphFromPlan(plan);
  let planStamp = offline ? 0 : (statSync(runFiles(runDir).plan, { throwIfNoEntry: false })?.mtimeMs ?? 0);
  const followPlan = () => {
    if (offline) return;
    const stamp = statSync(runFiles(runDir).plan, { throwIfNoEntry: false })?.mtimeMs ?? planStamp;
    if (stamp === planStamp) return;
    planStamp = stamp;
    plan = readPlan(runDir);
    graph = graphFromPlan(plan);
  };
  const labPayload = () => ({ lab: plan.lab, description: plan.description ?? '', source: plan.source, offline, graph });
  const offlineState: LiveEvent = { running: false, at: Date.now(), reason: 'offline view of a lab file' };
  const tails = new Map<string, LinkTail>();
  const tailOf = (link: string, capture: string): LinkTail => {
    let tail = tails.get(link);
    if (!tail) tails.set(link, (tail = new LinkTail(capture)));
    return tail;
  };
  const channels = liveChannels({
    plan: () => (followPlan(), plan),
    runDir,
    last: () => (offline ? offlineState : (watcher?.last ?? null)),
    tailOf,
  });
  const watcher = offline ? null : new LabWatcher(runFiles(runDir).control, (event) => channels.broadcast(event));

  let port = 0;
  /** Only requests addressed to this server: another site's page that rebinds its DNS name to 127.0.0.1 sends its own Host. */
  const hostOk = (req: IncomingMessage) => !loopback || [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(req.headers.host ?? '');
  const requestUrl = (req: IncomingMessage) => new URL(req.url ?? '/', `http://${req.headers.host || 'localhost'}`);

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req)) return sendJson(res, 403, { error: 'unexpected Host header' });
    const url = requestUrl(req);
    const how = authorize(req, url, token, port);
    if (!how) return sendJson(res, 403, { error: 'forbidden: open the address umlab web printed, with its ?token=' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'only GET' });
    // The token came in the address: from now on the page shows it through its cookie.
    if (how === 'query') res.setHeader('Set-Cookie', tokenCookie(token, port));
    const path = url.pathname;
    followPlan();
    if (path === '/' || path === '/index.html') {
      const state: PageState = { ...labPayload(), state: offline ? offlineState : (watcher?.last ?? null) };
      return sendBody(res, 200, 'text/html; charset=utf-8', renderPage(readFileSync(INDEX_HTML, 'utf8'), state));
    }
    const asset = assetFile(path);
    if (asset) return sendFile(res, asset.file, asset.type);
    if (path === '/api/lab') return sendJson(res, 200, labPayload());
    if (path === '/api/state') return sendJson(res, 200, offline ? offlineState : watcher?.last);
    const linkRoute = /^\/api\/links\/([^/]+)\/pcap$/.exec(path);
    if (linkRoute) {
      const link = plan.links.find((l) => l.name === decodeURIComponent(linkRoute[1]!));
      if (!link) return sendJson(res, 404, { error: `no link ${decodeURIComponent(linkRoute[1]!)} in lab ${plan.lab}` });
      if (offline) return sendJson(res, 409, { error: 'offline view: the lab is not running, there are no frames' });
      if (!link.capture) return sendJson(res, 404, { error: `capture is off for link ${link.name}` });
      return sendDownload(res, link.capture, await tailOf(link.name, link.capture).completeBytes(), `${plan.lab}-${link.name}.pcap`);
    }
    const vmRoute = /^\/api\/vms\/([^/]+)$/.exec(path);
    if (vmRoute) {
      const vm = plan.vms.find((v) => v.name === decodeURIComponent(vmRoute[1]!));
      if (!vm) return sendJson(res, 404, { error: `no VM ${decodeURIComponent(vmRoute[1]!)} in lab ${plan.lab}` });
      return sendJson(res, 200, await vmDetails(vm, linkTable(plan.links), runDir));
    }
    sendJson(res, 404, { error: `nothing at ${path}` });
  }

  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    socket.on('error', () => {});
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = requestUrl(req);
    if (!hostOk(req) || !authorize(req, url, token, port)) return refuse(403, 'Forbidden');
    // A page of another origin may open a WebSocket here; only our own page may.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return refuse(403, 'Forbidden');
    followPlan();
    if (!channels.upgrade(req, socket, head, url)) refuse(404, 'Not Found');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new LabRuntimeError(`cannot listen on ${listen}:${options.port ?? 0}: ${(cause as Error).message}`, { cause })));
    server.listen(options.port ?? 0, listen, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  await watcher?.start();

  // Every interface: the address to give the class is this host's name.
  const shownHost = listen === '0.0.0.0' || listen === '::' ? hostname() : listen.includes(':') ? `[${listen}]` : listen;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    async close() {
      watcher?.stop();
      channels.close();
      for (const tail of tails.values()) tail.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function sendBody(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(body ?? null));
}

function sendFile(res: ServerResponse, file: string, type: string): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': statSync(file).size });
  createReadStream(file).pipe(res);
}

/** The capture as it is now, up to its last complete record (the writer may be mid-write). */
function sendDownload(res: ServerResponse, file: string, size: number, filename: string): void {
  if (!existsSync(file) || size === 0) return sendJson(res, 404, { error: 'the capture is gone (a stopped lab keeps it in $UMLAB_HOME/captures/)' });
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/vnd.tcpdump.pcap',
    'Content-Disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'Content-Length': size,
  });
  // Stop at the size just announced: the file grows while it is sent.
  createReadStream(file, { start: 0, end: size - 1 }).pipe(res);
}
