// The class server (node:http). An invitation link signs its owner in with a session cookie;
// every other request is decided by access.ts against the session's owner, and every refusal is
// written to the audit log. Listens on 127.0.0.1 unless told otherwise (TLS: a proxy in front).
//
//   GET  /join/TOKEN                          a session cookie, then the student's or teacher's page
//   GET  /student, GET /teacher               the pages (pages.ts)
//   GET  /api/me                              the student's assignments and their labs
//   POST /api/labs/A/start|stop|reset         the student's own lab of assignment A
//   GET  /api/class                           the teacher's table: students x assignments
//   GET  /api/class.csv                       the same as CSV, with the hand-ins (class-csv.ts)
//   POST /api/assignments/A/grade             grade every student's latest hand-in (grading.ts)
//   GET  /api/grades, GET /grades/A/TIME/...  the grading runs, and their reports
//   GET  /api/students/S/labs/A               one lab (its student or the teacher)
//   POST /api/students/S/labs/A/start|stop|reset
//   POST /api/labs/A/submit                   hand in the running lab (handins.ts); GET: the hand-ins
//   POST /api/labs/A/checks                   run the assignment's checks on the running lab
//   GET  /api/students/S/labs/A/submit, POST /api/students/S/labs/A/checks   the same, for the teacher
//   POST /api/labs/A/stages/STAGE, POST /api/students/S/labs/A/stages/STAGE   jump the running lab to a stage
//   GET  /students/S/labs/A/...               the lab in the browser: the page of `umlab web`, its
//                                             API, pcaps and WebSockets (lab-web.ts); the teacher's
//                                             consoles there are read-only, or taken over with
//                                             ?takeover=1 on a console's WebSocket (the student is told)
// A request or WebSocket under a lab's path, or the student's page, is a visit: it resumes a paused lab.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { LabRuntimeError, NotFoundError, UsageError } from '../errors.ts';
import { classCsv } from './class-csv.ts';
import { decide, principalName, type Action, type Principal } from './access.ts';
import { assetFile } from '../web/assets.ts';
import { sendFile } from '../web/lab-view.ts';
import type { ClassGrading } from './grading.ts';
import { answerGrading } from './grading-routes.ts';
import { cookieValue, HttpAnswer, send, sendJson } from './http.ts';
import type { Handins } from './handins.ts';
import { LabWebViews, parseLabViewPath } from './lab-web.ts';
import { PAGE_CSS, PAGE_JS, studentPage, teacherPage } from './pages.ts';
import type { ClassService } from './service.ts';
import type { ClassStore, SubmissionRow } from './store.ts';
import { looksLikeSecret } from './tokens.ts';

