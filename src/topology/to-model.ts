// Schema-valid data -> the Lab model: defaults filled in, snake_case to camelCase, names
// sorted where order means something (ethN, sslN). Pure; the rules run on its result.
import { resolve as resolvePath } from 'node:path';
import {
  compareInterfaceNames,
  compareLineNames,
  DEFAULT_LATENCY_COUNT,
  DEFAULT_MEMORY,
  DEFAULT_PORT_TIMEOUT,
  DEFAULT_SKIP_INITCALLS,
  DEFAULT_THROUGHPUT_SECONDS,
  IPERF3_FIRST_PORT,
  TEST_KINDS,
  FRAME_MATCH_KEYS,
  type FrameMatch,
  type KernelSettings,
  type Lab,
  type LabTest,
  type Segment,
  type Vm,
  type VmInterface,
} from './model.ts';
import { parseDuration, parseRate } from './measures.ts';
import type { RawKernel, RawLab, RawReadyCondition, RawTest } from './raw.ts';
import { DEFAULT_READY_TIMEOUT } from './readiness.ts';

/** sysctl values as `sysctl -w` takes them: booleans become 1/0. */
const sysctlValue = (value: string | number | boolean) => (typeof value === 'boolean' ? (value ? '1' : '0') : String(value));

function kernelSettings(lab: RawKernel = {}, vm: RawKernel = {}): KernelSettings {
  const binary = vm.binary ?? lab.binary;
  return {
    ...(binary !== undefined && { binary }),
    args: [...(lab.args ?? []), ...(vm.args ?? [])],
    skipInitcalls: vm.skip_initcalls ?? lab.skip_initcalls ?? DEFAULT_SKIP_INITCALLS,
  };
}

/** What toModel asks of the segment kinds: the kind declared under a lab-file section, which reads its entries
 *  (the registry's kindOfSection, src/kinds/index.ts, handed in by the loader so this folder imports no kind). */
export type KindOfSection = (section: string) => { fromRaw?(name: string, raw: Record<string, unknown> | null, n: number): Segment } | undefined;

/** Fills in defaults; segments keep file order (top-level keys in document order, then entries). */
export function toModel(raw: RawLab, file: string, kindOfSection: KindOfSection): Lab {
  const capture = raw.capture ?? true;
  const segments: Segment[] = [];
  // Each section of a declared kind, in document order; the kind fills in its defaults.
  for (const [section, entries] of Object.entries(raw)) {
    const kind = kindOfSection(section);
    if (!kind?.fromRaw) continue;
    let n = 0;
    for (const [name, entry] of Object.entries((entries ?? {}) as Record<string, Record<string, unknown> | null>))
      segments.push(kind.fromRaw(name, entry, n++));
  }
  const vms = Object.entries(raw.vms).map(([name, v]): Vm => {
    const vm = v ?? {};
    const interfaces = Object.entries(vm.interfaces ?? {})
      .map(([ifName, i]): VmInterface => ({
        name: ifName,
        ...(i?.connect !== undefined && { connect: i.connect }),
        addresses: i?.ip === undefined ? [] : [i.ip].flat(),
        dhcp: i?.dhcp ?? false,
        proxyArp: i?.proxy_arp ?? false,
        ...(i?.mac !== undefined && { mac: i.mac.toLowerCase() }),
        capture: i?.capture ?? capture,
        ...(i?.link !== undefined && { link: i.link }),
        ...((i?.vlan !== undefined || i?.vlans !== undefined || i?.native !== undefined) && {
          vlans: { ...((i.vlan ?? i.native) !== undefined && { untagged: i.vlan ?? i.native }), tagged: i.vlans ?? [] },
        }),
      }))
      .sort((a, b) => compareInterfaceNames(a.name, b.name));
    return {
      name,
      memory: vm.memory ?? raw.defaults?.memory ?? DEFAULT_MEMORY,
      kernel: kernelSettings(raw.kernel, vm.kernel),
      console: vm.console ?? raw.defaults?.console ?? 'log',
      ...(vm.console_port !== undefined && { consolePort: vm.console_port }),
      ...(vm.image !== undefined && { image: vm.image }),
      disks: (vm.disks ?? []).map((d) => ({ size: d.size })),
      shares: Object.entries(vm.shares ?? {}).map(([mountPoint, share]) =>
        typeof share === 'string' ? { mountPoint, path: share, rw: false } : { mountPoint, path: share.path, rw: share.rw ?? false },
      ),
      interfaces,
      serial: Object.entries(vm.serial ?? {})
        .map(([line, to]) => ({ name: line, to }))
        .sort((a, b) => compareLineNames(a.name, b.name)),
      routes: vm.routes ?? [],
      sysctl: Object.fromEntries(Object.entries(vm.sysctl ?? {}).map(([k, value]) => [k, sysctlValue(value)])),
      startup: vm.startup ?? [],
      shutdown: vm.shutdown ?? [],
      startAfter: vm.start_after ?? [],
      files: vm.files ?? {},
      ready: (vm.ready ?? []).map(readySpec),
      readyTimeout: vm.ready_timeout === undefined ? DEFAULT_READY_TIMEOUT : (parseDuration(vm.ready_timeout) ?? NaN),
    };
  });
  return {
    name: raw.name,
    ...(raw.description !== undefined && { description: raw.description }),
    file,
    source: resolvePath(file),
    capture,
    segments,
    vms,
    tests: toTests(raw.tests ?? []),
    ...(raw.layout?.tiers && { layout: { tiers: raw.layout.tiers.map((t) => (Array.isArray(t) ? t : [t])) } }),
  };
}

