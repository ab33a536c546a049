// `umlab console`: attach the terminal to a VM's console.
import { findLab } from '../../runtime/lab.ts';
import { runFiles, umlabHome } from '../../runtime/paths.ts';
import { requirePositional, type CommandSpec } from '../args.ts';
import { attachConsole, DETACH_KEY_NAME } from '../console.ts';

const consoleCmd: CommandSpec = {
  name: 'console',
  summary: "attach the terminal to a VM's console",
  usage: 'umlab console [--lab NAME] VM',
  options: ['  --lab NAME     the lab (may be left out when exactly one lab runs)'],
  notes: [
    `The VM's shell starts on the first line typed (press Enter for a prompt). Detach with ${DETACH_KEY_NAME}. Every console is also logged to <run dir>/vms/<VM>/console.log.`,
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

export { consoleCmd as consoleCommand };
