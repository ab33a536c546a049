// The links a reachability check is about, so a student's page can link their captures:
// every interface of the VMs it names (from, to, the routers of its path), found by name or
// address; a target no VM holds (a wrong address) gives the interfaces on its subnet. Pure.
import { parseAddress, parseCidr } from '../topology/address.ts';
import type { Lab, LabTest, Vm, VmInterface } from '../topology/model.ts';

/** Whether `cidr` (an interface's "10.1.1.1/24") is on the same subnet as `address`. */
function onSubnet(cidr: string, address: string): boolean {
  const net = parseCidr(cidr);
  const a = parseAddress(address);
  if (!net || !a || net.family !== a.family) return false;
  for (let bit = 0; bit < net.prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((net.bytes[bit >> 3] & mask) !== (a.bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

/** "vm.ethN" of every captured interface a reach check involves; none for other kinds. */
export function linksOfCheck(test: LabTest, lab: Lab): string[] {
  if (test.kind !== 'reach') return [];
  const captured = (vm: Vm, only?: (i: VmInterface) => boolean) =>
    vm.interfaces.filter((i) => i.capture && (!only || only(i))).map((i) => `${vm.name}.${i.name}`);
  const involved = (target: string): string[] => {
    const byName = lab.vms.find((v) => v.name === target.split('.eth')[0]);
    if (byName) return captured(byName);
    const owner = lab.vms.find((v) => v.interfaces.some((i) => i.addresses.some((a) => a.split('/')[0] === target)));
    if (owner) return captured(owner);
    return lab.vms.flatMap((v) => captured(v, (i) => i.addresses.some((a) => onSubnet(a, target))));
  };
  return [...new Set([test.from, test.to, ...(test.path ?? [])].flatMap(involved))];
}
