// A student's running lab in the browser, served by the class server itself under the lab's own
// path, /students/S/labs/A/: the page of `umlab web` (map, packets per link, a terminal per VM),
// its API and pcap downloads (src/web/lab-view.ts) and its WebSockets (src/web/sockets.ts), one
// view per running lab, made on first use. Who may ask is decided by the server (server.ts) before
// anything here is reached; this module only knows which lab and whether its consoles take input.
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
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

interface Held {
  /** The control socket's inode and time: a restarted lab has a new one, and gets a new view. */
  stamp: string;
  view: LabView;
}

export class LabWebViews {
  private readonly views = new Map<string, Held>();
  /** Read-only consoles open on each lab: the student's page says the teacher is watching. */
  private readonly watchers = new Map<string, number>();

  constructor(private readonly placement: Placement) {}

  /** The view of a running lab, or null when it does not run. */
  async view(lab: string): Promise<LabView | null> {
    const runDir = this.placement.runDir(lab);
    const st = runDir === null ? undefined : statSync(runFiles(runDir).control, { throwIfNoEntry: false });
    const stamp = st ? `${st.ino}:${st.mtimeMs}` : '';
    const held = this.views.get(lab);
    if (held && held.stamp === stamp) {
      held.view.followPlan();
      return held.view;
    }
    if (held) {
      held.view.close();
      this.views.delete(lab);
    }
    if (runDir === null || !st) return null;
    const view = new LabView(readPlan(runDir), runDir);
    this.views.set(lab, { stamp, view });
    await view.watcher?.start();
    return view;
  }

  watched(lab: string): boolean {
    return (this.watchers.get(lab) ?? 0) > 0;
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
  async upgrade(lab: string, rest: string, req: IncomingMessage, socket: Duplex, head: Buffer, readOnly: boolean): Promise<boolean> {
    const view = await this.view(lab);
    if (!view) return false;
    const url = new URL(rest, 'http://class');
    return view.channels.upgrade(req, socket, head, url, {
      readOnly,
      onConsole: (ws) => {
        if (!readOnly) return;
        this.watchers.set(lab, (this.watchers.get(lab) ?? 0) + 1);
        ws.once('close', () => this.watchers.set(lab, (this.watchers.get(lab) ?? 1) - 1));
      },
    });
  }

  close(): void {
    for (const held of this.views.values()) held.view.close();
    this.views.clear();
  }
}
