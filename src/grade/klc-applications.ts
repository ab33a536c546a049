// kathara-lab-checker's `applications` family: DNS (the local name server in resolv.conf,
// the authorities of a zone asked with dig at each name server, records resolved by each
// client of a local name server) and HTTP (curl's status code and body). Each check runs one
// command in a device; umlab judges its output. Pure.
import type { PathSegment } from '../topology/lab-path.ts';
import { shellQuote } from '../vm/init.ts';
import { isMap, listOf, mapOf, type FamilyContext, type OmitEach, type Output, type Verdict } from './klc-common.ts';

export type ApplicationJudge = { family: 'applications'; device: string } & (
  | { what: 'local-ns'; ip: string }
  | { what: 'dns-authority'; zone: string; ip: string; server: string }
  | { what: 'dns-record'; type: string; record: string; addresses: string[] }
  | { what: 'http-status'; url: string; code: number }
  | { what: 'http-regex'; url: string; regex: string }
  | { what: 'http-contains'; url: string; text: string }
);

/** curl prints the status code after the body, behind this. */
const STATUS_MARK = '===CURL_STATUS===';

/** Asks SERVER for the NS records of ZONE, then the address of each name server (one "NS name address" line each). */
function authorityCommand(zone: string, server: string): string {
  const [z, s] = [shellQuote(zone), shellQuote(server)];
  return [
    `out=$(dig +time=2 +tries=1 NS ${z} @${s})`,
    `echo "$out" | sed -n 's/.*status: \\([A-Z]*\\).*/STATUS \\1/p'`,
    `echo "$out" | awk '/^;; ANSWER SECTION/ {a = 1; next} /^$/ {a = 0} a && $4 == "NS" {print $5}' | while read -r ns; do echo "NS $ns $(dig +short +time=5 +tries=1 "$ns" @${s} | tr '\\n' ' ')"; done`,
  ].join('; ');
}

export function applicationChecks(ctx: FamilyContext<ApplicationJudge>, applications: unknown, ipMapping: unknown): void {
  const path: PathSegment[] = ['test', 'applications'];
  const apps = mapOf(ctx, path, applications, ['dns', 'http']);
  const add = (device: string, name: string, run: string, judge: OmitEach<ApplicationJudge, 'family' | 'device'>) =>
    ctx.judged(name, device, run, { family: 'applications', device, ...judge });
  const dns = mapOf(ctx, [...path, 'dns'], apps.dns, ['authoritative', 'local_ns', 'records', 'reachability']);
  const localNs = Object.entries(mapOf(ctx, [...path, 'dns', 'local_ns'], dns.local_ns)).map(
    ([ip, devices]) => [ip, listOf(ctx, [...path, 'dns', 'local_ns', ip], devices).map(String)] as const,
  );
  for (const [ip, devices] of localNs)
    for (const device of devices)
      add(device, `Checking that \`${ip}\` is the local name server for device \`${device}\``, 'cat /etc/resolv.conf', { what: 'local-ns', ip });
  if (dns.authoritative !== undefined) {
    if (dns.local_ns === undefined || !isMap(ipMapping))
      ctx.unsupported('DNS authority checks', 'not run: kathara-lab-checker checks authorities only when local_ns and ip_mapping are given too');
    else {
      const deviceOf = (ip: string, at: PathSegment[]) => {
        const found = Object.entries(ipMapping).find(([, ifaces]) => isMap(ifaces) && Object.values(ifaces).some((c) => String(c).split('/')[0] === ip))?.[0];
        if (!found)
          ctx.errors.push(
            ctx.diag(
              at,
              'value',
              `no device of ip_mapping has the address ${ip}`,
              'kathara-lab-checker asks the name server on the device ip_mapping gives it',
            ),
          );
        return found;
      };
      for (const [zone, servers] of Object.entries(mapOf(ctx, [...path, 'dns', 'authoritative'], dns.authoritative))) {
        const ips = listOf(ctx, [...path, 'dns', 'authoritative', zone], servers).map(String);
        ips.forEach((ns, i) => {
          const at = [...path, 'dns', 'authoritative', zone, i];
          // The root's authority is asked of every name server and every local name server too.
          const askedOf = zone === '.' ? [ns, ...ips, ...localNs.map(([ip]) => ip)] : [ns];
          for (const server of askedOf) {
            const device = deviceOf(server, at);
            if (device)
              add(device, `Checking on \`${device}\` that \`${ns}\` is the authority for domain \`${zone}\``, authorityCommand(zone, server), {
                what: 'dns-authority',
                zone,
                ip: ns,
                server,
              });
          }
        });
      }
    }
  }
  if (dns.records !== undefined) {
    if (dns.local_ns === undefined) ctx.unsupported('DNS record checks', 'not run: kathara-lab-checker checks records only on the devices of local_ns');
    const clients = [...new Set(localNs.flatMap(([, devices]) => devices))];
    for (const [type, records] of Object.entries(mapOf(ctx, [...path, 'dns', 'records'], dns.records)))
      for (const [record, addresses] of Object.entries(mapOf(ctx, [...path, 'dns', 'records', type], records))) {
        const want = listOf(ctx, [...path, 'dns', 'records', type, record], addresses).map(String);
        for (const client of clients)
          add(client, `Checking correctness of DNS records: ${type} ${record} on ${client}`, `dig +short ${shellQuote(type)} ${shellQuote(record)}`, {
            what: 'dns-record',
            type,
            record,
            addresses: want,
          });
      }
  }
  if (dns.reachability !== undefined) ctx.unsupported('DNS reachability checks', 'not run: kathara-lab-checker does not check dns.reachability either');
  for (const [device, tests] of Object.entries(mapOf(ctx, [...path, 'http'], apps.http)))
    listOf(ctx, [...path, 'http', device], tests).forEach((t, i) => {
      const at = [...path, 'http', device, i];
      const e = mapOf(ctx, at, t, ['url', 'method', 'status_code', 'regex_body', 'body_contains']);
      if (typeof e.url !== 'string') return void ctx.errors.push(ctx.diag(at, 'value', 'an HTTP check needs a url'));
      const url = e.url;
      const run = `curl -s --max-time 10 -X ${shellQuote(String(e.method ?? 'GET').toUpperCase())} -w '${STATUS_MARK}%{http_code}' ${shellQuote(url)}`;
      const desc = `HTTP check '${url}' on ${device}`;
      add(device, `${desc} status`, run, { what: 'http-status', url, code: Number(e.status_code ?? 200) });
      if (e.regex_body !== undefined) add(device, `${desc} body regex /${e.regex_body}/`, run, { what: 'http-regex', url, regex: String(e.regex_body) });
      if (e.body_contains !== undefined)
        add(device, `${desc} body substring '${e.body_contains}'`, run, { what: 'http-contains', url, text: String(e.body_contains) });
    });
}

