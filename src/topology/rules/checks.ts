// Rules on `tests:`, the checks `umlab test` runs: one kind each, unique names, `after:`
// without cycles, and every VM, interface, address, link and regex they name is real.
import type { Diagnostic } from '../../errors.ts';
import { didYouMean } from '../../util/text.ts';
import { parseAddress } from '../address.ts';
import type { PathSegment } from '../lab-path.ts';
import { findInterface, interfaceNamesOf, pointers } from '../link-graph.ts';
import { TEST_KINDS, type FrameMatch, type Lab, type LabTest } from '../model.ts';
import { testPath, type Rule, type RuleContext } from './context.ts';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Checks a reference to a VM or vm.ethN; returns a problem description or undefined. */
function badEndpoint(lab: Lab, ref: string, opts: { mac?: boolean; ip?: boolean; needsAddress?: boolean }): { message: string; hint: string } | undefined {
  if (opts.mac && MAC.test(ref)) return undefined;
  if (opts.ip && parseAddress(ref)) return undefined;
  const vmNames = lab.vms.map((v) => v.name);
  const [vmName, iface, ...more] = ref.split('.');
  const accepted = [opts.ip && 'an IP address', opts.mac && 'a MAC', 'a VM name', 'vm.ethN'].filter(Boolean).join(', ');
  if (more.length > 0 || !vmName) return { message: `"${ref}" is not ${accepted}`, hint: `write ${accepted}` };
  const vm = lab.vms.find((v) => v.name === vmName);
  if (!vm) {
    const guess = didYouMean(vmName, vmNames);
    const looksLikeIp = /^[0-9.:a-f]+$/i.test(vmName) && /[.:]/.test(ref);
    return looksLikeIp
      ? { message: `"${ref}" is not a valid address`, hint: `write ${accepted}` }
      : { message: `no VM named "${vmName}"`, hint: guess ? `did you mean "${guess}"?` : `VMs of this lab: ${vmNames.join(', ')}` };
  }
  if (iface !== undefined) {
    const names = interfaceNamesOf(lab, vm.name);
    if (!names.includes(iface)) return { message: `${vm.name} has no interface "${iface}"`, hint: `interfaces of ${vm.name}: ${names.join(', ') || 'none'}` };
    if (opts.needsAddress && !vm.interfaces.find((i) => i.name === iface)?.addresses.length)
      return { message: `${ref} has no static address to aim at`, hint: `give ${ref} an \`ip:\`, or write the address itself` };
    return undefined;
  }
  if (opts.needsAddress && !vm.interfaces.some((i) => i.addresses.length > 0))
    return { message: `${vm.name} has no static address to aim at`, hint: `give ${vm.name} an address, or write the address itself` };
  return undefined;
}

/** Every check has exactly one kind. */
export const testKindGiven: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  ctx.lab.tests.forEach((_, i) => {
    const given = TEST_KINDS.filter((k) => ctx.has(testPath(i, k)));
    if (given.length === 1) return;
    const message = given.length === 0 ? 'the check has no kind' : `the check has ${given.length} kinds (${given.join(', ')})`;
    out.push(ctx.diag(testPath(i), 'value', message, `give exactly one of ${TEST_KINDS.join(', ')}; write two checks for two things`));
  });
  return out;
};

/** Check names are unique; `after:` names other checks, without cycles. */
export const testOrder: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const tests = ctx.lab.tests;
  const firstIndex = new Map<string, number>();
  tests.forEach((t, i) => {
    const earlier = firstIndex.get(t.name);
    if (earlier === undefined) firstIndex.set(t.name, i);
    else
      out.push(
        ctx.diag(
          testPath(i, 'name'),
          'value',
          `check name "${t.name}" is already used (line ${ctx.lineOf(testPath(earlier, 'name'), 'value')})`,
          'give every check its own name: reports and `after:` refer to checks by name',
        ),
      );
  });
  tests.forEach((t, i) =>
    t.after.forEach((name, j) => {
      if (name === t.name) out.push(ctx.diag(testPath(i, 'after', j), 'value', 'a check cannot run after itself', 'remove it from `after:`'));
      else if (!firstIndex.has(name)) {
        const guess = didYouMean(name, firstIndex.keys());
        out.push(ctx.diag(testPath(i, 'after', j), 'value', `no check named "${name}"`, guess ? `did you mean "${guess}"?` : 'name a check of this lab'));
      }
    }),
  );
  // A cycle would deadlock the runner: find one by depth-first search.
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(tests.map((t) => [t.name, t]));
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const next of byName.get(name)?.after ?? []) {
      if (next === name || !byName.has(next)) continue;
      const cycle = visit(next, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const t of tests) {
    const cycle = visit(t.name, []);
    if (cycle) {
      const i = firstIndex.get(t.name)!;
      out.push(ctx.diag(testPath(i, 'after'), 'key', `checks wait for each other in a circle: ${cycle.join(' -> ')}`, 'remove one of these `after:` entries'));
      break;
    }
  }
  return out;
};

