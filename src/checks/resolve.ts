// Turns the names a check uses (VMs, vm.ethN, links) into addresses, MACs and capture
// files, from the lab and its plan. Pure.
import { parseAddress, withoutPrefix } from '../topology/address.ts';
import type { Lab } from '../topology/model.ts';
import type { LabPlan, LinkPlan } from '../topology/plan.ts';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export class Resolver {
  constructor(
    private readonly lab: Lab,
    private readonly plan: LabPlan,
  ) {}

  /** Every address of a VM, or of one of its interfaces, IPv4 first; an IP literal is itself. */
  addressesOf(ref: string): string[] {
    const literal = parseAddress(ref);
    if (literal) return [literal.address];
    const [vmName, ifName] = ref.split('.');
    const vm = this.plan.vms.find((v) => v.name === vmName);
    if (!vm) throw new Error(`no VM named "${vmName}"`);
    const addresses = vm.interfaces.filter((i) => ifName === undefined || i.name === ifName).flatMap((i) => i.addresses.map(withoutPrefix));
    return [...addresses.filter((a) => !a.includes(':')), ...addresses.filter((a) => a.includes(':'))];
  }

  /** The address a probe aims at: the first (IPv4 first) address of the VM or interface. */
  targetAddress(ref: string): string {
    const first = this.addressesOf(ref)[0];
    if (first === undefined) throw new Error(`${ref} has no static address`);
    return first;
  }

  /** MACs of a VM (all its interfaces) or of vm.ethN; a MAC literal is itself. */
  macsOf(ref: string): string[] {
    if (MAC.test(ref)) return [ref.toLowerCase()];
    const [vmName, ifName] = ref.split('.');
    const vm = this.plan.vms.find((v) => v.name === vmName);
    if (!vm) throw new Error(`no VM named "${vmName}"`);
    return vm.interfaces.filter((i) => ifName === undefined || i.name === ifName).map((i) => i.mac);
  }

  /** The VM an address belongs to, for readable paths ("r1 (10.0.1.1)"). */
  vmOfAddress(address: string): string | undefined {
    return this.plan.vms.find((v) => v.interfaces.some((i) => i.addresses.some((a) => withoutPrefix(a) === address)))?.name;
  }

  /** A link by its name or by one of its ends (vm.ethN). */
  link(ref: string): LinkPlan | undefined {
    return this.plan.links.find((l) => l.name === ref) ?? this.plan.links.find((l) => l.endpoints.some((e) => `${e.vm}.${e.iface}` === ref));
  }

  get labName(): string {
    return this.lab.name;
  }
}
