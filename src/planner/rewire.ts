// Live rewiring of a running lab (`umlab link add|rm`): what changes in the plan, as
// plain data; and new link conditions (`umlab link set`). The supervisor applies it (engine port, mconsole `config`/`remove`,
// addresses through the agent) and keeps the changed plan as the lab's plan.
import { UmlabError, UsageError } from '../errors.ts';
import { parseCidr } from '../topology/address.ts';
import { LabAllocator } from '../topology/allocator.ts';
import { INTERFACE_NAME } from '../topology/model.ts';
import { kindOf, kindsThat, LIVE_KINDS, liveKindsText } from '../kinds/index.ts';
import { isUnimpaired, readImpairment, type Impairment, type RawImpairment } from '../topology/link-conditions.ts';
import { vectorDevice } from '../topology/vm-plan.ts';
import { withInits } from '../topology/init-script.ts';
import {
  interfaceKernelArg,
  interfaceKernelDevice,
  type InterfacePlan,
  type LabPlan,
  type LinkPlan,
  type PortPlan,
  type SegmentPlan,
} from '../topology/plan.ts';

/** Whether a running segment takes new links: its kind says how (`live` in src/kinds/). */
const isLive = (segment: SegmentPlan) => LIVE_KINDS.some((k) => k.name === segment.kind);

export interface LinkAddRequest {
  vm: string;
  iface: string;
  segment: string;
  /** CIDRs to give the new interface. */
  addresses: string[];
}

export interface LinkChange {
  vm: string;
  segment: string;
  interface: InterfacePlan;
  port: PortPlan;
  link: LinkPlan;
  /** What mconsole is told: `config vecN:...` to add, `remove vecN` (or ethN) to take away. */
  mconsole: string;
}

/** Plans a new interface of a running VM on a segment whose kind takes links live (switches, hubs). Throws UsageError with a hint when it cannot be done. */
export function planLinkAdd(plan: LabPlan, req: LinkAddRequest): LinkChange {
  const vm = plan.vms.find((v) => v.name === req.vm);
  if (!vm) throw new UsageError(`no VM named ${req.vm} in lab ${plan.lab}`, { hint: `VMs: ${plan.vms.map((v) => v.name).join(', ')}` });
  // The lab file's rule for interface names (model.ts), so a live link takes the names a lab file does.
  if (!INTERFACE_NAME.test(req.iface)) throw new UsageError(`bad interface name "${req.iface}"`, { hint: 'use eth0, eth1, eth2, ... (no leading zeros)' });
  if (vm.interfaces.some((i) => i.name === req.iface))
    throw new UsageError(`${req.vm} already has ${req.iface}`, { hint: `take it away first with: umlab link rm ${req.vm} ${req.iface}` });
  const segment = plan.segments.find((s) => s.name === req.segment);
  if (!segment) {
    const candidates = plan.segments.filter(isLive).map((s) => s.name);
    throw new UsageError(`no segment named ${req.segment} in lab ${plan.lab}`, { hint: `${liveKindsText()}: ${candidates.join(', ') || 'none'}` });
  }
  const live = kindOf(segment.kind).live;
  if (!live)
    throw new UsageError(`segment ${segment.name} is a ${segment.kind}: links can be added live only to ${liveKindsText()}`, {
      hint: 'declare the link in the lab file instead',
    });
  for (const address of req.addresses)
    if (!parseCidr(address)) throw new UsageError(`bad address "${address}"`, { hint: 'give a CIDR, e.g. --ip 10.0.0.9/24' });

  const allocator = LabAllocator.fromPlan(plan);
  const mac = allocator.nextMac(plan.lab, { vm: req.vm, iface: req.iface, addresses: req.addresses });
  const linkName = `${req.vm}.${req.iface}`;
  const { port, capture, umlArg, vector } = live.addPort(segment, { vm: req.vm, iface: req.iface, mac, link: linkName, capture: null }, plan, allocator);
  const iface: InterfacePlan = { name: req.iface, mac, addresses: req.addresses, dhcp: false, proxyArp: false, link: linkName, umlArg };
  if (vector) iface.device = vectorDevice(req.iface);
  return {
    vm: req.vm,
    segment: segment.name,
    interface: iface,
    port,
    link: { name: linkName, segment: segment.name, endpoints: [{ vm: req.vm, iface: req.iface }], capture },
    mconsole: `config ${interfaceKernelArg(iface)}`,
  };
}

