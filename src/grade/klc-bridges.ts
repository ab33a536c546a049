// kathara-lab-checker's `bridges` family: per device, each listed bridge's interfaces are
// attached to one and the same bridge, that bridge filters VLANs, and each interface carries
// its VLAN tags and PVID. Judged from `ip -d -j link` and `bridge -j vlan` run in the device.
// VXLAN (`vxlan:`) is not supported. Pure.
import type { PathSegment } from '../topology/lab-path.ts';
import { isMap, jsonOf, listOf, mapOf, type FamilyContext, type OmitEach, type Output, type Verdict } from './klc-common.ts';

export type BridgeJudge = { family: 'bridges'; device: string } & (
  | { what: 'bridge-members'; interfaces: string[] }
  | { what: 'vlan-filtering'; interfaces: string[] }
  | { what: 'vlan-info'; iface: string }
  | { what: 'vlan-tags'; iface: string; tags: number[] }
  | { what: 'pvid'; iface: string; pvid: number }
);

/** Both JSON documents, the second after a line of its own. */
const SEPARATOR = '#umlab-bridge-vlan#';
const COMMAND = `ip -d -j link && echo && echo '${SEPARATOR}' && bridge -j vlan`;

export function bridgeChecks(ctx: FamilyContext<BridgeJudge>, bridges: unknown): void {
  const path: PathSegment[] = ['test', 'bridges'];
  for (const [device, confs] of Object.entries(mapOf(ctx, path, bridges)))
    listOf(ctx, [...path, device], confs).forEach((c, i) => {
      const at = [...path, device, i];
      const conf = mapOf(ctx, at, c, ['interfaces', 'vxlan']);
      const ifaces = mapOf(ctx, [...at, 'interfaces'], conf.interfaces);
      const interfaces = Object.keys(ifaces);
      const add = (name: string, judge: OmitEach<BridgeJudge, 'family' | 'device'>) =>
        ctx.judged(name, device, COMMAND, { family: 'bridges', device, ...judge });
      if (conf.vxlan !== undefined) ctx.unsupported(`VXLAN bridge checks on \`${device}\``, 'not supported: umlab does not run VXLAN');
      add(`Checking that interfaces ${JSON.stringify(interfaces)} are attached to the same bridge on \`${device}\``, { what: 'bridge-members', interfaces });
      add(`Checking if VLAN filtering is enabled on the bridge of ${interfaces.join(', ')} of \`${device}\``, { what: 'vlan-filtering', interfaces });
      for (const [iface, value] of Object.entries(ifaces)) {
        const e = mapOf(ctx, [...at, 'interfaces', iface], value ?? {}, ['vlan_tags', 'pvid']);
        add(`Getting VLAN info for \`${iface}\` on \`${device}\``, { what: 'vlan-info', iface });
        if (e.vlan_tags !== undefined) {
          const tags = listOf(ctx, [...at, 'interfaces', iface, 'vlan_tags'], e.vlan_tags).map(Number);
          add(`Checking that vlans \`${JSON.stringify(tags)}\` are configured on \`${iface}\` of \`${device}\``, { what: 'vlan-tags', iface, tags });
        }
        if (e.pvid !== undefined) add(`Checking that \`${iface}\` of \`${device}\` has pvid ${e.pvid}`, { what: 'pvid', iface, pvid: Number(e.pvid) });
      }
    });
}

type Link = Record<string, unknown> & { ifname?: string; master?: string; linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> } };
type VlanEntry = { ifname?: string; vlans?: { vlan: number; flags?: string[] }[] };

/** The one bridge all `interfaces` are attached to, or why there is none. */
function commonMaster(links: Link[], interfaces: string[]): { master: Link } | { reason: string } {
  const byName = (n: string) => links.find((l) => l.ifname === n);
  const missing = interfaces.filter((i) => !byName(i));
  if (missing.length) return { reason: `interfaces ${missing.join(', ')} not found` };
  const loose = interfaces.filter((i) => !byName(i)!.master);
  if (loose.length) return { reason: `interfaces ${loose.join(', ')} are not attached to any bridge` };
  const masters = [...new Set(interfaces.map((i) => byName(i)!.master!))];
  if (masters.length > 1)
    return {
      reason: `the interfaces are not attached to the same bridge: ${interfaces.map((i) => `${i} to ${byName(i)!.master} (${byName(byName(i)!.master!)?.linkinfo?.info_kind ?? '?'})`).join(', ')}`,
    };
  const master = byName(masters[0] ?? '');
  if (!master?.linkinfo?.info_kind) return { reason: `${masters[0]} is not a bridge` };
  return { master };
}

export function judgeBridge(j: BridgeJudge, out: Output): Verdict {
  const no = (reason: string): Verdict => ({ pass: false, reason: `bridges on ${j.device}: ${reason}` });
  const [linkText, vlanText = ''] = out.stdout.split(SEPARATOR);
  const links = jsonOf({ ...out, stdout: linkText }, `ip -j link on ${j.device}`);
  if ('fail' in links) return links.fail;
  const all = (Array.isArray(links.json) ? links.json : []).filter(isMap) as Link[];
  if (j.what === 'bridge-members' || j.what === 'vlan-filtering') {
    const m = commonMaster(all, j.interfaces);
    if ('reason' in m) return no(m.reason);
    if (j.what === 'bridge-members') return { pass: true, reason: `${j.interfaces.join(', ')} are attached to ${m.master.ifname}` };
    return m.master.linkinfo?.info_data?.vlan_filtering === 1
      ? { pass: true, reason: `${m.master.ifname} filters VLANs` }
      : no(`VLAN filtering is not enabled on ${m.master.ifname}`);
  }
  const vlans = jsonOf({ ...out, stdout: vlanText }, `bridge -j vlan on ${j.device}`);
  if ('fail' in vlans) return vlans.fail;
  const entry = (Array.isArray(vlans.json) ? (vlans.json as VlanEntry[]) : []).find((v) => v.ifname === j.iface);
  if (!entry) return no(`no VLAN found for ${j.iface}`);
  const ids = (entry.vlans ?? []).map((v) => v.vlan);
  if (j.what === 'vlan-info') return { pass: true, reason: `${j.iface} has VLANs ${ids.join(', ')}` };
  if (j.what === 'vlan-tags') {
    const actual = [...new Set(ids.filter((v) => v !== 1))].sort((a, b) => a - b);
    const want = [...new Set(j.tags)].sort((a, b) => a - b);
    return actual.length === want.length && actual.every((v, i) => v === want[i])
      ? { pass: true, reason: `${j.iface} carries the VLANs ${want.join(', ')}` }
      : no(`${j.iface} carries the VLANs ${actual.join(', ') || 'none'} (besides 1), expected ${want.join(', ')}`);
  }
  const pvid = (entry.vlans ?? []).find((v) => v.flags?.includes('PVID'))?.vlan;
  if (pvid === undefined) return no(`no PVID configured on ${j.iface}`);
  return pvid === j.pvid ? { pass: true, reason: `${j.iface} has PVID ${pvid}` } : no(`${j.iface} has PVID ${pvid} (instead of ${j.pvid})`);
}
