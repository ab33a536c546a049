// Rules on names: segments and VMs share one namespace, interfaces are ethN.
import type { Diagnostic } from '../../errors.ts';
import { allInterfaces } from '../link-graph.ts';
import { INTERFACE_NAME } from '../model.ts';
import { ifacePath, type Rule } from './context.ts';

/** Segments and VMs share one namespace: `connect: x` must mean one thing. */
export const uniqueNames: Rule = (ctx) => {
  const entries = [
    ...ctx.lab.segments.map((s) => ({ path: ctx.segmentPath(s), name: s.name, what: `a ${ctx.kinds.kindOf(s.kind).word}` })),
    ...ctx.lab.vms.map((v) => ({ path: ['vms', v.name], name: v.name, what: 'a VM' })),
  ]
    .map((e) => ({ ...e, line: ctx.lineOf(e.path) }))
    .sort((a, b) => a.line - b.line);
  const first = new Map<string, (typeof entries)[number]>();
  const out: Diagnostic[] = [];
  for (const e of entries) {
    const earlier = first.get(e.name);
    if (!earlier) {
      first.set(e.name, e);
      continue;
    }
    out.push(
      ctx.diag(
        e.path,
        'key',
        `name "${e.name}" is already used by ${earlier.what} (line ${earlier.line})`,
        `${ctx.kinds.sections().join(', ')} and VMs share one set of names: rename one of them`,
      ),
    );
  }
  return out;
};

/** UML names its interfaces ethN; other names cannot be passed as `ethN=`. */
export const interfaceNames: Rule = (ctx) =>
  [...allInterfaces(ctx.lab)]
    .filter(({ iface }) => !INTERFACE_NAME.test(iface.name))
    .map(({ vm, iface }) =>
      ctx.diag(
        ifacePath(vm.name, iface.name),
        'key',
        `interface name "${iface.name}" is not ethN`,
        'name interfaces eth0, eth1, eth2, ... (UML numbers them; no leading zeros)',
      ),
    );
