// The commands checks run inside VMs, and pure parsers of what those commands print.
// Everything here is pure so the evaluators are unit-tested on recorded outputs.
import { shellQuote } from '../vm/init.ts';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell command in a VM over its agent line; throws when the command could not run at all. */
export type ExecFn = (vm: string, command: string, timeoutMs?: number) => Promise<ExecResult>;

// ---- ping ---------------------------------------------------------------------------

export const PING_COUNT = 2;

/** Two echo requests, 0.2 s apart, each waited for up to 2 s; numeric output. */
export function pingCommand(address: string): string {
  return `ping -n -c ${PING_COUNT} -i 0.2 -W 2 ${shellQuote(address)}`;
}

export interface PingResult {
  transmitted: number;
  received: number;
  /** TTLs of the replies, in order. */
  ttls: number[];
  /** What ping complained about instead of replies (e.g. "Destination Host Unreachable"). */
  problem?: string;
}

/** Parses iputils ping output; null when it is not ping's summary (ping could not run). */
export function parsePing(stdout: string, stderr = ''): PingResult | null {
  const summary = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  const ttls = [...stdout.matchAll(/bytes from .*?ttl=(\d+)/g)].map((m) => Number(m[1]));
  const problem = /(Destination \w+ Unreachable|Time to live exceeded|Network is unreachable|Packet filtered)/i.exec(stdout + '\n' + stderr)?.[1];
  if (!summary) {
    // "ping: connect: Network is unreachable" prints no summary but is an answer of sorts: no route.
    if (/Network is unreachable|No route to host/.test(stderr))
      return { transmitted: 0, received: 0, ttls: [], problem: /Network is unreachable|No route to host/.exec(stderr)![0] };
    return null;
  }
  return { transmitted: Number(summary[1]), received: Number(summary[2]), ttls, ...(problem !== undefined && { problem }) };
}

// ---- traceroute -----------------------------------------------------------------------

/** ICMP probes (what firewalls usually let through), one per hop, numeric. */
export function tracerouteCommand(address: string, maxHops: number): string {
  return `traceroute -n -I -q 1 -w 1 -m ${maxHops} ${shellQuote(address)}`;
}

/** Hop addresses in order; "*" for a hop that did not answer. Null when the output is not traceroute's. */
export function parseTraceroute(stdout: string): string[] | null {
  if (!/^traceroute to /m.test(stdout)) return null;
  const hops: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (m) hops[Number(m[1]) - 1] = m[2]!;
  }
  return Array.from(hops, (h) => h ?? '*');
}

// ---- TCP / UDP ports ------------------------------------------------------------------

export type PortState = 'open' | 'closed' | 'filtered';

/** socat tells a refused connection (RST or ICMP unreachable) from a timed-out one (no answer). */
export function portProbeCommand(proto: 'tcp' | 'udp', address: string, port: number, timeoutSeconds: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  const family = address.includes(':') ? '6' : '4';
  if (proto === 'tcp') return `socat -T ${timeoutSeconds} /dev/null TCP${family}:${host}:${port},connect-timeout=${timeoutSeconds}`;
  // A datagram; an answer means open, an ICMP error makes the read fail (closed), silence is filtered.
  return `echo umlab-probe | socat -T ${timeoutSeconds} -t ${timeoutSeconds} - UDP${family}:${host}:${port}`;
}

/** Errors that mean something answered "no": a TCP RST or an ICMP destination unreachable. */
const REFUSALS =
  /Connection refused|No route to host|Network is unreachable|Host is unreachable|Protocol not available|Permission denied|Operation not permitted/;

export interface PortProbeResult {
  state: PortState;
  /** What made us decide, e.g. "Connection refused". */
  evidence: string;
}

