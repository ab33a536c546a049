// `umlab status`: running labs, their VMs, lines and links, live from each supervisor.
import type { LinkCaptureFields } from '../../runtime/capture-report.ts';
import type { LinkStatus } from '../../client/control.ts';
import { findLab, listLabs } from '../../runtime/lab.ts';
import { readPlan, runDirFor, umlabHome } from '../../runtime/paths.ts';
import { table, type CommandSpec } from '../args.ts';
import { printable } from '../env.ts';
import { describeLines, json } from '../format.ts';
import { liveStatus } from '../lab-request.ts';

const status: CommandSpec = {
  name: 'status',
  summary: 'list running labs, and per VM its state and pid',
  usage: 'umlab status [NAME] [--json]',
  options: ['  --json         machine-readable output'],
  notes: [
    'VM states: booting, ready, paused (`umlab vm pause`), failed, crashed (exited on its own), stopping, stopped (halted, or powered off from inside).',
    'Links: up, or down when cut with `umlab link down`.',
  ],
  examples: ['umlab status', 'umlab status two-hosts --json'],
  parse: { json: { type: 'boolean' } },
  async run(args) {
    const home = umlabHome();
    const records = args.positionals[0] ? [findLab(home, args.positionals[0])] : listLabs(home);
    const labs = [];
    for (const r of records) {
      const s = await liveStatus(r);
      labs.push({ lab: r.lab, alive: r.alive, phase: r.alive ? (s?.phase ?? 'unknown') : 'dead', status: s });
    }
    if (args.values.json) {
      json(args.positionals[0] ? labs[0] : labs);
      return 0;
    }
    // Names, details and paths come from lab files and VMs: no raw escapes to the terminal.
    const out = (s: string) => process.stdout.write(printable(s));
    if (labs.length === 0) out('no lab is running\n');
    for (const l of labs) {
      out(`lab ${l.lab}: ${l.phase}${l.alive ? '' : ' (its supervisor is gone: run `umlab down ' + l.lab + '` to clean up)'}\n`);
      const vms = (l.status?.vms ?? []).map((v) => [
        v.name,
        l.alive ? v.state : v.state === 'ready' || v.state === 'booting' ? 'crashed' : v.state,
        String(v.pid ?? '-'),
        v.detail ?? '',
      ]);
      if (vms.length)
        out(
          table(
            ['  VM', 'STATE', 'PID', 'DETAIL'],
            vms.map((r) => ['  ' + r[0], ...r.slice(1)]),
          ),
        );
      // Consoles and serial lines reachable from the host (pty, port), from the running lab's plan.
      const plan = l.alive ? readPlan(runDirFor(home, l.lab)) : null;
      if (plan) out(describeLines(plan).replace(/^/gm, '  ').replace(/ +$/, ''));
      const links = (l.alive ? l.status?.links : undefined) ?? [];
      if (links.length)
        out(
          table(
            ['  LINK', 'SEGMENT', 'STATE', 'FRAMES IN', 'FRAMES OUT', 'DETAIL'],
            links.map((k) => ['  ' + k.link, k.segment, k.up ? 'up' : 'down', String(k.rxFrames), String(k.txFrames), linkDetail(k)]),
          ),
        );
    }
    return 0;
  },
};

/** A link's conditions, a dead or restarted passt, and a capture that misses frames (capture-report.ts). */
export function linkDetail(k: LinkStatus & LinkCaptureFields): string {
  const restarted = k.restarts ? `gateway restarted (${k.restarts}x)${k.lastFault ? `, last: ${k.lastFault}` : ''}` : null;
  return [
    ...(k.conditions ?? []).map((c) => `${c.vm}.${c.iface}: ${c.text}`),
    k.fault,
    k.fault ? null : restarted,
    k.captureState && `capture ${k.captureState}${k.captureRestarts ? ` (${k.captureRestarts}x)` : ''}: ${k.captureReason}`,
  ]
    .filter(Boolean)
    .join('; ');
}

export { status as statusCommand };
