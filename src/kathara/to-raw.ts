// A Kathará/Netkit lab directory's contents -> umlab's lab data (the YAML a lab file would
// hold), with the lab.conf position of every path in it, warnings and errors. Pure: the
// caller validates the result with the same schema and rules as a YAML lab (load.ts).
import { findCycle } from '../topology/rules/start-order.ts';
import { formatPath, type PathSegment } from '../topology/lab-path.ts';
import type { RawInterface, RawLab, RawVm } from '../topology/raw.ts';
import { readDevices, type Device } from './devices.ts';
import { cachedImagePath, chooseImage, DEFAULT_IMAGE } from './images.ts';
import { parseLabConf, parseLabDep } from './lab-conf.ts';
import { readLabExt } from './lab-ext.ts';
import { KATHARA_DIR, RUNNER, runnerScript } from './runner.ts';
import { translateFile } from './translate.ts';
import type { KatharaProblem, LabDirContents, Pos, ReadOptions } from './types.ts';

export interface KatharaRead {
  raw: RawLab & Record<string, unknown>;
  /** formatPath(path) -> where it was written. */
  positions: Map<string, Pos>;
  problems: KatharaProblem[];
  /** Image profiles the lab needs (for `up` to check or build). */
  profiles: string[];
  /** lab.dep: device -> devices it starts after (umlab names). */
  order: Record<string, string[]>;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** umlab names: lowercase, `_` as `-` (Kathará allows both cases and underscores). */
export const umlabName = (name: string) => name.toLowerCase().replace(/_/g, '-');

/** Lab name from the directory: what the schema allows, at most 24 characters. */
export function labNameOf(dir: string): string {
  const base = dir.replace(/\/+$/, '').split('/').pop() ?? '';
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 24)
    .replace(/-+$/, '');
  return name || 'kathara-lab';
}

/** The conversion's state: the lab data made so far, where each path was written, and what
 *  there is to say about it. */
interface Conversion {
  readonly c: LabDirContents;
  readonly opts: ReadOptions;
  readonly raw: KatharaRead['raw'];
  readonly problems: KatharaProblem[];
  readonly positions: Map<string, Pos>;
  readonly switches: Record<string, Record<string, never>>;
  /** umlab name -> as written (collisions). */
  readonly names: Map<string, string>;
  /** switch name -> collision domain as written. */
  readonly domains: Map<string, string>;
  readonly profiles: Set<string>;
  tapHost: string | undefined;
  readonly gatewayForwards: string[];
  gatewayUsers: number;
}

/** The first position given for a path is the one kept. */
function place(cv: Conversion, path: PathSegment[], at: Pos): void {
  const key = formatPath(path);
  if (!cv.positions.has(key)) cv.positions.set(key, at);
}

const error = (cv: Conversion, at: Pos, message: string, hint?: string) => cv.problems.push({ at, severity: 'error', message, ...(hint && { hint }) });
// Notes, never errors (--strict is about what cannot run as written, not about these).
const warn = (cv: Conversion, at: Pos, message: string, hint?: string) => cv.problems.push({ at, severity: 'warning', message, ...(hint && { hint }) });

