// lab.ext: Kathará's "external" collision domains, each attached to a host interface
// (`A enp0s31f6`, or `A enp0s31f6.10` for a VLAN). umlab never puts a lab on a host network
// (lab traffic stays on this machine), so each line is read, checked and answered with a
// warning at its place saying what the domain is instead. Pure.
import type { KatharaProblem, Pos } from './types.ts';

export interface ExtLine {
  domain: string;
  iface: string;
  vlan?: number;
  at: Pos;
}

/** Reads lab.ext; `knownDomain` says whether lab.conf has that collision domain. */
export function readLabExt(text: string, file: string, knownDomain: (domain: string) => boolean): { lines: ExtLine[]; problems: KatharaProblem[] } {
  const lines: ExtLine[] = [];
  const problems: KatharaProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '');
    const words = [...line.matchAll(/\S+/g)];
    if (!words.length) return;
    const at = (w: number): Pos => ({ file, line: i + 1, col: 1 + words[w].index });
    if (words.length !== 2) {
      problems.push({
        at: at(0),
        severity: 'error',
        message: `lab.ext line is not "COLLISION_DOMAIN INTERFACE[.VLAN]": "${raw.trim()}"`,
        hint: 'e.g. A enp0s31f6 or A enp0s31f6.10',
      });
      return;
    }
    const domain = words[0][0];
    const m = /^([^.\s]+)(?:\.(\d+))?$/.exec(words[1][0]);
    if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 4094))) {
      problems.push({ at: at(1), severity: 'error', message: `"${words[1][0]}" is not INTERFACE or INTERFACE.VLAN (VLAN 1-4094)` });
      return;
    }
    if (!knownDomain(domain)) {
      problems.push({ at: at(0), severity: 'error', message: `lab.ext names collision domain ${domain}, which no device of lab.conf joins` });
      return;
    }
    const ext: ExtLine = { domain, iface: m[1], ...(m[2] !== undefined && { vlan: Number(m[2]) }), at: at(0) };
    lines.push(ext);
    problems.push({
      at: ext.at,
      severity: 'warning',
      message: `collision domain ${domain} is not attached to host interface ${ext.iface}${ext.vlan ? ` (VLAN ${ext.vlan})` : ''}: umlab never puts a lab on a host network (lab traffic stays on this machine); ${domain} stays a switch of the lab, captured as any other`,
      hint: 'to reach services of this host, give a device bridged=true (its next interface is on a slirp gateway, NAT to the host; the host is its gateway address, 10.0.2.2); to bring the host into the lab, add a tap segment in umlab.yaml',
    });
  });
  return { lines, problems };
}
