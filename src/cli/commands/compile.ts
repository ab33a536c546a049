// `umlab compile`: show the plan of a lab file (the UML command lines, engines, captures).
import { requirePositional, type CommandSpec } from '../args.ts';
import { printable } from '../env.ts';
import { describePlan, json, out } from '../format.ts';
import { compileLabFile } from '../lab-file.ts';

const compileCmd: CommandSpec = {
  name: 'compile',
  summary: 'show the plan of a lab: the UML command line of every VM, engines, captures',
  usage: 'umlab compile <lab.yaml> [--json] [--init]',
  options: [
    "  --json         print the whole plan as JSON (what `umlab up` runs; each VM's init in vms[].init)",
    "  --init         also print each VM's init script, exactly as it will boot",
  ],
  examples: ['umlab compile labs/two-hosts.yaml', 'umlab compile labs/router.yaml --json | jq ".vms[0].argv"'],
  parse: { json: { type: 'boolean' }, init: { type: 'boolean' } },
  async run(args) {
    const plan = await compileLabFile(requirePositional(args, 0, 'lab file', compileCmd));
    if (args.values.json) json(plan);
    else {
      out(printable(describePlan(plan)));
      if (args.values.init) for (const vm of plan.vms) out(`\n# init of ${vm.name} (${vm.initPath})\n${printable(vm.init)}`);
    }
    return 0;
  },
};

export { compileCmd as compileCommand };