const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');

export function judgeApplication(j: ApplicationJudge, out: Output): Verdict {
  const ok = (reason: string): Verdict => ({ pass: true, reason });
  const no = (reason: string): Verdict => ({ pass: false, reason });
  switch (j.what) {
    case 'local-ns': {
      const servers = [...out.stdout.matchAll(/^nameserver (.*)$/gm)].map((m) => m[1].trim());
      if (out.exitCode !== 0 || !out.stdout.trim()) return no(`${j.device} has no /etc/resolv.conf`);
      return servers.includes(j.ip)
        ? ok(`${j.ip} is a name server of ${j.device}`)
        : no(`${j.device}'s resolv.conf does not name ${j.ip} (its name servers: ${list(servers)})`);
    }
    case 'dns-authority': {
      const status = /^STATUS (\S+)/m.exec(out.stdout)?.[1];
      if (!status) return no(`the name server ${j.server} on ${j.device} did not answer a query for the NS records of ${j.zone}`);
      const ns = [...out.stdout.matchAll(/^NS (\S+) ?(.*)$/gm)].map((m) => ({ name: m[1], ip: m[2].trim() }));
      if (status !== 'NOERROR' || ns.length === 0) return no(`named on ${j.device} answered ${status} with ${ns.length} NS record(s) for ${j.zone}`);
      if (ns.some((n) => n.ip === j.ip)) return ok(`${j.server} names ${j.ip} as an authority for ${j.zone}`);
      return no(`the authorities for ${j.zone} given by ${j.server} have the addresses ${list(ns.map((n) => `${n.name} ${n.ip || '(none)'}`))}, not ${j.ip}`);
    }
    case 'dns-record': {
      const got = out.stdout.trim();
      return j.addresses.includes(got)
        ? ok(`${j.device} resolves ${j.type} ${j.record} to ${got}`)
        : no(`${j.device} resolves ${j.type} ${j.record} to ${got ? got.split('\n').join(', ') : 'nothing'} instead of ${list(j.addresses)}`);
    }
    default: {
      const all = out.stdout.trim();
      const at = all.lastIndexOf(STATUS_MARK);
      const [body, code] = at >= 0 ? [all.slice(0, at), all.slice(at + STATUS_MARK.length)] : [all, ''];
      if (j.what === 'http-status') {
        if (!/^\d+$/.test(code))
          return no(`curl on ${j.device} printed no status code for ${j.url}${out.stderr.trim() ? `: ${out.stderr.trim().slice(0, 200)}` : ''}`);
        if (code === '000') return no(`${j.url} did not answer ${j.device} (curl exit ${out.exitCode})`);
        return Number(code) === j.code ? ok(`HTTP ${code} from ${j.url}`) : no(`expected HTTP ${j.code} from ${j.url}, got ${code}`);
      }
      if (j.what === 'http-regex')
        return new RegExp(j.regex).test(body)
          ? ok(`the body of ${j.url} matches /${j.regex}/`)
          : no(`the body of ${j.url} (${body.length} bytes) does not match /${j.regex}/`);
      return body.includes(j.text)
        ? ok(`the body of ${j.url} contains '${j.text}'`)
        : no(`the body of ${j.url} (${body.length} bytes) does not contain '${j.text}'`);
    }
  }
}
