// `umlab vm ...` (the management console, HOWTO 10) and `umlab link ...` (live rewiring).
import { UsageError } from '../../errors.ts';
import type { LinkAction } from '../../runtime/control.ts';
import { VM_ACTIONS, type VmAction } from '../../vm/mconsole.ts';
import { requirePositional, type CommandSpec } from '../args.ts';
import { labClient } from '../lab-request.ts';

const out = (s: string) => process.stdout.write(s);

export const vmCommand: CommandSpec = {
  name: 'vm',
  summary: "drive a VM through its management console: pause, resume, reboot, halt, start, Ctrl-Alt-Del, SysRq, version",
  usage: `umlab vm [--lab NAME] [--json] ${VM_ACTIONS.join('|')} VM [KEY]`,
  options: ['  --lab NAME     the lab (may be left out when exactly one lab runs)', '  --json         print the answer as JSON'],
  notes: [
    'pause    freeze the VM (state "paused"; `exec` into it says so instead of waiting)',
    'resume   let a paused VM go on',
    'reboot   halt it and boot it again (a fresh UML process); returns when it is ready again',
    'halt     stop it (state "stopped"; the rest of the lab goes on)',
    'start    boot a halted or crashed VM again',
    'cad      press Ctrl-Alt-Del: umlab\'s init reboots (unless the lab sets kernel.ctrl-alt-del: 0)',
    'sysrq    a SysRq key, e.g. m (memory), t (tasks), s (sync); the kernel\'s answer is in the console log',
    'version  the VM kernel\'s version',
  ],
  examples: ['umlab vm pause h1', 'umlab vm resume h1', 'umlab vm sysrq r1 m', 'umlab vm --lab router reboot r1', 'umlab vm version h2 --json'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' } },
  async run(args) {
    const action = requirePositional(args, 0, 'action', vmCommand);
    if (!VM_ACTIONS.includes(action as VmAction))
      throw new UsageError(`unknown VM action "${action}"`, { hint: `one of: ${VM_ACTIONS.join(', ')}` });
    const vm = requirePositional(args, 1, 'VM name', vmCommand);
    const key = args.positionals[2];
    if (action === 'sysrq' && key === undefined) throw new UsageError('missing the SysRq key', { hint: 'e.g. umlab vm sysrq h1 m' });
    if (action !== 'sysrq' && key !== undefined) throw new UsageError(`unexpected argument "${key}"`, { hint: `usage: ${vmCommand.usage}` });
    const answer = await labClient(args.values.lab as string | undefined).vm(vm, action as VmAction, key);
    if (args.values.json) out(JSON.stringify({ vm, action, state: answer.state, output: answer.output }, null, 2) + '\n');
    else out(`${vm}: ${answer.output}${answer.output.endsWith('\n') ? '' : '\n'}`);
    return 0;
  },
};

const LINK_ACTIONS: LinkAction[] = ['down', 'up', 'add', 'rm'];

export const linkCommand: CommandSpec = {
  name: 'link',
  summary: 'cut or restore a cable (down|up), or plug a VM into a switch or hub live (add|rm)',
  usage: 'umlab link [--lab NAME] [--json] down|up VM ethN | add VM ethN SEGMENT [--ip CIDR]... | rm VM ethN',
  options: [
    '  --lab NAME     the lab (may be left out when exactly one lab runs)',
    '  --ip CIDR      address of the new interface (add; may be repeated)',
    '  --json         print the result as JSON',
  ],
  notes: [
    'down/up drops every frame of the link in its engine, both ways, and lets them through again:',
    'the VM still sees its interface up, as with a cable pulled out further along.',
    'add/rm hot-plug the interface through the management console (`config`/`remove`); a new link',
    'is captured from its first frame and shows in `status`, `capture list` and the web view.',
  ],
  examples: ['umlab link down h2 eth0', 'umlab link up h2 eth0', 'umlab link add h1 eth1 sw1 --ip 10.0.1.1/24', 'umlab link rm h1 eth1'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' }, ip: { type: 'string', multiple: true } },
  async run(args) {
    const action = requirePositional(args, 0, 'down, up, add or rm', linkCommand) as LinkAction;
    if (!LINK_ACTIONS.includes(action)) throw new UsageError(`unknown link action "${action}"`, { hint: `one of: ${LINK_ACTIONS.join(', ')}` });
    const vm = requirePositional(args, 1, 'VM name', linkCommand);
    const iface = requirePositional(args, 2, 'interface (ethN)', linkCommand);
    const segment = action === 'add' ? requirePositional(args, 3, 'segment (a switch or hub)', linkCommand) : undefined;
    const extra = args.positionals.slice(action === 'add' ? 4 : 3);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`, { hint: `usage: ${linkCommand.usage}` });
    const addresses = (args.values.ip as string[] | undefined) ?? [];
    if (addresses.length && action !== 'add') throw new UsageError('--ip goes with `link add` only');
    const answer = await labClient(args.values.lab as string | undefined).link(action, vm, iface, segment !== undefined ? { segment, addresses } : undefined);
    const said = { down: 'cut (frames dropped both ways)', up: 'restored', add: `plugged into ${segment}`, rm: 'taken away' }[action];
    if (args.values.json) out(JSON.stringify({ link: answer.link, action }, null, 2) + '\n');
    else out(`link ${answer.link}: ${said}\n`);
    return 0;
  },
};
