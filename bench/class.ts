// Benchmark: one `umlab class serve` and STUDENTS simulated students (bench/class-student.ts,
// scripted HTTP and WebSocket clients), each starting its own copy of labs/two-hosts.yaml (2 VMs)
// at the same moment, typing 20 commands into h1's console, running the checks, submitting and
// stopping the lab. Prints the time until every lab ran (and the queue seen on the way), the
// terminal round trips while labs boot and once all run, the server process's CPU and memory,
// and how many requests on another student's lab were not refused (must be 0). Not a test: it
// prints figures; it exits 1 when a student met an error or a cross-student request got through.
//
//   bash bench/class.sh            # 30 students, the memory budget the machine gives
//   bash bench/class.sh 10 --budget 2G --json
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { netnsName } from '../src/runtime/namespace.ts';
import { ASSIGNMENT, simulateStudent, type StudentResult } from './class-student.ts';
import { ProcessSampler } from './process-sampler.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'dist/cli/main.mjs');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'server-log': { type: 'string' },
    budget: { type: 'string' },
    commands: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const students = Number(positionals[0] ?? 30);
const commands = Number(values.commands);
if (!(students >= 2) || !(commands >= 1)) {
  console.error('usage: bash bench/class.sh [STUDENTS (>= 2, default 30)] [--budget SIZE] [--commands N] [--json]');
  process.exit(2);
}

function classYaml(n: number, budget: string | undefined): string {
  const roster = Array.from({ length: n }, (_, i) => `  - { id: s${i + 1}, name: Student ${i + 1} }`);
  const limits = budget ? `limits:\n  running_labs_per_student: 1\n  memory_budget: ${budget}\n` : 'limits:\n  running_labs_per_student: 1\n';
  return `name: bench\nroster:\n${roster.join('\n')}\nassignments:\n  - { id: ${ASSIGNMENT}, lab: labs/two-hosts.yaml }\n${limits}`;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

const percentile = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** Every process whose command line mentions `dir`. */
function processesMentioning(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push(`${pid} ${cmdline.slice(0, 160)}`);
    } catch {
      // exited
    }
  }
  return found;
}

/** What the bench left behind: processes, network namespaces of its labs, files under /tmp. */
async function leftovers(dir: string, home: string, labs: string[]): Promise<string[]> {
  const left = processesMentioning(dir);
  // Exactly these names: another class on this host has labs of the same names (s1's two-hosts).
  const ours = new Set(labs.map((lab) => netnsName(home, lab)));
  const netns = String((await execa('ip', ['netns', 'list'], { reject: false })).stdout)
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => ours.has(n));
  left.push(...netns.map((n) => `netns ${n}`));
  if (existsSync(dir)) left.push(`directory ${dir}`);
  return left;
}

