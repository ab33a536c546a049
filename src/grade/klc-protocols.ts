// kathara-lab-checker's `protocols` family: bgpd neighbours (the set of peers, each peer's AS and
// session state) and routes (AS paths), ospfd neighbours (state), routes and interface
// parameters, and for any daemon its announced `networks` and `injections` (redistribute lines)
// in its running configuration. Each check runs one vtysh command; umlab judges its output. Pure.
import { shellQuote } from '../vm/init.ts';
import { escapeRegex, isMap, jsonOf, listOf, mapOf, type FamilyContext, type OmitEach, type Output, type Verdict } from './klc-common.ts';

export type ProtocolJudge = { family: 'protocols'; device: string } & (
  | { what: 'bgp-peers'; peers: string[] }
  | { what: 'bgp-peer'; ip: string; asn: number }
  | { what: 'bgp-route'; route: string; aspaths: string[] }
  | { what: 'ospf-neighbour'; routerId: string; state: string }
  | { what: 'ospf-route'; route: string }
  | { what: 'ospf-interface'; iface: string; key: string; value: unknown }
  | { what: 'network'; daemon: string; network: string }
  | { what: 'injection'; daemon: string; injected: string; present: boolean }
);

const GENERIC = ['networks', 'injections'];
const KEYS: Record<string, string[]> = {
  bgpd: ['neighbors', 'routes', ...GENERIC, 'evpn_sessions', 'vtep_devices'],
  ospfd: ['neighbors', 'routes', 'interfaces', ...GENERIC],
  sciond: ['address', 'paths'],
};
/** Keys umlab reads but does not run: EVPN/VXLAN and SCION. */
const UNSUPPORTED = ['evpn_sessions', 'vtep_devices', 'address', 'paths'];

const vtysh = (command: string) => `vtysh -c ${shellQuote(command)}`;

export function protocolChecks(ctx: FamilyContext<ProtocolJudge>, protocols: unknown): void {
  const path = ['test', 'protocols'];
  for (const [daemon, value] of Object.entries(mapOf(ctx, path, protocols))) {
    const known = KEYS[daemon] ?? GENERIC;
    const conf = mapOf(ctx, [...path, daemon], value, known);
    const perDevice = (key: string) => Object.entries(mapOf(ctx, [...path, daemon, key], conf[key]));
    const add = (device: string, name: string, command: string, judge: OmitEach<ProtocolJudge, 'family' | 'device'>) =>
      ctx.judged(name, device, command, { family: 'protocols', device, ...judge });
    for (const key of UNSUPPORTED)
      if (conf[key] !== undefined)
        ctx.unsupported(`${daemon} ${key} checks`, `not supported: umlab does not run ${daemon === 'sciond' ? 'SCION' : 'EVPN/VXLAN'}`);
    for (const [device, nets] of perDevice('networks'))
      for (const n of listOf(ctx, [...path, daemon, 'networks', device], nets))
        add(device, `Check ${daemon} network (${n}) for ${device}`, vtysh(`show running-config ${daemon}`), { what: 'network', daemon, network: String(n) });
    for (const [device, injected] of perDevice('injections'))
      for (const p of listOf(ctx, [...path, daemon, 'injections', device], injected)) {
        const [name, present] = String(p).startsWith('!') ? [String(p).slice(1), false] : [String(p), true];
        add(
          device,
          `Checking that ${name} routes are ${present ? '' : 'not '}redistributed to ${daemon} on device \`${device}\``,
          vtysh(`show running-config ${daemon}`),
          { what: 'injection', daemon, injected: name, present },
        );
      }
    const entries = (key: string, device: string, v: unknown, fields: string[]) =>
      listOf(ctx, [...path, daemon, key, device], v).map((e, i) => mapOf(ctx, [...path, daemon, key, device, i], e, fields));
    if (daemon === 'bgpd') {
      for (const [device, list] of perDevice('neighbors')) {
        const peers = entries('neighbors', device, list, ['ip', 'asn']);
        add(device, `Checking ${device} BGP neighbors`, vtysh('show bgp summary json'), { what: 'bgp-peers', peers: peers.map((p) => String(p.ip)) });
        for (const p of peers)
          add(device, `${device} has bgp neighbor ${p.ip} AS${p.asn} established`, vtysh('show bgp summary json'), {
            what: 'bgp-peer',
            ip: String(p.ip),
            asn: Number(p.asn),
          });
      }
      for (const [device, list] of perDevice('routes'))
        for (const r of entries('routes', device, list, ['route', 'aspath'])) {
          const aspaths = Array.isArray(r.aspath) ? r.aspath.map((a) => (Array.isArray(a) ? a.join(' ') : String(a)).trim()) : [];
          add(device, `Check BGP routes for ${device}: ${r.route}`, vtysh('show ip bgp json'), { what: 'bgp-route', route: String(r.route), aspaths });
        }
    }
    if (daemon === 'ospfd') {
      for (const [device, list] of perDevice('neighbors'))
        for (const n of entries('neighbors', device, list, ['router_id', 'state']))
          add(device, `OSPF neighbor ${n.router_id} on ${device}`, vtysh('show ip ospf neighbor json'), {
            what: 'ospf-neighbour',
            routerId: String(n.router_id),
            state: String(n.state ?? 'FULL').toUpperCase(),
          });
      for (const [device, list] of perDevice('routes'))
        for (const r of entries('routes', device, list, ['route']))
          add(device, `OSPF route ${r.route} on ${device}`, vtysh('show ip ospf route json'), { what: 'ospf-route', route: String(r.route) });
      for (const [device, ifaces] of perDevice('interfaces'))
        for (const [iface, expected] of Object.entries(mapOf(ctx, [...path, daemon, 'interfaces', device], ifaces)))
          for (const [key, value] of Object.entries(mapOf(ctx, [...path, daemon, 'interfaces', device, iface], expected)))
            add(device, `OSPF interface ${iface} on ${device}: ${key}`, vtysh('show ip ospf interface json'), { what: 'ospf-interface', iface, key, value });
    }
  }
}