/** A Kathará lab directory's contents as umlab lab data, with positions, warnings and errors. */
export function katharaToRaw(c: LabDirContents, opts: ReadOptions): KatharaRead {
  const problems: KatharaProblem[] = [];
  const { devices, description } = labDevices(c, opts, problems);
  const cv: Conversion = {
    c,
    opts,
    raw: { name: labNameOf(c.dir), vms: {} },
    problems,
    positions: new Map(),
    switches: {},
    names: new Map(),
    domains: new Map(),
    profiles: new Set(),
    tapHost: undefined,
    gatewayForwards: [],
    gatewayUsers: 0,
  };
  if (description) cv.raw.description = description;
  for (const d of devices.values()) {
    const name = vmNameOf(cv, d);
    const vm = name === undefined ? undefined : vmOf(cv, d, name);
    if (vm) cv.raw.vms[name!] = vm;
  }
  addSegments(cv);
  if (c.labExt !== undefined)
    problems.push(...readLabExt(c.labExt, c.labConfFile.replace(/lab\.conf$/, 'lab.ext'), (dom) => cv.domains.get(umlabName(dom)) === dom).problems);
  const order = readOrder(c, cv.names, problems);
  // lab.dep: a device boots once the devices it names are ready (unknown names are reported above).
  for (const [vm, after] of Object.entries(order)) {
    const known = [...new Set(after)].filter((n) => cv.raw.vms[n] !== undefined);
    if (cv.raw.vms[vm] && known.length) cv.raw.vms[vm].start_after = known;
  }
  return { raw: cv.raw, positions: cv.positions, problems, profiles: [...cv.profiles].sort(), order };
}

/** The devices lab.conf describes, the machines its meta lines name and the device directories. */
function labDevices(c: LabDirContents, opts: ReadOptions, problems: KatharaProblem[]): { devices: Map<string, Device>; description: string | undefined } {
  const conf = c.labConf === undefined ? { lines: [], problems: [] } : parseLabConf(c.labConf, c.labConfFile);
  problems.push(...conf.problems);
  const { devices, meta, problems: optionProblems } = readDevices(conf.lines, opts.strict);
  problems.push(...optionProblems);
  for (const m of meta.machines) if (!devices.has(m.name)) devices.set(m.name, { name: m.name, at: m.at, ifaces: [], ports: [], exec: [], sysctl: [] });
  for (const dir of c.deviceDirs)
    if (!devices.has(dir)) devices.set(dir, { name: dir, at: { file: `${c.dir}/${dir}`, line: 1, col: 1 }, ifaces: [], ports: [], exec: [], sysctl: [] });
  if (c.labConf === undefined && devices.size === 0)
    problems.push({
      at: { file: c.labConfFile, line: 1, col: 1 },
      severity: 'error',
      message: `${c.dir} is not a Kathará or Netkit lab: it has no lab.conf and no device directories`,
      hint: 'a lab directory holds lab.conf (lines such as r1[0]=A) and/or one directory per device',
    });
  return { devices, description: meta.description };
}

/** The device's umlab VM name, or undefined (with an error) when it cannot have one. */
function vmNameOf(cv: Conversion, d: Device): string | undefined {
  const name = umlabName(d.name);
  if (!NAME.test(name)) {
    error(
      cv,
      d.at,
      `device name "${d.name}" cannot be a umlab VM name`,
      'device names are letters, digits, - and _, starting with a letter, at most 32 characters',
    );
    return undefined;
  }
  if (cv.names.has(name)) {
    error(cv, d.at, `devices "${cv.names.get(name)}" and "${d.name}" would both be VM ${name}`, 'rename one of them');
    return undefined;
  }
  cv.names.set(name, d.name);
  if (name !== d.name) warn(cv, d.at, `device ${d.name} runs as VM ${name} (umlab names are lowercase, with - for _)`);
  return name;
}

