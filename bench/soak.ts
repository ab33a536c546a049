// Soak test (issue 12): N up/exec/down cycles of a small lab, then M rounds of "up, SIGKILL a
// random process of the lab (supervisor, a VM, tcpdump, passt) at a random moment (while it
// comes up, while it runs, while `down` stops it), then down". After every round it counts
// what is left of the lab: processes it recorded (<run dir>/pids) or that name its run
// directory, its network namespace, its run directory, unix sockets and mounts under it, and
// files in the TMPDIR umlab ran with. Prints a summary table at the end. Not in CI.
//
//   bash bench/soak.sh            # N = 20, M = 20
//   bash bench/soak.sh 50 50
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { netnsName } from '../src/runtime/namespace.ts';
import { sameProcess } from '../src/vm/processes.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
// What a user runs: the launcher (bundled CLI).
const UMLAB = join(ROOT, 'bin/umlab');
const LAB = 'soak';
const isRoot = process.getuid?.() === 0;

const [N, M] = [Number(process.argv[2] ?? 20), Number(process.argv[3] ?? 20)];
if (!(N >= 0 && M >= 0)) {
  console.error('usage: bash bench/soak.sh [CYCLES] [KILL_ROUNDS]');
  process.exit(2);
}

// Two VMs on a switch (captured: tcpdump as root) and a slirp gateway (passt).
const LAB_YAML = `name: ${LAB}
switches: { sw0: {} }
gateways: { nat0: { type: slirp, network: 10.0.2.0/24, dhcp: true } }
vms:
  h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 }, eth1: { connect: nat0, dhcp: true } } }
  h2: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.2/24 } } }
`;

const home = mkdtempSync(join(tmpdir(), 'umlab-soak-'));
const tmp = join(home, 'tmp');
mkdirSync(tmp);
const labFile = join(home, `${LAB}.yaml`);
writeFileSync(labFile, LAB_YAML);
const runDir = join(home, 'labs', LAB);
const env = { UMLAB_HOME: home, TMPDIR: tmp };

