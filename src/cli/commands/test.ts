// `umlab test`: run a lab's checks (its `tests:` section) and compare it with its recorded
// signature. Brings the lab up unless it already runs, and takes down what it started.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../../errors.ts';
import { LabClient } from '../../client/lab-client.ts';
import { planContext } from '../../runtime/host.ts';
import { bootTimeoutSeconds } from '../env.ts';
import { downLab, listLabs, upLab } from '../../runtime/lab.ts';
import { readPlan, runDirFor, runFiles, umlabHome } from '../../runtime/paths.ts';
import { compile } from '../../planner/compile.ts';
import { loadLab } from '../lab-file.ts';
import type { LabPlan } from '../../topology/plan.ts';
import type { CheckResult } from '../../checks/evaluate.ts';
import { junitXml } from '../../checks/junit.ts';
import type { ExecFn } from '../../checks/probes.ts';
import { labCheckEnv } from '../../checks/lab-env.ts';
import { runChecks } from '../../checks/run.ts';
import { collectSignature, diffSignatures, type LabSignature } from '../../checks/signature.ts';
import { requirePositional, type CommandSpec } from '../args.ts';

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

/** labs/x.yaml -> labs/x.signature.json */
export const signaturePathFor = (labFile: string) => labFile.replace(/\.ya?ml$/, '') + '.signature.json';

function execThrough(plan: LabPlan): ExecFn {
  const client = new LabClient(runFiles(plan.runDir).control);
  return (vm, command, timeoutMs) => client.execText(vm, command, timeoutMs);
}

function formatResult(r: CheckResult): string {
  const label = { pass: 'PASS ', fail: 'FAIL ', error: 'ERROR' }[r.status];
  const lines = [`${label} ${r.name}: ${r.message}`];
  if (r.status !== 'pass') {
    for (const c of r.commands) lines.push(`        ran ${c.split('\n')[0]}${c.includes('\n') ? ' ...' : ''}`);
    if (r.detail)
      lines.push(
        ...r.detail
          .trimEnd()
          .split('\n')
          .slice(0, 30)
          .map((l) => `        | ${l}`),
      );
  }
  return lines.join('\n') + '\n';
}

