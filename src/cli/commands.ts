// Every `umlab` command: a thin layer over topology/ (lab files) and runtime/ (labs).
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { readCapture } from '../capture/decode.ts';
import { NotFoundError, UsageError } from '../errors.ts';
import { compile } from '../topology/compile.ts';
import { loadLabFile } from '../topology/load.ts';
import type { LabPlan, LinePlan } from '../topology/plan.ts';
import { ask, type ExecReply, type LabStatus, type ProgressEvent } from '../runtime/control.ts';
import { planContext } from '../runtime/host.ts';
import { downLab, findLab, listLabs, upLab, type LabRecord } from '../runtime/lab.ts';
import { disksDirFor, readPlan, runDirFor, runFiles, umlabHome } from '../runtime/paths.ts';
import { shellQuote } from '../vm/init.ts';
import { commandFromArgv } from '../vm/agent-protocol.ts';
import { checkLabName, table, requirePositional, type CommandSpec } from './args.ts';
import { attachConsole, DETACH_KEY_NAME } from './console.ts';
import { testCmd } from './test-command.ts';
import { cleanCommand, diskCommand, imageCommand } from './disk-commands.ts';
import { labDisks } from '../runtime/disks.ts';
import { webCommand } from './web-command.ts';
import { doctorCommand } from './doctor-command.ts';
import { linkCommand, vmCommand } from './vm-commands.ts';
import { askLab, refusalError } from './lab-request.ts';
import { bootTimeoutSeconds, printable } from './env.ts';
import { plural } from '../util/text.ts';

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);
const json = (v: unknown) => out(JSON.stringify(v, null, 2) + '\n');

/** Loads and compiles a lab file; `name` runs a second copy of a lab under another name. */
export async function compileLabFile(file: string, name?: string): Promise<LabPlan> {
  const lab = await loadLabFile(file);
  if (name !== undefined) {
    lab.name = checkLabName(name);
  }
  return compile(lab, planContext(runDirFor(umlabHome(), lab.name)));
}

const validate: CommandSpec = {
  name: 'validate',
  summary: 'check a lab file and report every problem with file:line:col',
  usage: 'umlab validate <lab.yaml> [--json]',
  options: ['  --json         print {"ok": true} or {"ok": false, "errors": [...]}'],
  examples: ['umlab validate labs/two-hosts.yaml', 'umlab validate labs/*.yaml'],
  notes: ['Exit code 0 when every file is valid, 3 when one is not.'],
  parse: { json: { type: 'boolean' } },
  async run(args) {
    if (args.positionals.length === 0) throw new UsageError('missing lab file', { hint: 'usage: umlab validate <lab.yaml>' });
    let failed = 0;
    const results: unknown[] = [];
    for (const file of args.positionals) {
      try {
        const lab = await loadLabFile(file);
        results.push({ file, ok: true, lab: lab.name });
        if (!args.values.json) out(`${file}: ok (lab ${lab.name}: ${plural(lab.vms.length, 'VM')}, ${plural(lab.segments.length, 'segment')})\n`);
      } catch (e) {
        if (!(e instanceof Error && 'diagnostics' in e) || !args.values.json) throw e;
        failed++;
        results.push({ file, ok: false, errors: (e as { diagnostics: unknown }).diagnostics });
      }
    }
    if (args.values.json) json(args.positionals.length === 1 ? results[0] : results);
    return failed ? 3 : 0;
  },
};

const compileCmd: CommandSpec = {
  name: 'compile',
  summary: 'show the plan of a lab: the UML command line of every VM, engines, captures',
  usage: 'umlab compile <lab.yaml> [--json]',
  options: ['  --json         print the whole plan as JSON (what `umlab up` runs)'],
  examples: ['umlab compile labs/two-hosts.yaml', 'umlab compile labs/router.yaml --json | jq ".vms[0].argv"'],
  parse: { json: { type: 'boolean' } },
  async run(args) {
    const plan = await compileLabFile(requirePositional(args, 0, 'lab file', compileCmd));
    if (args.values.json) json(plan);
    else out(printable(describePlan(plan)));
    return 0;
  },
};