const umlab = async (args: string[]) => {
  const r = await execa(UMLAB, args, { env, reject: false, timeout: 180_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

interface Proc {
  pid: number;
  cmdline: string;
}
function processesNaming(dir: string): Proc[] {
  const found: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push({ pid: Number(e), cmdline });
    } catch {
      // gone
    }
  }
  return found;
}

type Kind = 'supervisor' | 'vm' | 'tcpdump' | 'passt';
const KINDS: Kind[] = ['supervisor', 'vm', 'tcpdump', 'passt'];
const KIND_RE: Record<Kind, RegExp> = {
  supervisor: /supervisor-main/,
  vm: /(^|\/)linux\.uml /,
  tcpdump: /(^|\/)tcpdump /,
  passt: /(^|\/)passt(\.avx2)? /,
};
const processesOfKind = (kind: Kind) => processesNaming(runDir).filter((p) => KIND_RE[kind].test(p.cmdline));

/** Recorded lab processes (<run dir>/pids), read while the run directory exists. */
function recorded(): { pid: number; start: string }[] {
  try {
    return readFileSync(join(runDir, 'pids'), 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 2 && /^\d+$/.test(f[0]!))
      .map((f) => ({ pid: Number(f[0]), start: f[1]! }));
  } catch {
    return [];
  }
}

interface Leftovers {
  processes: number;
  netns: number;
  runDir: number;
  sockets: number;
  mounts: number;
  tempFiles: number;
  detail: string[];
}
async function leftovers(recordedBefore: { pid: number; start: string }[]): Promise<Leftovers> {
  const detail: string[] = [];
  const procs = new Set(processesNaming(runDir).map((p) => p.pid));
  for (const r of recordedBefore) if (sameProcess(r.pid, r.start)) procs.add(r.pid);
  if (procs.size) detail.push(`processes ${[...procs].join(',')}`);
  let netns = 0;
  if (isRoot) {
    const list = String((await execa('ip', ['netns', 'list'], { reject: false })).stdout);
    netns = list.split('\n').some((l) => l.split(' ')[0] === netnsName(home, LAB)) ? 1 : 0;
    if (netns) detail.push('netns');
  }
  const run = existsSync(runDir) ? 1 : 0;
  if (run) detail.push('run dir');
  const sockets = readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((l) => l.includes(runDir)).length;
  if (sockets) detail.push(`${sockets} sockets`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(runDir)).length;
  if (mounts) detail.push(`${mounts} mounts`);
  // tsx's compile cache (the launcher's fallback when it cannot bundle) is not the lab's.
  const temp = readdirSync(tmp).filter((f) => !f.startsWith('tsx-'));
  const tempFiles = temp.length;
  if (tempFiles) detail.push(`temp ${temp.join(',')}`);
  return { processes: procs.size, netns, runDir: run, sockets, mounts, tempFiles, detail };
}
const total = (l: Leftovers) => l.processes + l.netns + l.runDir + l.sockets + l.mounts + l.tempFiles;

/** Removes what a round left, so the next round starts clean (and counts only its own). */
async function scrub(): Promise<void> {
  for (const p of processesNaming(runDir)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (isRoot) await execa('ip', ['netns', 'delete', netnsName(home, LAB)], { reject: false });
  rmSync(runDir, { recursive: true, force: true });
  for (const f of readdirSync(tmp)) rmSync(join(tmp, f), { recursive: true, force: true });
}

interface Row {
  what: string;
  rounds: number;
  failures: number;
  leftovers: number;
  up: number[];
  exec: number[];
  down: number[];
}
const row = (what: string): Row => ({ what, rounds: 0, failures: 0, leftovers: 0, up: [], exec: [], down: [] });
const log = (s: string) => process.stderr.write(s + '\n');

async function cycles(n: number): Promise<Row> {
  const r = row('up/exec/down');
  for (let i = 1; i <= n; i++) {
    r.rounds++;
    const problems: string[] = [];
    let t = process.hrtime.bigint();
    const up = await umlab(['up', '-q', labFile]);
    r.up.push(seconds(t));
    if (up.code !== 0) problems.push(`up exited ${up.code}: ${up.stderr.trim().split('\n')[0]}`);
    t = process.hrtime.bigint();
    const ex = await umlab(['exec', '--lab', LAB, 'h1', '--', 'ping -c1 -W2 10.0.0.2 >/dev/null && echo ok']);
    r.exec.push(seconds(t));
    if (ex.stdout.trim() !== 'ok') problems.push(`exec said ${JSON.stringify(ex.stdout.trim())} ${ex.stderr.trim().split('\n')[0] ?? ''}`);
    const pids = recorded();
    t = process.hrtime.bigint();
    const down = await umlab(['down', LAB]);
    r.down.push(seconds(t));
    if (down.code !== 0) problems.push(`down exited ${down.code}: ${down.stderr.trim().split('\n')[0]}`);
    const left = await leftovers(pids);
    if (problems.length) r.failures++;
    r.leftovers += total(left);
    log(`cycle ${i}/${n}: ${problems.length ? `FAILED (${problems.join('; ')})` : 'ok'}${total(left) ? `; LEFT ${left.detail.join(', ')}` : ''}`);
    if (total(left)) await scrub();
  }
  return r;
}

type Phase = 'up' | 'running' | 'down';

async function killRounds(m: number, meanUp: number): Promise<Row[]> {
  const rows = new Map<string, Row>();
  const all = row('kill rounds (all)');
  for (let i = 1; i <= m; i++) {
    let phase: Phase = pick(['up', 'running', 'down']);
    const wanted: Kind = pick(KINDS);
    const problems: string[] = [];
    let killed = 'nothing';
    let pids: { pid: number; start: string }[] = [];
    const killOne = () => {
      pids = recorded().length ? recorded() : pids;
      // The wanted kind if it runs at this moment, else any kind that does.
      const kinds = [wanted, ...KINDS.filter((k) => k !== wanted)];
      for (const kind of kinds) {
        const ps = processesOfKind(kind);
        if (ps.length === 0) continue;
        const victim = pick(ps);
        try {
          process.kill(victim.pid, 'SIGKILL');
          killed = kind;
          return;
        } catch {
          // gone meanwhile
        }
      }
    };
    let t = process.hrtime.bigint();
    const up = umlab(['up', '-q', labFile]);
    let upDone = false;
    void up.then(() => (upDone = true));
    if (phase === 'up') {
      await sleep(Math.random() * meanUp * 1000);
      // Nothing of the lab runs yet at that moment: the first process that does is the victim.
      while (killed === 'nothing' && !upDone) {
        killOne();
        if (killed === 'nothing') await sleep(10);
      }
    }
    const upResult = await up;
    const upSeconds = seconds(t);
    // The lab was ready before the chosen moment: that kill happens while it runs.
    if (phase === 'up' && killed === 'nothing') phase = 'running';
    if (phase === 'running') {
      await sleep(Math.random() * 1000);
      killOne();
      await sleep(200);
    }
    pids = recorded().length ? recorded() : pids;
    t = process.hrtime.bigint();
    const down = umlab(['down', LAB]);
    let downDone = false;
    void down.then(() => (downDone = true));
    if (phase === 'down') {
      // down takes ~0.5 s, most of it halting the VMs: a moment within that.
      await sleep(Math.random() * 300);
      while (killed === 'nothing' && !downDone) {
        killOne();
        if (killed === 'nothing') await sleep(10);
      }
    }
    let downResult = await down;
    // A lab that is gone already (its `up` rolled back) is fine; anything else must go down.
    if (downResult.code !== 0 && /no lab (named soak )?is running/.test(downResult.stderr)) downResult = { ...downResult, code: 0 };
    // The down that was cut short by the kill, then the one a user would run next.
    if (existsSync(runDir)) {
      const again = await umlab(['down', LAB]);
      if (again.code !== 0) problems.push(`second down exited ${again.code}: ${again.stderr.trim().split('\n')[0]}`);
    }
    const downSeconds = seconds(t);
    if (downResult.code !== 0) problems.push(`down exited ${downResult.code}: ${downResult.stderr.trim().split('\n')[0]}`);
    // An `up` that fails because of the kill is expected; one that fails without a kill is not.
    if (upResult.code !== 0 && !(phase === 'up' && killed !== 'nothing')) problems.push(`up exited ${upResult.code}: ${upResult.stderr.trim().split('\n')[0]}`);
    const left = await leftovers(pids);
    const key = `kill ${killed} while ${phase}`;
    const r = rows.get(key) ?? row(key);
    rows.set(key, r);
    for (const x of [r, all]) {
      x.up.push(upSeconds);
      x.down.push(downSeconds);
      x.rounds++;
      if (problems.length) x.failures++;
      x.leftovers += total(left);
    }
    log(`kill round ${i}/${m}: ${key}: ${problems.length ? `FAILED (${problems.join('; ')})` : 'ok'}${total(left) ? `; LEFT ${left.detail.join(', ')}` : ''}`);
    if (total(left)) await scrub();
  }
  return [...[...rows.values()].sort((a, b) => a.what.localeCompare(b.what)), all];
}

const mean = (xs: number[]) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2) : '-');

function table(rows: Row[]): string {
  const head = ['', 'rounds', 'failures', 'leftovers', 'mean up s', 'mean exec s', 'mean down s'];
  const body = rows.map((r) => [r.what, String(r.rounds), String(r.failures), String(r.leftovers), mean(r.up), mean(r.exec), mean(r.down)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

const started = process.hrtime.bigint();
try {
  log(`soak: ${N} up/exec/down cycles, ${M} kill rounds, UMLAB_HOME=${home}${isRoot ? '' : ' (rootless)'}`);
  const c = await cycles(N);
  const meanUp = c.up.length ? c.up.reduce((a, b) => a + b, 0) / c.up.length : 2;
  const k = await killRounds(M, meanUp);
  console.log(`\nsoak summary (${isRoot ? 'root' : 'rootless'}, ${seconds(started).toFixed(0)} s)\n${table([c, ...k])}`);
  const bad = [c, k[k.length - 1]!].some((r) => r.failures + r.leftovers > 0);
  process.exitCode = bad ? 1 : 0;
} finally {
  await umlab(['down', '--all']);
  await scrub();
  rmSync(home, { recursive: true, force: true });
}