export const testCmd: CommandSpec = {
  name: 'test',
  summary: "run a lab's checks (its tests: section) and compare it with its recorded signature",
  usage: 'umlab test <lab.yaml> [--record] [--junit FILE] [--json] [--keep]',
  options: [
    "  --record       store the running lab's signature in <lab>.signature.json (no checks are run)",
    '  --junit FILE   also write the results as JUnit XML to FILE',
    '  --json         print the results as JSON instead of one line per check',
    '  --keep         leave the lab running afterwards when this command started it',
    '  --build-images a Kathará/Netkit lab directory: build the images it needs first (root; once)',
    '  --strict       a Kathará/Netkit lab directory: unsupported devices and unknown options are errors',
  ],
  notes: [
    'Uses the lab when one of that name is already running; otherwise brings it up and takes it',
    'down afterwards (also on failure and Ctrl-C). Checks without `after:` run in parallel;',
    'capture checks run last and look at the frames captured since the run began.',
    'When <lab>.signature.json exists, the signature is compared as one more check.',
    'Exit code 0 when every check passed, 1 when one failed or could not run (ERROR).',
    'Check kinds and the signature: docs/testing.md.',
  ],
  examples: ['umlab test labs/two-hosts.yaml', 'umlab test labs/firewall/lab.yaml --junit results.xml', 'umlab test labs/static-routing/lab.yaml --record'],
  parse: {
    record: { type: 'boolean' },
    junit: { type: 'string' },
    json: { type: 'boolean' },
    keep: { type: 'boolean' },
    strict: { type: 'boolean' },
    'build-images': { type: 'boolean' },
  },
  async run(args) {
    bootTimeoutSeconds(); // checked before any lab starts
    const file = requirePositional(args, 0, 'lab file', testCmd);
    const lab = await loadLab(file, { strict: Boolean(args.values.strict), needImages: true, buildImages: Boolean(args.values['build-images']) });
    const home = umlabHome();
    const quiet = Boolean(args.values.json);
    if (!args.values.record && lab.tests.length === 0 && !existsSync(signaturePathFor(file)))
      throw new UsageError(`${file} has no tests: section and no recorded signature: nothing to test`, {
        hint: `add checks (docs/testing.md), or record a signature: umlab test ${file} --record`,
      });

    const running = listLabs(home).find((l) => l.lab === lab.name && l.alive);
    let plan: LabPlan;
    let started = false;
    if (running) {
      plan = readPlan(running.runDir);
      if (!quiet) err(`using the running lab ${lab.name}\n`);
    } else {
      plan = compile(lab, planContext(runDirFor(home, lab.name)));
      if (!quiet) err(`starting lab ${lab.name} (${plan.vms.length} VMs)\n`);
      await upLab(plan, { home });
      started = true;
    }
    const takeDown = async () => {
      if (!started || args.values.keep) return;
      started = false;
      const record = listLabs(home).find((l) => l.lab === lab.name);
      if (record) await downLab(home, record);
    };
    // Ctrl-C while checks run: take the lab down first, then exit as interrupted.
    const onSignal = (signal: NodeJS.Signals) => {
      void takeDown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const exec = execThrough(plan);
      if (args.values.record) {
        const signature = await collectSignature(
          lab.name,
          plan.vms.map((v) => v.name),
          exec,
        );
        writeFileSync(signaturePathFor(file), JSON.stringify(signature, null, 2) + '\n');
        if (!quiet) out(`recorded the signature of ${lab.name} in ${signaturePathFor(file)}\n`);
        else out(JSON.stringify({ lab: lab.name, signature: signaturePathFor(file) }, null, 2) + '\n');
        return 0;
      }
      const results = await runChecks(lab.tests, labCheckEnv(lab, plan, exec, Date.now() * 1000), {
        onResult: (r) => (quiet ? undefined : out(formatResult(r))),
      });
      const signatureFile = signaturePathFor(file);
      if (existsSync(signatureFile)) {
        const result = await compareSignature(signatureFile, lab.name, plan, exec);
        results.push(result);
        if (!quiet) out(formatResult(result));
      }
      const failed = results.filter((r) => r.status === 'fail').length;
      const errors = results.filter((r) => r.status === 'error').length;
      if (args.values.junit) writeFileSync(args.values.junit as string, junitXml(lab.name, results));
      if (quiet) out(JSON.stringify({ lab: lab.name, passed: results.length - failed - errors, failed, errors, results }, null, 2) + '\n');
      else out(`${lab.name}: ${results.length - failed - errors} passed, ${failed} failed${errors ? `, ${errors} could not run` : ''}\n`);
      return failed + errors > 0 ? 1 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await takeDown();
    }
  },
};

async function compareSignature(file: string, labName: string, plan: LabPlan, exec: ExecFn): Promise<CheckResult> {
  const started = Date.now();
  const base = { name: 'signature', kind: 'signature' as const, commands: [] };
  try {
    const recorded = JSON.parse(readFileSync(file, 'utf8')) as LabSignature;
    const current = await collectSignature(
      labName,
      plan.vms.map((v) => v.name),
      exec,
    );
    const diff = diffSignatures(recorded, current);
    const durationMs = Date.now() - started;
    if (diff.length === 0) return { ...base, status: 'pass', message: `matches ${file}`, durationMs };
    return { ...base, status: 'fail', message: `differs from ${file} (- recorded, + now)`, detail: diff.join('\n'), durationMs };
  } catch (error) {
    return { ...base, status: 'error', message: `could not compare with ${file}: ${(error as Error).message}`, durationMs: Date.now() - started };
  }
}
