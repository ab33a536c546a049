// lab.conf lines -> devices with their interfaces and options, each remembering where it was
// written; every option's meaning in umlab is decided here. Pure.
import type { DeviceLine, GlobalLine, LabConfLine } from './lab-conf.ts';
import type { KatharaProblem, Pos } from './types.ts';

export interface DeviceIface {
  index: number;
  /** Collision domain as written, or a Netkit tap. */
  target: { domain: string; mac?: string; macAt?: Pos } | { tap: { hostAddr: string; guestAddr: string } };
  at: Pos;
  valueAt: Pos;
}

export interface Device {
  /** As written in lab.conf / the directory name. */
  name: string;
  at: Pos;
  ifaces: DeviceIface[];
  image?: { value: string; at: Pos };
  memory?: { value: string; at: Pos };
  ports: { host: number; guest: number; proto: 'tcp' | 'udp'; spec: string; at: Pos }[];
  bridged?: Pos;
  ipv6?: boolean;
  exec: string[];
  sysctl: { name: string; value: string; at: Pos }[];
}

export interface LabConfMeta {
  description?: string;
  /** Netkit's machines="a b c", each with its position. */
  machines: { name: string; at: Pos }[];
}

/** Options Kathará documents that umlab has nothing to do with: accepted, with a note. */
const IGNORED: Record<string, string> = {
  num_terms: 'terminals are opened with `umlab console DEVICE`',
  cpus: "a UML VM runs on one virtual CPU (Debian's UML kernel has no SMP); the value is ignored",
  shell: 'commands run under /bin/sh; `umlab console` gives a shell',
  env: 'set variables in the startup file instead',
  ulimit: 'UML has no container limits; the value is ignored',
  privileged: 'every UML VM is its own kernel: root inside can do everything already',
  entrypoint: 'umlab boots its own init',
  volume: 'use shared/ (mounted at /shared) or the lab directory (/hostlab)',
};

