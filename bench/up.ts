// Benchmark: time from `umlab up` to ready for N VMs on one switch, against booting
// N bare linux.uml processes with the same root and memory (the limit), and host memory
// per idle VM. Prints ratios against the bare boot of the same run. Not a test.
//
//   bash bench/up.sh            # N = 2 10 20
//   bash bench/up.sh 2 5        # other sizes
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { readOnlyRootScript } from '../src/runtime/namespace.ts';
import { umlKernel } from '../src/runtime/host.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
// What a user runs: the launcher, which starts the bundled CLI.
const UMLAB = join(ROOT, 'bin/umlab');
const MEMORY = '128M';

function labYaml(n: number): string {
  const vms = Array.from({ length: n }, (_, i) => `  h${i + 1}:\n    interfaces: { eth0: { connect: sw0, ip: 10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}/16 } }`);
  return `name: bench-${n}\nswitches: { sw0: {} }\ndefaults: { memory: ${MEMORY} }\nvms:\n${vms.join('\n')}\n`;
}

/** Seconds from `umlab up` to ready, and PSS (MiB) per VM once idle, of the VM and of its link's capture. */
async function umlabUp(n: number, home: string): Promise<{ seconds: number; pssMiB: number; capturePssMiB: number }> {
  const file = join(home, `bench-${n}.yaml`);
  writeFileSync(file, labYaml(n));
  const env = { UMLAB_HOME: home };
  const t0 = process.hrtime.bigint();
  await execa(UMLAB, ['up', '-q', file], { env });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await new Promise((r) => setTimeout(r, 5000)); // idle
  const runDir = join(home, 'labs', `bench-${n}`);
  const pss = pssMiB(runDir, 'linux.uml');
  // As root, a tcpdump per captured link writes the captures (rootless: the supervisor does).
  const capturePss = pssMiB(runDir, 'tcpdump');
  await execa(UMLAB, ['down', `bench-${n}`], { env });
  return { seconds, pssMiB: pss / n, capturePssMiB: capturePss / n };
}

/** Sum of PSS over the lab's processes whose command line has `program` (linux.uml: the VMs).
 *  A UML VM is several host processes: its helper threads share the kernel's address space
 *  (same rollup, counted once), its user-space processes have their own. PSS splits pages
 *  shared between VMs fairly. */
function pssMiB(runDir: string, program: string): number {
  const seen = new Set<string>();
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(program) || !cmdline.includes(runDir)) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const key = rollup.slice(rollup.indexOf('\n'));
      if (seen.has(key)) continue;
      seen.add(key);
      kib += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kib / 1024;
}

/** Seconds until n bare UML kernels with the same root and memory have run their init. */
async function bareBoot(n: number, dir: string): Promise<number> {
  const { kernel } = umlKernel();
  const init = join(dir, 'init.sh');
  writeFileSync(init, '#!/bin/sh\necho BARE-BOOTED > /dev/console\nwhile :; do sleep 3600; done\n', { mode: 0o755 });
  const script = `${readOnlyRootScript(join(dir, 'rootfs'))}
for i in $(seq 1 ${n}); do
  ${kernel} mem=${MEMORY} umid=b$i uml_dir=${dir}/uml hostfs=${dir}/rootfs rootfstype=hostfs rootflags=/ ro quiet init=${init} con0=fd:0,fd:1 con=null ssl=null < /dev/null 2>&1 | grep --line-buffered BARE-BOOTED &
done
wait`;
  const t0 = process.hrtime.bigint();
  const child = spawn('unshare', ['--user', '--map-root-user', '--net', '--mount', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let booted = 0;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      booted += chunk.toString().split('BARE-BOOTED').length - 1;
      if (booted >= n) resolve();
    });
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.kill(-child.pid!, 'SIGKILL');
  await execa('pkill', ['-KILL', '-f', `uml_dir=${dir}/uml`], { reject: false });
  return seconds;
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
await execa('bash', [join(ROOT, 'scripts/bundle.sh')]); // not timed: the launcher does it once after a change
const home = mkdtempSync(join(tmpdir(), 'umlab-bench-'));
mkdirSync(home, { recursive: true });
console.log(`umlab up benchmark: VMs of ${MEMORY} on one switch, ${process.getuid?.() === 0 ? 'as root (ip netns)' : 'rootless'}`);
console.log('VMs  bare boot (s)  umlab up (s)  ratio  PSS per idle VM (MiB)  + its link\'s tcpdump (MiB)');
try {
  for (const n of sizes.length ? sizes : [2, 10, 20]) {
    const bareDir = mkdtempSync(join(tmpdir(), 'umlab-bare-'));
    const bare = await bareBoot(n, bareDir);
    rmSync(bareDir, { recursive: true, force: true });
    const up = await umlabUp(n, home);
    console.log(
      `${String(n).padStart(3)}  ${bare.toFixed(2).padStart(13)}  ${up.seconds.toFixed(2).padStart(12)}  ${(up.seconds / bare).toFixed(2).padStart(5)}  ${up.pssMiB.toFixed(1).padStart(21)}  ${up.capturePssMiB.toFixed(1).padStart(28)}`,
    );
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
console.log('targets: ratio <= 1.5; 20 VMs ready < 20 s; < 40 MiB per idle VM');
