// Entry point of a lab's supervisor process, started by `umlab up` inside the lab's
// namespaces:  node --import tsx supervisor-main.ts <runDir> <mode>
import { readPlan } from './paths.ts';
import { Supervisor } from './supervisor.ts';
import { LINE_FDS_ENV, parseLineFds } from '../vm/lines.ts';

process.stdout.on('error', () => {}); // supervisor.log on a full disk: see Supervisor.log()
process.umask(0o077); // every file and directory of the lab is the owner's alone (captures, logs, control.sock)
const [runDir, mode] = process.argv.slice(2);
if (!runDir || (mode !== 'netns' && mode !== 'userns')) {
  console.error('usage: supervisor-main.ts <runDir> <netns|userns>');
  process.exit(2);
}
const plan = readPlan(runDir);
const supervisor = new Supervisor(plan, {
  mode,
  bootTimeoutMs: Number(process.env.UMLAB_BOOT_TIMEOUT ?? 120) * 1000,
  lineFds: parseLineFds(process.env[LINE_FDS_ENV]),
});

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => {
    void supervisor.teardown().finally(() => process.exit(0));
  });
}

supervisor.start().catch((err) => {
  console.error(`lab ${plan.lab} failed to start: ${err instanceof Error ? err.message : err}`);
  // Give watchers a moment to read the failure event before the socket goes away.
  setTimeout(() => process.exit(1), 200);
});