/** A `ready:` entry as one string: `{ cmd: x }` is "cmd: x", `{ tcp: 80 }` is "tcp:80". */
function readySpec(entry: RawReadyCondition): string {
  if (typeof entry === 'string') return entry;
  const [key, value] = Object.entries(entry)[0] ?? ['', ''];
  return key === 'cmd' ? `cmd: ${value}` : `${key}:${value}`;
}

/** NaN for a value that is not one (the rules say so; the lab is then never returned). */
const seconds = (v: string | number | undefined, unit: 's' | 'ms' = 's') => (v === undefined ? undefined : (parseDuration(v, unit) ?? NaN));
const rate = (v: string | number | undefined) => (v === undefined ? undefined : (parseRate(v) ?? NaN));

function toTests(raws: RawTest[]): LabTest[] {
  let throughputChecks = 0;
  return raws.map((raw) => {
    const test = toTest(raw);
    // Each throughput check its own iperf3 port, so two never meet in one server.
    if (test.kind === 'throughput') test.port = IPERF3_FIRST_PORT + throughputChecks++;
    return raw.within === undefined ? test : { ...test, within: seconds(raw.within)! };
  });
}

/** The check's kind is its first kind key; a check with none or several is reported by rules/checks.ts and modelled as its first. */
export function testKind(raw: object): LabTest['kind'] | undefined {
  return TEST_KINDS.find((k) => k in raw);
}

function toTest(raw: RawTest): LabTest {
  const base = { name: raw.name, after: raw.after ?? [] };
  const kind = testKind(raw);
  if (kind === 'reach') {
    const r = raw.reach!;
    return {
      ...base,
      kind,
      from: r.from,
      to: r.to,
      expect: r.expect ?? 'success',
      ...(r.ttl !== undefined && { ttl: r.ttl }),
      ...(r.path !== undefined && { path: r.path }),
    };
  }
  if (kind === 'tcp' || kind === 'udp') {
    const p = raw[kind]!;
    return { ...base, kind, from: p.from, to: p.to, port: p.port, expect: p.expect, timeout: p.timeout ?? DEFAULT_PORT_TIMEOUT };
  }
  if (kind === 'capture') {
    const c = raw.capture!;
    const m = c.match;
    const match: FrameMatch = {};
    for (const [to, from] of FRAME_MATCH_KEYS) if (m[from] !== undefined) (match as Record<string, unknown>)[to] = m[from];
    return { ...base, kind, link: c.link, do: c.do ?? [], match, expect: c.expect ?? 'present' };
  }
  if (kind === 'state') {
    const st = raw.state!;
    return {
      ...base,
      kind,
      vm: st.vm,
      routes: st.routes ?? [],
      addresses: st.addresses ?? [],
      sysctl: Object.fromEntries(Object.entries(st.sysctl ?? {}).map(([k, v]) => [k, sysctlValue(v)])),
      listening: st.listening ?? [],
    };
  }
  if (kind === 'throughput') {
    const t = raw.throughput!;
    const bounds = { ...(t.min !== undefined && { min: rate(t.min) }), ...(t.max !== undefined && { max: rate(t.max) }) };
    return {
      ...base,
      kind,
      from: t.from,
      to: t.to,
      seconds: t.seconds ?? DEFAULT_THROUGHPUT_SECONDS,
      reverse: t.reverse ?? false,
      port: IPERF3_FIRST_PORT,
      ...bounds,
    };
  }
  if (kind === 'latency') {
    const l = raw.latency!;
    const ms = (v: string | number | undefined) => seconds(v, 'ms');
    const bounds = { min: ms(l.min), avgMin: ms(l.avg_min), avgMax: ms(l.avg_max), max: ms(l.max) };
    return {
      ...base,
      kind,
      from: l.from,
      to: l.to,
      count: l.count ?? DEFAULT_LATENCY_COUNT,
      ...Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined)),
    };
  }
  // command, and the placeholder for a check without a kind (a rule reports it; the lab is never returned).
  const c = raw.command ?? { vm: '', run: '' };
  return { ...base, kind: 'command', vm: c.vm, run: c.run, ...(c.exit !== undefined && { exit: c.exit }), ...(c.stdout !== undefined && { stdout: c.stdout }) };
}
