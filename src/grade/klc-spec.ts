// kathara-lab-checker's configuration files, read unchanged (JSON with `structure`, or YAML
// with `lab_inline`) into a grading spec: each `test:` family becomes umlab checks with the
// checker's own descriptions; checks are judged after `convergence_time`, as the checker does.
// Unknown keys and families are file:line:col errors. Pure: `readText` fetches `structure`.
import type { Diagnostic } from '../errors.ts';
import { parseLabConf } from '../kathara/lab-conf.ts';
import { shellQuote } from '../vm/init.ts';
import { formatPath, type PathSegment } from '../topology/lab-path.ts';
import type { LabTest } from '../topology/model.ts';
import { parseYaml } from '../topology/yaml-parse.ts';
import { applicationChecks } from './klc-applications.ts';
import { bridgeChecks } from './klc-bridges.ts';
import { escapeRegex, isMap, unknownKey as unknown, type FamilyContext, type Located, type OmitEach } from './klc-common.ts';
import type { Judge } from './klc-judge.ts';
import { protocolChecks } from './klc-protocols.ts';
import { expectedRoutes, kernelRoutesCommand } from './klc-routes.ts';
import { DEFAULT_DEADLINE_S, KLC_RETRY_S, type GradedCheck, type GradingSpec } from './spec.ts';

const TOP_KEYS = ['labs_path', 'convergence_time', 'structure', 'lab_inline', 'default_image', 'test'];
/** The families of a Linux lab (the protocols, applications and bridges families in files of their own). */
const FAMILIES = [
  'requiring_startup',
  'ip_mapping',
  'daemons',
  'reachability',
  'custom_commands',
  'sysctls',
  'kernel_routes',
  'ipv6_enabled',
  'protocols',
  'applications',
  'bridges',
];

/** A kathara-lab-checker configuration: JSON, or YAML with its keys and without umlab's `tests:`. */
export function isKlcConfig(file: string, text: string): boolean {
  if (file.endsWith('.json')) return true;
  return /^(test|lab_inline|structure|convergence_time|labs_path):/m.test(text) && !/^tests:/m.test(text);
}

export function parseKlcSpec(text: string, file: string, readText: (path: string) => string | undefined): { spec: GradingSpec } | { errors: Diagnostic[] } {
  const parsed = parseYaml(text, file);
  if ('errors' in parsed) return parsed;
  const { data, sources } = parsed;
  const diag: Located = (path, part, message, hint) => ({ file, ...sources.position(path, part), path: formatPath(path), message, ...(hint && { hint }) });
  const errors: Diagnostic[] = [];
  if (!isMap(data)) return { errors: [diag([], 'value', 'a kathara-lab-checker configuration is a map (JSON object)')] };
  for (const key of Object.keys(data)) if (!TOP_KEYS.includes(key)) errors.push(unknown(diag, [key], key, TOP_KEYS));
  const tests = isMap(data.test) ? data.test : {};
  for (const key of Object.keys(tests)) if (!FAMILIES.includes(key)) errors.push(unknown(diag, ['test', key], key, FAMILIES));
  const convergence = Number(data.convergence_time ?? DEFAULT_DEADLINE_S);
  if (!(convergence > 0))
    errors.push(diag(['convergence_time'], 'value', `convergence_time must be a number of seconds, not ${JSON.stringify(data.convergence_time)}`));
  const checks: GradedCheck[] = [];
  const structure = typeof data.lab_inline === 'string' ? data.lab_inline : typeof data.structure === 'string' ? readText(data.structure) : undefined;
  if (typeof data.structure === 'string' && structure === undefined && data.lab_inline === undefined)
    errors.push(diag(['structure'], 'value', `cannot read the structure file ${data.structure}`, 'a path to the template lab.conf, relative to this file'));
  if (structure !== undefined) checks.push(...structureChecks(structure, file));
  const add = (c: NewCheck) => checks.push({ points: 1, hidden: false, ...c });
  familyChecks(tests, add, diag, errors);
  if (errors.length) return { errors: errors.sort((a, b) => a.line - b.line || a.col - b.col) };
  const unique = new Set<string>();
  for (const c of checks) {
    let name = c.name;
    for (let i = 2; unique.has(name); i++) name = `${c.name} (${i})`;
    unique.add(name);
    c.name = name;
    if (c.kind === 'live') c.test.name = name;
  }
  return {
    spec: {
      file,
      form: 'kathara-lab-checker',
      convergenceSeconds: convergence,
      deadlineSeconds: KLC_RETRY_S,
      checks,
      groupPoints: {},
      ...(typeof data.labs_path === 'string' && { labsPath: data.labs_path }),
      ...(typeof data.default_image === 'string' && { defaultImage: data.default_image }),
    },
  };
}

