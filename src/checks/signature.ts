// A lab's signature (as Netkit's ltest had): per VM its interfaces and addresses, routes,
// listening ports, firewall rules and the sysctls that differ from the kernel's defaults,
// normalised so that order and volatile values (counters, timestamps, pids, lifetimes)
// never make a difference. Parsing and diffing are pure; collecting runs stateCommand.
import { normaliseRoute, parseAddresses, parseListening, parseSysctlLines, splitSections, stateCommand, type ExecFn } from './probes.ts';

export const SIGNATURE_VERSION = 1;

/** Kernel defaults of the sysctls a network lab changes; only values that differ are recorded. */
export const SYSCTL_DEFAULTS: Record<string, string> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv6.conf.all.forwarding': '0',
  'net.ipv4.icmp_echo_ignore_all': '0',
  'net.ipv4.icmp_echo_ignore_broadcasts': '1',
  // Per interface (net.ipv4.conf.<if>.<name>):
  proxy_arp: '0',
  rp_filter: '0',
  forwarding: '0',
  accept_redirects: '1',
  send_redirects: '1',
  arp_ignore: '0',
  arp_announce: '0',
};

const SECTIONS = ['interfaces', 'routes', 'listening', 'firewall', 'sysctl'] as const;
export type SignatureSection = (typeof SECTIONS)[number];
export type VmSignature = Record<SignatureSection, string[]>;

export interface LabSignature {
  version: number;
  lab: string;
  vms: Record<string, VmSignature>;
}

export const signatureCommand = () => stateCommand(Object.keys(SYSCTL_DEFAULTS).filter((k) => k.includes('.')));

const sorted = (lines: string[]) => [...new Set(lines)].sort();

/** One VM's signature from stateCommand output. */
export function parseVmSignature(stdout: string): VmSignature {
  const s = splitSections(stdout);
  const macs = new Map(
    (s.links ?? []).flatMap((l) => {
      const m = /^\d+:\s+(\S+?)(?:@\S+)?:.*link\/\w+ ([0-9a-f:]+)/.exec(l);
      return m ? [[m[1], m[2]] as const] : [];
    }),
  );
  // Loopback is the same everywhere, and its ::1 shows up only once IPv6 wakes: leave it out.
  macs.delete('lo');
  const interfaces = [...macs.keys()].map(
    (i) => `${i} ${macs.get(i)}${/state UP|<[^>]*\bUP\b/.test((s.links ?? []).find((l) => l.includes(` ${i}:`)) ?? '') ? ' up' : ' down'}`,
  );
  // Link-local IPv6 addresses follow from the MAC, already recorded: leave them out.
  const addresses = parseAddresses(s.addresses ?? [])
    .filter((a) => a.iface !== 'lo' && !(a.scope === 'link' && a.cidr.startsWith('fe80:')))
    .map((a) => `${a.iface} ${a.cidr}`);
  const routes = (s.routes ?? []).map(normaliseRoute).filter((r) => !/^(fe80::\/64|ff00::\/8|multicast )/.test(r));
  const firewall = (s.firewall ?? [])
    .filter((l) => !l.startsWith('#'))
    // Chain policies carry packet/byte counters: ":INPUT ACCEPT [12:3456]".
    .map((l) => l.replace(/\s*\[\d+:\d+\]$/, ''));
  const sysctl: string[] = [];
  for (const [name, value] of parseSysctlLines(s.sysctl ?? [])) {
    const perInterface = /^net\.ipv4\.conf\.[^.]+\.(\w+)$/.exec(name);
    const def = SYSCTL_DEFAULTS[name] ?? (perInterface ? SYSCTL_DEFAULTS[perInterface[1]] : undefined);
    if (def !== undefined && value !== '' && value !== def) sysctl.push(`${name}=${value}`);
  }
  return {
    interfaces: sorted([...interfaces, ...addresses]),
    routes: sorted(routes),
    listening: sorted(parseListening(s.listening ?? [])),
    // Rule order matters to iptables: keep it within each table.
    firewall,
    sysctl: sorted(sysctl),
  };
}

export async function collectSignature(lab: string, vms: string[], exec: ExecFn): Promise<LabSignature> {
  const out: LabSignature = { version: SIGNATURE_VERSION, lab, vms: {} };
  for (const vm of vms) {
    const r = await exec(vm, signatureCommand(), 30_000);
    if (r.exitCode !== 0) throw new Error(`reading the state of ${vm} failed (exit ${r.exitCode}): ${r.stderr.slice(0, 300)}`);
    out.vms[vm] = parseVmSignature(r.stdout);
  }
  return out;
}

/** Readable differences, "- " for what the recording had and is gone, "+ " for what is new. Empty when equal. */
export function diffSignatures(recorded: LabSignature, current: LabSignature): string[] {
  const out: string[] = [];
  const names = sorted([...Object.keys(recorded.vms), ...Object.keys(current.vms)]);
  for (const vm of names) {
    const was = recorded.vms[vm];
    const now = current.vms[vm];
    if (!was) {
      out.push(`${vm}: a VM the recording does not have`);
      continue;
    }
    if (!now) {
      out.push(`${vm}: recorded, but not in the lab any more`);
      continue;
    }
    for (const section of SECTIONS) {
      const before = was[section] ?? [];
      const after = now[section] ?? [];
      const gone = before.filter((l) => !after.includes(l));
      const added = after.filter((l) => !before.includes(l));
      // Same rules in another order is a change for a firewall.
      const reordered = section === 'firewall' && !gone.length && !added.length && before.join('\n') !== after.join('\n');
      if (!gone.length && !added.length && !reordered) continue;
      out.push(`${vm} ${section}:`);
      out.push(...gone.map((l) => `  - ${l}`), ...added.map((l) => `  + ${l}`));
      if (reordered) out.push('  (same rules, different order)');
    }
  }
  return out;
}