export interface ClassServerOptions {
  name: string;
  service: ClassService;
  store: ClassStore;
  /** Submits and checks; without it those paths answer 404. */
  handins?: Handins;
  /** Grading every hand-in of an assignment; without it those paths answer 404. */
  grading?: ClassGrading;
  /** 127.0.0.1 unless given. */
  listen?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface ClassServer {
  /** http://ADDR:PORT, the base of every link. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** How long an idle kept-alive connection stays open. */
const KEEP_ALIVE_MS = 65_000;
export const sessionCookieName = (className: string) => `umlab-class-${className}`;

export async function startClassServer(o: ClassServerOptions): Promise<ClassServer> {
  const listen = o.listen ?? '127.0.0.1';
  let port = 0;
  const ctx: Ctx = { ...o, views: new LabWebViews(o.service.placement), listen, port: () => port };
  const server: Server = createServer((req, res) => {
    answer(ctx, req, res).catch((err: unknown) => {
      const status = err instanceof HttpAnswer ? err.status : err instanceof NotFoundError ? 404 : err instanceof UsageError ? 409 : 500;
      if (status === 500) process.stderr.write(`umlab class: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      if (!res.headersSent) send(res, status, 'application/json', JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      else res.end();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(ctx, req, socket, head));
  // A host busy booting labs stalls this loop for seconds; past the idle timeout (node: 5 s), a
  // kept-alive connection is closed before the request waiting on it is read: the client gets a reset.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new LabRuntimeError(`cannot listen on ${listen}:${o.port ?? 0}: ${cause.message}`, { cause })));
    server.listen(o.port ?? 0, listen, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = listen === '0.0.0.0' || listen === '::' ? hostname() : listen.includes(':') ? `[${listen}]` : listen;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close() {
      ctx.views.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The server's options, with the lab views and where it listens. */
interface Ctx extends Omit<ClassServerOptions, 'port'> {
  views: LabWebViews;
  listen: string;
  port(): number;
}

/** Another site's page that rebinds its name to 127.0.0.1 sends its own Host. */
function checkHost(ctx: Ctx, req: IncomingMessage): void {
  const port = ctx.port();
  if (LOOPBACK.has(ctx.listen) && ![`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(req.headers.host ?? ''))
    throw new HttpAnswer(403, 'unexpected Host header');
}

async function answer(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  checkHost(ctx, req);
  const url = new URL(req.url ?? '/', 'http://class');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (method === 'POST') checkOrigin(req);
  else if (method !== 'GET' && method !== 'HEAD') throw new HttpAnswer(405, 'only GET and POST');

  if (path === '/class.css') return send(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
  if (path === '/class.js') return send(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
  // The terminal's modules import xterm.js from the root (web/terminal.js): public libraries.
  const vendor = path.startsWith('/vendor/') ? assetFile(path) : null;
  if (vendor) return sendFile(res, vendor.file, vendor.type);
  const join = /^\/join\/([^/]+)$/.exec(path);
  if (join && method === 'GET') return signIn(ctx, decodeURIComponent(join[1]), res);

  const { who, allow } = signedIn(ctx, req, method, path);
  const inLab = parseLabViewPath(path);
  if (inLab) {
    allow({ kind: 'lab', op: 'view', student: inLab.student, assignment: inLab.assignment });
    if (method !== 'GET' && method !== 'HEAD') throw new HttpAnswer(405, 'the lab in the browser is read with GET');
    // The page's links are relative to its own address, which must end with a slash.
    if (inLab.rest === '') return send(res, 303, 'text/plain', '', { Location: `${path}/` });
    const labName = ctx.store.lab(inLab.student, inLab.assignment).lab;
    ctx.service.visit(labName, principalName(who));
    return ctx.views.answer(labName, inLab.rest, res);
  }
  // The student's page is a visit to each of their labs; its own refresh every 2 s is not (an
  // open tab must not keep the labs awake).
  if (who.role === 'student' && method === 'GET' && path === '/student' && req.headers['x-umlab-refresh'] === undefined)
    for (const row of ctx.store.labs()) if (row.student === who.id) ctx.service.visit(row.lab, principalName(who));
  await route(ctx, who, allow, method, path, res);
}

/** The session's owner, and the check of each action against it; refusals are logged and thrown. */
function signedIn(o: Ctx, req: IncomingMessage, method: string, path: string): { who: Principal; allow: Allow } {
  const sessionId = cookieValue(req.headers.cookie, sessionCookieName(o.name));
  const who = looksLikeSecret(sessionId) ? o.store.principalOfSession(sessionId) : null;
  if (!who || (who.role === 'student' && !o.service.facts.students.has(who.id))) {
    o.store.event({
      actor: 'anonymous',
      action: `${method} ${path}`.slice(0, 200),
      target: '',
      outcome: 'refused',
      detail: sessionId ? 'unknown session' : 'no session',
    });
    throw new HttpAnswer(403, 'not signed in: open your invitation link');
  }
  const allow = (action: Action) => {
    const d = decide(who, action, o.service.facts);
    if (d.allow) return;
    o.store.event({ actor: principalName(who), action: `${method} ${path}`.slice(0, 200), target: '', outcome: 'refused', detail: d.reason });
    throw new HttpAnswer(d.status, d.status === 403 ? 'forbidden' : d.reason);
  };
  return { who, allow };
}

/** A WebSocket of a lab in the browser: the same checks as a request (Host, Origin, session, the
 *  lab's owner or the teacher), then the lab's channel; a console takes input from its student only. */
async function upgrade(ctx: Ctx, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => {});
  const refuse = (status: number, text: string) => socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  try {
    checkHost(ctx, req);
    // A page of another site may open a WebSocket here (no SameSite for upgrades in every browser).
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers['x-forwarded-host']}`)
      throw new HttpAnswer(403, 'cross-site WebSocket');
    const url = new URL(req.url ?? '/', 'http://class');
    const { who, allow } = signedIn(ctx, req, 'UPGRADE', url.pathname);
    const inLab = parseLabViewPath(url.pathname);
    if (!inLab) throw new HttpAnswer(404, 'Not Found');
    const lab = { kind: 'lab', student: inLab.student, assignment: inLab.assignment } as const;
    allow({ ...lab, op: 'view' });
    const isConsole = /\/console$/.test(inLab.rest);
    const takeover = isConsole && url.searchParams.get('takeover') === '1';
    if (takeover) allow({ ...lab, op: 'takeover' });
    const mode = takeover ? 'takeover' : decide(who, { ...lab, op: 'type' }, ctx.service.facts).allow ? 'type' : 'watch';
    const labName = ctx.store.lab(inLab.student, inLab.assignment).lab;
    const actor = principalName(who);
    const target = `${inLab.student}/${inLab.assignment}`;
    const event = (action: string) => ctx.store.event({ actor, action, target, outcome: 'ok', detail: inLab.rest });
    ctx.service.visit(labName, actor);
    if (isConsole && mode !== 'type') event(mode === 'watch' ? 'watch console' : 'take over console');
    const use = { mode, onInput: () => ctx.service.visit(labName, actor), onTakeoverEnd: () => event('end console take-over') } as const;
    if (!(await ctx.views.upgrade(labName, inLab.rest + url.search, req, socket, head, use))) refuse(404, 'Not Found');
  } catch (err) {
    if (err instanceof HttpAnswer) return void refuse(err.status, err.status === 403 ? 'Forbidden' : 'Not Found');
    process.stderr.write(`umlab class: upgrade ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    refuse(500, 'Internal Server Error');
  }
}

/** Same-site requests only: SameSite=Strict keeps the cookie off cross-site posts, and a
 *  browser's Origin, when sent, must name this server. */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpAnswer(403, 'bad Origin header');
  }
  if (host !== req.headers.host && host !== req.headers['x-forwarded-host']) throw new HttpAnswer(403, 'cross-site request');
}

function signIn(o: Ctx, token: string, res: ServerResponse): void {
  const who = looksLikeSecret(token) ? o.store.principalOfToken(token) : null;
  if (!who || (who.role === 'student' && !o.service.facts.students.has(who.id))) {
    o.store.event({ actor: 'anonymous', action: 'join', target: '', outcome: 'refused', detail: 'unknown or revoked invitation' });
    throw new HttpAnswer(403, 'this invitation link is not valid (revoked or re-issued): ask your teacher for a new one');
  }
  const session = o.store.createSession(who);
  o.store.event({ actor: principalName(who), action: 'join', target: '', outcome: 'ok', detail: '' });
  // No Secure flag: plain HTTP on loopback or a class network; a TLS proxy in front may add it.
  send(res, 303, 'text/plain', 'signed in\n', {
    Location: who.role === 'teacher' ? '/teacher' : '/student',
    'Set-Cookie': `${sessionCookieName(o.name)}=${session}; Path=/; HttpOnly; SameSite=Strict`,
  });
}

/** A lab's latest hand-in for the pages: null before the first, undefined when the class takes none. */
function lastHandin(o: Ctx, student: string, assignment: string): { at: number; files: number } | null | undefined {
  if (!o.handins) return undefined;
  const last = o.handins.submissions(student, assignment)[0];
  return last ? { at: last.at, files: last.files.length } : null;
}

type Allow = (action: Action) => void;
const LAB_OP = /^(start|stop|reset)$/;
/** A submission without where the server keeps it. */
const shownSubmission = ({ dir: _dir, ...rest }: SubmissionRow) => rest;

async function route(o: Ctx, who: Principal, allow: Allow, method: string, path: string, res: ServerResponse): Promise<void> {
  const { service } = o;
  if (method === 'GET' && path === '/') {
    return send(res, 303, 'text/plain', '', { Location: who.role === 'teacher' ? '/teacher' : '/student' });
  }
  if (method === 'GET' && (path === '/student' || path === '/api/me')) {
    allow({ kind: 'own-page' });
    const mine = service.studentView((who as { id: string }).id);
    const view = {
      ...mine,
      assignments: mine.assignments.map((lab) => {
        return { ...lab, watched: o.views.watched(lab.lab), joined: o.views.joined(lab.lab), submitted: lastHandin(o, mine.student.id, lab.assignment) };
      }),
    };
    const shown = withStages(o, view, mine.student.id, o.handins?.currentStages());
    return path === '/api/me' ? sendJson(res, 200, shown) : send(res, 200, 'text/html; charset=utf-8', studentPage(shown, o.name));
  }
  if (method === 'GET' && path === '/api/class.csv') {
    allow({ kind: 'class-table' });
    const csv = classCsv(service.classView(), (s, a) => o.store.submissions(a, s), o.store.latestGrades());
    return send(res, 200, 'text/csv; charset=utf-8', csv, { 'Content-Disposition': `attachment; filename="${o.name}.csv"` });
  }
  const grade = /^\/api\/assignments\/([^/]+)\/grade$/.exec(path);
  if (o.grading && (grade || path === '/api/grades' || path.startsWith('/grades/'))) {
    allow({ kind: 'class-table' });
    return answerGrading(o.grading, grade ? decodeURIComponent(grade[1]) : null, principalName(who), method, path, res);
  }
  if (method === 'GET' && (path === '/teacher' || path === '/api/class')) {
    allow({ kind: 'class-table' });
    const view = service.classView();
    const current = o.handins?.currentStages();
    const students = view.students.map((s) => withStages(o, s, s.id, current));
    if (path === '/api/class') return sendJson(res, 200, { ...view, students });
    const withHandins = students.map((s) => ({ ...s, labs: s.labs.map((lab) => ({ ...lab, submitted: lastHandin(o, s.id, lab.assignment) })) }));
    return send(res, 200, 'text/html; charset=utf-8', teacherPage({ ...view, students: withHandins }, o.grading?.runs() ?? null));
  }
  const jump = /^\/api\/(?:students\/([^/]+)\/)?labs\/([^/]+)\/stages\/([^/]+)$/.exec(path);
  if (jump && o.handins) return answerJump(o.handins, who, allow, method, jump, res);
  const own = /^\/api\/labs\/([^/]+)\/([^/]+)$/.exec(path);
  const any = /^\/api\/students\/([^/]+)\/labs\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  let student: string;
  let assignment: string;
  let op: string | undefined;
  if (own) {
    if (who.role !== 'student') throw new HttpAnswer(404, 'the teacher acts on /api/students/ID/labs/...');
    [student, assignment, op] = [who.id, decodeURIComponent(own[1]), own[2]];
  } else if (any) {
    [student, assignment, op] = [decodeURIComponent(any[1]), decodeURIComponent(any[2]), any[3]];
  } else {
    throw new HttpAnswer(404, `nothing at ${path}`);
  }
  if (op === undefined) {
    allow({ kind: 'lab', op: 'view', student, assignment });
    if (method !== 'GET') throw new HttpAnswer(405, 'GET a lab; POST start, stop or reset');
    return sendJson(res, 200, service.labView(student, assignment));
  }
  const actor = principalName(who);
  if ((op === 'submit' || op === 'checks') && o.handins) {
    if (method === 'GET' && op === 'submit') {
      allow({ kind: 'lab', op: 'view', student, assignment });
      return sendJson(res, 200, o.handins.submissions(student, assignment).map(shownSubmission));
    }
    allow({ kind: 'lab', op, student, assignment });
    if (method !== 'POST') throw new HttpAnswer(405, `POST to ${op}`);
    if (op === 'submit') return sendJson(res, 201, shownSubmission(await o.handins.submit(student, assignment, actor)));
    return sendJson(res, 200, await o.handins.checks(student, assignment, actor));
  }
  if (!LAB_OP.test(op)) {
    allow({ kind: 'lab', op: 'view', student, assignment });
    throw new HttpAnswer(404, `no operation ${op}: start, stop, reset, submit or checks`);
  }
  allow({ kind: 'lab', op: op as 'start' | 'stop' | 'reset', student, assignment });
  if (method !== 'POST') throw new HttpAnswer(405, `POST to ${op}`);
  const view =
    op === 'start'
      ? service.start(student, assignment, actor)
      : op === 'stop'
        ? service.stop(student, assignment, actor)
        : service.reset(student, assignment, actor);
  sendJson(res, 202, view);
}

/** A student's labs (`assignments` on their page, `labs` in the teacher's table) with the
 *  assignment's stages and the stage each running lab was put at (`current`, Handins.currentStages). */
function withStages<T extends { assignments?: { assignment: string }[]; labs?: { assignment: string }[] }>(
  o: Ctx,
  view: T,
  student: string,
  current: Map<string, string> | undefined,
): T {
  if (!o.handins || !current) return view;
  const add = <L extends { assignment: string }>(lab: L) => ({
    ...lab,
    stages: o.handins!.stages(lab.assignment),
    stage: current.get(`${student}/${lab.assignment}`) ?? null,
  });
  return { ...view, ...(view.assignments && { assignments: view.assignments.map(add) }), ...(view.labs && { labs: view.labs.map(add) }) };
}

/** A jump to a stage: the student's own lab (/api/labs/A/stages/X), or any for the teacher (/api/students/S/...). */
async function answerJump(handins: Handins, who: Principal, allow: Allow, method: string, m: RegExpExecArray, res: ServerResponse): Promise<void> {
  if (m[1] === undefined && who.role !== 'student') throw new HttpAnswer(404, 'the teacher acts on /api/students/ID/labs/...');
  const student = m[1] === undefined ? (who as { id: string }).id : decodeURIComponent(m[1]);
  const assignment = decodeURIComponent(m[2]);
  allow({ kind: 'lab', op: 'stage', student, assignment });
  if (method !== 'POST') throw new HttpAnswer(405, 'POST to jump to a stage');
  sendJson(res, 200, await handins.jump(student, assignment, decodeURIComponent(m[3]), principalName(who)));
}
