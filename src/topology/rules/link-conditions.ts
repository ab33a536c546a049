// Rules on an interface's link conditions (`link:`) and switch port VLANs (`vlan:`, `vlans:`, `native:`).
import type { Diagnostic } from '../../errors.ts';
import { allInterfaces } from '../link-graph.ts';
import { readImpairment } from '../link-conditions.ts';
import { parseConnect, type Lab, type VmInterface } from '../model.ts';
import { ifacePath, type Rule, type RuleKinds } from './context.ts';

/** The kind of segment an interface is on: a declared segment's, else a point-to-point link's. */
function segmentKindOf(kinds: RuleKinds, lab: Lab, iface: VmInterface) {
  const target = iface.connect === undefined ? null : parseConnect(iface.connect);
  const segment = target && 'segment' in target ? lab.segments.find((s) => s.name === target.segment) : undefined;
  if (target && 'segment' in target && !segment) return null; // connectTargetsExist reports it
  return segment ? kinds.kindOf(segment.kind) : kinds.pointToPoint;
}

/** `link:` values have their units and ranges, and netem's combinations (jitter and reorder need a delay). */
export const linkConditionsValid: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    if (iface.link === undefined) continue;
    for (const p of readImpairment(iface.link).problems)
      out.push(ctx.diag(ifacePath(vm.name, iface.name, 'link', ...p.path), 'value', p.message, 'see "Link conditions" in docs/transports.md'));
  }
  return out;
};

/** Only segments whose engine can impair frames take `link:`; only VLAN-aware kinds take VLANs. */
export const linkSettingsSupported: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    const kind = segmentKindOf(ctx.kinds, ctx.lab, iface);
    if (!kind) continue;
    if (iface.link !== undefined && !kind.linkConditions)
      out.push(
        ctx.diag(
          ifacePath(vm.name, iface.name, 'link'),
          'key',
          `${vm.name}.${iface.name} is on a ${kind.word}, whose links cannot be impaired`,
          `link conditions work on ${ctx.kinds.kindsThat('linkConditions')}`,
        ),
      );
    for (const key of ['vlan', 'vlans', 'native'])
      if (ctx.has(ifacePath(vm.name, iface.name, key)) && !kind.vlans)
        out.push(
          ctx.diag(
            ifacePath(vm.name, iface.name, key),
            'key',
            `${vm.name}.${iface.name} is on a ${kind.word}, which has no VLANs`,
            `VLANs are for ports of ${ctx.kinds.kindsThat('vlans')}; a VM can still use its own eth0.10`,
          ),
        );
  }
  return out;
};

/** A port is an access port (`vlan:`) or a trunk (`vlans:`, maybe `native:`), not both. */
export const vlanPorts: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const { vm, iface } of allInterfaces(ctx.lab)) {
    const has = (key: string) => ctx.has(ifacePath(vm.name, iface.name, key));
    if (has('vlan') && has('vlans'))
      out.push(
        ctx.diag(
          ifacePath(vm.name, iface.name, 'vlans'),
          'key',
          'a port is either an access port (vlan:) or a trunk (vlans:)',
          'for a trunk with untagged frames in one VLAN, write vlans: [...] and native: N',
        ),
      );
    if (has('native') && !has('vlans'))
      out.push(
        ctx.diag(
          ifacePath(vm.name, iface.name, 'native'),
          'key',
          '`native:` is for trunks',
          'add vlans: [...] (the tagged VLANs), or use vlan: N for an access port',
        ),
      );
    const native = iface.vlans?.untagged;
    if (has('native') && native !== undefined && iface.vlans!.tagged.includes(native))
      out.push(
        ctx.diag(
          ifacePath(vm.name, iface.name, 'native'),
          'value',
          `VLAN ${native} cannot be both native (untagged) and tagged on one trunk`,
          `take ${native} out of vlans:`,
        ),
      );
  }
  return out;
};
