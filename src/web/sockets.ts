// The page's live channels, as WebSockets (a WebSocket is not a pending request, so the
// page's network goes idle once loaded, unlike with server-sent events):
//   /api/live                     the lab's state every second (live.ts)
//   /api/links/LINK/frames        latest frames of a link, then new ones (?filter=, ?limit=)
//   /api/vms/VM/console           a terminal on the VM's console (console-bridge.ts)
// Every message the server sends on the first two is JSON: {type: 'state'|'frames', ...}.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { runFiles } from '../runtime/paths.ts';
import type { LabPlan } from '../topology/plan.ts';
import { bridgeConsole, CLOSE_REFUSED } from './console-bridge.ts';
import { frameRow, parseFilter } from './frames.ts';
import type { LinkTail } from './link-tail.ts';
import type { LiveEvent } from './live.ts';
import type { TailFrame } from './pcap-tail.ts';

const DEFAULT_FRAME_LIMIT = 200;
const MAX_FRAME_LIMIT = 2000;

/** How one connection may use its channel (the class server's teacher watches read-only). */
export interface UpgradeOptions {
  /** A console shows the VM's output and ignores what the page sends. */
  readOnly?: boolean;
  /** Called with the open socket of a console, e.g. to count who watches. */
  onConsole?: (ws: WebSocket) => void;
}

export interface LiveChannels {
  /** Takes over an authorized upgrade request; false when no channel lives at that path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, how?: UpgradeOptions): boolean;
  /** Sends a state to every page. */
  broadcast(event: LiveEvent): void;
  /** Whether some page follows the lab's state now. */
  watched(): boolean;
  close(): void;
}

export interface ChannelOptions {
  plan: () => LabPlan;
  runDir: string | null;
  /** The latest state, sent to a page as soon as it connects. */
  last: () => LiveEvent | null;
  /** The one follower of a link's capture (shared with the pcap download). */
  tailOf: (link: string, capture: string) => LinkTail;
  /** A page began to follow the state. */
  onFollower?: () => void;
}

export function liveChannels(opts: ChannelOptions): LiveChannels {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const stateClients = new Set<WebSocket>();
  const send = (ws: WebSocket, message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };

  function route(url: URL, how: UpgradeOptions): ((ws: WebSocket) => void) | null {
    const plan = opts.plan();
    if (url.pathname === '/api/live')
      return (ws) => {
        stateClients.add(ws);
        ws.on('close', () => stateClients.delete(ws));
        const last = opts.last();
        if (last) send(ws, { type: 'state', ...last });
        opts.onFollower?.();
      };
    const linkRoute = /^\/api\/links\/([^/]+)\/frames$/.exec(url.pathname);
    if (linkRoute) {
      const link = plan.links.find((l) => l.name === decodeURIComponent(linkRoute[1]));
      if (!link) return null;
      return (ws) => {
        if (opts.runDir === null) return ws.close(CLOSE_REFUSED, 'offline view: the lab is not running, there are no frames');
        if (!link.capture) return ws.close(CLOSE_REFUSED, `capture is off for link ${link.name}`);
        void streamFrames(ws, opts.tailOf(link.name, link.capture), url.searchParams);
      };
    }
    const vmRoute = /^\/api\/vms\/([^/]+)\/console$/.exec(url.pathname);
    if (vmRoute) {
      const vm = plan.vms.find((v) => v.name === decodeURIComponent(vmRoute[1]));
      if (!vm) return null;
      return (ws) => {
        if (opts.runDir === null) return ws.close(CLOSE_REFUSED, 'offline view: the lab is not running');
        how.onConsole?.(ws);
        void bridgeConsole(ws, runFiles(opts.runDir).control, vm.name, { readOnly: how.readOnly });
      };
    }
    return null;
  }

  async function streamFrames(ws: WebSocket, tail: LinkTail, params: URLSearchParams): Promise<void> {
    const matches = parseFilter(params.get('filter') ?? '');
    const limit = Math.min(MAX_FRAME_LIMIT, Math.max(1, Number(params.get('limit')) || DEFAULT_FRAME_LIMIT));
    const rows = (frames: TailFrame[]) =>
      frames
        .filter((f) => matches(f.frame))
        .slice(-limit)
        .map(frameRow);
    const { recent, unsubscribe } = await tail.subscribe((fresh) => {
      const batch = rows(fresh);
      if (batch.length) send(ws, { type: 'frames', frames: batch });
    });
    send(ws, { type: 'frames', initial: true, frames: rows(recent), error: tail.error });
    ws.on('close', unsubscribe);
    if (ws.readyState !== ws.OPEN) unsubscribe();
  }

  return {
    upgrade(req, socket, head, url, how = {}) {
      const handler = route(url, how);
      if (!handler) return false;
      wss.handleUpgrade(req, socket, head, (ws) => handler(ws));
      return true;
    },
    broadcast(event) {
      for (const ws of stateClients) send(ws, { type: 'state', ...event });
    },
    watched: () => stateClients.size > 0,
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
