// Rules on slirp gateways: the network is big enough, and port forwards are in range, unique and aimed at a VM on the gateway.
import type { Diagnostic } from '../../errors.ts';
import { didYouMean } from '../../util/text.ts';
import { parseCidr } from '../../topology/address.ts';
import { isSlirpNetwork, type SlirpSegment } from './model.ts';
import type { Rule, RuleContext } from '../../topology/rules/context.ts';

const gateways = (ctx: RuleContext) => ctx.lab.segments.filter((s): s is SlirpSegment => s.kind === 'slirp');

/** A slirp network is an IPv4 network (host bits zero) big enough for gateway, DNS and DHCP range. */
export const gatewayNetworks: Rule = (ctx) =>
  gateways(ctx).flatMap((s) => {
    const cidr = parseCidr(s.network);
    if (isSlirpNetwork(cidr)) return [];
    const path = ctx.has(ctx.segmentPath(s, 'network')) ? ctx.segmentPath(s, 'network') : ctx.segmentPath(s);
    return [
      ctx.diag(
        path,
        'value',
        `"${s.network}" is not an IPv4 network of /27 or larger`,
        'write the network address with its prefix, e.g. 10.0.2.0/24 (gateway .2, DNS .3, DHCP from .15)',
      ),
    ];
  });

/** A forward's VM exists and has an interface on that gateway. */
export const forwardTargets: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const vmNames = ctx.lab.vms.map((v) => v.name);
  for (const s of gateways(ctx)) {
    const onGateway = ctx.lab.vms.filter((v) => v.interfaces.some((i) => i.connect === s.name)).map((v) => v.name);
    s.forward.forEach((f, i) => {
      if (f.vm === undefined) return;
      const path = ctx.segmentPath(s, 'forward', i);
      if (!vmNames.includes(f.vm)) {
        const guess = didYouMean(f.vm, vmNames);
        out.push(
          ctx.diag(path, 'value', `forward "${f.spec}" names no VM "${f.vm}"`, guess ? `did you mean "${guess}"?` : `VMs of this lab: ${vmNames.join(', ')}`),
        );
      } else if (!onGateway.includes(f.vm)) {
        const on = onGateway.length ? `VMs on ${s.name}: ${onGateway.join(', ')}` : `no VM is on ${s.name} yet`;
        out.push(
          ctx.diag(
            path,
            'value',
            `forward "${f.spec}" targets ${f.vm}, which has no interface on ${s.name}`,
            `connect an interface of ${f.vm} to ${s.name}, or forward to a VM on it (${on})`,
          ),
        );
      }
    });
  }
  return out;
};

/** Forward ports are 1-65535, and a host port is forwarded once per protocol. */
export const forwardPorts: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<string, string>();
  for (const s of gateways(ctx)) {
    s.forward.forEach((f, i) => {
      const path = ctx.segmentPath(s, 'forward', i);
      const bad = [f.hostPort, f.guestPort].find((p) => p < 1 || p > 65535);
      if (bad !== undefined) {
        out.push(ctx.diag(path, 'value', `port ${bad} in forward "${f.spec}" is out of range`, 'ports are 1-65535'));
        return;
      }
      const key = `${f.proto}:${f.hostPort}`;
      const earlier = used.get(key);
      if (earlier)
        out.push(ctx.diag(path, 'value', `host port ${key} is already forwarded by "${earlier}"`, 'forward each host port once; pick another host port'));
      else used.set(key, f.spec);
    });
  }
  return out;
};
