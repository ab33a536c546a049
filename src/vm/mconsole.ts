// The UML management console (HOWTO 10) through `uml_mconsole` from uml-utilities.
// Its client binds an abstract unix socket for the answer, and abstract sockets belong
// to a network namespace: it must run in the lab's namespace, i.e. in the supervisor.
import { execa } from 'execa';
import { LabRuntimeError, MissingDependencyError } from '../errors.ts';

export const MCONSOLE_TIMEOUT_MS = 10_000;

/** The actions of `umlab vm`: all but `start` go through the management console. */
export const VM_ACTIONS = ['pause', 'resume', 'reboot', 'halt', 'start', 'cad', 'sysrq', 'version'] as const;
export type VmAction = (typeof VM_ACTIONS)[number];

/** Sends one command; resolves with the text after "OK", rejects with the text after "ERR". */
export async function mconsole(socket: string, command: string, timeoutMs = MCONSOLE_TIMEOUT_MS): Promise<string> {
  const r = await execa('uml_mconsole', [socket, ...command.split(' ')], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if ((r as { code?: string }).code === 'ENOENT')
    throw new MissingDependencyError('uml_mconsole is not installed', { hint: 'install it with: apt-get install uml-utilities' });
  if (r.timedOut) throw new LabRuntimeError(`the management console did not answer "${command}" within ${timeoutMs / 1000} s`);
  return parseMconsoleReply(String(r.stdout), command);
}

/** uml_mconsole prints "OK <text>" or "ERR <text>" (text may span lines). */
export function parseMconsoleReply(stdout: string, command: string): string {
  const match = /^(OK|ERR) ?([\s\S]*)$/m.exec(stdout);
  if (!match) throw new LabRuntimeError(`no answer from the management console to "${command}"${stdout.trim() ? `: ${stdout.trim()}` : ''}`);
  const text = match[2].trimEnd();
  if (match[1] === 'ERR') throw new LabRuntimeError(`the management console refused "${command}": ${text}`);
  return text;
}
