// The web view's HTTP server (Node's own http module), on 127.0.0.1 only.
//
//   GET /                        the page (web/index.html, app.js, style.css, cytoscape)
//   GET /api/lab                 lab name, whether offline, and the graph (graph.ts)
//   GET /api/events              server-sent events: the lab's live state every second
//   GET /api/links/LINK/frames   server-sent events: latest frames of a link, then new ones
//                                (?filter=... in the filter language of frames.ts, ?limit=N)
//   GET /api/links/LINK/pcap     the link's capture file, as a download
//   GET /api/vms/VM              interfaces, routes, live addresses and console tail
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabRuntimeError } from '../errors.ts';
import { readPlan, runFiles } from '../runtime/paths.ts';
import { linkTable, type LabPlan } from '../topology/plan.ts';
import { frameRow, parseFilter } from './frames.ts';
import { graphFromPlan } from './graph.ts';
import { LinkTail } from './link-tail.ts';
import { LabWatcher, type LiveEvent } from './live.ts';
import type { TailFrame } from './pcap-tail.ts';
import { vmDetails } from './vm-info.ts';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const CYTOSCAPE_DIST = join(dirname(createRequire(import.meta.url).resolve('cytoscape')), 'cytoscape.min.js');
const DEFAULT_FRAME_LIMIT = 200;
const MAX_FRAME_LIMIT = 2000;
/** A comment line now and then keeps idle event streams from being cut by anything in between. */
const KEEPALIVE_MS = 15_000;

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: join(WEB_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: join(WEB_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(WEB_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: join(WEB_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/cytoscape.min.js': { file: CYTOSCAPE_DIST, type: 'text/javascript; charset=utf-8' },
};

export interface WebServerOptions {
  plan: LabPlan;
  /** The running lab's run directory; null for the offline view of a lab file. */
  runDir: string | null;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { runDir } = options;
  const offline = runDir === null;
  // `umlab link add|rm` rewrites the running lab's plan: follow it.
  let plan = options.plan;
  let graph = graphFromPlan(plan);
  let planStamp = offline ? 0 : statSync(runFiles(runDir).plan, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const followPlan = () => {
    if (offline) return;
    const stamp = statSync(runFiles(runDir).plan, { throwIfNoEntry: false })?.mtimeMs ?? planStamp;
    if (stamp === planStamp) return;
    planStamp = stamp;
    plan = readPlan(runDir);
    graph = graphFromPlan(plan);
  };
  const stateStreams = new Set<ServerResponse>();
  const tails = new Map<string, LinkTail>();
  const cleanups = new Set<() => void>();

  const watcher = offline
    ? null
    : new LabWatcher(runFiles(runDir).control, (event) => {
        for (const res of stateStreams) sendEvent(res, 'state', event);
      });

  let port = 0;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only pages loaded from this server's own address: another site's page that
    // rebinds its DNS name to 127.0.0.1 would send its own Host header.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return sendJson(res, 403, { error: 'unexpected Host header' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'only GET' });
    const url = new URL(req.url ?? '/', `http://${host}`);
    const path = url.pathname;
    const asset = STATIC[path];
    if (asset) return sendFile(res, asset.file, asset.type);
    followPlan();
    if (path === '/api/lab')
      return sendJson(res, 200, { lab: plan.lab, description: plan.description ?? '', source: plan.source, offline, graph });
    if (path === '/api/events') return streamState(req, res);
    const linkRoute = /^\/api\/links\/([^/]+)\/(frames|pcap)$/.exec(path);
    if (linkRoute) {
      const link = plan.links.find((l) => l.name === decodeURIComponent(linkRoute[1]!));
      if (!link) return sendJson(res, 404, { error: `no link ${decodeURIComponent(linkRoute[1]!)} in lab ${plan.lab}` });
      if (offline) return sendJson(res, 409, { error: 'offline view: the lab is not running, there are no frames' });
      if (!link.capture) return sendJson(res, 404, { error: `capture is off for link ${link.name}` });
      const tail = tailOf(link.name, link.capture);
      if (linkRoute[2] === 'pcap') return sendDownload(res, link.capture, await tail.completeBytes(), `${plan.lab}-${link.name}.pcap`);
      return streamFrames(req, res, tail, url.searchParams);
    }
    const vmRoute = /^\/api\/vms\/([^/]+)$/.exec(path);
    if (vmRoute) {
      const vm = plan.vms.find((v) => v.name === decodeURIComponent(vmRoute[1]!));
      if (!vm) return sendJson(res, 404, { error: `no VM ${decodeURIComponent(vmRoute[1]!)} in lab ${plan.lab}` });
      return sendJson(res, 200, await vmDetails(vm, linkTable(plan.links), runDir));
    }
    sendJson(res, 404, { error: `nothing at ${path}` });
  }

  function openStream(req: IncomingMessage, res: ServerResponse): () => void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const cleanup = () => clearInterval(keepalive);
    cleanups.add(cleanup);
    req.on('close', () => {
      cleanup();
      cleanups.delete(cleanup);
    });
    return cleanup;
  }

  function streamState(req: IncomingMessage, res: ServerResponse): void {
    openStream(req, res);
    if (offline) return sendEvent(res, 'state', { running: false, at: Date.now(), reason: 'offline view of a lab file' } satisfies LiveEvent);
    stateStreams.add(res);
    req.on('close', () => stateStreams.delete(res));
    if (watcher?.last) sendEvent(res, 'state', watcher.last);
  }

  function tailOf(link: string, capture: string): LinkTail {
    let tail = tails.get(link);
    if (!tail) tails.set(link, (tail = new LinkTail(capture)));
    return tail;
  }

  async function streamFrames(req: IncomingMessage, res: ServerResponse, tail: LinkTail, params: URLSearchParams): Promise<void> {
    const matches = parseFilter(params.get('filter') ?? '');
    const limit = Math.min(MAX_FRAME_LIMIT, Math.max(1, Number(params.get('limit')) || DEFAULT_FRAME_LIMIT));
    const rows = (frames: TailFrame[]) => frames.filter((f) => matches(f.frame)).slice(-limit).map(frameRow);
    openStream(req, res);
    const { recent, unsubscribe } = await tail.subscribe((fresh) => {
      const batch = rows(fresh);
      if (batch.length) sendEvent(res, 'frames', { frames: batch });
    });
    sendEvent(res, 'frames', { initial: true, frames: rows(recent), error: tail.error });
    req.on('close', unsubscribe);
    if (req.destroyed) unsubscribe();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(new LabRuntimeError(`cannot listen on 127.0.0.1:${options.port ?? 0}: ${(cause as Error).message}`, { cause })),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  watcher?.start();

  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      watcher?.stop();
      for (const tail of tails.values()) tail.stop();
      for (const cleanup of cleanups) cleanup();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function sendEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendFile(res: ServerResponse, file: string, type: string): void {
  res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': statSync(file).size });
  createReadStream(file).pipe(res);
}

/** The capture as it is now, up to its last complete record (the writer may be mid-write). */
function sendDownload(res: ServerResponse, file: string, size: number, filename: string): void {
  if (!existsSync(file) || size === 0)
    return sendJson(res, 404, { error: 'the capture is gone (a stopped lab keeps it in $UMLAB_HOME/captures/)' });
  res.writeHead(200, {
    'Content-Type': 'application/vnd.tcpdump.pcap',
    'Content-Disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'Content-Length': size,
    'Cache-Control': 'no-store',
  });
  // Stop at the size just announced: the file grows while it is sent.
  createReadStream(file, { start: 0, end: size - 1 }).pipe(res);
}
