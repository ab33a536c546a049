// Checks judged from a submission's files before anything boots: the devices exist, each
// interface is in the right collision domain, the startup files are there. Pure.
import type { Lab } from '../topology/model.ts';
import type { StaticCheck } from './spec.ts';

export interface SubmissionFiles {
  lab: Lab;
  /** Names of the `<device>.startup` files of a Kathará lab (YAML labs: VMs with `startup:`). */
  startupFiles: string[];
}

/** Kathará names as umlab's reader stores them: lowercase, `_` as `-`. */
const asUmlab = (name: string) => name.toLowerCase().replace(/_/g, '-');

export function judgeStatic(check: StaticCheck, files: SubmissionFiles): { pass: boolean; reason: string } {
  const vm = files.lab.vms.find((v) => v.name === asUmlab(check.device));
  if (check.what === 'startup')
    return files.startupFiles.includes(check.device)
      ? { pass: true, reason: `${check.device}.startup exists` }
      : { pass: false, reason: `${check.device}.startup file not found` };
  if (!vm) return { pass: false, reason: `the lab has no device ${check.device} (devices: ${files.lab.vms.map((v) => v.name).join(', ') || 'none'})` };
  if (check.what === 'device') return { pass: true, reason: `${check.device} exists` };
  // umlab's Kathará reader turns ipv6=true into this sysctl; a YAML lab sets it itself.
  if (check.what === 'ipv6')
    return vm.sysctl['net.ipv6.conf.all.forwarding'] === '1'
      ? { pass: true, reason: `IPv6 is enabled on ${check.device}` }
      : {
          pass: false,
          reason: `IPv6 is not enabled on ${check.device}: no ${check.device}[ipv6]=true in lab.conf (a YAML lab: sysctl net.ipv6.conf.all.forwarding: 1)`,
        };
  const iface = vm.interfaces.find((i) => i.name === `eth${check.iface}`);
  if (!iface) return { pass: false, reason: `${check.device} has no interface eth${check.iface}` };
  const domain = iface.connect ?? '(none)';
  return domain === asUmlab(check.domain)
    ? { pass: true, reason: `eth${check.iface} of ${check.device} is in collision domain ${check.domain}` }
    : { pass: false, reason: `interface eth${check.iface} of ${check.device} is connected to collision domain ${domain} instead of ${check.domain}` };
}
