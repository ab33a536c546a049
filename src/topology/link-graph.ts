// The link graph of a lab as written: which interfaces point at which (`connect: vm.ethN`),
// which links will exist, and the interfaces links create. Shared by the rules (which see
// invalid labs) and compile's resolveLinks (which sees valid ones).
import { INTERFACE_NAME, parseConnect, type Lab, type Vm, type VmInterface } from './model.ts';

export interface IfaceRef {
  vm: Vm;
  iface: VmInterface;
}

export function* allInterfaces(lab: Lab): Generator<IfaceRef> {
  for (const vm of lab.vms) for (const iface of vm.interfaces) yield { vm, iface };
}

export function findInterface(lab: Lab, vm: string, iface: string): VmInterface | undefined {
  return lab.vms.find((v) => v.name === vm)?.interfaces.find((i) => i.name === iface);
}

/** A `connect: vm.ethN` whose target is well-formed (the VM exists, ethN is a valid name, not itself). */
export interface Pointer {
  from: IfaceRef;
  toVm: string;
  toIface: string;
  /** The target interface if it is declared. */
  target?: VmInterface;
}

/** Every well-formed point-to-point `connect:`, in file order (VMs, then their interfaces). */
export function pointers(lab: Lab): Pointer[] {
  const out: Pointer[] = [];
  for (const from of allInterfaces(lab)) {
    if (from.iface.connect === undefined) continue;
    const t = parseConnect(from.iface.connect);
    if (!('vm' in t) || !lab.vms.some((v) => v.name === t.vm) || !INTERFACE_NAME.test(t.iface)) continue;
    if (t.vm === from.vm.name && t.iface === from.iface.name) continue;
    const target = findInterface(lab, t.vm, t.iface);
    out.push({ from, toVm: t.vm, toIface: t.iface, ...(target && { target }) });
  }
  return out;
}

export const refName = (vm: string, iface: string) => `${vm}.${iface}`;

/** A p2p pointer is mutual when its target connects straight back to it. */
export const isMutual = (p: Pointer) => p.target?.connect === refName(p.from.vm.name, p.from.iface.name);

/** Interface names a VM will have: declared ones and those point-to-point links create on it. */
export function interfaceNamesOf(lab: Lab, vm: string): string[] {
  const names = new Set(lab.vms.find((v) => v.name === vm)?.interfaces.map((i) => i.name));
  for (const p of pointers(lab)) if (p.toVm === vm) names.add(p.toIface);
  return [...names];
}

/** The next unused ethN of a VM, counting interfaces that links create implicitly. */
export function freeInterfaceName(lab: Lab, vm: string): string {
  const used = new Set(interfaceNamesOf(lab, vm));
  let n = 0;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}
