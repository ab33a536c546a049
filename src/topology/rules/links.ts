// Rules on the link graph: `connect:` targets exist, point-to-point links are mutual or
// reach a free interface, every interface is the end of exactly one link.
import type { Diagnostic } from '../../errors.ts';
import { didYouMean, listing } from '../../util/text.ts';
import { allInterfaces, freeInterfaceName, isMutual, pointers, refName, type Pointer } from '../link-graph.ts';
import { INTERFACE_NAME, parseConnect } from '../model.ts';
import { ifacePath, type Rule } from './context.ts';

/** `connect:` names a declared segment or an interface `vm.ethN` of a declared VM. */
export const connectTargetsExist: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const segmentNames = ctx.lab.segments.map((s) => s.name);
  const vmNames = ctx.lab.vms.map((v) => v.name);
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.connect === undefined) continue;
    const path = ifacePath(vm.name, iface.name, 'connect');
    const target = parseConnect(iface.connect);
    if ('segment' in target) {
      if (segmentNames.includes(target.segment)) continue;
      if (vmNames.includes(target.segment)) {
        out.push(
          ctx.diag(
            path,
            'value',
            `"${target.segment}" is a VM, not a segment`,
            `to link point-to-point to one of its interfaces write \`connect: ${target.segment}.eth0\``,
          ),
        );
        continue;
      }
      const guess = didYouMean(target.segment, segmentNames);
      const known = segmentNames.length ? `segments of this lab: ${segmentNames.join(', ')}` : 'this lab declares no segments';
      out.push(
        ctx.diag(
          path,
          'value',
          `no segment named "${target.segment}"`,
          guess ? `did you mean "${guess}"?` : `declare it under ${listing(ctx.kinds.sections(), 'or')} (${known})`,
        ),
      );
    } else if (!vmNames.includes(target.vm)) {
      const guess = didYouMean(target.vm, vmNames);
      out.push(
        ctx.diag(path, 'value', `no VM named "${target.vm}"`, guess ? `did you mean "${guess}.${target.iface}"?` : `VMs of this lab: ${vmNames.join(', ')}`),
      );
    } else if (!INTERFACE_NAME.test(target.iface)) {
      out.push(ctx.diag(path, 'value', `"${target.iface}" is not an interface name`, `write the peer as vm.ethN, e.g. ${target.vm}.eth0`));
    } else if (target.vm === vm.name && target.iface === iface.name) {
      out.push(ctx.diag(path, 'value', 'an interface cannot connect to itself', 'connect it to a segment or to another interface'));
    }
  }
  return out;
};

/** A point-to-point peer either points back, or is free (no connect, or not declared). */
export const p2pPeerPointsBack: Rule = (ctx) => {
  const all = pointers(ctx.lab);
  const out: Diagnostic[] = [];
  const blamedTargets = new Set<string>();
  for (const p of all) {
    const target = p.target;
    if (target?.connect === undefined || isMutual(p)) continue;
    // If the target has a mutual link with someone else, interfaceUsedOnce explains it better.
    const targetHasMutualPeer = all.some((q) => q.toVm === p.toVm && q.toIface === p.toIface && isMutual(q));
    if (targetHasMutualPeer) continue;
    const from = refName(p.from.vm.name, p.from.iface.name);
    const to = refName(p.toVm, p.toIface);
    const hint = `remove \`connect:\` from ${to} (the link from ${from} creates it), or link ${from} elsewhere`;
    out.push(ctx.diag(ifacePath(p.from.vm.name, p.from.iface.name, 'connect'), 'value', `${to} connects to "${target.connect}", not back to ${from}`, hint));
    if (!blamedTargets.has(to)) {
      blamedTargets.add(to);
      out.push(
        ctx.diag(ifacePath(p.toVm, p.toIface, 'connect'), 'value', `${to} connects to "${target.connect}", but ${from} links to it point-to-point`, hint),
      );
    }
  }
  return out;
};

/** An interface joins at most one link: two p2p links cannot share an end. */
export const interfaceUsedOnce: Rule = (ctx) => {
  const byTarget = new Map<string, Pointer[]>();
  for (const p of pointers(ctx.lab)) {
    const key = refName(p.toVm, p.toIface);
    byTarget.set(key, [...(byTarget.get(key) ?? []), p]);
  }
  const out: Diagnostic[] = [];
  for (const [to, group] of byTarget) {
    const target = group[0].target;
    // The one link the interface keeps: the mutual one, or (for a free target) the first in the file.
    const owner = group.find(isMutual) ?? (target?.connect === undefined ? group[0] : undefined);
    if (!owner) continue; // the target connects elsewhere: p2pPeerPointsBack reports it
    const ownerName = refName(owner.from.vm.name, owner.from.iface.name);
    const ownerLine = ctx.lineOf(ifacePath(owner.from.vm.name, owner.from.iface.name, 'connect'), 'value');
    for (const p of group) {
      if (p === owner) continue;
      out.push(
        ctx.diag(
          ifacePath(p.from.vm.name, p.from.iface.name, 'connect'),
          'value',
          `${to} is already linked with ${ownerName} (line ${ownerLine})`,
          `a VM interface joins at most one link: link to another interface of ${p.toVm}, e.g. ${refName(p.toVm, freeInterfaceName(ctx.lab, p.toVm))}`,
        ),
      );
    }
  }
  return out;
};

/** An interface without `connect:` must be the far end of some point-to-point link. */
export const interfaceConnected: Rule = (ctx) => {
  const targets = new Set(pointers(ctx.lab).map((p) => refName(p.toVm, p.toIface)));
  return [...allInterfaces(ctx.lab)]
    .filter(({ vm, iface }) => iface.connect === undefined && !targets.has(refName(vm.name, iface.name)))
    .map(({ vm, iface }) =>
      ctx.diag(
        ifacePath(vm.name, iface.name),
        'key',
        `${refName(vm.name, iface.name)} is not connected to anything`,
        'add `connect: <segment>` or `connect: <vm>.ethN`, or remove the interface',
      ),
    );
};