/** Device existence and the collision domain of every interface of the template lab. */
function structureChecks(labConf: string, file: string): GradedCheck[] {
  const devices = new Map<string, [number, string][]>();
  for (const line of parseLabConf(labConf, file).lines) {
    if (line.kind !== 'device') continue;
    if (!devices.has(line.device)) devices.set(line.device, []);
    if (/^\d+$/.test(line.key)) devices.get(line.device)!.push([Number(line.key), line.value.replace(/^"|"$/g, '').split(':')[0]]);
  }
  const out: GradedCheck[] = [];
  for (const [device, ifaces] of devices) {
    out.push({
      kind: 'static',
      name: `Check existence of \`${device}\``,
      description: `Check existence of \`${device}\``,
      points: 1,
      hidden: false,
      check: { what: 'device', device },
    });
    for (const [iface, domain] of ifaces) {
      const name = `Checking the collision domain attached to interface \`eth${iface}\` of \`${device}\``;
      out.push({ kind: 'static', name, description: name, points: 1, hidden: false, check: { what: 'collision-domain', device, iface, domain } });
    }
  }
  return out;
}

type NewCheck = OmitEach<GradedCheck, 'points' | 'hidden'>;

const live = (name: string, test: OmitEach<LabTest, 'name' | 'after'>, judge?: Judge): NewCheck => ({
  kind: 'live',
  name,
  description: name,
  test: { name, after: [], ...test } as LabTest,
  ...(judge && { judge }),
});