/** The device as a VM, or undefined when its image cannot run (left out, with the reason). */
function vmOf(cv: Conversion, d: Device, name: string): RawVm | undefined {
  const { c, opts } = cv;
  const image = d.image?.value ?? DEFAULT_IMAGE;
  const choice = chooseImage(image);
  const imageAt = d.image?.at ?? d.at;
  if ('unsupported' in choice) {
    const unknown = choice.unsupported.startsWith('unknown');
    cv.problems.push({
      at: imageAt,
      severity: unknown || opts.strict ? 'error' : 'warning',
      message: `${d.name}: ${choice.unsupported}${unknown ? '' : ` (image ${image})`}; ${unknown ? 'cannot run it' : 'the device is left out, the rest of the lab runs'}`,
      hint: choice.hint,
    });
    return undefined;
  }
  if (choice.note) warn(cv, imageAt, `${d.name}: ${choice.note}`);
  cv.profiles.add(choice.profile);
  const vm: RawVm = { image: cachedImagePath(opts.imageCache, choice.profile) };
  place(cv, ['vms', name], d.at);
  place(cv, ['vms', name, 'image'], imageAt);
  if (d.memory) {
    vm.memory = d.memory.value;
    place(cv, ['vms', name, 'memory'], d.memory.at);
  }
  const { interfaces, routes } = interfacesOf(cv, d, name);
  if (Object.keys(interfaces).length) vm.interfaces = interfaces;
  if (routes.length) vm.routes = routes;
  // Kathará devices forward IPv4 by default (a lab's own sysctl line still wins).
  vm.sysctl = { 'net.ipv4.ip_forward': '1' };
  // With ipv6=true Kathará forwards IPv6 too (its hosts set accept_ra=2 to still take router advertisements).
  if (d.ipv6) vm.sysctl['net.ipv6.conf.all.forwarding'] = '1';
  for (const s of d.sysctl) {
    vm.sysctl[s.name] = s.value;
    place(cv, ['vms', name, 'sysctl', s.name], s.at);
  }
  const shares: NonNullable<RawVm['shares']> = { '/hostlab': opts.labPath('.') };
  if (c.hasShared) shares['/shared'] = { path: opts.labPath('shared'), rw: true };
  vm.shares = shares;
  vm.files = deviceFiles(c, d, name, cv.problems);
  for (const p of Object.keys(vm.files)) place(cv, ['vms', name, 'files', p], fileAt(c, d.name, p));
  const shown = c.labConfFile.replace(/\/?lab\.conf$/, '') || '.';
  vm.startup = [...(d.ipv6 ? ['modprobe ipv6'] : []), `bash ${RUNNER} startup ${name} ${shQuote(shown)}`, ...d.exec];
  place(cv, ['vms', name, 'startup'], c.startup[d.name] !== undefined ? { file: `${shown}/${d.name}.startup`, line: 1, col: 1 } : d.at);
  // DEVICE.shutdown and shared.shutdown run on `down` (and `vm halt`), while the device still runs.
  if (c.shutdown[d.name] !== undefined || c.shutdown.shared !== undefined) vm.shutdown = [`bash ${RUNNER} shutdown ${name} ${shQuote(shown)}`];
  return vm;
}

/** The device's interfaces: collision domains as switches, a tap, and the bridged gateway last. */
function interfacesOf(cv: Conversion, d: Device, name: string): { interfaces: Record<string, RawInterface>; routes: string[] } {
  const interfaces: Record<string, RawInterface> = {};
  const routes: string[] = [];
  for (const i of [...d.ifaces].sort((a, b) => a.index - b.index)) {
    const eth = `eth${i.index}`;
    place(cv, ['vms', name, 'interfaces', eth], i.at);
    place(cv, ['vms', name, 'interfaces', eth, 'connect'], i.valueAt);
    if ('tap' in i.target) {
      cv.tapHost ??= i.target.tap.hostAddr;
      interfaces[eth] = { connect: 'tap', ip: `${i.target.tap.guestAddr}/24` };
      routes.push(`default via ${i.target.tap.hostAddr}`);
      place(cv, ['taps', 'tap'], i.valueAt);
      continue;
    }
    const { domain, mac, macAt } = i.target;
    const sw = switchOf(cv, domain, i.valueAt);
    if (sw === undefined) continue;
    interfaces[eth] = { connect: sw };
    cv.switches[sw] = {};
    place(cv, ['switches', sw], i.valueAt);
    if (mac) {
      interfaces[eth].mac = mac;
      place(cv, ['vms', name, 'interfaces', eth, 'mac'], macAt!);
    }
  }
  if (d.bridged || d.ports.length) {
    // Kathará's bridged interface comes after the lab's own: the next ethN.
    const next = Math.max(-1, ...d.ifaces.map((i) => i.index)) + 1;
    interfaces[`eth${next}`] = { connect: 'bridged', dhcp: true };
    place(cv, ['vms', name, 'interfaces', `eth${next}`], d.bridged ?? d.ports[0].at);
    place(cv, ['gateways', 'bridged'], d.bridged ?? d.ports[0].at);
    cv.gatewayUsers++;
    for (const p of d.ports) {
      place(cv, ['gateways', 'bridged', 'forward', cv.gatewayForwards.length], p.at);
      cv.gatewayForwards.push(`${p.proto}:${p.host}:${name}:${p.guest}`);
    }
  }
  return { interfaces, routes };
}

