// Output helpers shared by the CLI commands: stdout/stderr writers, JSON, and how a plan's
// VMs, segments, consoles and serial lines are described to people.
import { linkOf, linkTable, type LabPlan, type LinePlan } from '../topology/plan.ts';
import { runFiles } from '../runtime/paths.ts';
import { shellQuote } from '../vm/init.ts';
import { printable } from './env.ts';
import { table } from './args.ts';

export const out = (s: string) => process.stdout.write(s);
export const err = (s: string) => process.stderr.write(s);
export const json = (v: unknown) => out(JSON.stringify(v, null, 2) + '\n');

export function describePlan(plan: LabPlan): string {
  const links = linkTable(plan.links);
  const lines = [`lab ${plan.lab}${plan.description ? ` — ${printable(plan.description, true)}` : ''}`, `run directory: ${plan.runDir}`, ''];
  for (const vm of plan.vms) {
    lines.push(`VM ${vm.name} (${vm.memory}):`);
    const env = Object.entries(vm.env ?? {})
      .map(([k, v]) => `${k}=${shellQuote(v)} `)
      .join('');
    if (env) lines.push(`  # ${Object.keys(vm.env).join(', ')}: umlab's share guard, and its register fix where this CPU needs it (docs/kernel.md)`);
    lines.push('  ' + env + vm.argv.map(shellQuote).join(' \\\n      '));
    for (const l of vm.lines) lines.push(`  ${l.name} (${l.device}) ${l.umlArg} -> ${lineTarget(l)}`);
    for (const i of vm.interfaces) lines.push(`  ${i.name} ${i.mac} ${i.addresses.join(' ') || (i.dhcp ? 'dhcp' : '-')} -> ${linkOf(links, i.link).segment}`);
    if (vm.image) lines.push(`  root /dev/ubda: ${vm.image} through the copy-on-write file ${vm.rootCow} (kept until umlab clean)`);
    for (const d of vm.disks) lines.push(`  disk ${d.guestDevice}: ${d.file} (${d.size}, sparse, kept until umlab clean)`);
    for (const sh of vm.shares) lines.push(`  share ${sh.mountPoint} <- ${sh.hostPath} (${sh.rw ? 'read-write' : 'read-only'}, hostfs)`);
    if (vm.ready.length) lines.push(`  ready when (in order, within ${vm.readyTimeout} s of startup):`);
    for (const r of vm.ready) lines.push(`    ${r.condition}: ${r.command}`);
    lines.push('');
  }
  for (const seg of plan.segments) {
    lines.push(`segment ${seg.name} (${seg.kind}, engine ${seg.engine}):`);
    for (const n of seg.needs) lines.push(`  needs: ${n}`);
    for (const p of seg.ports)
      lines.push(
        `  port ${p.vm}.${p.iface}${p.enginePort ? ` udp ${p.enginePort}<->${p.vmPort}` : ''}${p.device ? ` veth ${p.device}` : ''} capture ${linkOf(links, p.link).capture ?? 'off'}`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

/** Where a console or serial line goes, for people. */
export function lineTarget(l: LinePlan): string {
  const log = l.name === 'con0' ? `log ${l.log}, umlab console` : `log ${l.log}`;
  if (l.to === 'pty') return `pty ${l.pty} (${log})`;
  if (l.to === 'port') return `telnet 127.0.0.1 ${l.port} (${log})`;
  if (l.to === 'vm') return `${l.peer!.vm}.${l.peer!.line} (${log})`;
  return log;
}

/** The consoles and serial lines a user reaches from the host (pty, port), after `up`. */
export function describeLines(plan: LabPlan): string {
  const rows = plan.vms.flatMap((vm) =>
    vm.lines.filter((l) => l.to !== 'log' || l.name !== 'con0').map((l) => [vm.name, l.name, l.device, lineTarget(l).replace(/ \(.*\)$/, '')]),
  );
  const keyNote = plan.vms.some((vm) => vm.lines.some((l) => l.to === 'port'))
    ? `telnet clients type the lab's line key first: it is in ${runFiles(plan.runDir).lineKey} (yours only)\n`
    : '';
  return rows.length ? table(['VM', 'LINE', 'IN THE VM', 'ON THE HOST'], rows) + keyNote : '';
}
