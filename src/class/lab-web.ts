// A student's running lab in the browser, served by the class server itself under the lab's own
// path, /students/S/labs/A/: the page of `umlab web` (map, packets per link, a terminal per VM),
// its API and pcap downloads (src/web/lab-view.ts) and its WebSockets (src/web/sockets.ts), one
// view per running lab, made on first use. Who may ask is decided by the server (server.ts) before
// anything here is reached; this module only knows which lab and how each console is used: typed
// into (its student), watched (the teacher) or taken over (the teacher typing, the student told).
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { readPlan, runFiles } from '../runtime/paths.ts';
import { assetFile, INDEX_HTML, renderPage } from '../web/assets.ts';
import { answerLabApi, LabView, sendBody, sendFile, sendJson } from '../web/lab-view.ts';
import type { Placement } from './placement.ts';

/** The path of a student's lab in the browser (with its trailing slash: the page's links are relative). */
export const labViewPath = (student: string, assignment: string): string => `/students/${encodeURIComponent(student)}/labs/${encodeURIComponent(assignment)}/`;

/** `/students/S/labs/A` and what follows it (`''` for the bare path, else `/...`), or null. */
export function parseLabViewPath(path: string): { student: string; assignment: string; rest: string } | null {
  const m = /^\/students\/([^/]+)\/labs\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return null;
  try {
    return { student: decodeURIComponent(m[1]), assignment: decodeURIComponent(m[2]), rest: m[3] ?? '' };
  } catch {
    return null;
  }
}

/** How a console WebSocket is used, as the server decided. */
export interface ConsoleUse {
  mode: 'type' | 'watch' | 'takeover';
  /** Each message a typing page sends (keys, a resize): the lab is in use. */
  onInput?: () => void;
  /** The teacher's take-over socket closed. */
  onTakeoverEnd?: () => void;
}

/** Written into the terminals of the students on the console (not into the VM): they see who types with them. */
const JOINED = Buffer.from('\r\n\x1b[1;33m[umlab: the teacher joined this terminal and types with you]\x1b[0m\r\n');
const LEFT = Buffer.from('\r\n\x1b[1;33m[umlab: the teacher left this terminal]\x1b[0m\r\n');

interface OpenConsole {
  vm: string;
  mode: ConsoleUse['mode'];
  ws: WebSocket;
}

interface Held {
  /** The control socket's inode and time: a restarted lab has a new one, and gets a new view. */
  stamp: string;
  view: LabView;
}

export class LabWebViews {
  private readonly views = new Map<string, Held>();
  /** The consoles open on each lab: the student's page says whether the teacher watches or joined. */
  private readonly consoles = new Map<string, Set<OpenConsole>>();

  constructor(private readonly placement: Placement) {}

  /** The view of a running lab, or null when it does not run. */
  async view(lab: string): Promise<LabView | null> {
    const runDir = this.placement.runDir(lab);
    const st = runDir === null ? undefined : statSync(runFiles(runDir).control, { throwIfNoEntry: false });
    const stamp = st ? `${st.ino}:${st.mtimeMs}` : '';
    const held = this.views.get(lab);
    if (held && held.stamp === stamp) {
      held.view.followPlan();
      // Not polled while no page follows it: a fresh state for what is served now.
      await held.view.watcher?.wake();
      return held.view;
    }
    if (held) {
      held.view.close();
      this.views.delete(lab);
    }
    if (runDir === null || !st) return null;
    const view = new LabView(readPlan(runDir), runDir, { pollUnwatched: false });
    this.views.set(lab, { stamp, view });
    await view.watcher?.start();
    return view;
  }

  watched(lab: string): boolean {
    return [...(this.consoles.get(lab) ?? [])].some((c) => c.mode === 'watch');
  }

  /** Whether the teacher has taken over a console of the lab now. */
  joined(lab: string): boolean {
    return [...(this.consoles.get(lab) ?? [])].some((c) => c.mode === 'takeover');
  }

  /** One HTTP request under the lab's path (`rest` is what follows /students/S/labs/A, from its slash). */
  async answer(lab: string, rest: string, res: ServerResponse): Promise<void> {
    const view = await this.view(lab);
    if (!view) return sendJson(res, 409, { error: 'the lab is not running: start it from your page first' });
    if (rest === '/' || rest === '/index.html') {
      const state = { ...view.payload(), state: view.state() };
      return sendBody(res, 200, 'text/html; charset=utf-8', renderPage(readFileSync(INDEX_HTML, 'utf8'), state));
    }
    const asset = assetFile(rest);
    if (asset) return sendFile(res, asset.file, asset.type);
    return answerLabApi(view, rest, res);
  }

  /** A WebSocket under the lab's path (`rest` with its query); false when the lab does not run or
   *  no channel is there. */
  async upgrade(lab: string, rest: string, req: IncomingMessage, socket: Duplex, head: Buffer, use: ConsoleUse): Promise<boolean> {
    const view = await this.view(lab);
    if (!view) return false;
    const url = new URL(rest, 'http://class');
    const vm = decodeURIComponent(/^\/api\/vms\/([^/]+)\/console$/.exec(url.pathname)?.[1] ?? '');
    return view.channels.upgrade(req, socket, head, url, {
      readOnly: use.mode === 'watch',
      onConsole: (ws) => this.opened(lab, { vm, mode: use.mode, ws }, use),
    });
  }

  private opened(lab: string, open: OpenConsole, use: ConsoleUse): void {
    const all = this.consoles.get(lab) ?? new Set<OpenConsole>();
    this.consoles.set(lab, all);
    all.add(open);
    const students = () => [...all].filter((c) => c.vm === open.vm && c.mode === 'type');
    if (open.mode !== 'watch') open.ws.on('message', () => use.onInput?.());
    if (open.mode === 'takeover') for (const c of students()) c.ws.send(JOINED);
    else if (open.mode === 'type' && [...all].some((c) => c.vm === open.vm && c.mode === 'takeover')) open.ws.send(JOINED);
    open.ws.once('close', () => {
      all.delete(open);
      if (open.mode !== 'takeover') return;
      use.onTakeoverEnd?.();
      for (const c of students()) if (c.ws.readyState === c.ws.OPEN) c.ws.send(LEFT);
    });
  }

  close(): void {
    for (const held of this.views.values()) held.view.close();
    this.views.clear();
  }
}