function familyChecks(tests: Record<string, unknown>, add: (c: NewCheck) => void, diag: Located, errors: Diagnostic[]): void {
  const listOf = (path: PathSegment[], v: unknown): unknown[] => (Array.isArray(v) ? v : (errors.push(diag(path, 'value', 'must be a list')), []));
  const mapOf = (path: PathSegment[], v: unknown): Record<string, unknown> => (isMap(v) ? v : (errors.push(diag(path, 'value', 'must be a map')), {}));
  if (tests.requiring_startup !== undefined)
    for (const d of listOf(['test', 'requiring_startup'], tests.requiring_startup)) {
      const name = `Check existence of \`${d}.startup\` file`;
      add({ kind: 'static', name, description: name, check: { what: 'startup', device: String(d) } });
    }
  for (const [device, ifaces] of Object.entries(tests.ip_mapping === undefined ? {} : mapOf(['test', 'ip_mapping'], tests.ip_mapping)))
    for (const [iface, cidr] of Object.entries(mapOf(['test', 'ip_mapping', device], ifaces))) {
      const ifName = /^\d+$/.test(iface) ? `eth${iface}` : iface;
      add(
        live(`Verifying the IP address (${cidr}) assigned to ${ifName} of ${device}`, {
          kind: 'command',
          vm: device,
          run: `ip -o addr show dev ${shellQuote(ifName)}`,
          stdout: `inet6? ${escapeRegex(String(cidr))} `,
        }),
      );
    }
  for (const [device, daemons] of Object.entries(tests.daemons === undefined ? {} : mapOf(['test', 'daemons'], tests.daemons)))
    for (const d of listOf(['test', 'daemons', device], daemons)) {
      const [name, running] = String(d).startsWith('!') ? [String(d).slice(1), false] : [String(d), true];
      add(
        live(`Checking that ${name} is ${running ? '' : 'not '}running on device \`${device}\``, {
          kind: 'command',
          vm: device,
          run: `pgrep ${shellQuote(name)}`,
          exit: running ? 0 : 1,
        }),
      );
    }
  for (const [device, targets] of Object.entries(tests.reachability === undefined ? {} : mapOf(['test', 'reachability'], tests.reachability)))
    for (const t of listOf(['test', 'reachability', device], targets)) {
      const [dest, reach] = String(t).startsWith('!') ? [String(t).slice(1), false] : [String(t), true];
      add(
        live(`Verifying \`${dest}\` ${reach ? '' : 'not '}reachable from device \`${device}\``, {
          kind: 'command',
          vm: device,
          run: `ping -q -n -c 1 -W 2 ${shellQuote(dest)}`,
          exit: reach ? 0 : 1,
        }),
      );
    }
  for (const [device, entries] of Object.entries(tests.custom_commands === undefined ? {} : mapOf(['test', 'custom_commands'], tests.custom_commands)))
    listOf(['test', 'custom_commands', device], entries).forEach((e, i) => {
      const entry = mapOf(['test', 'custom_commands', device, i], e);
      const run = String(entry.command ?? '');
      if (typeof entry.exit_code === 'number')
        add(live(`Checking the exit code of the command '${run}' on '${device}'`, { kind: 'command', vm: device, run, exit: entry.exit_code }));
      const pattern =
        typeof entry.regex_match === 'string' ? entry.regex_match : typeof entry.output === 'string' ? `^${escapeRegex(entry.output)}\\s*$` : undefined;
      if (pattern !== undefined)
        add(live(`Checking the output of the command '${run}' on '${device}'`, { kind: 'command', vm: device, run: `(${run}) 2>&1`, stdout: pattern }));
    });
  for (const [device, sysctls] of Object.entries(tests.sysctls === undefined ? {} : mapOf(['test', 'sysctls'], tests.sysctls)))
    for (const s of listOf(['test', 'sysctls', device], sysctls)) {
      const [key, value] = String(s).split('=');
      add(
        live(`Checking that sysctl \`${s}\` is set on \`${device}\``, {
          kind: 'command',
          vm: device,
          run: `cat ${shellQuote('/proc/sys/' + key.trim().replace(/\./g, '/'))}`,
          stdout: `^${escapeRegex(String(value ?? '').trim())}\\s*$`,
        }),
      );
    }
  if (tests.ipv6_enabled !== undefined)
    for (const d of listOf(['test', 'ipv6_enabled'], tests.ipv6_enabled)) {
      const name = `Checking that IPv6 is enabled on \`${d}\``;
      add({ kind: 'static', name, description: name, check: { what: 'ipv6', device: String(d) } });
    }
  for (const [device, entries] of Object.entries(tests.kernel_routes === undefined ? {} : mapOf(['test', 'kernel_routes'], tests.kernel_routes))) {
    const routes = expectedRoutes(listOf(['test', 'kernel_routes', device], entries));
    if (!routes)
      errors.push(
        diag(['test', 'kernel_routes', device], 'value', 'each route is "DEST" or [DEST, [NEXT_HOP, ...]] (next hops: addresses or interface names)'),
      );
    else
      add(
        live(
          `Checking the routing table of ${device}`,
          { kind: 'command', vm: device, run: kernelRoutesCommand(routes), exit: 0 },
          { family: 'kernel_routes', device },
        ),
      );
  }
  const ctx: FamilyContext<Judge> = {
    judged: (name, device, run, judge) => add(live(name, { kind: 'command', vm: device, run }, judge)),
    unsupported: (name, reason) => add({ kind: 'unsupported', name, description: name, reason }),
    diag,
    errors,
  };
  if (tests.protocols !== undefined) protocolChecks(ctx, tests.protocols);
  if (tests.applications !== undefined) applicationChecks(ctx, tests.applications, tests.ip_mapping);
  if (tests.bridges !== undefined) bridgeChecks(ctx, tests.bridges);
}
