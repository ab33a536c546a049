// One lab as the web view shows it, and its HTTP API: shared by `umlab web` (server.ts) and the
// class server, which serves each student's running lab under a path of its own
// (src/class/lab-web.ts). Authorization is the caller's: nothing here looks at who asks.
//
//   GET /api/lab                 lab name, whether offline, and the graph (graph.ts)
//   GET /api/state               the lab's latest live state (live.ts)
//   GET /api/links/LINK/pcap     the link's capture file, as a download
//   GET /api/vms/VM              interfaces, routes, live addresses and console tail
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { readPlan, runFiles } from '../runtime/paths.ts';
import { linkTable, type LabPlan } from '../topology/plan.ts';
import { graphFromPlan } from './graph.ts';
import { LinkTail } from './link-tail.ts';
import { LabWatcher, type LiveEvent } from './live.ts';
import { liveChannels } from './sockets.ts';
import { vmDetails } from './vm-info.ts';

export const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

/** What the server shows of the lab: its plan (followed while `umlab link add|rm` rewrite the
 *  running lab's), the graph, the live state, the live channels and the links' capture tails. */
export class LabView {
  readonly offline: boolean;
  plan: LabPlan;
  private graph: ReturnType<typeof graphFromPlan>;
  private planStamp: number;
  private readonly offlineState: LiveEvent = { running: false, at: Date.now(), reason: 'offline view of a lab file' };
  private readonly tails = new Map<string, LinkTail>();
  readonly channels: ReturnType<typeof liveChannels>;
  readonly watcher: LabWatcher | null;

  /** `pollUnwatched: false` asks the supervisor for the lab's state only while a page follows it
   *  (and once per wake()): a class server holds many labs nobody looks at. */
  constructor(
    plan: LabPlan,
    readonly runDir: string | null,
    opts: { pollUnwatched?: boolean } = {},
  ) {
    this.offline = runDir === null;
    this.plan = plan;
    this.graph = graphFromPlan(plan);
    this.planStamp = runDir === null ? 0 : (statSync(runFiles(runDir).plan, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    this.channels = liveChannels({
      plan: () => (this.followPlan(), this.plan),
      runDir,
      last: () => this.state(),
      tailOf: (link, capture) => this.tailOf(link, capture),
      onFollower: () => void this.watcher?.wake(),
    });
    const wanted = opts.pollUnwatched === false ? () => this.channels.watched() : undefined;
    this.watcher = runDir === null ? null : new LabWatcher(runFiles(runDir).control, (event) => this.channels.broadcast(event), undefined, wanted);
  }

  /** Reads the plan again if the running lab's plan file changed. */
  followPlan(): void {
    if (this.runDir === null) return;
    const stamp = statSync(runFiles(this.runDir).plan, { throwIfNoEntry: false })?.mtimeMs ?? this.planStamp;
    if (stamp === this.planStamp) return;
    this.planStamp = stamp;
    this.plan = readPlan(this.runDir);
    this.graph = graphFromPlan(this.plan);
  }

  payload() {
    return { lab: this.plan.lab, description: this.plan.description ?? '', source: this.plan.source, offline: this.offline, graph: this.graph };
  }

  /** The lab's latest live state; null before the first. */
  state(): LiveEvent | null {
    return this.offline ? this.offlineState : (this.watcher?.last ?? null);
  }

  tailOf(link: string, capture: string): LinkTail {
    let tail = this.tails.get(link);
    if (!tail) this.tails.set(link, (tail = new LinkTail(capture)));
    return tail;
  }

  close(): void {
    this.watcher?.stop();
    this.channels.close();
    for (const tail of this.tails.values()) tail.stop();
  }
}

/** /api/lab, /api/state, a link's pcap, a VM's details. */
export async function answerLabApi(view: LabView, path: string, res: ServerResponse): Promise<void> {
  const plan = view.plan;
  if (path === '/api/lab') return sendJson(res, 200, view.payload());
  if (path === '/api/state') return sendJson(res, 200, view.state());
  const linkRoute = /^\/api\/links\/([^/]+)\/pcap$/.exec(path);
  if (linkRoute) {
    const link = plan.links.find((l) => l.name === decodeURIComponent(linkRoute[1]));
    if (!link) return sendJson(res, 404, { error: `no link ${decodeURIComponent(linkRoute[1])} in lab ${plan.lab}` });
    if (view.offline) return sendJson(res, 409, { error: 'offline view: the lab is not running, there are no frames' });
    if (!link.capture) return sendJson(res, 404, { error: `capture is off for link ${link.name}` });
    return sendDownload(res, link.capture, await view.tailOf(link.name, link.capture).completeBytes(), `${plan.lab}-${link.name}.pcap`);
  }
  const vmRoute = /^\/api\/vms\/([^/]+)$/.exec(path);
  if (vmRoute) {
    const vm = plan.vms.find((v) => v.name === decodeURIComponent(vmRoute[1]));
    if (!vm) return sendJson(res, 404, { error: `no VM ${decodeURIComponent(vmRoute[1])} in lab ${plan.lab}` });
    return sendJson(res, 200, await vmDetails(vm, linkTable(plan.links), view.runDir));
  }
  sendJson(res, 404, { error: `nothing at ${path}` });
}

export function sendBody(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(body ?? null));
}

export function sendFile(res: ServerResponse, file: string, type: string): void {
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
