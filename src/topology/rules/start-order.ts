// Rules on `start_after:`: it names other VMs of the lab, and no VM waits for itself through others.
import type { Diagnostic } from '../../errors.ts';
import { didYouMean } from '../../util/text.ts';
import type { Rule } from './context.ts';

/** Each entry is another VM of the lab. */
export const startAfterNames: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const names = ctx.lab.vms.map((v) => v.name);
  for (const vm of ctx.lab.vms)
    vm.startAfter.forEach((other, i) => {
      const path = ['vms', vm.name, 'start_after', i];
      if (other === vm.name) out.push(ctx.diag(path, 'value', `${vm.name} cannot start after itself`, 'name the VMs it needs ready first'));
      else if (!names.includes(other)) {
        const guess = didYouMean(other, names);
        out.push(ctx.diag(path, 'value', `no VM named "${other}"`, guess ? `did you mean "${guess}"?` : `VMs of this lab: ${names.join(', ')}`));
      }
    });
  return out;
};

/** No cycle: a VM that (through others) waits for itself would never boot. Reported once per cycle, at its first VM. */
export const startAfterAcyclic: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const after = new Map(ctx.lab.vms.map((v) => [v.name, v.startAfter.filter((n) => n !== v.name)]));
  const reported = new Set<string>();
  for (const vm of ctx.lab.vms) {
    const cycle = findCycle(vm.name, after);
    if (!cycle || cycle.some((n) => reported.has(n))) continue;
    cycle.forEach((n) => reported.add(n));
    out.push(
      ctx.diag(
        ['vms', vm.name, 'start_after'],
        'key',
        `start_after goes round in a circle: ${[...cycle, cycle[0]].join(' -> ')}`,
        'take one of these out, or none of them can boot',
      ),
    );
  }
  return out;
};

/** The cycle through `start` (start first), if its start_after chain comes back to it (also for Kathará's lab.dep). */
export function findCycle(start: string, after: ReadonlyMap<string, readonly string[]>): string[] | null {
  const walk = (node: string, path: string[]): string[] | null => {
    for (const next of after.get(node) ?? []) {
      if (next === start) return path;
      if (!path.includes(next)) {
        const found = walk(next, [...path, next]);
        if (found) return found;
      }
    }
    return null;
  };
  return walk(start, [start]);
}