/** The switch a collision domain becomes, or undefined (with an error) when it cannot be one. */
function switchOf(cv: Conversion, domain: string, at: Pos): string | undefined {
  if (domain.includes('.')) {
    error(
      cv,
      at,
      `collision domain "${domain}" has a dot in its name`,
      'umlab reads a dot as VM.ethN (a point-to-point link): rename the domain, e.g. ' + domain.replace(/\./g, '-'),
    );
    return undefined;
  }
  const cd = umlabName(domain);
  // Kathará's domain names are case-sensitive: "A" and "a" are two domains, which umlab cannot tell apart.
  const seen = cv.domains.get(cd);
  if (seen !== undefined && seen !== domain) {
    error(cv, at, `collision domains "${seen}" and "${domain}" would both be switch ${cd}`, 'rename one of them (umlab names are lowercase, with - for _)');
    return undefined;
  }
  cv.domains.set(cd, domain);
  if (NAME.test(cd)) return cd;
  // Kathará allows domains such as "0" or "A_1"; umlab names start with a letter.
  const fixed = `cd-${cd.replace(/[^a-z0-9-]/g, '-')}`;
  if (NAME.test(fixed)) return fixed;
  error(cv, at, `collision domain "${domain}" cannot be a umlab switch name`, 'use letters, digits, - and _');
  return undefined;
}

/** The switches, the tap and the bridged gateway the devices' interfaces named. */
function addSegments(cv: Conversion): void {
  const { raw, switches } = cv;
  if (Object.keys(switches).length) raw.switches = switches;
  if (cv.tapHost) raw.taps = { tap: { host_ip: `${cv.tapHost}/24`, ip_forward: true } };
  if (cv.gatewayUsers) raw.gateways = { bridged: { type: 'slirp', dhcp: true, ...(cv.gatewayForwards.length && { forward: cv.gatewayForwards }) } };
  for (const [sw] of Object.entries(switches))
    if (raw.vms[sw])
      error(
        cv,
        cv.positions.get(formatPath(['switches', sw]))!,
        `collision domain ${sw} has the name of a device`,
        'umlab names segments and VMs in one namespace: rename the domain',
      );
}

const NO_NAME_SERVER = '# umlab: no name server in this lab unless a device gives one (a file of its own, or DHCP)\n';

