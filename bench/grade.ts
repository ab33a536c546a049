// Benchmark: grading N copies of the assignment in labs/grading (the solution) with
// `umlab grade --jobs auto`, against what kathara-lab-checker does: one submission at a time,
// a fixed sleep of the convergence time, then every check once. The second way is umlab grade
// too (--jobs 1, every check after a `sleep` check, deadline 0.5 s), so only the strategy
// differs. Prints both times, the ratio and the peak of admitted lab memory. Not a test.
//
//   bash bench/grade.sh            # N = 1 4 12
//   bash bench/grade.sh 2          # other sizes
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const UMLAB = join(ROOT, 'bin/umlab');
const SPEC = join(ROOT, 'labs/grading/spec.yaml');
const SOLUTION = join(ROOT, 'labs/grading/solution.yaml');

/** The spec as the checker runs it: a fixed sleep of `convergence` seconds, then each check once. */
function fixedSleepSpec(convergence: number): string {
  const spec = parse(readFileSync(SPEC, 'utf8')) as { deadline?: string; tests: { name: string; after?: string[] }[] };
  const sleep = { name: 'fixed convergence sleep', points: 0, command: { vm: 'pc1', run: `sleep ${convergence}` } };
  return stringify({ ...spec, deadline: '0.5s', tests: [sleep, ...spec.tests.map((t) => ({ ...t, after: [...(t.after ?? []), sleep.name] }))] });
}

async function grade(home: string, spec: string, klass: string, jobs: string): Promise<{ seconds: number; peakMemoryMiB: number; failed: number }> {
  const started = Date.now();
  const r = await execa(UMLAB, ['grade', spec, klass, '--out', join(home, `out-${jobs}`), '--jobs', jobs, '--timeout', '900', '--json'], {
    env: { UMLAB_HOME: home },
    reject: false,
  });
  // Exit 1 is a check that failed (on a loaded machine a ping can miss its deadline): timed all the same, and counted.
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`umlab grade exited ${r.exitCode}: it could not run\n${r.stderr}\n${r.stdout}`);
  const lines = String(r.stdout)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; passed?: number; total?: number; peakMemoryMiB?: number });
  const failed = lines.filter((l) => l.event === 'done').reduce((n, l) => n + (l.total ?? 0) - (l.passed ?? 0), 0);
  return { seconds: (Date.now() - started) / 1000, peakMemoryMiB: lines.at(-1)!.peakMemoryMiB ?? 0, failed };
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const convergence = Number(String(parse(readFileSync(SPEC, 'utf8')).deadline).replace(/s$/, ''));
  for (const n of sizes.length ? sizes : [1, 4, 12]) {
    const home = mkdtempSync(join(tmpdir(), 'umlab-bench-grade-'));
    try {
      const klass = join(home, 'class');
      for (let i = 1; i <= n; i++) {
        mkdirSync(join(klass, `student${i}`), { recursive: true });
        cpSync(SOLUTION, join(klass, `student${i}`, 'lab.yaml'));
      }
      writeFileSync(join(home, 'fixed-sleep.yaml'), fixedSleepSpec(convergence));
      const parallel = await grade(home, SPEC, klass, 'auto');
      const sequential = await grade(home, join(home, 'fixed-sleep.yaml'), klass, '1');
      const ratio = sequential.seconds / parallel.seconds;
      const failures =
        parallel.failed + sequential.failed
          ? ` (checks failed: ${parallel.failed} with --jobs auto, ${sequential.failed} one at a time; load ${loadavg()[0]!.toFixed(1)})`
          : '';
      console.log(
        `N=${n}: --jobs auto ${parallel.seconds.toFixed(1)} s (peak lab memory ${parallel.peakMemoryMiB} MiB); one at a time with a ${convergence} s sleep ${sequential.seconds.toFixed(1)} s; ${ratio.toFixed(2)}x${failures}`,
      );
    } finally {
      await execa(UMLAB, ['down', '--all'], { env: { UMLAB_HOME: home }, reject: false });
      rmSync(home, { recursive: true, force: true });
    }
  }
}

await main();