export function describePlan(plan: LabPlan): string {
  const lines = [`lab ${plan.lab}${plan.description ? ` — ${printable(plan.description, true)}` : ''}`, `run directory: ${plan.runDir}`, ''];
  for (const vm of plan.vms) {
    lines.push(`VM ${vm.name} (${vm.memory}):`);
    const env = Object.entries(vm.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `).join('');
    if (env) lines.push(`  # ${Object.keys(vm.env).join(', ')}: umlab's share guard, and its register fix where this CPU needs it (docs/kernel.md)`);
    lines.push('  ' + env + vm.argv.map(shellQuote).join(' \\\n      '));
    for (const l of vm.lines) lines.push(`  ${l.name} (${l.device}) ${l.umlArg} -> ${lineTarget(l)}`);
    for (const i of vm.interfaces) lines.push(`  ${i.name} ${i.mac} ${i.addresses.join(' ') || (i.dhcp ? 'dhcp' : '-')} -> ${i.segment}`);
    if (vm.image) lines.push(`  root /dev/ubda: ${vm.image} through the copy-on-write file ${vm.rootCow} (kept until umlab clean)`);
    for (const d of vm.disks) lines.push(`  disk ${d.guestDevice}: ${d.file} (${d.size}, sparse, kept until umlab clean)`);
    for (const sh of vm.shares) lines.push(`  share ${sh.mountPoint} <- ${sh.hostPath} (${sh.rw ? 'read-write' : 'read-only'}, hostfs)`);
    lines.push('');
  }
  for (const seg of plan.segments) {
    lines.push(`segment ${seg.name} (${seg.kind}, engine ${seg.engine}):`);
    for (const n of seg.needs) lines.push(`  needs: ${n}`);
    for (const p of seg.ports)
      lines.push(`  port ${p.vm}.${p.iface}${p.enginePort ? ` udp ${p.enginePort}<->${p.vmPort}` : ''}${p.device ? ` veth ${p.device}` : ''} capture ${p.capture ?? 'off'}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Where a console or serial line goes, for people. */
function lineTarget(l: LinePlan): string {
  const log = l.name === 'con0' ? `log ${l.log}, umlab console` : `log ${l.log}`;
  if (l.to === 'pty') return `pty ${l.pty} (${log})`;
  if (l.to === 'port') return `telnet 127.0.0.1 ${l.port} (${log})`;
  if (l.to === 'vm') return `${l.peer!.vm}.${l.peer!.line} (${log})`;
  return log;
}

/** The consoles and serial lines a user reaches from the host (pty, port), after `up`. */
function describeLines(plan: LabPlan): string {
  const rows = plan.vms.flatMap((vm) =>
    vm.lines.filter((l) => l.to !== 'log' || l.name !== 'con0').map((l) => [vm.name, l.name, l.device, lineTarget(l).replace(/ \(.*\)$/, '')]),
  );
  const keyNote = plan.vms.some((vm) => vm.lines.some((l) => l.to === 'port'))
    ? `telnet clients type the lab's line key first: it is in ${runFiles(plan.runDir).lineKey} (yours only)\n`
    : '';
  return rows.length ? table(['VM', 'LINE', 'IN THE VM', 'ON THE HOST'], rows) + keyNote : '';
}

const up: CommandSpec = {
  name: 'up',
  summary: 'boot a lab: every VM, switch and hub, with a capture on every link',
  usage: 'umlab up <lab.yaml> [--name NAME] [--json] [--quiet]',
  options: [
    '  --name NAME    run the lab under another name (two copies of one lab side by side)',
    '  --json         print the final status as JSON (progress goes to stderr)',
    '  -q, --quiet    no progress lines',
  ],
  notes: [
    'Returns when every VM has booted and applied its configuration. If any VM fails,',
    'the lab is rolled back completely and its console tail is shown. As root the lab',
    'runs in `ip netns` umlab-<name>; otherwise in a user+network namespace.',
    'Environment: UMLAB_HOME (state directory), UMLAB_BOOT_TIMEOUT (seconds, default 120).',
  ],
  examples: ['umlab up labs/two-hosts.yaml', 'umlab up labs/two-hosts.yaml --name copy2', 'umlab up labs/router.yaml --json | jq .vms'],
  parse: { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, name: { type: 'string' } },
  async run(args) {
    bootTimeoutSeconds(); // the supervisor reads it: refuse a bad value before anything starts
    const plan = await compileLabFile(requirePositional(args, 0, 'lab file', up), args.values.name as string | undefined);
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
        i.segment,
        link?.capture ? basename(link.capture) : 'off',
      ]);
    }
    if (vm.interfaces.length === 0) rows.push([vm.name, s?.state ?? '?', String(s?.pid ?? '-'), '-', '-', '-', '-']);
  }
  return (
    table(['VM', 'STATE', 'PID', 'IFACE', 'ADDRESSES', 'SEGMENT', 'CAPTURE'], rows) +
    `captures: ${runFiles(plan.runDir).captures}\n` +
    describeLines(plan)
  );
}