/** Classifies a probe's outcome; null when the probe itself failed (e.g. socat missing). */
export function classifyPortProbe(proto: 'tcp' | 'udp', r: ExecResult): PortProbeResult | null {
  const refused = REFUSALS.exec(r.stderr);
  if (refused) return { state: 'closed', evidence: refused[0] };
  if (proto === 'tcp') {
    if (r.exitCode === 0) return { state: 'open', evidence: 'connection accepted' };
    if (/timed out|Operation now in progress/i.test(r.stderr)) return { state: 'filtered', evidence: 'no answer (connection timed out)' };
    return null;
  }
  if (r.exitCode !== 0) return null;
  if (r.stdout.length > 0) return { state: 'open', evidence: 'a reply came back' };
  return { state: 'filtered', evidence: 'no answer and no ICMP error' };
}

// ---- state of a VM ----------------------------------------------------------------------

/** One command printing the sections a state check or a signature reads, each after a "## name" line. */
export function stateCommand(sysctls: string[]): string {
  // `read`, a shell builtin, not $(cat): a process start costs a UML guest 0.1-0.2 s, and these are ~30.
  const sysctlLines = sysctls.map((s) => `v=; { read -r v < ${shellQuote('/proc/sys/' + s.replace(/\./g, '/'))}; } 2>/dev/null; echo ${shellQuote(s)}="$v"`);
  return [
    'echo "## addresses"; ip -o addr show',
    'echo "## links"; ip -o link show',
    'echo "## routes"; ip route show; ip -6 route show',
    'echo "## listening"; ss -H -lntu',
    'echo "## firewall"; iptables-save 2>/dev/null; ip6tables-save 2>/dev/null',
    'echo "## sysctl"',
    ...sysctlLines,
    'for f in /proc/sys/net/ipv4/conf/*/*; do case "$f" in */proxy_arp|*/rp_filter|*/forwarding|*/accept_redirects|*/send_redirects|*/arp_ignore|*/arp_announce) v=; read -r v < "$f"; echo "$f=$v";; esac; done',
    'true',
  ].join('\n');
}

/** Splits stateCommand output into its sections (lines, without the header). */
export function splitSections(stdout: string): Record<string, string[]> {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const header = /^## (\w+)$/.exec(line);
    if (header) sections[header[1]] = current = [];
    else if (current && line.trim()) current.push(line);
  }
  return sections;
}

/** "2: eth0    inet 10.0.0.1/24 brd ..." -> {iface: "eth0", cidr: "10.0.0.1/24"}. */
export function parseAddresses(lines: string[]): { iface: string; cidr: string; scope: string }[] {
  return lines.flatMap((l) => {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet6?\s+(\S+).*?scope (\w+)/.exec(l);
    return m ? [{ iface: m[1], cidr: m[2], scope: m[3] }] : [];
  });
}

/** `ss -H -lntu` lines -> "tcp 0.0.0.0:80" (protocol and local address only: queues and peers vary). */
export function parseListening(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const cols = l.trim().split(/\s+/);
    if (cols.length < 5 || !/^(tcp|udp)$/.test(cols[0])) return [];
    return [`${cols[0]} ${cols[4]}`];
  });
}

/** The port of "0.0.0.0:80", "[::]:80", "*:80", "10.0.0.1%eth0:53". */
export function portOf(localAddress: string): number {
  return Number(localAddress.slice(localAddress.lastIndexOf(':') + 1));
}

/** "/proc/sys/net/ipv4/conf/eth0/proxy_arp=1" or "net.ipv4.ip_forward=1" -> ["net.ipv4.conf.eth0.proxy_arp", "1"]. */
export function parseSysctlLines(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const eq = l.indexOf('=');
    if (eq < 0) continue;
    const name = l
      .slice(0, eq)
      .replace(/^\/proc\/sys\//, '')
      .replace(/\//g, '.');
    out.set(name, l.slice(eq + 1).trim());
  }
  return out;
}

/** `ip route` lines without the parts that vary from boot to boot. */
export function normaliseRoute(line: string): string {
  return line
    .replace(/\s+(proto kernel|proto boot|proto static|linkdown|pref medium|expires \S+)/g, '')
    .replace(/\s+metric \d+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
