// Rules on addresses and MACs: CIDRs parse, no address twice on one segment (gateway and
// tap host addresses included), MACs unicast and unique.
import type { Diagnostic } from '../../errors.ts';
import { parseCidr } from '../address.ts';
import type { PathSegment } from '../lab-path.ts';
import { allInterfaces, isMutual, pointers, refName } from '../link-graph.ts';
import { isMulticastMac } from '../mac.ts';
import type { VmInterface } from '../model.ts';
import { addressPath, ifacePath, type Rule } from './context.ts';

/** Interface addresses and the segments' own (a tap's host side) are CIDRs with a prefix length. */
export const validCidrs: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const check = (path: PathSegment[], text: string) => {
    if (parseCidr(text)) return;
    const hint = text.includes('/')
      ? 'write an IPv4 (10.0.0.1/24) or IPv6 (fd00::1/64) address with its prefix length (0-32, 0-128)'
      : `add the prefix length, e.g. ${text}/${text.includes(':') ? 64 : 24}`;
    out.push(ctx.diag(path, 'value', `"${text}" is not a valid CIDR address`, hint));
  };
  for (const { vm, iface } of allInterfaces(ctx.lab)) iface.addresses.forEach((a, i) => check(addressPath(ctx, vm.name, iface.name, i), a));
  for (const s of ctx.lab.segments)
    for (const a of ctx.kinds.kindOf(s.kind).addresses?.(s, ctx.lab) ?? []) if (a.cidr !== undefined) check(ctx.segmentPath(s, ...a.path), a.cidr);
  return out;
};

/** Two interfaces on one segment (or both ends of a p2p link) cannot share an address. */
export const uniqueAddressPerSegment: Rule = (ctx) => {
  interface Holder {
    label: string;
    path: PathSegment[];
    address: string;
  }
  const groups = new Map<string, Holder[]>();
  const add = (group: string, holder: Holder) => groups.set(group, [...(groups.get(group) ?? []), holder]);
  // Host-side addresses first, so the error lands on the VM interface that repeats them.
  for (const s of ctx.lab.segments)
    for (const a of ctx.kinds.kindOf(s.kind).addresses?.(s, ctx.lab) ?? [])
      if (a.address !== undefined) add(s.name, { label: a.label, path: ctx.segmentPath(s, ...a.path), address: a.address });
  const addInterface = (group: string, vm: string, iface: VmInterface) =>
    iface.addresses.forEach((text, i) => {
      const cidr = parseCidr(text);
      if (cidr) add(group, { label: refName(vm, iface.name), path: addressPath(ctx, vm, iface.name, i), address: cidr.address });
    });
  const segmentNames = new Set(ctx.lab.segments.map((s) => s.name));
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.connect !== undefined && segmentNames.has(iface.connect)) addInterface(iface.connect, vm.name, iface);
  }
  for (const p of pointers(ctx.lab)) {
    // Only links that will exist: mutual (counted once) or to a free interface.
    if (p.target?.connect !== undefined && !isMutual(p)) continue;
    const ends = [refName(p.from.vm.name, p.from.iface.name), refName(p.toVm, p.toIface)].sort();
    const group = `p2p:${ends.join('--')}`;
    if (groups.has(group)) continue;
    addInterface(group, p.from.vm.name, p.from.iface);
    if (p.target) addInterface(group, p.toVm, p.target);
  }
  const out: Diagnostic[] = [];
  for (const [group, holders] of groups) {
    const first = new Map<string, Holder>();
    for (const h of holders) {
      const earlier = first.get(h.address);
      if (!earlier) {
        first.set(h.address, h);
        continue;
      }
      const where = group.startsWith('p2p:') ? `the link ${group.slice(4)}` : group;
      out.push(
        ctx.diag(
          h.path,
          'value',
          `address ${h.address} is already used on ${where} by ${earlier.label} (line ${ctx.lineOf(earlier.path, 'value')})`,
          'give every interface on a segment its own address',
        ),
      );
    }
  }
  return out;
};

/** A NIC's MAC must be unicast: an odd first byte is a multicast address (HOWTO 6.3). */
export const macFirstByteEven: Rule = (ctx) =>
  [...allInterfaces(ctx.lab)]
    .filter(({ iface }) => iface.mac !== undefined && isMulticastMac(iface.mac))
    .map(({ vm, iface }) =>
      ctx.diag(
        ifacePath(vm.name, iface.name, 'mac'),
        'value',
        `${iface.mac} is a multicast MAC (its first byte is odd)`,
        'use an even first byte; UML labs use fe:fd:... (e.g. fe:fd:0a:00:00:01), or leave `mac:` out to derive one',
      ),
    );

/** Given MACs are unique in the lab (derived ones are made unique by the compiler). */
export const macUnique: Rule = (ctx) => {
  const first = new Map<string, { label: string; path: PathSegment[] }>();
  const out: Diagnostic[] = [];
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.mac === undefined) continue;
    const path = ifacePath(vm.name, iface.name, 'mac');
    const earlier = first.get(iface.mac);
    if (!earlier) {
      first.set(iface.mac, { label: refName(vm.name, iface.name), path });
      continue;
    }
    out.push(
      ctx.diag(
        path,
        'value',
        `MAC ${iface.mac} is already used by ${earlier.label} (line ${ctx.lineOf(earlier.path, 'value')})`,
        'every interface needs its own MAC: change one, or leave `mac:` out to derive one',
      ),
    );
  }
  return out;
};
