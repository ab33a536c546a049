// The processes a lab started, so that `down` kills those and nothing else. Whoever spawns a
// long-lived process for a lab (the CLI: supervisor, passt keeper, tap holder and tcpdumps; the
// supervisor: VMs, tcpdumps) appends "<pid> <start time> <kind>" to <runDir>/pids. The start time
// (field 22 of /proc/<pid>/stat) tells the process from a later one that got its pid.
//
// Cleanup kills the recorded processes that still match, every descendant of them (UML's
// helpers, passt under its keeper, tcpdump under the supervisor...), and, for entries of kind
// "group", the members of their process group: a VM killed with the supervisor leaves UML
// helpers that were reparented to init but stay in the VM's group.
// (cgroup v2 would be cleaner, but needs root and a unified hierarchy, which not every host has.)
import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { runFiles } from '../topology/layout.ts';

export type TrackedKind = 'process' | 'group';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  startTime: string;
  /** CPU time so far, user and system (utime + stime), in clock ticks. */
  cpuTicks: number;
}

/** /proc/<pid>/stat, parsed after the command name (which may hold spaces and parentheses). */
export function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): field N is fields[N - 3].
    return {
      pid,
      state: fields[0],
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      startTime: fields[19],
      cpuTicks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return null;
  }
}

/** Records a process the lab started (see the top of this file). Never throws: a full disk must not fail a spawn. */
export function trackProcess(runDir: string, pid: number | undefined, kind: TrackedKind = 'process'): void {
  if (!pid) return;
  const stat = procStat(pid);
  if (!stat) return;
  try {
    appendFileSync(runFiles(runDir).pids, `${pid} ${stat.startTime} ${kind}\n`);
  } catch {
    // the process is still a descendant of the supervisor, and found that way
  }
}

interface TrackedEntry {
  pid: number;
  startTime: string;
  kind: TrackedKind;
}

function readTracked(runDir: string): TrackedEntry[] {
  let text = '';
  try {
    text = readFileSync(runFiles(runDir).pids, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]))
    .map((f) => ({ pid: Number(f[0]), startTime: f[1], kind: f[2] === 'group' ? 'group' : 'process' }));
}

function allProcesses(): ProcStat[] {
  const all: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = procStat(Number(entry));
    if (s) all.push(s);
  }
  return all;
}

/** Whether `pid` runs and is the very process recorded with `startTime` (not a zombie, not a reuse). */
export function sameProcess(pid: number | null | undefined, startTime: string | undefined): boolean {
  if (!pid) return false;
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && (startTime === undefined || s.startTime === startTime);
}

/** The live processes of a lab: recorded ones that still match, their descendants, and the
 *  members of recorded process groups. Never this process. */
export function labProcesses(runDir: string): number[] {
  const tracked = readTracked(runDir);
  if (tracked.length === 0) return [];
  const all = allProcesses().filter((p) => p.state !== 'Z' && p.pid !== process.pid);
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const found = new Set<number>();
  const groups = new Set<number>();
  for (const t of tracked) {
    const p = byPid.get(t.pid);
    if (p && p.startTime === t.startTime) found.add(p.pid);
    // A group whose leader is gone is still ours, unless its pid now belongs to another process.
    if (t.kind === 'group' && (!p || p.startTime === t.startTime)) groups.add(t.pid);
  }
  const startOf = new Map(tracked.map((t) => [t.pid, BigInt(t.startTime)]));
  for (const p of all)
    // Members started after their group's leader: an older process cannot have joined a group created later.
    if (groups.has(p.pgid) && BigInt(p.startTime) >= (startOf.get(p.pgid) ?? 0n)) found.add(p.pid);
  // Descendants, to a fixed point (a child may be listed before its parent).
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const queue = [...found];
  while (queue.length)
    for (const c of children.get(queue.pop()!) ?? []) {
      if (found.has(c)) continue;
      found.add(c);
      queue.push(c);
    }
  found.delete(process.pid);
  return [...found];
}

/** SIGKILLs a process group (a VM and the helpers it forked), ignoring a group already gone. */
export function killGroup(pgid: number | undefined): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The pids of processes whose command line mentions this run directory: a leftovers check only,
 *  never a kill list (a user's `tail -f` of a console log mentions it too; see the top of this file). */
export function processesOf(runDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(runDir + '/') || cmdline.split('\0').includes(runDir)) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}
