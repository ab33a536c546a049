// Software drift between the daemons a Kathará lab was written for and those of the image
// (Debian 12): Quagga configs run on FRR 8.4, BIND 9.11 configs on BIND 9.18. Each table
// entry says what maps and why; each change is reported as a warning at the line it changed.
// Pure: a device file's text in, the text the device gets and the warnings out.
import type { KatharaProblem } from './types.ts';

/** One rule of a translation table: a line it matches, what becomes of it, and why. */
export interface LineRule {
  match: RegExp;
  /** The line's replacement: lines to put instead (none: dropped). */
  apply: (line: string, m: RegExpExecArray) => string[];
  /** The warning, saying what was done and why (the line is named by its position). */
  why: string;
}

/** Quagga -> FRR: the lab's Quagga configs keep Quagga's meaning under FRR 8.4. */
export const QUAGGA_TO_FRR: readonly LineRule[] = [
  {
    // FRR >= 7.4 exchanges no eBGP routes on a session without in/out policy (`(Policy)` in
    // `show bgp summary`); Quagga had no such rule, so its labs have no route-maps.
    match: /^(\s*)router bgp\s+\d+/,
    apply: (line, m) => [line, `${m[1]} no bgp ebgp-requires-policy`, `${m[1]} no bgp network import-check`],
    why: 'Quagga BGP on FRR: added "no bgp ebgp-requires-policy" (FRR sends no eBGP routes without a policy; Quagga did) and "no bgp network import-check" (Quagga announced a `network` without a route for it in the table; FRR >= 7.4 does not)',
  },
  {
    // FRR runs as user frr and may write only in /var/log/frr; the Quagga/Zebra directories do not exist.
    match: /^(\s*log\s+file\s+)\/var\/log\/(?:quagga|zebra)\/(\S+)(.*)$/,
    apply: (_line, m) => [`${m[1]}/var/log/frr/${m[2]}${m[3]}`],
    why: 'log file moved to /var/log/frr (FRR writes its logs there only)',
  },
];

/** BIND 9.11 -> 9.18: options 9.18 refuses (named exits) that were no-ops or defaults by 9.11's end. */
const REMOVED_BIND_OPTIONS: readonly [string, string][] = [
  // DNSSEC is always on in 9.16+; the switch was removed.
  ['dnssec-enable', 'DNSSEC support cannot be turned off since BIND 9.16'],
  // The DLV registry (dlv.isc.org) was shut down in 2017; the option went in 9.16.
  ['dnssec-lookaside', 'DLV was shut down in 2017'],
  // The additional-section cache was removed in 9.12; its options went with it.
  ['acache-enable', 'the additional-section cache is gone since BIND 9.12'],
  ['acache-cleaning-interval', 'the additional-section cache is gone since BIND 9.12'],
  ['max-acache-size', 'the additional-section cache is gone since BIND 9.12'],
  // The cache is cleaned continuously since 9.12; the interval had no effect.
  ['cleaning-interval', 'the cache is cleaned without an interval since BIND 9.12'],
  // Moved into the filter-aaaa plugin in 9.13; the labs that set it run without IPv6, where it changes nothing.
  ['filter-aaaa-on-v4', 'it is the filter-aaaa.so plugin now (plugin query "filter-aaaa.so" { filter-aaaa-on-v4 yes; };); AAAA answers are not filtered'],
  ['filter-aaaa-on-v6', 'it is the filter-aaaa.so plugin now; AAAA answers are not filtered'],
  // Long obsolete source-port pool options, ignored since 9.5 and refused now.
  ['use-queryport-pool', 'ignored since BIND 9.5'],
  ['queryport-pool-ports', 'ignored since BIND 9.5'],
  ['queryport-pool-updateinterval', 'ignored since BIND 9.5'],
];

export const BIND_911_TO_918: readonly LineRule[] = REMOVED_BIND_OPTIONS.map(([option, reason]) => ({
  // One statement on one line: `dnssec-enable yes;` (what every Kathará lab writes).
  match: new RegExp(`^\\s*${option.replace(/-/g, '\\-')}\\s[^;{}]*;\\s*(?://.*|#.*)?$`),
  apply: () => [],
  why: `"${option}" dropped: BIND 9.18 refuses it (${reason})`,
}));

/** Which table a device file gets: Quagga's and Netkit's Zebra configs, and BIND's configs. */
export function rulesFor(path: string): { table: readonly LineRule[]; name: string } | undefined {
  if (/^\/etc\/(quagga|zebra)\/[^/]+\.conf$/.test(path) && !/\/(vtysh|debian)\.conf$/.test(path)) return { table: QUAGGA_TO_FRR, name: 'Quagga -> FRR' };
  if (/^\/etc\/bind\/[^/]*named\.conf[^/]*$/.test(path)) return { table: BIND_911_TO_918, name: 'BIND 9.11 -> 9.18' };
  return undefined;
}

/** The file as the device gets it, and a warning at each line changed. `shown` names the file in messages. */
export function translateFile(path: string, text: string, shown: string): { text: string; problems: KatharaProblem[] } {
  const rules = rulesFor(path);
  if (!rules) return { text, problems: [] };
  const problems: KatharaProblem[] = [];
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const rule of rules.table) {
      const m = rule.match.exec(line);
      if (!m) continue;
      problems.push({
        at: { file: shown, line: i + 1, col: 1 + (line.length - line.trimStart().length) },
        severity: 'warning',
        message: `${rules.name}: ${rule.why}`,
      });
      out.push(...rule.apply(line, m));
      return;
    }
    out.push(line);
  });
  return { text: out.join('\n'), problems };
}
