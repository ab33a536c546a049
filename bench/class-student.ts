// One simulated student of bench/class.ts: plain HTTP and a WebSocket, no browser. Signs in with
// the invitation link, starts the assignment's lab, waits for it to run (noting its place in the
// queue), tries another student's lab (an API path and a console WebSocket: both must be
// refused), types COMMANDS commands in h1's console and times each until its output comes back,
// runs the checks, submits, and stops the lab.
import { WebSocket } from 'ws';

export const ASSIGNMENT = 'two-hosts';
/** Between two commands: a student reads the answer before typing the next one. */
const THINK_MS = 1000;
const POLL_MS = 1000;
const RUNNING_WITHIN_MS = 15 * 60_000;
const ANSWER_WITHIN_MS = 60_000;

export interface RoundTrip {
  ms: number;
  /** Whether some lab of the class was still queued or booting when the command was sent. */
  booting: boolean;
}

export interface StudentResult {
  id: string;
  errors: string[];
  /** Places in the start queue seen while waiting (1: next). */
  queuePlaces: number[];
  startedAt: number;
  runningAt: number | null;
  stoppedAt: number | null;
  roundTrips: RoundTrip[];
  checksOk: boolean;
  checksPassed: number;
  checksTotal: number;
  submitOk: boolean;
  /** Requests on another student's lab that were not refused with 403. */
  crossAccepted: string[];
  lab: string | null;
  /** How long the checks and the submit took, in ms. */
  checksMs: number | null;
  submitMs: number | null;
}

export interface Shared {
  base: string;
  commands: number;
  /** When the run began (performance.now()). */
  t0: number;
  /** True while any lab of the class is not running yet (set by the bench). */
  anyBooting(): boolean;
  /** Called once this student's lab runs, or when the student gives up before it does. */
  bootOver(id: string): void;
}