const down: CommandSpec = {
  name: 'down',
  summary: 'stop a lab and remove everything of it (captures are kept)',
  usage: 'umlab down [NAME] [--all] [--json]',
  options: ['  --all          stop every lab', '  --json         print {lab, archive} as JSON'],
  notes: [
    'Halts the VMs, stops the engines, flushes the captures and moves them (with the',
    'console logs) to $UMLAB_HOME/captures/<lab>-<time>/. Also cleans up after a',
    'supervisor that was killed. NAME may be left out when exactly one lab runs.',
    'Disks (data disks, COW files of image VMs) stay in $UMLAB_HOME/disks/<lab>/ for the',
    'next `up`; `umlab clean NAME` removes them.',
  ],
  examples: ['umlab down two-hosts', 'umlab down', 'umlab down --all'],
  parse: { all: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args) {
    const home = umlabHome();
    const records: LabRecord[] = args.values.all ? listLabs(home) : [findLab(home, args.positionals[0])];
    const results = [];
    for (const record of records) {
      const result = await downLab(home, record);
      results.push(result);
      if (!args.values.json) out(`lab ${result.lab} stopped${result.archive ? `; captures and console logs kept in ${result.archive}` : ''}\n`);
      for (const c of args.values.json ? [] : result.incompleteCaptures)
        out(`  ${basename(c.capture)} is incomplete: ${c.reason}${c.missingFrames ? ` (${c.missingFrames} frames missing)` : ''}\n`);
      if (!args.values.json && labDisks(home, result.lab).length) out(`its disks are kept for the next up in ${disksDirFor(home, result.lab)} (umlab clean ${result.lab} drops them)\n`);
    }
    if (args.values.json) json(args.values.all ? results : results[0]);
    return 0;
  },
};

async function liveStatus(record: LabRecord): Promise<LabStatus | null> {
  if (!record.alive) return record.state;
  try {
    const r = await ask<{ ok: boolean; status: LabStatus }>(runFiles(record.runDir).control, { op: 'status' });
    return r.status;
  } catch {
    return record.state;
  }
}

const status: CommandSpec = {
  name: 'status',
  summary: 'list running labs, and per VM its state and pid',
  usage: 'umlab status [NAME] [--json]',
  options: ['  --json         machine-readable output'],
  notes: [
    'VM states: booting, ready, paused (`umlab vm pause`), failed, crashed (exited on its own), stopping, stopped.',
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
      labs.push({ lab: r.lab, alive: r.alive, phase: r.alive ? s?.phase ?? 'unknown' : 'dead', status: s });
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
      if (vms.length) out(table(['  VM', 'STATE', 'PID', 'DETAIL'], vms.map((r) => ['  ' + r[0], ...r.slice(1)])));
      // Consoles and serial lines reachable from the host (pty, port), from the running lab's plan.
      const plan = l.alive ? readPlan(runDirFor(home, l.lab)) : null;
      if (plan) out(describeLines(plan).replace(/^/gm, '  ').replace(/ +$/, ''));
      const links = (l.alive ? l.status?.links : undefined) ?? [];
      if (links.length)
        out(
          table(
            ['  LINK', 'SEGMENT', 'STATE', 'FRAMES IN', 'FRAMES OUT', 'DETAIL'],
            // A dead passt (fault) or a capture that misses frames (capture-report.ts), said here too.
            links.map((k: (typeof links)[number] & { fault?: string | null; captureState?: string; captureReason?: string; captureRestarts?: number }) => [
              '  ' + k.link, k.segment, k.up ? 'up' : 'down', String(k.rxFrames), String(k.txFrames),
              [k.fault, k.captureState && `capture ${k.captureState}${k.captureRestarts ? ` (${k.captureRestarts}x)` : ''}: ${k.captureReason}`].filter(Boolean).join('; '),
            ]),
          ),
        );
    }
    return 0;
  },
};

