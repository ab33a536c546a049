// Benchmark: one lab of N VMs on one switch, for each N given, measured end to end in one run:
// time from `umlab up` to ready (and per VM), N bare kernels with the same root and arguments
// (the floor umlab adds to), host memory per idle VM (the drop of MemAvailable, and the VMs'
// memory files alone), the captures' processes and memory, the machine's idle CPU with the lab
// up, pings between the VMs and whether every capture holds them, and `down`. With
// `--baseline REV` the same is run for an older commit beside this tree, size by size, so the
// speed-up holds on whatever machine runs it. Not a test: it prints figures and ratios.
//
// A shared machine's speed drifts by tens of percent within minutes, so `--rounds R` (default 3)
// boots each size R times, each `up` followed by its bare kernels: the times are the medians, up/bare
// the median of each round's ratio; memory, idle, pings and down come from the first round.
//
//   bash bench/scale.sh 20 50 100 150
//   bash bench/scale.sh --baseline c080e98 --rounds 1 20 150
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { decodeCapture } from '../src/capture/decode.ts';
import { bareBoot, pssMiB } from './bare-boot.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MEMORY = '128M';
const PING_COUNT = 2;
const EXEC_PARALLEL = 20;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { baseline: { type: 'string' }, 'idle-seconds': { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } },
});
const sizes = positionals.map(Number).filter((n) => n > 0);
const idleSeconds = Number(values['idle-seconds']);
const rounds = Math.max(1, Number(values.rounds) || 1);

/** The VM's address: 10.0.x.y/16, one per VM. */
const addressOf = (i: number) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function labYaml(n: number): string {
  const vms = Array.from({ length: n }, (_, i) => `  h${i + 1}:\n    interfaces: { eth0: { connect: sw0, ip: ${addressOf(i + 1)}/16 } }`);
  return `name: scale-${n}\nswitches: { sw0: {} }\ndefaults: { memory: ${MEMORY} }\nvms:\n${vms.join('\n')}\n`;
}

interface Figures {
  up: number;
  /** The median of each round's up / bare. */
  upOverBare: number;
  /** Each round's up and bare (s). */
  rounds: { up: number; bare: number }[];
  answering: number;
  bare: number;
  memAvailableMiBPerVm: number;
  memoryFileMiBPerVm: number;
  captureProcesses: number;
  captureMiB: number;
  idleCpuPercent: number;
  pingsLost: number;
  capturesMissing: number;
  incompleteByDown: number;
  down: number;
}

const memAvailableMiB = () => Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;

/** Pages allocated in the VMs' memory files (UML maps a deleted file in its temp dir as RAM). */
function memoryFilesMiB(runDir: string): number {
  const seen = new Set<string>();
  let bytes = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir)) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const target = `/proc/${pid}/fd/${fd}`;
        let link: string;
        try {
          link = readlinkSync(target);
        } catch {
          continue;
        }
        if (!link.endsWith('(deleted)')) continue; // the memory file: an O_TMPFILE in /dev/shm
        const st = statSync(target);
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        bytes += st.blocks * 512;
      }
    } catch {
      // exited
    }
  }
  return bytes / 2 ** 20;
}

/** CPU time (s) so far of every process in the lab's process groups: each VM's group (its kernel,
 *  helpers and guest processes) and the supervisor's (with the capture helper). Other load on the
 *  machine does not count, so the figure holds on a busy machine too. */
function labCpuSeconds(runDir: string): number {
  const procs: { pgid: number; ns: number; ours: boolean }[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      let ns = 0;
      for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      procs.push({ pgid, ns, ours: readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir) });
    } catch {
      // exited
    }
  }
  const groups = new Set(procs.filter((p) => p.ours).map((p) => p.pgid));
  return procs.filter((p) => groups.has(p.pgid)).reduce((sum, p) => sum + p.ns, 0) / 1e9;
}

/** The lab's share of the whole machine (all cores) over `seconds`. */
async function labBusyPercent(runDir: string, seconds: number): Promise<number> {
  const before = labCpuSeconds(runDir);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (100 * (labCpuSeconds(runDir) - before)) / seconds / cpus().length;
}

/** The capture processes of a lab: tcpdump (one per link) or umlab's capture helper (one per lab). */
function captureProcesses(runDir: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes(runDir)) && /(^|\/)(tcpdump|umlab-capture)$/.test(argv[0])) count++;
    } catch {
      // exited
    }
  }
  return count;
}

/** Runs command(vm) in every VM but h1 (or in all), EXEC_PARALLEL at a time; the outputs. */
async function execEach(umlab: string, env: NodeJS.ProcessEnv, lab: string, n: number, command: (vm: number) => string, fromVm = 1): Promise<string[]> {
  const outputs: string[] = [];
  const queue = Array.from({ length: n - fromVm + 1 }, (_, i) => i + fromVm);
  await Promise.all(
    Array.from({ length: EXEC_PARALLEL }, async () => {
      for (let vm = queue.shift(); vm !== undefined; vm = queue.shift())
        outputs.push((await execa(umlab, ['exec', '--lab', lab, `h${vm}`, '--', command(vm)], { env, reject: false })).stdout);
    }),
  );
  return outputs;
}

