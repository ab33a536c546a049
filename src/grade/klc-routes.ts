// kathara-lab-checker's `kernel_routes` family: a device's IPv4 routing table must hold exactly
// the expected routes (directly connected ones aside), each with its next hops (a gateway
// address or an interface). Judged in the VM by awk over `ip route show`, so the check can be
// retried like any other until its deadline; its output says what differs. Pure.
import { shellQuote } from '../vm/init.ts';
import type { Output, Verdict } from './klc-common.ts';

/** One expected route: a destination ("default" or a CIDR) and the next hops it must have (any when empty). */
export interface ExpectedRoute {
  dst: string;
  nexthops: string[];
}

/** kathara-lab-checker's entries: "10.0.0.0/24", or ["10.0.0.0/24", ["10.0.1.1", "eth0"]]; null when malformed. */
export function expectedRoutes(entries: unknown[]): ExpectedRoute[] | null {
  const out: ExpectedRoute[] = [];
  for (const e of entries) {
    if (typeof e === 'string') out.push({ dst: e, nexthops: [] });
    else if (Array.isArray(e) && typeof e[0] === 'string' && (e[1] === undefined || (Array.isArray(e[1]) && e[1].every((n) => typeof n === 'string'))))
      out.push({ dst: e[0], nexthops: (e[1] as string[] | undefined) ?? [] });
    else return null;
  }
  return out.map((r) => ({ ...r, dst: r.dst === 'default' ? '0.0.0.0/0' : r.dst }));
}

// Reads `ip route show` (a route per line; multipath next hops on indented "nexthop" lines),
// skips directly connected routes (scope link, no gateway), then compares with WANT
// ("dst=nh,nh;dst=;..."): the number of routes, each route, its next hops (an address is
// matched against the gateway, a name against the interface), routes that should not be there.
const AWK = String.raw`
function flush() { if (cur != "" && !(link && nh[cur] == "")) { n++; have[cur] = 1; order[n] = cur } else if (cur != "") delete nh[cur]; cur = "" }
function pair(line,   i, k, via, dev) { k = split(line, t, " "); via = ""; dev = ""
  for (i = 1; i < k; i++) { if (t[i] == "via") via = t[i + 1]; if (t[i] == "dev") dev = t[i + 1] }
  return (via != "" || dev != "") ? via "@" dev : "" }
/^[ \t]+nexthop/ { p = pair($0); if (p != "") nh[cur] = nh[cur] (nh[cur] == "" ? "" : ",") p; link = 0; next }
{ flush(); cur = ($1 == "default") ? "0.0.0.0/0" : $1
  link = ($0 ~ / scope link/ && $0 !~ / via /); p = pair($0); nh[cur] = ($0 ~ / via / ? p : ""); if (!link && nh[cur] == "") nh[cur] = p }
END { flush(); bad = 0; m = split(WANT, w, ";"); want = 0
  for (i = 1; i <= m; i++) if (w[i] != "") want++
  if (want != n) { print "the routing table has " n " route(s), expected " want; bad = 1 }
  for (i = 1; i <= m; i++) { if (w[i] == "") continue; split(w[i], kv, "="); d = kv[1]; wanted[d] = 1
    if (!(d in have)) { print "missing route " d; bad = 1; continue }
    if (kv[2] == "") continue
    e = split(kv[2], ex, ","); a = split(nh[d], act, ",")
    if (e != a) { print "route " d " has " a " next hop(s) (" nh[d] "), expected " e; bad = 1; continue }
    for (j = 1; j <= e; j++) { found = 0
      for (k = 1; k <= a; k++) { split(act[k], vd, "@"); if ((ex[j] ~ /^[0-9.]+$|:/ && vd[1] == ex[j]) || (ex[j] !~ /^[0-9.]+$|:/ && vd[2] == ex[j])) found = 1 }
      if (!found) { print "route " d " does not go via " ex[j] " (it has " nh[d] ")"; bad = 1 } } }
  for (i = 1; i <= n; i++) if (!(order[i] in wanted)) { print "route " order[i] " should not be there"; bad = 1 }
  if (!bad) print "OK: " n " route(s) as expected"; exit bad }`;

/** The shell command a `kernel_routes` check runs in the device: exit 0 when the table is as expected. */
export function kernelRoutesCommand(routes: ExpectedRoute[]): string {
  const want = routes.map((r) => `${r.dst}=${r.nexthops.join(',')}`).join(';');
  return `ip route show | awk -v WANT=${shellQuote(want)} ${shellQuote(AWK.trim())}`;
}

/** A `kernel_routes` check's output judged here, so its reason is what differs, not an exit code. */
export interface RoutesJudge {
  family: 'kernel_routes';
  device: string;
}

/** The awk above exits 0 (table as expected) or 1 (a line per difference); anything else is a failed command. */
export function judgeRoutes(j: RoutesJudge, out: Output): Verdict {
  const lines = out.stdout.trim().split('\n').filter(Boolean);
  if (out.exitCode === 0) return { pass: true, reason: `the routing table of ${j.device}: ${lines.join('; ').replace(/^OK: /, '') || 'as expected'}` };
  if (out.exitCode === 1 && lines.length) return { pass: false, reason: `the routing table of ${j.device}: ${lines.join('; ')}` };
  return {
    pass: false,
    reason: `the routing table of ${j.device}: the command failed (exit ${out.exitCode})${out.stderr.trim() ? `: ${out.stderr.trim().slice(0, 200)}` : ''}`,
  };
}