const exec: CommandSpec = {
  name: 'exec',
  summary: "run a command in a VM over its out-of-band agent line (works while the VM's firewall drops everything)",
  usage: 'umlab exec [--lab NAME] [--json] [--timeout SEC] VM -- CMD [ARG...]',
  options: [
    '  --lab NAME     the lab (may be left out when exactly one lab runs)',
    '  --json         print {exitCode, stdout, stderr} instead of passing them through',
    '  --timeout SEC  give up after SEC seconds (exit code 124)',
  ],
  notes: [
    "The command's stdout, stderr and exit code become umlab's own. One argument is a",
    'shell command line (`umlab exec h1 -- "ip route; ip addr"`); several are quoted',
    'word by word.',
  ],
  examples: ['umlab exec h1 -- ping -c1 10.0.0.2', 'umlab exec --lab two-hosts h2 -- "ip -br addr"', 'umlab exec h1 --json -- cat /etc/hosts'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' } },
  async run(args) {
    const vm = requirePositional(args, 0, 'VM name', exec);
    if (args.rest.length === 0) throw new UsageError('missing the command to run', { hint: 'usage: umlab exec VM -- CMD [ARG...]' });
    const timeoutMs = args.values.timeout ? Number(args.values.timeout) * 1000 : undefined;
    const reply = await askLab<ExecReply>(args.values.lab as string | undefined, { op: 'exec', vm, command: commandFromArgv(args.rest, shellQuote), timeoutMs });
    if (!reply.ok) {
      if (reply.code === 'timeout') {
        err(`umlab: ${reply.error}\n`);
        return 124; // as timeout(1)
      }
      throw refusalError(reply);
    }
    const stdout = Buffer.from(reply.stdout, 'base64');
    const stderr = Buffer.from(reply.stderr, 'base64');
    if (args.values.json) json({ vm, exitCode: reply.exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
    else {
      process.stdout.write(stdout);
      process.stderr.write(stderr);
    }
    return reply.exitCode;
  },
};

const consoleCmd: CommandSpec = {
  name: 'console',
  summary: "attach the terminal to a VM's console",
  usage: 'umlab console [--lab NAME] VM',
  options: ['  --lab NAME     the lab (may be left out when exactly one lab runs)'],
  notes: [
    `Detach with ${DETACH_KEY_NAME}. Every console is also logged to <run dir>/vms/<VM>/console.log.`,
  ],
  examples: ['umlab console h1', 'umlab console --lab router r1'],
  parse: { lab: { type: 'string' } },
  async run(args) {
    const vm = requirePositional(args, 0, 'VM name', consoleCmd);
    const record = findLab(umlabHome(), args.values.lab as string | undefined);
    await attachConsole(runFiles(record.runDir).control, vm);
    return 0;
  },
};

const capture: CommandSpec = {
  name: 'capture',
  summary: 'list the captured links of a lab, or show the frames of one',
  usage: 'umlab capture list [--lab NAME] [--json] | umlab capture show [--lab NAME] [--json] LINK',
  options: ['  --lab NAME     the lab (may be left out when exactly one lab runs)', '  --json         machine-readable output'],
  notes: ['LINK is a link name from `capture list` (e.g. h1.eth0), or a pcap file path.'],
  examples: ['umlab capture list', 'umlab capture show h1.eth0', 'umlab capture show --json r1.eth1--r2.eth0 | jq ".[].summary"'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' } },
  async run(args) {
    const sub = requirePositional(args, 0, 'list or show', capture);
    if (sub === 'show' && args.positionals[1] && existsSync(args.positionals[1]) && args.positionals[1].endsWith('.pcap'))
      return showFrames(args.positionals[1], Boolean(args.values.json));
    const record = findLab(umlabHome(), args.values.lab as string | undefined);
    const status = await liveStatus(record);
    const links = status?.links ?? [];
    if (sub === 'list') {
      if (args.values.json) json(links);
      else
        out(
          table(
            ['LINK', 'SEGMENT', 'FRAMES IN', 'FRAMES OUT', 'CAPTURE'],
            links.map((l) => [l.link, l.segment, String(l.rxFrames), String(l.txFrames), l.capture ?? 'off']),
          ),
        );
      return 0;
    }
    if (sub !== 'show') throw new UsageError(`unknown capture subcommand ${sub}`, { hint: `usage: ${capture.usage}` });
    const name = requirePositional(args, 1, 'link name', capture);
    const link = links.find((l) => l.link === name) ?? links.find((l) => l.link.split('--').includes(name));
    if (!link) throw new NotFoundError(`no link ${name} in lab ${record.lab}`, { hint: `links: ${links.map((l) => l.link).join(', ')}` });
    if (!link.capture) throw new NotFoundError(`capture is off for link ${link.link}`);
    return showFrames(link.capture, Boolean(args.values.json));
  },
};

async function showFrames(path: string, asJson: boolean): Promise<number> {
  const frames = await readCapture(path);
  if (asJson) json(frames);
  else for (const f of frames) out(f.summary + '\n');
  return 0;
}

export const COMMANDS: CommandSpec[] = [validate, compileCmd, up, down, status, exec, consoleCmd, capture, vmCommand, linkCommand, webCommand, testCmd, cleanCommand, diskCommand, imageCommand, doctorCommand];