/** Every VM but h1 pings h1; the number of pings without an answer. */
async function pingAll(umlab: string, env: NodeJS.ProcessEnv, lab: string, n: number): Promise<number> {
  const outputs = await execEach(umlab, env, lab, n, () => `ping -c ${PING_COUNT} -i 0.2 -W 2 ${addressOf(1)}`, 2);
  return outputs.reduce((lost, out) => lost + PING_COUNT - Number(/(\d+) received/.exec(out)?.[1] ?? 0), 0);
}

/** Links whose capture misses one of its VM's echo requests or replies (h1's link: all of them). */
function capturesMissing(archive: string, n: number): number {
  let missing = 0;
  for (let vm = 2; vm <= n; vm++) {
    const file = readdirSync(archive).find((f) => f.endsWith('.pcap') && f.includes(`h${vm}.eth0`));
    const frames = file ? decodeCapture(readFileSync(join(archive, file))) : [];
    const requests = frames.filter((f) => f.icmp?.type === 8 && f.ip?.src === addressOf(vm)).length;
    const replies = frames.filter((f) => f.icmp?.type === 0 && f.ip?.dst === addressOf(vm)).length;
    if (requests < PING_COUNT || replies < PING_COUNT) missing++;
  }
  return missing;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Seconds until n bare kernels ran their init. */
async function bareSeconds(n: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-bare-'));
  try {
    return (await bareBoot(n, dir, MEMORY, true)).seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The time of `up` of n VMs, then of n bare kernels (s): one round. */
async function upAndBare(umlab: string, env: NodeJS.ProcessEnv, file: string, n: number, between: () => Promise<void>): Promise<{ up: number; bare: number }> {
  const t0 = performance.now();
  await execa(umlab, ['up', '-q', file], { env });
  const up = (performance.now() - t0) / 1000;
  await between();
  const bare = await bareSeconds(n);
  return { up, bare };
}

/** Every figure of one size: the first round measures all, the others time up and bare only. */
async function measure(umlab: string, home: string, n: number): Promise<Figures> {
  const first = await measureAll(umlab, home, n);
  const file = join(home, `scale-${n}.yaml`);
  const env = { ...process.env, UMLAB_HOME: home };
  for (let r = 1; r < rounds; r++)
    first.rounds.push(await upAndBare(umlab, env, file, n, async () => void (await execa(umlab, ['down', '--json', `scale-${n}`], { env }))));
  const all = first.rounds;
  return { ...first, up: median(all.map((r) => r.up)), bare: median(all.map((r) => r.bare)), upOverBare: median(all.map((r) => r.up / r.bare)) };
}

async function measureAll(umlab: string, home: string, n: number): Promise<Figures> {
  const file = join(home, `scale-${n}.yaml`);
  writeFileSync(file, labYaml(n));
  const env = { ...process.env, UMLAB_HOME: home };
  const lab = `scale-${n}`;
  const runDir = join(home, 'labs', lab);
  const memBefore = memAvailableMiB();
  const t0 = performance.now();
  await execa(umlab, ['up', '-q', file], { env });
  const up = (performance.now() - t0) / 1000;
  // READY comes from the init before it starts the agent: the lab is usable once every agent answers.
  await execEach(umlab, env, lab, n, () => 'true');
  const answering = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 5000)); // what follows (ARP, the console shells) settles
  const idleCpuPercent = await labBusyPercent(runDir, idleSeconds);
  const memAvailableMiBPerVm = (memBefore - memAvailableMiB()) / n;
  const memoryFileMiBPerVm = memoryFilesMiB(runDir) / n;
  const captures = captureProcesses(runDir);
  const captureMiB = pssMiB(runDir, 'tcpdump') + pssMiB(runDir, 'umlab-capture');
  const pingsLost = await pingAll(umlab, env, lab, n);
  await new Promise((r) => setTimeout(r, 500)); // the last replies reach the files (-U / immediate writes)
  const t1 = performance.now();
  const downOut = await execa(umlab, ['down', '--json', lab], { env });
  const down = (performance.now() - t1) / 1000;
  const result = JSON.parse(downOut.stdout) as { archive: string | null; incompleteCaptures: unknown[] };
  const missing = result.archive ? capturesMissing(result.archive, n) : n - 1;
  if (result.archive) rmSync(result.archive, { recursive: true, force: true });
  const bare = await bareSeconds(n);
  return {
    up,
    upOverBare: up / bare,
    rounds: [{ up, bare }],
    answering,
    bare,
    memAvailableMiBPerVm,
    memoryFileMiBPerVm,
    captureProcesses: captures,
    captureMiB,
    idleCpuPercent,
    pingsLost,
    capturesMissing: missing,
    incompleteByDown: result.incompleteCaptures.length,
    down,
  };
}

/** An older commit's tree, bundled, with this tree's node_modules: its launcher. */
async function baselineTree(rev: string): Promise<{ umlab: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-baseline-'));
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${rev}" | tar -x -C "${dir}"`]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules')); // read only: nothing installs into it
  await execa('bash', [join(dir, 'scripts/bundle.sh')]);
  return { umlab: join(dir, 'bin/umlab'), dir };
}

function row(version: string, n: number, f: Figures): string {
  const c = (x: number, w: number, d = 2) => x.toFixed(d).padStart(w);
  return [
    version.padEnd(9),
    String(n).padStart(4),
    c(f.up, 7, 1),
    c(f.answering, 7, 1),
    c(f.up / n, 6, 3),
    c(f.bare, 6, 1),
    c(f.upOverBare, 5),
    c(f.memAvailableMiBPerVm, 7, 1),
    c(f.memoryFileMiBPerVm, 7, 1),
    String(f.captureProcesses).padStart(5),
    c(f.captureMiB, 8, 1),
    c(f.idleCpuPercent, 5, 1),
    c(f.down, 6, 1),
    `${f.pingsLost} lost, ${f.capturesMissing} short, ${f.incompleteByDown} told`.padStart(24),
  ].join(' ');
}

if (!sizes.length) {
  console.error('usage: bash bench/scale.sh [--baseline REV] [--rounds R] [--idle-seconds S] N [N ...]   e.g. 20 50 100 150');
  process.exit(2);
}
await execa('bash', [join(ROOT, 'scripts/bundle.sh')]); // not timed: the launcher does it once after a change
const versions: { name: string; umlab: string; cleanup?: string }[] = [{ name: 'this', umlab: join(ROOT, 'bin/umlab') }];
if (values.baseline) {
  const b = await baselineTree(values.baseline);
  versions.unshift({ name: values.baseline.slice(0, 8), umlab: b.umlab, cleanup: b.dir });
}
const home = mkdtempSync(join(tmpdir(), 'umlab-scale-'));
mkdirSync(home, { recursive: true });
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const amx = /\bamx/.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'AMX' : 'no AMX';
console.log(`umlab scale benchmark: ${cpus().length} x ${cpu} (${amx}); VMs of ${MEMORY} on one switch, ${process.getuid?.() === 0 ? 'as root' : 'rootless'}`);
console.log(
  'bare: the same kernel, root, memory and initcall skips, started at once with no lab around it; memory per idle VM: drop of MemAvailable and the memory files',
);
console.log(
  `idle: the CPU of the lab's processes over ${idleSeconds} s as a share of the machine; pings: every VM pings h1 ${PING_COUNT}x, then each link's capture must hold them`,
);
console.log('version     VMs    up s  agents  s/VM  bare s  up/bare  MiB/VM  file/VM  capt  capt MiB  idle%  down s             pings, captures');
console.log(
  `(agents: s from up until every VM answered an exec; s/VM and up/bare from up; up, bare: medians of ${rounds} round(s), up/bare: the median of each round's ratio)`,
);
const results = new Map<string, Map<number, Figures>>();
try {
  for (const n of sizes)
    for (const v of versions) {
      if (!results.has(v.name)) results.set(v.name, new Map());
      let f: Figures;
      try {
        f = await measure(v.umlab, home, n);
      } catch (err) {
        // A version that cannot boot this many VMs is a result too (its `up` rolled the lab back).
        const said = String((err as { stderr?: string }).stderr ?? err).split('\n')[0];
        console.log(`${v.name.padEnd(9)} ${String(n).padStart(4)}  up failed: ${said}`);
        continue;
      }
      results.get(v.name)!.set(n, f);
      console.log(row(v.name, n, f));
      if (f.rounds.length > 1) console.log(`          rounds (up / bare s): ${f.rounds.map((r) => `${r.up.toFixed(1)} / ${r.bare.toFixed(1)}`).join(', ')}`);
    }
} finally {
  rmSync(home, { recursive: true, force: true });
  for (const v of versions) if (v.cleanup && existsSync(v.cleanup)) rmSync(v.cleanup, { recursive: true, force: true });
}
const mine = results.get('this')!;
const measured = sizes.filter((n) => mine.has(n));
const [small, large] = [Math.min(...measured), Math.max(...measured)];
if (small < large)
  console.log(`linearity: s/VM at ${large} against ${small}: ${(mine.get(large)!.up / large / (mine.get(small)!.up / small)).toFixed(2)}x (target <= 1.15)`);
for (const v of versions.filter((v) => v.name !== 'this'))
  for (const n of measured.filter((n) => results.get(v.name)!.has(n)))
    console.log(`speed-up at ${n} VMs against ${v.name}: ${(results.get(v.name)!.get(n)!.up / mine.get(n)!.up).toFixed(2)}x`);
console.log('targets: up/bare <= 1.2; linear; <= 30 MiB per idle VM with its capture; capture memory of 150 links <= 100 MiB; idle <= 5%');