interface LabView {
  lab: string;
  state: string;
  error: string | null;
  queue: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function simulateStudent(id: string, link: string, other: string, s: Shared): Promise<StudentResult> {
  const r: StudentResult = {
    id,
    errors: [],
    queuePlaces: [],
    startedAt: 0,
    runningAt: null,
    stoppedAt: null,
    roundTrips: [],
    checksOk: false,
    checksPassed: 0,
    checksTotal: 0,
    submitOk: false,
    crossAccepted: [],
    lab: null,
    checksMs: null,
    submitMs: null,
  };
  let cookie = '';
  let phase = 'sign-in';
  const request = (path: string, method = 'GET') => fetch(s.base + path, { method, redirect: 'manual', headers: { Cookie: cookie } });
  const expect = async (path: string, method: string, status: number): Promise<Response | null> => {
    const res = await request(path, method);
    if (res.status === status) return res;
    r.errors.push(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return null;
  };
  const me = async (): Promise<LabView | null> => {
    const res = await expect('/api/me', 'GET', 200);
    return res ? ((await res.json()) as { assignments: LabView[] }).assignments[0]! : null;
  };
  try {
    const joined = await fetch(s.base + new URL(link).pathname, { redirect: 'manual' });
    cookie = (joined.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (joined.status !== 303 || !cookie) throw new Error(`sign-in: ${joined.status}`);

    r.startedAt = performance.now();
    phase = 'start';
    if (!(await expect(`/api/labs/${ASSIGNMENT}/start`, 'POST', 202))) return r;
    for (;;) {
      const view = await me();
      if (!view) return r;
      r.lab = view.lab;
      if (view.queue !== null) r.queuePlaces.push(view.queue);
      if (view.state === 'running') break;
      if (view.state !== 'starting') throw new Error(`the lab is ${view.state}${view.error ? `: ${view.error}` : ''}`);
      if (performance.now() - r.startedAt > RUNNING_WITHIN_MS) throw new Error(`the lab did not run within ${RUNNING_WITHIN_MS / 60_000} min`);
      await sleep(POLL_MS);
    }
    r.runningAt = performance.now();
    s.bootOver(id);
    phase = 'commands';

    await tryOthersLab(s.base, cookie, other, r);

    const term = await openConsole(`${s.base.replace('http', 'ws')}/students/${id}/labs/${ASSIGNMENT}/api/vms/h1/console`, cookie);
    try {
      for (let i = 0; i < s.commands; i++) {
        // The shell computes the marker: the terminal's echo of what was typed does not match it.
        const seq = 1000 + i;
        const marker = `m${id}-${seq + 1}`;
        const booting = s.anyBooting();
        const t0 = performance.now();
        term.ws.send(Buffer.from(`echo m${id}-$((${seq} + 1))\n`));
        await term.until(marker, ANSWER_WITHIN_MS);
        r.roundTrips.push({ ms: performance.now() - t0, booting });
        await sleep(THINK_MS);
      }
    } finally {
      term.ws.close();
    }

    phase = 'checks';
    const tChecks = performance.now();
    const checks = await expect(`/api/labs/${ASSIGNMENT}/checks`, 'POST', 200);
    r.checksMs = performance.now() - tChecks;
    if (checks) {
      const results = ((await checks.json()) as { results: { name: string; status: string; message: string }[] }).results;
      r.checksOk = true;
      r.checksTotal = results.length;
      r.checksPassed = results.filter((c) => c.status === 'pass').length;
      for (const c of results.filter((c) => c.status !== 'pass')) r.errors.push(`check "${c.name}": ${c.status}: ${c.message}`);
    }
    phase = 'submit';
    const tSubmit = performance.now();
    r.submitOk = (await expect(`/api/labs/${ASSIGNMENT}/submit`, 'POST', 201)) !== null;
    r.submitMs = performance.now() - tSubmit;

    phase = 'stop';
    if (!(await expect(`/api/labs/${ASSIGNMENT}/stop`, 'POST', 202))) return r;
    for (const t = performance.now(); ; await sleep(POLL_MS)) {
      const view = await me();
      if (!view) return r;
      if (view.state === 'stopped') break;
      if (view.state !== 'stopping') throw new Error(`stopping, the lab is ${view.state}${view.error ? `: ${view.error}` : ''}`);
      if (performance.now() - t > ANSWER_WITHIN_MS * 3) throw new Error('the lab did not stop within 3 min');
    }
    r.stoppedAt = performance.now();
  } catch (err) {
    // fetch's own message is "fetch failed": the reason is its cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const at = ((performance.now() - s.t0) / 1000).toFixed(1);
    r.errors.push(`${phase}, at ${at} s: ${err instanceof Error ? err.message : String(err)}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`);
  } finally {
    if (r.runningAt === null) s.bootOver(id);
  }
  return r;
}

/** An API path and a console WebSocket of `other`'s lab: anything but 403 is counted. */
async function tryOthersLab(base: string, cookie: string, other: string, r: StudentResult): Promise<void> {
  const path = `/api/students/${other}/labs/${ASSIGNMENT}`;
  const res = await fetch(base + path, { headers: { Cookie: cookie }, redirect: 'manual' });
  if (res.status !== 403) r.crossAccepted.push(`GET ${path}: ${res.status}`);
  const socket = `/students/${other}/labs/${ASSIGNMENT}/api/vms/h1/console`;
  const status = await upgradeStatus(`${base.replace('http', 'ws')}${socket}`, cookie);
  if (status !== 403) r.crossAccepted.push(`UPGRADE ${socket}: ${status === 101 ? 'opened' : status}`);
}

/** The HTTP status a WebSocket upgrade gets: 101 when it opens (then closed at once). */
function upgradeStatus(url: string, cookie: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { Cookie: cookie } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => resolve(0));
  });
}

interface Console {
  ws: WebSocket;
  /** Resolves when `marker` has come back from the VM since the last call. */
  until(marker: string, ms: number): Promise<void>;
}

function openConsole(url: string, cookie: string): Promise<Console> {
  const ws = new WebSocket(url, { headers: { Cookie: cookie } });
  let text = '';
  let waiting: { marker: string; resolve: () => void } | null = null;
  const look = () => {
    if (!waiting) return;
    const at = text.indexOf(waiting.marker);
    if (at < 0) return;
    text = text.slice(at + waiting.marker.length);
    const done = waiting.resolve;
    waiting = null;
    done();
  };
  return new Promise((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      const s = (data as Buffer).toString();
      if (isBinary) {
        text += s;
        look();
      } else if ((JSON.parse(s) as { type: string }).type === 'attached')
        resolve({
          ws,
          until: (marker, ms) =>
            new Promise<void>((done, fail) => {
              const timer = setTimeout(() => fail(new Error(`no "${marker}" from h1's console within ${ms / 1000} s`)), ms);
              waiting = {
                marker,
                resolve: () => {
                  clearTimeout(timer);
                  done();
                },
              };
              look();
            }),
        });
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`console WebSocket: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}