/** What a check refers to exists: VMs, targets, routers of a path, links, frame endpoints; regexes compile. */
export const testReferences: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const lab = ctx.lab;
  ctx.lab.tests.forEach((t: LabTest, i) => {
    if (!ctx.has(testPath(i, t.kind))) return; // no kind: testKindGiven reports it
    const at = (...rest: PathSegment[]) => testPath(i, t.kind, ...rest);
    const endpoint = (path: PathSegment[], ref: string, opts: Parameters<typeof badEndpoint>[2]) => {
      const bad = badEndpoint(lab, ref, opts);
      if (bad) out.push(ctx.diag(path, 'value', bad.message, bad.hint));
    };
    const vm = (path: PathSegment[], name: string) => {
      if (name.includes('.')) out.push(ctx.diag(path, 'value', `"${name}" is not a VM name`, `name the VM alone, e.g. ${name.split('.')[0]}`));
      else endpoint(path, name, {});
    };
    switch (t.kind) {
      case 'reach':
        vm(at('from'), t.from);
        endpoint(at('to'), t.to, { ip: true, needsAddress: true });
        t.path?.forEach((hop, j) => endpoint(at('path', j), hop, { ip: true }));
        break;
      case 'tcp':
      case 'udp':
      case 'latency':
        vm(at('from'), t.from);
        endpoint(at('to'), t.to, { ip: true, needsAddress: true });
        break;
      case 'throughput':
        // The iperf3 server runs in the VM of `to`: a VM or vm.ethN, not a bare address.
        vm(at('from'), t.from);
        if (parseAddress(t.to))
          out.push(
            ctx.diag(
              at('to'),
              'value',
              `"${t.to}" is an address; the iperf3 server needs a VM to run in`,
              "name the VM (its first address) or vm.ethN (that interface's)",
            ),
          );
        else endpoint(at('to'), t.to, { needsAddress: true });
        break;
      case 'command':
        vm(at('vm'), t.vm);
        if (t.stdout !== undefined) {
          try {
            new RegExp(t.stdout, 'm');
          } catch (error) {
            out.push(
              ctx.diag(
                at('stdout'),
                'value',
                `not a valid regular expression: ${(error as Error).message}`,
                'JavaScript regex syntax; escape special characters such as ( . * with a backslash',
              ),
            );
          }
        }
        break;
      case 'state':
        vm(at('vm'), t.vm);
        break;
      case 'capture': {
        t.do.forEach((step, j) => vm(at('do', j, 'vm'), step.vm));
        checkLink(ctx, lab, t.link, at('link'), out);
        const keys: [keyof FrameMatch, string, Parameters<typeof badEndpoint>[2]][] = [
          ['src', 'src', { mac: true }],
          ['dst', 'dst', { mac: true }],
          ['arpSenderMac', 'arp_sender_mac', { mac: true }],
          ['arpSenderIp', 'arp_sender_ip', { ip: true, needsAddress: true }],
          ['arpTargetIp', 'arp_target_ip', { ip: true, needsAddress: true }],
          ['ipSrc', 'ip_src', { ip: true, needsAddress: true }],
          ['ipDst', 'ip_dst', { ip: true, needsAddress: true }],
        ];
        for (const [key, yamlKey, opts] of keys) {
          const value = t.match[key];
          if (typeof value === 'string') endpoint(at('match', yamlKey), value, opts);
        }
        break;
      }
    }
  });
  return out;
};

/** A capture check's link: a link name or vm.ethN, on a link that is captured. */
function checkLink(ctx: RuleContext, lab: Lab, link: string, path: PathSegment[], out: Diagnostic[]): void {
  const ends = link.split('--');
  if (ends.length > 2) {
    out.push(ctx.diag(path, 'value', `"${link}" is not a link name`, 'write vm.ethN, or a link as `umlab capture list` shows it'));
    return;
  }
  for (const end of ends) {
    if (!end.includes('.')) {
      out.push(ctx.diag(path, 'value', `"${end}" is not an interface`, 'name the link by one of its VM interfaces, e.g. h1.eth0'));
      return;
    }
    const bad = badEndpoint(lab, end, {});
    if (bad) {
      out.push(ctx.diag(path, 'value', bad.message, bad.hint));
      return;
    }
  }
  const [vmName, ifName] = ends[0].split('.') as [string, string];
  const declared = findInterface(lab, vmName, ifName);
  const peer = pointers(lab).find((p) => p.toVm === vmName && p.toIface === ifName);
  const captured = (declared?.capture ?? lab.capture) && (peer ? peer.from.iface.capture : true);
  if (!captured)
    out.push(ctx.diag(path, 'value', `the link of ${ends[0]} is not captured`, 'remove `capture: false` from the lab or the interface, or check another link'));
}
