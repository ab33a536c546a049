// Rules on the settings of declared segments: mcast groups, gateway networks and port forwards.
import type { Diagnostic } from '../../errors.ts';
import { didYouMean } from '../../util/text.ts';
import { isSlirpNetwork, parseCidr, parseIPv4 } from '../address.ts';
import type { NodePart } from '../lab-path.ts';
import { segmentPath, type Rule } from './context.ts';

/** An mcast segment's group is an IPv4 multicast address, and two segments never share group and port. */
export const mcastGroups: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<string, string>();
  for (const s of ctx.lab.segments) {
    if (s.kind !== 'mcast') continue;
    const groupPath = ctx.has(segmentPath(s, 'group')) ? segmentPath(s, 'group') : segmentPath(s);
    const part: NodePart = groupPath.length === 3 ? 'value' : 'key';
    const bytes = parseIPv4(s.group);
    if (!bytes || bytes[0]! < 224 || bytes[0]! > 239) {
      out.push(ctx.diag(groupPath, part, `"${s.group}" is not an IPv4 multicast group`, 'use an address in 224.0.0.0/4; 239.192.0.0/14 is meant for local use, e.g. 239.192.0.1'));
      continue;
    }
    const key = `${s.group}:${s.port}`;
    const earlier = used.get(key);
    if (earlier) out.push(ctx.diag(groupPath, part, `${key} is already the group of ${earlier}: the two segments would be one`, 'give each mcast segment its own group or port'));
    else used.set(key, s.name);
  }
  return out;
};

/** A slirp network is an IPv4 network (host bits zero) big enough for gateway, DNS and DHCP range. */
export const gatewayNetworks: Rule = (ctx) =>
  ctx.lab.segments.flatMap((s) => {
    if (s.kind !== 'slirp') return [];
    const cidr = parseCidr(s.network);
    if (isSlirpNetwork(cidr)) return [];
    const path = ctx.has(segmentPath(s, 'network')) ? segmentPath(s, 'network') : segmentPath(s);
    return [ctx.diag(path, 'value', `"${s.network}" is not an IPv4 network of /27 or larger`, 'write the network address with its prefix, e.g. 10.0.2.0/24 (gateway .2, DNS .3, DHCP from .15)')];
  });

/** A forward's VM exists and has an interface on that gateway. */
export const forwardTargets: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const vmNames = ctx.lab.vms.map((v) => v.name);
  for (const s of ctx.lab.segments) {
    if (s.kind !== 'slirp') continue;
    const onGateway = ctx.lab.vms.filter((v) => v.interfaces.some((i) => i.connect === s.name)).map((v) => v.name);
    s.forward.forEach((f, i) => {
      if (f.vm === undefined) return;
      const path = segmentPath(s, 'forward', i);
      if (!vmNames.includes(f.vm)) {
        const guess = didYouMean(f.vm, vmNames);
        out.push(ctx.diag(path, 'value', `forward "${f.spec}" names no VM "${f.vm}"`, guess ? `did you mean "${guess}"?` : `VMs of this lab: ${vmNames.join(', ')}`));
      } else if (!onGateway.includes(f.vm)) {
        const on = onGateway.length ? `VMs on ${s.name}: ${onGateway.join(', ')}` : `no VM is on ${s.name} yet`;
        out.push(ctx.diag(path, 'value', `forward "${f.spec}" targets ${f.vm}, which has no interface on ${s.name}`, `connect an interface of ${f.vm} to ${s.name}, or forward to a VM on it (${on})`));
      }
    });
  }
  return out;
};

/** Forward ports are 1-65535, and a host port is forwarded once per protocol. */
export const forwardPorts: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<string, string>();
  for (const s of ctx.lab.segments) {
    if (s.kind !== 'slirp') continue;
    s.forward.forEach((f, i) => {
      const path = segmentPath(s, 'forward', i);
      const bad = [f.hostPort, f.guestPort].find((p) => p < 1 || p > 65535);
      if (bad !== undefined) {
        out.push(ctx.diag(path, 'value', `port ${bad} in forward "${f.spec}" is out of range`, 'ports are 1-65535'));
        return;
      }
      const key = `${f.proto}:${f.hostPort}`;
      const earlier = used.get(key);
      if (earlier) out.push(ctx.diag(path, 'value', `host port ${key} is already forwarded by "${earlier}"`, 'forward each host port once; pick another host port'));
      else used.set(key, f.spec);
    });
  }
  return out;
};