await execa('bash', [join(ROOT, 'scripts/bundle.sh')]); // not timed: the launcher does it once after a change
const dir = mkdtempSync(join(tmpdir(), 'umlab-bench-class-'));
const classFile = join(dir, 'CLASS.yaml');
const classHome = join(dir, 'bench.class', 'home');
const env = { ...process.env, UMLAB_HOME: join(dir, 'user-home') };
mkdirSync(join(dir, 'labs'));
copyFileSync(join(ROOT, 'labs/two-hosts.yaml'), join(dir, 'labs/two-hosts.yaml'));
writeFileSync(classFile, classYaml(students, values.budget));

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, [CLI, 'class', 'serve', classFile, '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let serverOutput = '';
let serverExited: number | null = null;
server.stdout.on('data', (d: Buffer) => (serverOutput += d.toString()));
server.stderr.on('data', (d: Buffer) => (serverOutput += d.toString()));
const serverGone = new Promise<void>((r) => server.once('exit', (code, signal) => ((serverExited = code ?? (signal ? 128 : 1)), r())));

let failure: string | null = null;
let results: StudentResult[] = [];
let budgetMiB = 0;
let maxQueued = 0;
let allRunningAt: number | null = null;
let t0 = 0;
let tEnd = 0;
let sampler: ProcessSampler | null = null;
try {
  await Promise.race([
    new Promise<void>((r) => {
      const look = () => serverOutput.includes(`at ${base} `) && r();
      server.stdout.on('data', look);
    }),
    serverGone.then(() => Promise.reject(new Error(`umlab class serve exited ${serverExited}:\n${serverOutput}`))),
  ]);
  budgetMiB = Number(/memory budget (\d+) MiB/.exec(serverOutput)?.[1] ?? 0);
  const invite = await execa(process.execPath, [CLI, 'class', 'invite', classFile, '--json'], { env });
  const links = new Map((JSON.parse(invite.stdout) as { id: string; url: string }[]).map((l) => [l.id, l.url]));

  // The teacher's page is open too: its table, every 2 s, gives the queue's length.
  const teacherJoin = await fetch(base + new URL(links.get('teacher')!).pathname, { redirect: 'manual' });
  const teacherCookie = (teacherJoin.headers.get('set-cookie') ?? '').split(';')[0]!;
  const notRunning = new Set(Array.from({ length: students }, (_, i) => `s${i + 1}`));
  let studentsDone = false;
  const teacher = (async () => {
    while (!studentsDone && serverExited === null) {
      const res = await fetch(`${base}/api/class`, { headers: { Cookie: teacherCookie } }).catch(() => null);
      if (res?.ok) maxQueued = Math.max(maxQueued, ((await res.json()) as { queued: number }).queued);
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();

  sampler = new ProcessSampler(server.pid!);
  sampler.start(500);
  t0 = performance.now();
  results = await Promise.all(
    Array.from({ length: students }, (_, i) =>
      simulateStudent(`s${i + 1}`, links.get(`s${i + 1}`)!, `s${((i + 1) % students) + 1}`, {
        base,
        commands,
        t0,
        anyBooting: () => allRunningAt === null,
        bootOver: (id) => {
          notRunning.delete(id);
          if (notRunning.size === 0) allRunningAt = performance.now();
        },
      }),
    ),
  );
  tEnd = performance.now();
  studentsDone = true;
  await teacher;
  sampler.stop();
  if (serverExited !== null) failure = `the class server exited (${serverExited}) during the run:\n${serverOutput}`;
} catch (err) {
  failure = err instanceof Error ? err.message : String(err);
} finally {
  sampler?.stop();
  if (serverExited === null) {
    server.kill('SIGTERM');
    await serverGone;
  }
  // A lab that was left running (a student that failed half-way) is taken down here.
  await execa(process.execPath, [CLI, 'down', '--all'], { env: { ...process.env, UMLAB_HOME: classHome }, reject: false });
  rmSync(dir, { recursive: true, force: true });
  if (values['server-log']) writeFileSync(values['server-log'], serverOutput);
}
const left = await leftovers(
  dir,
  classHome,
  results.map((r) => r.lab).filter((l): l is string => l !== null),
);

const errors = results.filter((r) => r.errors.length);
const rtt = (booting: boolean) => results.flatMap((r) => r.roundTrips.filter((t) => t.booting === booting).map((t) => t.ms));
const [bootRtt, steadyRtt] = [rtt(true), rtt(false)];
const cpu = sampler?.cpuSeconds() ?? 0;
const seconds = (key: 'checksMs' | 'submitMs') =>
  results
    .map((r) => r[key])
    .filter((x): x is number => x !== null)
    .map((x) => x / 1000);
const runSeconds = (tEnd - t0) / 1000;
const summary = {
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}`,
  students,
  vms: students * 2,
  memoryBudgetMiB: budgetMiB,
  budgetGiven: values.budget ?? null,
  studentsWithErrors: errors.length,
  allRunningSeconds: results.every((r) => r.runningAt !== null) ? (Math.max(...results.map((r) => r.runningAt!)) - t0) / 1000 : null,
  bootOverSeconds: allRunningAt === null ? null : (allRunningAt - t0) / 1000,
  labsRunning: results.filter((r) => r.runningAt !== null).length,
  checksSeconds: { p50: percentile(seconds('checksMs'), 50), max: Math.max(0, ...seconds('checksMs')) },
  submitSeconds: { p50: percentile(seconds('submitMs'), 50), max: Math.max(0, ...seconds('submitMs')) },
  firstRunningSeconds: Math.min(...results.map((r) => (r.runningAt ?? Infinity) - t0)) / 1000,
  maxQueueSeen: Math.max(maxQueued, ...results.flatMap((r) => r.queuePlaces)),
  rttBooting: { n: bootRtt.length, p50: percentile(bootRtt, 50), p95: percentile(bootRtt, 95), max: bootRtt.length ? Math.max(...bootRtt) : NaN },
  rttSteady: { n: steadyRtt.length, p50: percentile(steadyRtt, 50), p95: percentile(steadyRtt, 95), max: steadyRtt.length ? Math.max(...steadyRtt) : NaN },
  checksOk: results.filter((r) => r.checksOk).length,
  checksPassed: results.reduce((n, r) => n + r.checksPassed, 0),
  checksTotal: results.reduce((n, r) => n + r.checksTotal, 0),
  submitsOk: results.filter((r) => r.submitOk).length,
  stopped: results.filter((r) => r.stoppedAt !== null).length,
  serverCpuSeconds: cpu,
  serverCpuPercentOfOneCore: runSeconds ? (100 * cpu) / runSeconds : 0,
  serverMaxRssMiB: sampler?.maxRssMiB ?? 0,
  serverMaxPssMiB: sampler?.maxPssMiB ?? 0,
  crossStudentAccepted: results.reduce((n, r) => n + r.crossAccepted.length, 0),
  crossStudentTried: results.length * 2,
  totalSeconds: runSeconds,
  leftovers: left,
  failure,
};

if (values.json) console.log(JSON.stringify({ ...summary, errors: errors.map((r) => ({ id: r.id, errors: r.errors })) }, null, 2));
else {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const ms = (g: typeof summary.rttBooting) => `${f(g.p50, 0)} / ${f(g.p95, 0)} / ${f(g.max, 0)} ms (${g.n} commands)`;
  console.log(
    `umlab class benchmark: ${summary.machine}; ${process.getuid?.() === 0 ? 'as root' : 'rootless'}; load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  const rows: [string, string][] = [
    ['students (VMs)', `${students} (${students * 2}), ${commands} commands each`],
    [
      'memory budget',
      `${budgetMiB} MiB (${values.budget ? `--budget ${values.budget}` : 'what the machine has free, the server default'}); a lab needs 256 MiB`,
    ],
    ['students with errors', String(errors.length)],
    ['first lab running', `${f(summary.firstRunningSeconds)} s`],
    [
      'every lab running',
      summary.allRunningSeconds === null
        ? `never: ${summary.labsRunning} of ${students} ran, the last of them at ${f(summary.bootOverSeconds ?? NaN)} s`
        : `${f(summary.allRunningSeconds)} s`,
    ],
    ['max queue seen', String(summary.maxQueueSeen)],
    ['RTT p50/p95/max, booting', ms(summary.rttBooting)],
    ['RTT p50/p95/max, all running', ms(summary.rttSteady)],
    ['checks run / passed', `${summary.checksOk} of ${students} / ${summary.checksPassed} of ${summary.checksTotal} checks`],
    ['checks took p50 / max', `${f(summary.checksSeconds.p50)} / ${f(summary.checksSeconds.max)} s`],
    ['submits ok', `${summary.submitsOk} of ${students}`],
    ['submit took p50 / max', `${f(summary.submitSeconds.p50)} / ${f(summary.submitSeconds.max)} s`],
    ['labs stopped', `${summary.stopped} of ${students}`],
    ['server CPU', `${f(cpu)} s, ${f(summary.serverCpuPercentOfOneCore)}% of one core over the run`],
    ['server max RSS / PSS', `${f(summary.serverMaxRssMiB)} / ${f(summary.serverMaxPssMiB)} MiB`],
    ['cross-student accepted', `${summary.crossStudentAccepted} of ${summary.crossStudentTried} tried`],
    ['total', `${f(runSeconds)} s`],
    ['server exit after SIGTERM', String(serverExited)],
    ['left behind', left.length ? left.join('; ') : 'nothing'],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(30)} ${v}`);
  console.log('targets: no errors; p95 RTT (all running) < 100 ms; server RSS < 200 MiB; 0 cross-student accesses');
  for (const r of errors) console.log(`error ${r.id}: ${r.errors.join(' | ')}`);
  for (const r of results.filter((r) => r.crossAccepted.length)) console.log(`NOT REFUSED ${r.id}: ${r.crossAccepted.join(' | ')}`);
  if (errors.length)
    for (const line of serverOutput
      .split('\n')
      .filter((l) => /fail|error/i.test(l))
      .slice(0, 20))
      console.log(`server: ${line}`);
  if (failure) console.log(`FAILED: ${failure}`);
}
if (failure || errors.length || summary.crossStudentAccepted || left.length) process.exit(1);
