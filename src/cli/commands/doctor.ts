// `umlab doctor`: checks what umlab needs on this machine (src/host/doctor.ts), one line per
// check with the exact fix under each problem, and a real test boot of one VM.
import { ExitCode } from '../../errors.ts';
import { failed, runChecks, type CheckResult } from '../../host/doctor.ts';
import { realProbe } from '../../host/doctor-probe.ts';
import type { CommandSpec } from '../args.ts';

const STATUS_WIDTH = 8;
const NAME_WIDTH = 28;

/** One check as text: `status  name  detail`, further detail lines and the fix indented under it. */
export function formatResult(r: CheckResult): string {
  const [first, ...more] = r.detail.split('\n');
  const pad = ' '.repeat(STATUS_WIDTH + NAME_WIDTH + 4);
  const lines = [`${r.status.padEnd(STATUS_WIDTH)}  ${r.name.padEnd(NAME_WIDTH)}  ${first}`, ...more.map((l) => pad + l)];
  if (r.fix && r.status !== 'ok') lines.push(`${' '.repeat(STATUS_WIDTH + 2)}fix: ${r.fix}`);
  return lines.join('\n') + '\n';
}

export function summary(results: CheckResult[], ms: number): string {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const problems = results.filter(failed);
  const counts = (['ok', 'warn', 'missing', 'broken', 'skipped'] as const)
    .filter((s) => count(s))
    .map((s) => `${count(s)} ${s}`)
    .join(', ');
  const verdict = problems.length
    ? `${problems.length} problem${problems.length === 1 ? '' : 's'} (${problems.map((r) => r.id).join(', ')}): run the fix lines above`
    : 'umlab can run labs here';
  return `${verdict}; ${counts}; checked in ${(ms / 1000).toFixed(1)} s\n`;
}

export const doctorCommand: CommandSpec = {
  name: 'doctor',
  summary: 'check this machine: packages, the UML kernel, registers, namespaces, mounts, memory, a test boot',
  usage: 'umlab doctor [--json] [--no-boot]',
  options: [
    '  --json         print {ok, checks: [{id, name, status, detail, fix?, ms?}]}',
    '  --no-boot      skip the test boot of one VM (the other checks take well under a second)',
  ],
  notes: [
    'Each check says ok, warn, missing, broken or skipped, and under every problem the exact',
    'command that fixes it. The test boot starts a one-VM lab in a temporary UMLAB_HOME (your',
    'labs are untouched), runs `true` in it, stops it and checks nothing of it is left.',
    'Exit code 0 when nothing is missing or broken (warnings are fine), 5 otherwise.',
    'What each check means: docs/doctor.md.',
  ],
  examples: ['umlab doctor', 'umlab doctor --no-boot', 'umlab doctor --json | jq \'.checks[] | select(.status != "ok")\''],
  parse: { json: { type: 'boolean' }, 'no-boot': { type: 'boolean' } },
  allowPositionals: false,
  async run(args) {
    const asJson = Boolean(args.values.json);
    const started = Date.now();
    const probe = realProbe({ boot: !args.values['no-boot'] });
    // Text streams a line per check: the test boot takes a few seconds.
    const results = await runChecks(probe, undefined, (r) => {
      if (!asJson) process.stdout.write(formatResult(r));
    });
    const ok = !results.some(failed);
    if (asJson) process.stdout.write(JSON.stringify({ ok, checks: results }, null, 2) + '\n');
    else process.stdout.write(`\n${summary(results, Date.now() - started)}`);
    return ok ? ExitCode.ok : ExitCode.missingDependency;
  },
};
