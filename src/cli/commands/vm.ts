// `umlab vm ...` (the management console, HOWTO 10) and `umlab link ...` (live rewiring).
import { UsageError } from '../../errors.ts';
import { liveKindWords } from '../../kinds/index.ts';
import type { LinkAction } from '../../client/control.ts';
import { VM_ACTIONS, type VmAction } from '../../vm/mconsole.ts';
import { REFUSED_SYSRQ_KEYS, SAFE_SYSRQ_KEYS } from '../../vm/sysrq.ts';
import { requirePositional, type CommandSpec } from '../args.ts';
import { labClient } from '../lab-request.ts';
import type { LabClient } from '../../client/lab-client.ts';
import { CONDITION_KEYS, CONDITIONS, describeImpairment, type RawImpairment } from '../../topology/link-conditions.ts';

const out = (s: string) => process.stdout.write(s);

export const vmCommand: CommandSpec = {
  name: 'vm',
  summary: 'drive a VM through its management console: pause, resume, reboot, halt, start, Ctrl-Alt-Del, SysRq, version',
  usage: `umlab vm [--lab NAME] [--json] ${VM_ACTIONS.join('|')} VM [KEY]`,
  options: ['  --lab NAME     the lab (may be left out when exactly one lab runs)', '  --json         print the answer as JSON'],
  notes: [
    'pause    freeze the VM (state "paused"; `exec` into it says so instead of waiting)',
    'resume   let a paused VM go on',
    'reboot   halt it and boot it again (a fresh UML process); returns when it is ready again',
    'halt     stop it (state "stopped"; the rest of the lab goes on)',
    'start    boot a halted or crashed VM again',
    'cad      press Ctrl-Alt-Del: the VM restarts at once, as a fresh UML process (a lab that sets kernel.ctrl-alt-del: 0 gets the key in its init instead)',
    `sysrq    a SysRq key: ${Object.entries(SAFE_SYSRQ_KEYS)
      .filter(([k]) => !/\d/.test(k))
      .map(([k, what]) => `${k} (${what})`)
      .join(
        ', ',
      )}, 0-9 (log level); the answer is in the console log. ${Object.keys(REFUSED_SYSRQ_KEYS).join(' ')} are refused (they stop, crash or cripple the VM; the refusal says what to use)`,
    "version  the VM kernel's version",
  ],
  examples: ['umlab vm pause h1', 'umlab vm resume h1', 'umlab vm sysrq r1 m', 'umlab vm --lab router reboot r1', 'umlab vm version h2 --json'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' } },
  async run(args) {
    const action = requirePositional(args, 0, 'action', vmCommand);
    if (!VM_ACTIONS.includes(action as VmAction)) throw new UsageError(`unknown VM action "${action}"`, { hint: `one of: ${VM_ACTIONS.join(', ')}` });
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

const LINK_ACTIONS: LinkAction[] = ['down', 'up', 'add', 'rm', 'set'];
const CONDITION_OPTIONS = Object.fromEntries(CONDITION_KEYS.map((k) => [k, { type: 'string' as const }]));

export const linkCommand: CommandSpec = {
  name: 'link',
  summary: `cut or restore a cable (down|up), plug a VM into a ${liveKindWords()} live (add|rm), or set a link's delay, loss, rate... (set)`,
  usage:
    'umlab link [--lab NAME] [--json] down|up VM ethN | add VM ethN SEGMENT [--ip CIDR]... | rm VM ethN\n' +
    `       umlab link [--lab NAME] [--json] set VM ethN [--egress|--ingress] ${CONDITION_KEYS.map((k) => `[--${k} ${CONDITIONS[k].placeholder}]`).join(' ')} | --clear`,
  options: [
    '  --lab NAME     the lab (may be left out when exactly one lab runs)',
    '  --ip CIDR      address of the new interface (add; may be repeated)',
    `  ${CONDITION_KEYS.map((k) => `--${k} ${CONDITIONS[k].example}`).join(' ')}`,
    "                 set: the link's conditions at VM.ethN, both ways (replacing what it had)",
    '  --egress, --ingress  set: only what the VM sends / receives (the other direction stays)',
    '  --clear        set: no conditions any more',
    '  --json         print the result as JSON',
  ],
  notes: [
    'down/up drops every frame of the link in its engine, both ways, and lets them through again:',
    'the VM still sees its interface up, as with a cable pulled out further along.',
    'add/rm hot-plug the interface through the management console (`config`/`remove`); a new link',
    'is captured from its first frame and shows in `status`, `capture list` and the web view.',
    "set works on links whose segment runs on umlab's engine (an interface with `link:` in the lab",
    'file, or a rootless lab that captures); the capture still shows what the VM sent and received.',
  ],
  examples: [
    'umlab link down h2 eth0',
    'umlab link up h2 eth0',
    'umlab link add h1 eth1 sw1 --ip 10.0.1.1/24',
    'umlab link rm h1 eth1',
    'umlab link set h1 eth0 --delay 100ms --loss 5%',
    'umlab link set h1 eth0 --egress --rate 1mbit',
    'umlab link set h1 eth0 --clear',
  ],
  parse: {
    lab: { type: 'string' },
    json: { type: 'boolean' },
    ip: { type: 'string', multiple: true },
    clear: { type: 'boolean' },
    egress: { type: 'boolean' },
    ingress: { type: 'boolean' },
    ...CONDITION_OPTIONS,
  },
  async run(args) {
    const action = requirePositional(args, 0, 'down, up, add, rm or set', linkCommand) as LinkAction;
    if (!LINK_ACTIONS.includes(action)) throw new UsageError(`unknown link action "${action}"`, { hint: `one of: ${LINK_ACTIONS.join(', ')}` });
    const vm = requirePositional(args, 1, 'VM name', linkCommand);
    const iface = requirePositional(args, 2, 'interface (ethN)', linkCommand);
    const segment = action === 'add' ? requirePositional(args, 3, `segment (a ${liveKindWords()})`, linkCommand) : undefined;
    const extra = args.positionals.slice(action === 'add' ? 4 : 3);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`, { hint: `usage: ${linkCommand.usage}` });
    const addresses = (args.values.ip as string[] | undefined) ?? [];
    if (addresses.length && action !== 'add') throw new UsageError('--ip goes with `link add` only');
    const client = labClient(args.values.lab as string | undefined);
    if (action === 'set') return setLinkConditions(client, vm, iface, args.values, Boolean(args.values.json));
    const answer = await client.link(action, vm, iface, segment !== undefined ? { segment, addresses } : undefined);
    const said = { down: 'cut (frames dropped both ways)', up: 'restored', add: `plugged into ${segment}`, rm: 'taken away' }[action];
    if (args.values.json) out(JSON.stringify({ link: answer.link, action }, null, 2) + '\n');
    else out(`link ${answer.link}: ${said}\n`);
    return 0;
  },
};

/** `umlab link set`: the options as the lab file's `link:` words, checked by the supervisor with the lab file's rules. */
async function setLinkConditions(client: LabClient, vm: string, iface: string, values: Record<string, unknown>, json: boolean): Promise<number> {
  const raw: RawImpairment = Object.fromEntries(CONDITION_KEYS.filter((k) => values[k] !== undefined).map((k) => [k, String(values[k])]));
  const clear = Boolean(values['clear']);
  if (clear && Object.keys(raw).length) throw new UsageError('--clear takes no other settings', { hint: `e.g. umlab link set ${vm} ${iface} --clear` });
  if (!clear && !Object.keys(raw).length)
    throw new UsageError('nothing to set', { hint: `e.g. umlab link set ${vm} ${iface} --delay 50ms --loss 1%   (or --clear)` });
  if (values['egress'] && values['ingress']) throw new UsageError('give --egress or --ingress, not both (neither: both ways)');
  const direction = values['egress'] ? 'egress' : values['ingress'] ? 'ingress' : undefined;
  const answer = await client.setLinkConditions(vm, iface, clear ? null : raw, direction);
  if (json) out(JSON.stringify({ link: answer.link, action: 'set', conditions: answer.conditions }, null, 2) + '\n');
  else out(`link ${answer.link}: ${vm}.${iface} ${answer.conditions ? describeImpairment(answer.conditions) : 'has no conditions'}\n`);
  return 0;
}
