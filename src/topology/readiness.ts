// A VM's `ready:` conditions: what each one means and the shell command, run inside the VM
// through its agent, that exits 0 once it holds. Pure: the rules, compile (VmPlan.ready) and
// the runtime's polling (src/vm/readiness.ts) share it.
import { shellQuote } from './init-script.ts';

export type ReadyCondition = { kind: 'tcp' | 'udp'; port: number } | { kind: 'file'; path: string } | { kind: 'cmd'; command: string };

/** Seconds a VM's conditions may take, after its startup finished, unless `ready_timeout:` says otherwise. */
export const DEFAULT_READY_TIMEOUT = 60;
/** A `ready_timeout:` longer than this is surely a mistake (an hour). */
export const MAX_READY_TIMEOUT = 3600;

export const READY_FORMS = '`tcp:PORT`, `udp:PORT`, `file:/absolute/path` or `cmd: SHELL COMMAND`';

/** "tcp:80", "udp:53", "file:/run/x.pid", "cmd: test -s /x" -> the condition, or what is wrong with it. */
export function parseReadyCondition(spec: string): ReadyCondition | { error: string; hint: string } {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec.trim() : spec.slice(0, colon).trim();
  const rest = colon < 0 ? '' : spec.slice(colon + 1).trim();
  if (kind === 'tcp' || kind === 'udp') {
    if (!/^\d{1,5}$/.test(rest) || Number(rest) < 1 || Number(rest) > 65535)
      return {
        error: `"${spec}": ${kind}: needs a port number 1-65535`,
        hint: `e.g. ${kind}:${kind === 'tcp' ? 80 : 53}: something in the VM listens on that port`,
      };
    return { kind, port: Number(rest) };
  }
  if (kind === 'file') {
    if (!rest.startsWith('/') || /[\0\n]/.test(rest))
      return { error: `"${spec}": file: needs an absolute path`, hint: 'e.g. file:/run/frr/zebra.pid: the file exists in the VM' };
    return { kind: 'file', path: rest };
  }
  if (kind === 'cmd') {
    if (!rest) return { error: `"${spec}": cmd: needs a shell command`, hint: 'e.g. "cmd: ip route | grep -q 10.0.2.0": the command exits 0' };
    return { kind: 'cmd', command: rest };
  }
  return { error: `"${spec}" is not a readiness condition`, hint: `write ${READY_FORMS}` };
}

/** The condition as people read it (and as `ready:` lists it in the plan). */
export function describeReadyCondition(c: ReadyCondition): string {
  return c.kind === 'file' ? `file:${c.path}` : c.kind === 'cmd' ? `cmd: ${c.command}` : `${c.kind}:${c.port}`;
}

/** A shell command that exits 0 when something listens on the port (IPv4 or IPv6, any address). */
export function listeningCommand(proto: 'tcp' | 'udp', port: number): string {
  return `ss -H -l${proto === 'tcp' ? 't' : 'u'}n 'sport = :${port}' | grep -q .`;
}

/** The command the runtime runs inside the VM, again and again until it exits 0. A `cmd:` runs at
 *  most `timeoutSeconds` per try (coreutils timeout), so a hung try cannot outlive the wait. */
export function readyCommand(c: ReadyCondition, timeoutSeconds: number): string {
  switch (c.kind) {
    case 'tcp':
    case 'udp':
      return listeningCommand(c.kind, c.port);
    case 'file':
      return `test -e ${shellQuote(c.path)}`;
    case 'cmd':
      return `timeout ${Math.max(1, Math.ceil(timeoutSeconds))} sh -c ${shellQuote(c.command)}`;
  }
}
