// The links a reachability check is about, so a student's page can link their captures:
// every interface of the VMs it names (from, to, the routers of its path), found by name or address. Pure.
import type { Lab, LabTest } from '../topology/model.ts';

/** "vm.ethN" of every interface of the VMs a reach check involves; none for other kinds. */
export function linksOfCheck(test: LabTest, lab: Lab): string[] {
  if (test.kind !== 'reach') return [];
  const owner = (target: string): string | undefined => {
    const vmName = target.split('.eth')[0]!;
    if (lab.vms.some((v) => v.name === vmName)) return vmName;
    return lab.vms.find((v) => v.interfaces.some((i) => i.addresses.some((a) => a.split('/')[0] === target)))?.name;
  };
  const vms = [...new Set([test.from, test.to, ...(test.path ?? [])].map(owner).filter((v): v is string => v !== undefined))];
  return vms.flatMap((name) => lab.vms.find((v) => v.name === name)!.interfaces.filter((i) => i.capture).map((i) => `${name}.${i.name}`));
}
