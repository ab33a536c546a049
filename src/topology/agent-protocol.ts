// The out-of-band agent protocol between the supervisor and a VM's init, over the
// serial line ssl63 (fd 3/4 on the host, /dev/ttyS63 in the VM: the last of the UML
// kernel's 64 lines, so ssl1... are free for the lab's own serial lines). It never touches the
// lab network, so it works while a VM's firewall drops everything.
//
// host -> VM   X <id> <base64 shell command>       run a command
//              P <id>                              ping (also sent while replies are awaited: see agent.ts)
//              K <id>                              kill command <id>'s process group, send no reply
//                                                  (its caller gave up; the shell fallback ignores it)
// VM -> host   READY                               configuration applied
//              FAIL <exit code> <b64 step> <b64 output>   a configuration step failed
//              R <id> <exit code> <b64 stdout> <b64 stderr>
//              P <id>                              pong

import { AGENT_LINE } from './model.ts';

export const AGENT_DEVICE = `/dev/ttyS${AGENT_LINE.slice('ssl'.length)}`;

export type AgentMessage =
  | { type: 'ready' }
  | { type: 'fail'; exitCode: number; step: string; output: string }
  | { type: 'result'; id: number; exitCode: number; stdout: Buffer; stderr: Buffer }
  | { type: 'pong'; id: number }
  | { type: 'garbage'; line: string };

const decode64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64');

export function parseAgentLine(line: string): AgentMessage {
  const parts = line.trim().split(' ');
  switch (parts[0]) {
    case 'READY':
      return { type: 'ready' };
    case 'FAIL':
      return {
        type: 'fail',
        exitCode: Number(parts[1]),
        step: decode64(parts[2]).toString('utf8'),
        output: decode64(parts[3]).toString('utf8'),
      };
    case 'R':
      if (parts.length >= 3 && /^\d+$/.test(parts[1]))
        return { type: 'result', id: Number(parts[1]), exitCode: Number(parts[2]), stdout: decode64(parts[3]), stderr: decode64(parts[4]) };
      break;
    case 'P':
      if (/^\d+$/.test(parts[1] ?? '')) return { type: 'pong', id: Number(parts[1]) };
      break;
  }
  return { type: 'garbage', line };
}

export function execRequest(id: number, command: string): string {
  return `X ${id} ${Buffer.from(command, 'utf8').toString('base64')}\n`;
}

export const pingRequest = (id: number) => `P ${id}\n`;
export const killRequest = (id: number) => `K ${id}\n`;

/** Turns `umlab exec VM -- a b c` into one shell command: a single argument is a
 *  shell command line as is (like ssh); several are quoted word by word. */
export function commandFromArgv(argv: string[], quote: (s: string) => string): string {
  return argv.length === 1 ? argv[0] : argv.map(quote).join(' ');
}