const MEMORY = /^([1-9][0-9]*)\s*([kmg])?b?$/i;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/** Kathará's port: HOST:GUEST/PROTO; a single number is the host port and the guest's is 3000 (Kathará's default). */
export function parsePort(value: string): { host: number; guest: number; proto: 'tcp' | 'udp' } | undefined {
  const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/i.exec(value.trim());
  if (!m) return undefined;
  const [host, guest] = m[1] === undefined ? [Number(m[2]), 3000] : [Number(m[1]), Number(m[2])];
  if (host < 1 || host > 65535 || guest < 1 || guest > 65535) return undefined;
  return { host, guest, proto: (m[3]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' };
}

/** Groups lab.conf lines by device and reads each option; problems carry the position of the offending part. */
export function readDevices(lines: LabConfLine[], strict: boolean): { devices: Map<string, Device>; meta: LabConfMeta; problems: KatharaProblem[] } {
  const devices = new Map<string, Device>();
  const meta: LabConfMeta = { machines: [] };
  const problems: KatharaProblem[] = [];
  const problem = (at: Pos, message: string, hint?: string, severity: 'error' | 'warning' = 'error') =>
    problems.push({ at, severity, message, ...(hint && { hint }) });
  const device = (name: string, at: Pos): Device => {
    let d = devices.get(name);
    if (!d) devices.set(name, (d = { name, at, ifaces: [], ports: [], exec: [], sysctl: [] }));
    return d;
  };
  for (const line of lines) {
    if (line.kind === 'global') {
      readGlobal(line, meta, problem, strict);
      continue;
    }
    const d = device(line.device, line.at);
    if (line.value === '') {
      problem(
        line.valueAt,
        `${line.device}[${line.key}] has no value`,
        /^\d+$/.test(line.key) ? 'write DEVICE[N]=DOMAIN: the collision domain interface ethN joins' : `give ${line.key} a value, or delete the line`,
      );
      continue;
    }
    if (/^\d+$/.test(line.key)) readIface(d, line, problem);
    else readOption(d, line, problem, strict);
  }
  return { devices, meta, problems };
}

type Report = (at: Pos, message: string, hint?: string, severity?: 'error' | 'warning') => void;

function readGlobal(line: GlobalLine, meta: LabConfMeta, problem: Report, strict: boolean): void {
  if (line.name === 'LAB_DESCRIPTION') meta.description = line.value;
  else if (line.name === 'machines') {
    for (const w of line.value.matchAll(/\S+/g)) meta.machines.push({ name: w[0], at: { ...line.valueAt, col: line.valueAt.col + w.index } });
  } else if (!/^LAB_(VERSION|AUTHOR|EMAIL|WEB|NAME)$/.test(line.name)) {
    problem(
      line.at,
      `unknown setting ${line.name}; ignored`,
      'lab.conf knows LAB_DESCRIPTION, LAB_VERSION, LAB_AUTHOR, LAB_EMAIL, LAB_WEB and machines=',
      strict ? 'error' : 'warning',
    );
  }
}

function readIface(d: Device, line: DeviceLine, problem: Report): void {
  const index = Number(line.key);
  if (String(index) !== line.key) return problem(line.keyAt, `interface number ${line.key} has a leading zero`, `write ${line.device}[${index}]`);
  if (d.ifaces.some((i) => i.index === index))
    return problem(line.keyAt, `${line.device}[${index}] is given twice`, 'each interface joins one collision domain');
  const netkitTap = /^tap,/i.exec(line.value);
  if (netkitTap) {
    const [, hostAddr = '', guestAddr = ''] = line.value.split(',').map((s) => s.trim());
    if (!IPV4.test(hostAddr) || !IPV4.test(guestAddr))
      return problem(
        line.valueAt,
        `a Netkit tap is tap,TAP_ADDRESS,GUEST_ADDRESS (two IPv4 addresses), not "${line.value}"`,
        'e.g. pc1[0]=tap,10.0.0.1,10.0.0.2',
      );
    d.ifaces.push({ index, target: { tap: { hostAddr, guestAddr } }, at: line.keyAt, valueAt: line.valueAt });
    return;
  }
  const slash = line.value.indexOf('/');
  const domain = slash < 0 ? line.value : line.value.slice(0, slash);
  const mac = slash < 0 ? undefined : line.value.slice(slash + 1);
  if (mac !== undefined && !MAC.test(mac))
    return problem({ ...line.valueAt, col: line.valueAt.col + slash + 1 }, `"${mac}" is not a MAC address`, 'write DEVICE[N]=DOMAIN/02:00:00:00:00:01');
  d.ifaces.push({
    index,
    target: { domain, ...(mac !== undefined && { mac: mac.toLowerCase(), macAt: { ...line.valueAt, col: line.valueAt.col + slash + 1 } }) },
    at: line.keyAt,
    valueAt: line.valueAt,
  });
}

function readOption(d: Device, line: DeviceLine, problem: Report, strict: boolean): void {
  const { key, value, valueAt } = line;
  switch (key) {
    case 'image':
      d.image = { value, at: valueAt };
      return;
    case 'mem': {
      const m = MEMORY.exec(value);
      if (!m || !m[2]) return problem(valueAt, `mem=${value} is not a size with a unit`, 'e.g. mem=128m or mem=1g');
      d.memory = { value: `${m[1]}${m[2].toUpperCase()}`, at: valueAt };
      return;
    }
    case 'port': {
      const p = parsePort(value);
      if (!p)
        return problem(
          valueAt,
          `port=${value} is not [HOST:]GUEST[/tcp|udp]`,
          "e.g. port=8080:80/tcp (host port 8080 on 127.0.0.1 to port 80 of the device); a single number is the host port, to the device's port 3000",
        );
      d.ports.push({ ...p, spec: value, at: valueAt });
      return;
    }
    case 'bridged':
      if (/^(true|yes|1)$/i.test(value)) d.bridged = valueAt;
      else if (!/^(false|no|0)$/i.test(value)) problem(valueAt, `bridged=${value} is neither true nor false`);
      return;
    case 'ipv6':
      if (/^(true|yes|1|false|no|0)$/i.test(value)) d.ipv6 = /^(true|yes|1)$/i.test(value);
      else problem(valueAt, `ipv6=${value} is neither true nor false`);
      return;
    case 'exec':
      d.exec.push(value);
      return;
    case 'sysctl': {
      const eq = value.indexOf('=');
      const name = eq < 0 ? '' : value.slice(0, eq).trim();
      if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(name)) return problem(valueAt, `sysctl=${value} is not NAME=VALUE`, 'e.g. sysctl=net.ipv4.ip_forward=1');
      d.sysctl.push({ name, value: value.slice(eq + 1).trim(), at: valueAt });
      return;
    }
    default: {
      const why = IGNORED[key];
      problem(
        line.keyAt,
        why ? `${line.device}[${key}] is not used by umlab: ${why}` : `unknown option ${line.device}[${key}]; ignored`,
        why ? undefined : 'options are image, mem, cpus, port, bridged, ipv6, exec, sysctl, num_terms',
        strict && !why ? 'error' : 'warning',
      );
    }
  }
}
