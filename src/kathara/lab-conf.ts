// Kathará's lab.conf (and Netkit's) as lines with positions: the syntax only, so the meaning
// (to-raw.ts) and the errors it reports can point at `lab.conf:7:1`. Pure.
import type { KatharaProblem, Pos } from './types.ts';

/** `device[key]=value`: key is an interface number or an option name. */
export interface DeviceLine {
  kind: 'device';
  device: string;
  key: string;
  value: string;
  /** Positions of the device name, the key and the value. */
  at: Pos;
  keyAt: Pos;
  valueAt: Pos;
}

/** `LAB_DESCRIPTION="..."`, `machines="a b"` and other bare assignments. */
export interface GlobalLine {
  kind: 'global';
  name: string;
  value: string;
  at: Pos;
  valueAt: Pos;
}

export type LabConfLine = DeviceLine | GlobalLine;

const DEVICE_LINE = /^([^\s[\]=#]+)\[([^\]]*)\]\s*=\s*(.*)$/;
const GLOBAL_LINE = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/** Strips one pair of quotes ("x" or 'x') and, outside quotes, a trailing `# comment`. */
export function unquote(raw: string): string {
  const s = raw.trim();
  const q = s[0];
  if ((q === '"' || q === "'") && s.length >= 2) {
    const end = s.indexOf(q, 1);
    if (end > 0) return s.slice(1, end);
  }
  const hash = s.search(/\s#/);
  return (hash >= 0 ? s.slice(0, hash) : s).trim();
}

/** Every meaningful line of a lab.conf, and a problem for each line that is not one. */
export function parseLabConf(text: string, file: string): { lines: LabConfLine[]; problems: KatharaProblem[] } {
  const lines: LabConfLine[] = [];
  const problems: KatharaProblem[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = i + 1;
    const indent = rawLine.length - rawLine.trimStart().length;
    const body = rawLine.trim();
    if (body === '' || body.startsWith('#')) return;
    const pos = (offset: number): Pos => ({ file, line, col: indent + offset + 1 });
    const dev = DEVICE_LINE.exec(body);
    if (dev) {
      const [, device, key, rest] = dev as unknown as [string, string, string, string];
      const valueOffset = body.length - rest.length;
      const value = unquote(rest);
      const keyAt = pos(device.length + 1);
      if (key.trim() === '') {
        problems.push({
          at: keyAt,
          severity: 'error',
          message: `empty key in "${body}"`,
          hint: 'write device[N]=DOMAIN for interface ethN, or device[option]=value (image, mem, cpus, port, bridged, exec, sysctl, ipv6, num_terms)',
        });
        return;
      }
      lines.push({ kind: 'device', device, key: key.trim(), value, at: pos(0), keyAt, valueAt: pos(valueOffset) });
      return;
    }
    const glob = GLOBAL_LINE.exec(body);
    if (glob) {
      const [, name, rest] = glob as unknown as [string, string, string];
      lines.push({ kind: 'global', name, value: unquote(rest), at: pos(0), valueAt: pos(body.length - rest.length) });
      return;
    }
    problems.push({
      at: pos(0),
      severity: 'error',
      message: `cannot read this line: ${JSON.stringify(body.length > 60 ? body.slice(0, 60) + '...' : body)}`,
      hint: 'lab.conf lines are device[N]=DOMAIN, device[option]=value, NAME=value or # comments',
    });
  });
  return { lines, problems };
}

/** lab.dep: `r1: r2 r3` (r1 starts after r2 and r3). */
export interface DepLine {
  device: string;
  after: { name: string; at: Pos }[];
  at: Pos;
}

export function parseLabDep(text: string, file: string): { deps: DepLine[]; problems: KatharaProblem[] } {
  const deps: DepLine[] = [];
  const problems: KatharaProblem[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const body = rawLine.replace(/#.*/, '');
    if (body.trim() === '') return;
    const m = /^(\s*)(\S+?)\s*:(.*)$/.exec(body);
    if (!m) {
      problems.push({
        at: { file, line: i + 1, col: 1 },
        severity: 'error',
        message: `cannot read this line: ${JSON.stringify(body.trim())}`,
        hint: 'lab.dep lines are DEVICE: DEVICE... (the first starts after the others)',
      });
      return;
    }
    const [, indent, device, rest] = m as unknown as [string, string, string, string];
    const restStart = body.length - rest.length;
    const after: DepLine['after'] = [];
    for (const w of rest.matchAll(/\S+/g)) after.push({ name: w[0], at: { file, line: i + 1, col: restStart + w.index + 1 } });
    deps.push({ device, after, at: { file, line: i + 1, col: indent.length + 1 } });
  });
  return { deps, problems };
}