const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');
const ipVersion = (ip: string) => (ip.includes(':') ? 6 : 4);

export function judgeProtocol(j: ProtocolJudge, out: Output): Verdict {
  const ok = (reason: string): Verdict => ({ pass: true, reason });
  const daemon = 'daemon' in j ? j.daemon : j.what.startsWith('ospf') ? 'ospfd' : 'bgpd';
  const no = (reason: string): Verdict => ({ pass: false, reason: `${daemon} on ${j.device}: ${reason}` });
  if (j.what === 'network' || j.what === 'injection') {
    const lines = out.stdout.split('\n');
    if (j.what === 'network') {
      const announced = lines.filter((l) => l.includes('network'));
      return announced.some((l) => new RegExp(`\\s*network\\s*${escapeRegex(j.network)}`).test(l))
        ? ok(`${j.daemon} on ${j.device} announces ${j.network}`)
        : no(`network ${j.network} is not announced (its network lines: ${list(announced.map((l) => l.trim()))})`);
    }
    const found = lines.some((l) => new RegExp(`^\\s*redistribute\\s*${escapeRegex(j.injected)}`).test(l));
    if (found === j.present) return ok(`${j.injected} routes are ${found ? '' : 'not '}redistributed into ${j.daemon} on ${j.device}`);
    const redistributed = lines.filter((l) => /^\s*redistribute/.test(l)).map((l) => l.trim());
    return no(`${j.injected} routes are ${found ? '' : 'not '}injected into ${j.daemon} (its redistribute lines: ${list(redistributed)})`);
  }
  const parsed = jsonOf(out, `${daemon} on ${j.device}`);
  if ('fail' in parsed) return parsed.fail;
  const data = isMap(parsed.json) ? parsed.json : {};
  const obj = (v: unknown): Record<string, unknown> => (isMap(v) ? v : {});
  switch (j.what) {
    case 'bgp-peers':
    case 'bgp-peer': {
      const peers = {
        4: isMap(obj(data.ipv4Unicast).peers) ? obj(obj(data.ipv4Unicast).peers) : null,
        6: isMap(obj(data.ipv6Unicast).peers) ? obj(obj(data.ipv6Unicast).peers) : null,
      };
      const have = [...Object.keys(peers[4] ?? {}), ...Object.keys(peers[6] ?? {})];
      if (j.what === 'bgp-peers') {
        const problems: string[] = [];
        for (const v of [4, 6] as const) if (j.peers.some((p) => ipVersion(p) === v) && !peers[v]) problems.push(`no IPv${v} BGP neighbors`);
        const extra = have.filter((p) => !j.peers.includes(p));
        const missing = j.peers.filter((p) => !have.includes(p));
        if (extra.length) problems.push(`extra BGP neighbors ${extra.join(', ')}`);
        if (missing.length) problems.push(`missing BGP neighbors ${missing.join(', ')}`);
        return problems.length ? no(`${problems.join('; ')} (has: ${list(have)})`) : ok(`${j.device} has exactly the BGP neighbors ${list(have)}`);
      }
      const peer = peers[ipVersion(j.ip)]?.[j.ip];
      if (!isMap(peer)) return no(`the peering with ${j.ip} is not configured (has: ${list(have)})`);
      if (peer.remoteAs !== j.asn) return no(`neighbor ${j.ip} has AS ${String(peer.remoteAs)} instead of ${j.asn}`);
      if (peer.state !== 'Established') return no(`the session with ${j.ip} AS${j.asn} is configured but in the ${String(peer.state)} state`);
      return ok(`${j.device}'s session with ${j.ip} AS${j.asn} is Established`);
    }
    case 'bgp-route': {
      const routes = obj(data.routes);
      if (!isMap(data.routes)) return no('no BGP routes at all');
      const alternatives = routes[j.route];
      if (!Array.isArray(alternatives)) return no(`network ${j.route} is not in the BGP table (has: ${list(Object.keys(routes))})`);
      const actual = alternatives.map((a) => String(obj(a).path ?? '').trim());
      const want = [...j.aspaths].sort();
      const got = [...actual].sort();
      if (want.length === got.length && want.every((p, i) => p === got[i])) return ok(`${j.route} has the AS paths ${list(actual.map((p) => `[${p}]`))}`);
      return no(`${j.route} has ${got.length} path(s) [${got.join('] [')}], expected ${want.length}: [${want.join('] [')}]`);
    }
    case 'ospf-neighbour': {
      const neighbours = obj(data.neighbors);
      const entries = Array.isArray(neighbours[j.routerId]) ? (neighbours[j.routerId] as unknown[]).map(obj) : null;
      const stateOf = (e: Record<string, unknown>) => String(e.converged ?? String(e.state ?? '').split('/')[0]);
      const has = Object.entries(neighbours).map(([id, es]) => `${id} ${Array.isArray(es) ? es.map((e) => stateOf(obj(e))).join('/') : '?'}`);
      if (!entries) return no(`no neighbour ${j.routerId} (has: ${list(has)})`);
      if (entries.some((e) => stateOf(e).toUpperCase() === j.state)) return ok(`neighbour ${j.routerId} of ${j.device} is ${j.state}`);
      return no(`neighbour ${j.routerId} is ${stateOf(entries[0] ?? {})}, expected ${j.state}`);
    }
    case 'ospf-route': {
      const routes = isMap(data.routes) ? data.routes : data;
      return j.route in routes
        ? ok(`${j.device} has the OSPF route ${j.route}`)
        : no(`no OSPF route ${j.route} (has: ${list(Object.keys(routes).filter((r) => r.includes('/')))})`);
    }
    case 'ospf-interface': {
      const ifaces = obj(data.interfaces);
      if (!isMap(ifaces[j.iface])) return no(`interface ${j.iface} not found among its OSPF interfaces (${list(Object.keys(ifaces))})`);
      const actual = (ifaces[j.iface] as Record<string, unknown>)[j.key];
      return JSON.stringify(actual) === JSON.stringify(j.value)
        ? ok(`${j.iface} of ${j.device} has ${j.key} ${JSON.stringify(actual)}`)
        : no(`interface ${j.iface}: ${j.key} is ${JSON.stringify(actual) ?? 'absent'}, expected ${JSON.stringify(j.value)}`);
    }
  }
}