/** Plans taking an interface of a running VM off its switch or hub. */
export function planLinkRemove(plan: LabPlan, vmName: string, iface: string): LinkChange {
  const planned = interfaceOf(plan, vmName, iface);
  const link = plan.links.find((l) => l.name === planned.link)!;
  const segment = plan.segments.find((s) => s.name === link.segment)!;
  if (!isLive(segment))
    throw new UsageError(`${vmName}.${iface} is on ${segment.name}, a ${segment.kind}: only links to ${liveKindsText()} can be taken away live`, {
      hint: `cut it instead with: umlab link down ${vmName} ${iface}`,
    });
  const port = segment.ports.find((p) => p.vm === vmName && p.iface === iface)!;
  return { vm: vmName, segment: segment.name, interface: planned, port, link, mconsole: `remove ${interfaceKernelDevice(planned)}` };
}

/** The plan after a change: a new object, the old one untouched. */
export function applyLinkChange(plan: LabPlan, change: LinkChange, kind: 'add' | 'remove'): LabPlan {
  const add = kind === 'add';
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name, 'en', { numeric: true });
  // The VM's init too (it configures the interfaces), so a VM booted again keeps the change.
  return withInits({
    ...plan,
    vms: plan.vms.map((v) =>
      v.name !== change.vm
        ? v
        : {
            ...v,
            // The command line too, so a VM booted again (`umlab vm reboot`) keeps the change.
            argv: add ? [...v.argv, interfaceKernelArg(change.interface)] : v.argv.filter((a) => a !== interfaceKernelArg(change.interface)),
            interfaces: add ? [...v.interfaces, change.interface].sort(byName) : v.interfaces.filter((i) => i.name !== change.interface.name),
          },
    ),
    segments: plan.segments.map((s) =>
      s.name !== change.segment ? s : { ...s, ports: add ? [...s.ports, change.port] : s.ports.filter((p) => p.link !== change.port.link) },
    ),
    links: add ? [...plan.links, change.link] : plan.links.filter((l) => l.name !== change.link.name),
  });
}

/** The interface's link, for `umlab link down|up VM ethN`. */
export function linkOfInterface(plan: LabPlan, vmName: string, iface: string): LinkPlan {
  const planned = interfaceOf(plan, vmName, iface);
  const link = plan.links.find((l) => l.name === planned.link);
  if (!link) throw new UmlabError(`plan of lab ${plan.lab} has no link ${planned.link}`);
  return link;
}

function interfaceOf(plan: LabPlan, vmName: string, iface: string): InterfacePlan {
  const vm = plan.vms.find((v) => v.name === vmName);
  if (!vm) throw new UsageError(`no VM named ${vmName} in lab ${plan.lab}`, { hint: `VMs: ${plan.vms.map((v) => v.name).join(', ')}` });
  const planned = vm.interfaces.find((i) => i.name === iface);
  if (!planned) throw new UsageError(`${vmName} has no ${iface}`, { hint: `its interfaces: ${vm.interfaces.map((i) => i.name).join(', ') || 'none'}` });
  return planned;
}

/** New link conditions for one interface of a running lab (`umlab link set`): the link, and the plan after it. */
export function planLinkConditions(
  plan: LabPlan,
  vmName: string,
  iface: string,
  change: { raw: RawImpairment; direction?: 'egress' | 'ingress' } | 'clear',
): { link: LinkPlan; conditions: Impairment | null; plan: LabPlan } {
  const link = linkOfInterface(plan, vmName, iface);
  const segment = plan.segments.find((s) => s.name === link.segment)!;
  const kind = kindOf(segment.kind);
  if (!kind.linkConditions)
    throw new UsageError(`${vmName}.${iface} is on ${segment.name}, a ${kind.word}, whose links cannot be impaired`, {
      hint: `link conditions work on ${kindsThat('linkConditions')}`,
    });
  const end = link.endpoints.find((e) => e.vm === vmName && e.iface === iface)!;
  let conditions: Impairment | null = null;
  if (change !== 'clear') {
    const { impairment, problems } = readImpairment(change.raw);
    if (problems.length)
      throw new UsageError(problems.map((p) => p.message).join('; '), { hint: 'e.g. umlab link set h1 eth0 --delay 50ms --loss 1% --rate 10mbit' });
    const before = end.conditions ?? { egress: {}, ingress: {} };
    conditions = change.direction === undefined ? impairment : { ...before, [change.direction]: impairment[change.direction] };
    if (isUnimpaired(conditions.egress) && isUnimpaired(conditions.ingress)) conditions = null;
  }
  const endpoints = link.endpoints.map((e) => (e !== end ? e : { vm: e.vm, iface: e.iface, ...(conditions && { conditions }) }));
  const changed = { ...link, endpoints };
  return { link: changed, conditions, plan: { ...plan, links: plan.links.map((l) => (l === link ? changed : l)) } };
}
