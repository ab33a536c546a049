// `umlab doctor`'s test boot: a one-VM lab through the normal machinery (upLab, the
// supervisor, exec over the agent line, downLab), in a throwaway UMLAB_HOME so the user's
// labs are untouched, and a check that nothing of it is left afterwards.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabRuntimeError } from '../errors.ts';
import { LabClient } from '../client/lab-client.ts';
import { planContext } from '../runtime/host.ts';
import { downLab, findLab, upLab } from '../runtime/lab.ts';
import { processesOf } from '../vm/processes.ts';
import { netnsExists, netnsName } from '../runtime/namespace.ts';
import { runDirFor, runFiles } from '../runtime/paths.ts';
import { compile } from '../planner/compile.ts';
import { loadLabFile } from '../runtime/lab-reader.ts';
import type { TestBootResult } from './doctor.ts';

export const TEST_LAB = 'doctor';

// No interfaces and no captures: what is tested is the kernel, the init and the agent line.
const LAB_YAML = `# umlab doctor's test boot
name: ${TEST_LAB}
capture: false
vms:
  vm: {}
`;

/** Boots one VM, runs `true` in it, stops it; throws the same errors `up` would. */
export async function testBoot(env: NodeJS.ProcessEnv = process.env): Promise<TestBootResult> {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-doctor-'));
  const home = join(dir, 'home');
  const runDir = runDirFor(home, TEST_LAB);
  // Ctrl-C during the boot: stop the lab first, so no VM outlives doctor.
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    writeFileSync(join(dir, 'lab.yaml'), LAB_YAML);
    const plan = compile(await loadLabFile(join(dir, 'lab.yaml')), planContext(runDir, env));
    let t = Date.now();
    // A short boot timeout: a healthy VM is ready in seconds.
    await upLab(plan, { home, env: { ...env, UMLAB_BOOT_TIMEOUT: env.UMLAB_BOOT_TIMEOUT ?? '60' } });
    const upMs = Date.now() - t;
    let execMs = 0;
    let downMs = 0;
    try {
      if (interrupted) throw new LabRuntimeError('interrupted');
      t = Date.now();
      const reply = await new LabClient(runFiles(runDir).control).execReply('vm', 'true', 30_000);
      execMs = Date.now() - t;
      if (!reply.ok) throw new LabRuntimeError(`exec in the test VM was refused: ${reply.error}`);
      if (reply.exitCode !== 0) throw new LabRuntimeError(`\`true\` exited ${reply.exitCode} in the test VM`);
    } finally {
      t = Date.now();
      await downLab(home, findLab(home, TEST_LAB));
      downMs = Date.now() - t;
    }
    await assertNothingLeft(home, runDir);
    return { upMs, execMs, downMs };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
    // The lab is gone now: end as Ctrl-C would have (130 = 128 + SIGINT).
    if (interrupted) {
      process.stderr.write('umlab doctor: interrupted; the test lab was stopped and removed\n');
      process.exit(130);
    }
  }
}

/** `down` promises nothing is left: doctor checks that promise too. */
async function assertNothingLeft(home: string, runDir: string): Promise<void> {
  const left: string[] = [];
  const pids = processesOf(runDir);
  if (pids.length) left.push(`processes ${pids.join(', ')}`);
  if (existsSync(runDir)) left.push(`run directory ${runDir}`);
  if (process.getuid?.() === 0 && (await netnsExists(netnsName(home, TEST_LAB)))) left.push(`netns ${netnsName(home, TEST_LAB)}`);
  // A rootless lab's namespace dies with its last process; nothing more to look for.
  if (left.length) throw new LabRuntimeError(`the test lab left behind: ${left.join('; ')}`);
}
