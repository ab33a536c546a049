// `umlab up`: boot a lab from its file and show what runs where.
import { basename } from 'node:path';
import type { LabPlan } from '../../topology/plan.ts';
import { DEFAULT_READY_TIMEOUT } from '../../topology/readiness.ts';
import type { LabStatus, ProgressEvent } from '../../client/control.ts';
import { upLab } from '../../runtime/lab.ts';
import { runFiles, umlabHome } from '../../runtime/paths.ts';
import { plural } from '../../util/text.ts';
import { requirePositional, table, type CommandSpec } from '../args.ts';
import { bootTimeoutSeconds, printable } from '../env.ts';
import { describeLines, err, json, out } from '../format.ts';
import { compileLabFile } from '../lab-file.ts';

const up: CommandSpec = {
  name: 'up',
  summary: 'boot a lab: every VM and segment, with a capture on every link',
  usage: 'umlab up <lab.yaml | KATHARA_LAB_DIR> [--name NAME] [--json] [--quiet] [--build-images] [--strict]',
  options: [
    '  --name NAME    run the lab under another name (two copies of one lab side by side)',
    '  --json         print the final status as JSON (progress goes to stderr)',
    '  -q, --quiet    no progress lines',
    '  --build-images build the images a Kathará/Netkit lab needs that are not built yet (root; once)',
    '  --strict       Kathará/Netkit labs: unsupported devices and unknown options are errors',
  ],
  notes: [
    'Returns when every VM has booted, applied its configuration and its `ready:` conditions',
    `hold (each VM's \`ready_timeout\`, default ${DEFAULT_READY_TIMEOUT} s). If any VM fails,`,
    'the lab is rolled back completely and its console tail is shown. As root the lab',
    'runs in `ip netns` umlab-<name>; otherwise in a user+network namespace.',
    'Environment: UMLAB_HOME (state directory), UMLAB_BOOT_TIMEOUT (seconds, default 120).',
  ],
  examples: ['umlab up labs/two-hosts.yaml', 'umlab up labs/two-hosts.yaml --name copy2', 'umlab up labs/router.yaml --json | jq .vms'],
  parse: {
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    name: { type: 'string' },
    strict: { type: 'boolean' },
    'build-images': { type: 'boolean' },
  },
  async run(args) {
    bootTimeoutSeconds(); // the supervisor reads it: refuse a bad value before anything starts
    const plan = await compileLabFile(requirePositional(args, 0, 'lab file', up), args.values.name as string | undefined, {
      strict: Boolean(args.values.strict),
      needImages: true,
      buildImages: Boolean(args.values['build-images']),
    });
    const started = Date.now();
    const quiet = Boolean(args.values.quiet);
    const say = (s: string) => (quiet ? undefined : err(s));
    say(`starting lab ${plan.lab} (${plural(plan.vms.length, 'VM')}, ${plural(plan.segments.length, 'segment')})\n`);
    const status = await upLab(plan, {
      home: umlabHome(),
      onProgress: (e: ProgressEvent) => {
        const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
        if (e.type === 'step') say(`${t}s  ${e.message}\n`);
        if (e.type === 'vm') say(`${t}s  ${e.vm}: ${e.state}${e.detail ? ` (${e.detail})` : ''}\n`);
      },
    });
    say(`lab ${plan.lab} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (args.values.json) json(status);
    else out(printable(describeRunning(plan, status)));
    return 0;
  },
};

function describeRunning(plan: LabPlan, status: LabStatus): string {
  const state = new Map(status.vms.map((v) => [v.name, v]));
  const rows: string[][] = [];
  for (const vm of plan.vms) {
    const s = state.get(vm.name);
    for (const [n, i] of vm.interfaces.entries()) {
      const link = plan.links.find((l) => l.name === i.link);
      rows.push([
        n === 0 ? vm.name : '',
        n === 0 ? `${s?.state ?? '?'}` : '',
        n === 0 ? String(s?.pid ?? '-') : '',
        i.name,
        i.addresses.join(',') || (i.dhcp ? 'dhcp' : '-'),
        link?.segment ?? '-',
        link?.capture ? basename(link.capture) : 'off',
      ]);
    }
    if (vm.interfaces.length === 0) rows.push([vm.name, s?.state ?? '?', String(s?.pid ?? '-'), '-', '-', '-', '-']);
  }
  return (
    table(['VM', 'STATE', 'PID', 'IFACE', 'ADDRESSES', 'SEGMENT', 'CAPTURE'], rows) + `captures: ${runFiles(plan.runDir).captures}\n` + describeLines(plan)
  );
}

export { up as upCommand };
