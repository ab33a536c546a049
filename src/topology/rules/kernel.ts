// Rules for `kernel:` (the lab's and each VM's): extra kernel arguments must not take over
// what umlab itself puts on the UML command line.
import type { Diagnostic } from '../../errors.ts';
import type { PathSegment } from '../lab-path.ts';
import type { Rule } from './context.ts';

/** Argument names umlab sets from other lab settings, and the setting to use instead. */
const OWNED_ARGS: [RegExp, string][] = [
  [/^mem$/, '`memory:`'],
  [/^(umid|uml_dir|init|con\d*|ssl\d*)$/, 'umlab sets it for every VM (consoles: `console:`, `serial:`)'],
  [/^(hostfs|root|rootfstype|rootflags|ubd\d*[a-z]*)$/, '`image:`, `disks:` or `shares:`'],
  [/^(eth\d+|vec\d+:.*|vec\d+)$/, '`interfaces:`'],
  [/^initcall_blacklist$/, '`kernel: { skip_initcalls: [...] }`'],
];

const argName = (arg: string) => arg.split('=')[0];

export const kernelArgs: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const check = (arg: string, path: PathSegment[]) => {
    const owned = OWNED_ARGS.find(([pattern]) => pattern.test(argName(arg)));
    if (owned) out.push(ctx.diag(path, 'value', `kernel argument ${argName(arg)} is set by umlab`, `use ${owned[1]} instead`));
  };
  const labArgs: string[] = [];
  for (let i = 0; ctx.has(['kernel', 'args', i]); i++) labArgs.push(ctx.lab.vms[0]?.kernel.args[i] ?? '');
  labArgs.forEach((arg, i) => check(arg, ['kernel', 'args', i]));
  for (const vm of ctx.lab.vms) vm.kernel.args.slice(labArgs.length).forEach((arg, i) => check(arg, ['vms', vm.name, 'kernel', 'args', i]));
  return out;
};
