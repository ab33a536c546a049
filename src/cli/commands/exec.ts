// `umlab exec`: run a command in a VM over its agent line; its output and exit code become umlab's.
import { UsageError } from '../../errors.ts';
import { refusalError } from '../../client/lab-client.ts';
import { commandFromArgv } from '../../topology/agent-protocol.ts';
import { shellQuote } from '../../vm/init.ts';
import { requirePositional, type CommandSpec } from '../args.ts';
import { err, json } from '../format.ts';
import { labClient } from '../lab-request.ts';

const exec: CommandSpec = {
  name: 'exec',
  summary: "run a command in a VM over its out-of-band agent line (works while the VM's firewall drops everything)",
  usage: 'umlab exec [--lab NAME] [--json] [--timeout SEC] VM -- CMD [ARG...]',
  options: [
    '  --lab NAME     the lab (may be left out when exactly one lab runs)',
    '  --json         print {exitCode, stdout, stderr} instead of passing them through',
    '  --timeout SEC  give up after SEC seconds: the command is killed in the VM (exit code 124)',
  ],
  notes: [
    "The command's stdout, stderr and exit code become umlab's own. One argument is a",
    'shell command line (`umlab exec h1 -- "ip route; ip addr"`); several are quoted',
    'word by word. Ctrl-C kills the command in the VM too (its whole process group); a',
    'daemon it started with setsid lives on. Many execs may run at once, to one VM or many.',
  ],
  examples: ['umlab exec h1 -- ping -c1 10.0.0.2', 'umlab exec --lab two-hosts h2 -- "ip -br addr"', 'umlab exec h1 --json -- cat /etc/hosts'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' } },
  async run(args) {
    const vm = requirePositional(args, 0, 'VM name', exec);
    if (args.rest.length === 0) throw new UsageError('missing the command to run', { hint: 'usage: umlab exec VM -- CMD [ARG...]' });
    const timeoutMs = args.values.timeout ? Number(args.values.timeout) * 1000 : undefined;
    const reply = await labClient(args.values.lab as string | undefined).execReply(vm, commandFromArgv(args.rest, shellQuote), timeoutMs);
    if (!reply.ok) {
      if (reply.code === 'timeout') {
        err(`umlab: ${reply.error}\n`);
        return 124; // as timeout(1)
      }
      throw refusalError(reply);
    }
    const { stdout, stderr } = reply;
    if (args.values.json) json({ vm, exitCode: reply.exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
    else {
      process.stdout.write(stdout);
      process.stderr.write(stderr);
    }
    return reply.exitCode;
  },
};

export { exec as execCommand };
