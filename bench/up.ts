// Benchmark: time from `umlab up` to ready for N VMs on one switch, against booting
// N bare linux.uml processes with the same root and memory (the limit), and host memory
// per idle VM; each with umlab's default initcall skips (the RAID6 benchmark, zswap) and
// without them (`kernel: { skip_initcalls: [] }`), and the kernel's own time to init
// (the VM's uptime when init starts). Prints ratios against the same run. Not a test.
//
//   bash bench/up.sh            # N = 2 10 20
//   bash bench/up.sh 2 5        # other sizes
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DEFAULT_SKIP_INITCALLS } from '../src/topology/model.ts';
import { bareBoot, pssMiB } from './bare-boot.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
// What a user runs: the launcher, which starts the bundled CLI.
const UMLAB = join(ROOT, 'bin/umlab');
const MEMORY = '128M';

function labYaml(n: number, skip: boolean): string {
  const vms = Array.from(
    { length: n },
    (_, i) => `  h${i + 1}:\n    interfaces: { eth0: { connect: sw0, ip: 10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}/16 } }`,
  );
  const kernel = skip ? '' : 'kernel: { skip_initcalls: [] }\n';
  return `name: bench-${n}\n${kernel}switches: { sw0: {} }\ndefaults: { memory: ${MEMORY} }\nvms:\n${vms.join('\n')}\n`;
}

/** Seconds from `umlab up` to ready, and PSS (MiB) per VM once idle, of the VM and of its link's capture. */
async function umlabUp(n: number, home: string, skip: boolean): Promise<{ seconds: number; pssMiB: number; capturePssMiB: number }> {
  const file = join(home, `bench-${n}.yaml`);
  writeFileSync(file, labYaml(n, skip));
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

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
await execa('bash', [join(ROOT, 'scripts/bundle.sh')]); // not timed: the launcher does it once after a change
const home = mkdtempSync(join(tmpdir(), 'umlab-bench-'));
mkdirSync(home, { recursive: true });
console.log(`umlab up benchmark: VMs of ${MEMORY} on one switch, ${process.getuid?.() === 0 ? 'as root (ip netns)' : 'rootless'}`);
console.log(`skip: kernel argument initcall_blacklist=${DEFAULT_SKIP_INITCALLS.join(',')} (umlab's default); full: no initcall skipped`);
console.log("VMs  boot   kernel to init (s)  bare boot (s)  umlab up (s)  ratio up/bare  PSS per idle VM (MiB)  + its link's tcpdump (MiB)");
const fmt = (x: number, width: number) => x.toFixed(2).padStart(width);
try {
  for (const n of sizes.length ? sizes : [2, 10, 20]) {
    const upBySkip: Record<string, number> = {};
    for (const skip of [false, true]) {
      const bareDir = mkdtempSync(join(tmpdir(), 'umlab-bare-'));
      const bare = await bareBoot(n, bareDir, MEMORY, skip);
      rmSync(bareDir, { recursive: true, force: true });
      const up = await umlabUp(n, home, skip);
      upBySkip[String(skip)] = up.seconds;
      console.log(
        `${String(n).padStart(3)}  ${(skip ? 'skip' : 'full').padEnd(5)}  ${fmt(bare.kernelToInit, 18)}  ${fmt(bare.seconds, 13)}  ${fmt(up.seconds, 12)}  ${fmt(up.seconds / bare.seconds, 13)}  ${up.pssMiB.toFixed(1).padStart(21)}  ${up.capturePssMiB.toFixed(1).padStart(28)}`,
      );
    }
    console.log(`${String(n).padStart(3)}  umlab up, skip against full: ${(upBySkip['true']! / upBySkip['false']!).toFixed(2)}`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
console.log('targets: ratio up/bare <= 1.5; 20 VMs ready < 5 s, 2 VMs < 1.2 s; < 40 MiB per idle VM');