const shQuote = (s: string) => (/^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function fileAt(c: LabDirContents, device: string, path: string): Pos {
  const dir = c.labConfFile.replace(/\/?lab\.conf$/, '') || '.';
  if (path.startsWith(KATHARA_DIR + '/')) return { file: `${dir}/${path.slice(KATHARA_DIR.length + 1)}`, line: 1, col: 1 };
  return { file: `${dir}/${device}${path}`, line: 1, col: 1 };
}

/** The device's tree, its scripts and the runner, as `files:`; binary files are left out with a warning. */
function deviceFiles(c: LabDirContents, d: Device, name: string, problems: KatharaProblem[]): Record<string, string> {
  const files: Record<string, string> = {};
  const executables: string[] = [];
  for (const f of c.trees[d.name] ?? []) {
    if (f.text === undefined) {
      problems.push({
        at: { file: `${c.dir}/${d.name}${f.path}`, line: 1, col: 1 },
        severity: 'warning',
        message: `${d.name}${f.path} is not a text file; left out`,
        hint: 'put binary files in shared/ (mounted at /shared) and copy them in the startup file',
      });
      continue;
    }
    // Configs written for Quagga or BIND 9.11 keep their meaning on the image's FRR and BIND 9.18.
    const { text, problems: changed } = translateFile(f.path, f.text, fileAt(c, d.name, f.path).file);
    problems.push(...changed);
    files[f.path] = text;
    if (f.executable) executables.push(f.path);
  }
  // The image keeps the resolv.conf of the host it was built on, whose name server no lab can
  // reach: every lookup would wait for it to time out. With none, lookups fail at once, as in a
  // network without DNS; a device that ships its own (or gets one by DHCP) keeps that.
  files['/etc/resolv.conf'] ??= NO_NAME_SERVER;
  files[RUNNER] = runnerScript();
  for (const mode of ['startup', 'shutdown'] as const) {
    const scripts = mode === 'startup' ? c.startup : c.shutdown;
    if (scripts.shared !== undefined) files[`${KATHARA_DIR}/shared.${mode}`] = scripts.shared;
    if (scripts[d.name] !== undefined) files[`${KATHARA_DIR}/${name}.${mode}`] = scripts[d.name]!;
  }
  if (executables.length) files[`${KATHARA_DIR}/executables`] = executables.join('\n') + '\n';
  frrLayout(c, d, files, problems);
  return files;
}

/** Per-daemon FRR files (bgpd.conf, ...): FRR reads them only when there is no integrated frr.conf.
 *  Without one of the lab's own, the runner removes the image's; with one, FRR ignores them (as in Kathará). */
function frrLayout(c: LabDirContents, d: Device, files: Record<string, string>, problems: KatharaProblem[]): void {
  const perDaemon = Object.keys(files).filter((p) => /^\/etc\/frr\/(zebra|[a-z0-9]+d)\.conf$/.test(p));
  if (!perDaemon.length) return;
  if (files['/etc/frr/frr.conf'] === undefined) files[`${KATHARA_DIR}/frr-per-daemon`] = perDaemon.join('\n') + '\n';
  else
    for (const p of perDaemon)
      problems.push({
        at: fileAt(c, d.name, p),
        severity: 'warning',
        message: `${d.name}${p} is not read: FRR reads only frr.conf when the device has one (as in Kathará)`,
        hint: `move its lines into ${d.name}/etc/frr/frr.conf, or delete one of the two`,
      });
}

function readOrder(c: LabDirContents, names: Map<string, string>, problems: KatharaProblem[]): Record<string, string[]> {
  const order: Record<string, string[]> = {};
  if (c.labDep === undefined) return order;
  const file = c.labConfFile.replace(/lab\.conf$/, 'lab.dep');
  const { deps, problems: depProblems } = parseLabDep(c.labDep, file);
  problems.push(...depProblems);
  const known = (n: string) => names.has(umlabName(n));
  for (const dep of deps) {
    if (!known(dep.device)) problems.push({ at: dep.at, severity: 'error', message: `lab.dep names device ${dep.device}, which the lab does not have` });
    for (const a of dep.after)
      if (!known(a.name)) problems.push({ at: a.at, severity: 'error', message: `lab.dep names device ${a.name}, which the lab does not have` });
    (order[umlabName(dep.device)] ??= []).push(...dep.after.map((a) => umlabName(a.name)));
  }
  // A cycle would wait forever: reported once, at the first line of a device on it.
  const after = new Map(Object.entries(order));
  for (const dep of deps) {
    const cycle = findCycle(umlabName(dep.device), after);
    if (cycle) {
      problems.push({
        at: dep.at,
        severity: 'error',
        message: `lab.dep has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
        hint: 'a device cannot start after itself',
      });
      break;
    }
  }
  return order;
}
