// Loading a lab file: YAML (with source positions) -> JSON-schema check -> Lab model
// -> semantic rules. parseLab is pure and total: any text gives a lab or diagnostics.
//
// Position convention for diagnostics: they point at the YAML node that is wrong:
// the VALUE node when a value is wrong (a connect target, an address, a MAC, a memory
// size, a forward entry), the KEY node when the entry as a whole is wrong (its name is
// bad or taken, a required property is missing from it, it is unknown, it is not
// connected). A missing top-level property points at the start of the document.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import schema from '../../schema/lab.schema.json' with { type: 'json' };
import { LabFileError, NotFoundError, type Diagnostic } from '../errors.ts';
import { compareInterfaceNames, compareLineNames, DEFAULT_SKIP_INITCALLS, TEST_KINDS, type FrameMatch, type KernelSettings, type Lab, type LabTest, type PortForward, type Segment, type Vm, type VmInterface } from './model.ts';
import { didYouMean, RULES, type Rule, type RuleContext } from './rules.ts';

export type PathSegment = string | number;
export type NodePart = 'key' | 'value';

/** "vms.h1.interfaces.eth0.connect"; keys that are not plain words are quoted, indexes in brackets. */
export function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Finds source positions of lab paths in one parsed YAML document. */
export class SourceMap {
  /** Each alias's anchored node, found in one pass (yaml's own resolve walks the document per alias). */
  private readonly aliases: Map<Alias, Node | undefined>;
  /** Each map's entries by key, built on first use: lookups stay O(1) in labs with many entries. */
  private readonly entries = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {
    this.aliases = aliasTargets(doc);
  }

  get aliasCount(): number {
    return this.aliases.size;
  }

  /** Offset of the n-th alias (from 0) in document order. */
  aliasOffset(n: number): number {
    let i = 0;
    for (const alias of this.aliases.keys()) if (i++ === n) return alias.range?.[0] ?? 0;
    return 0;
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? this.aliases.get(node) : node;
  }

  private pair(map: YAMLMap, key: PathSegment): Pair | undefined {
    let index = this.entries.get(map);
    if (!index) {
      index = new Map();
      // The first of duplicate keys, as Array.find gave (the parser refuses duplicates anyway).
      for (const p of map.items) {
        const k = keyText(p.key);
        if (k !== undefined && !index.has(k)) index.set(k, p as Pair);
      }
      this.entries.set(map, index);
    }
    return index.get(String(key));
  }

  /** True when the document has a node at `path` (e.g. whether a VM sets `memory` itself). */
  has(path: PathSegment[]): boolean {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      node = this.resolve(node);
      if (isMap(node)) {
        const pair = this.pair(node, seg);
        if (!pair) return false;
        node = pair.value;
      } else if (isSeq(node)) {
        if (typeof seg !== 'number' || seg >= node.items.length) return false;
        node = node.items[seg];
      } else {
        return false;
      }
    }
    return true;
  }

  /** 1-based line/col of the key or value node at `path`; the deepest existing node when the path goes further. */
  position(path: PathSegment[], part: NodePart): { line: number; col: number } {
    const offset = this.offset(path, part);
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  private offset(path: PathSegment[], part: NodePart): number {
    let node: unknown = this.doc.contents;
    let best = firstOffset(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      node = this.resolve(node);
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = this.pair(node, path[i]!);
        if (!pair) return best;
        const keyOffset = firstOffset(pair.key);
        if (last && part === 'key') return keyOffset ?? best;
        // An empty value (`sw0:`) has no node of its own: use the key.
        best = firstOffset(pair.value) ?? keyOffset ?? best;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(path[i])];
        const itemOffset = firstOffset(item);
        if (itemOffset === undefined) return best;
        best = itemOffset;
        node = item;
      } else {
        return best;
      }
    }
    return best;
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function firstOffset(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

// One compiled validator for the process; the schema is the single source of truth.
let validator: ReturnType<Ajv2020['compile']> | undefined;
function validateSchema(data: unknown): ErrorObject[] {
  validator ??= new Ajv2020({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true }).compile(schema);
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Parses and validates a lab file's text. Never throws: every input gives a lab or diagnostics.
 *  `rules` is for tests that check one rule alone. */
export function parseLab(text: string, file: string, rules: readonly Rule[] = RULES): { lab: Lab } | { errors: Diagnostic[] } {
  try {
    return parseLabUnsafe(text, file, rules);
  } catch (error) {
    // A bug or a pathological input (e.g. nesting deeper than the stack): still a diagnostic.
    const message = error instanceof Error ? error.message : String(error);
    return {
      errors: [
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: `internal error while loading the lab: ${message}`,
          hint: 'simplify the file around the last change; please report this with the file attached',
        },
      ],
    };
  }
}

/** yaml's measure of alias expansion ("billion laughs"); resolving aliases is linear, so this
 *  bounds only the size of the expanded lab. */
export const MAX_ALIAS_COUNT = 5_000;

/** Lab files nest a few levels; the yaml parser exhausts the stack near 1000, after which
 *  V8 can abort the whole process on the next deep parse. Refuse deep nesting up front. */
export const MAX_NESTING = 200;

/** Offset where an over-estimate of the nesting depth passes MAX_NESTING, or -1.
 *  Depth ~ indentation + inline "- ", "? ", ": " indicators + open flow brackets. */
function tooDeepAt(text: string): number {
  let flow = 0;
  let inline = 0;
  let indent = 0;
  let indenting = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      [inline, indent, indenting] = [0, 0, true];
      continue;
    }
    if (indenting && (c === ' ' || c === '\t')) indent++;
    else indenting = false;
    if (c === '[' || c === '{') flow++;
    else if ((c === ']' || c === '}') && flow > 0) flow--;
    else if ((c === '-' || c === '?' || c === ':') && text[i + 1] === ' ') inline++;
    if (flow + indent + inline > MAX_NESTING) return i;
  }
  return -1;
}

function parseLabUnsafe(text: string, file: string, rules: readonly Rule[]): { lab: Lab } | { errors: Diagnostic[] } {
  const lines = new LineCounter();
  const deep = tooDeepAt(text);
  if (deep >= 0) {
    const before = text.slice(0, deep);
    const line = before.split('\n').length;
    const col = deep - before.lastIndexOf('\n');
    const message = `the document nests deeper than ${MAX_NESTING} levels`;
    return { errors: [{ file, line, col, path: '', message, hint: 'a lab file needs only a few levels of nesting: check for unclosed [ or { and runaway indentation' }] };
  }
  // yaml's own uniqueKeys compares each key with every earlier one: quadratic in a big map.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const yamlErrors = [...doc.errors, ...duplicateKeys(doc)].sort((a, b) => a.pos[0] - b.pos[0]);
  if (yamlErrors.length > 0) {
    const errors = yamlErrors.map((e): Diagnostic => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { file, line, col, path: '', message: `YAML: ${e.message}`, hint: yamlHint(e.code) };
    });
    // Unclosed nested brackets give one identical error per level: report it once.
    return { errors: errors.filter((e, i) => errors.findIndex((o) => o.line === e.line && o.col === e.col && o.message === e.message) === i) };
  }
  const sources = new SourceMap(doc, lines);
  // yaml's toJS still looks each alias up in a list of all of them: bound their number first.
  if (sources.aliasCount > MAX_ALIAS_COUNT) {
    const { line, col } = lines.linePos(sources.aliasOffset(MAX_ALIAS_COUNT));
    return { errors: [{ file, line, col, path: '', message: `YAML: more than ${MAX_ALIAS_COUNT} aliases (*name)`, hint: 'write the entries out, or share fewer of them with anchors' }] };
  }
  let data: unknown;
  try {
    // Aliases could expand exponentially ("billion laughs"): yaml caps the expansion.
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // toJS throws for an alias without anchor and for too many alias expansions.
    const { line, col } = lines.linePos(aliasOffset(doc));
    const message = `YAML: ${error instanceof Error ? error.message : String(error)}`;
    return { errors: [{ file, line, col, path: '', message, hint: 'define each anchor (&name) before its alias (*name), and keep aliases few' }] };
  }
  const schemaErrors = validateSchema(data);
  if (schemaErrors.length > 0) return { errors: schemaDiagnostics(schemaErrors, sources, file) };

  const lab = toModel(data as RawLab, file);
  const ctx: RuleContext = {
    lab,
    diag: (path, part, message, hint) => ({ file, ...sources.position(path, part), path: formatPath(path), message, hint }),
    lineOf: (path, part = 'key') => sources.position(path, part).line,
    has: (path) => sources.has(path),
  };
  const errors = rules.flatMap((rule) => rule(ctx));
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return errors.length > 0 ? { errors } : { lab };
}

/** The DUPLICATE_KEY errors yaml's uniqueKeys gives (a scalar key equal to an earlier one), in one pass per map. */
function duplicateKeys(doc: Document): { pos: [number, number]; code: string; message: string }[] {
  const out: { pos: [number, number]; code: string; message: string }[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          const start = pair.key.range?.[0] ?? 0;
          out.push({ pos: [start, start + 1], code: 'DUPLICATE_KEY', message: 'Map keys must be unique' });
        }
        seen.add(pair.key.value);
      }
    },
  });
  return out;
}

/** Every alias's node: the last node before it with its anchor, as yaml resolves it, in one pass. */
function aliasTargets(doc: Document): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/** Offset of the first alias with no anchor, else of the first alias: where toJS failed. */
function aliasOffset(doc: Document): number {
  let first: number | undefined;
  let unresolved: number | undefined;
  for (const [alias, target] of aliasTargets(doc)) {
    first ??= alias.range?.[0];
    if (unresolved === undefined && target === undefined) unresolved = alias.range?.[0];
  }
  return unresolved ?? first ?? 0;
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each name may appear once in a map; rename or merge the two entries';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation: entries of one map start in the same column';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'MULTIPLE_DOCS':
      return 'a lab file holds one document: remove the extra `---`';
    default:
      return 'fix the YAML syntax at this position';
  }
}

/** Lab file errors from ajv, located at the offending node with a hint taken from the schema's descriptions. */
function schemaDiagnostics(errors: ErrorObject[], sources: SourceMap, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // ajv reports a bad property name twice: the failing keyword (with propertyName) and a wrapper.
    if (e.keyword === 'propertyNames') continue;
    const path = pointerToPath(e.instancePath);
    const description = (e.parentSchema as { description?: string } | undefined)?.description;
    let part: NodePart = 'value';
    let message: string;
    let hint = description ?? 'see "Lab file format" in README.md';
    if (e.propertyName !== undefined) {
      path.push(e.propertyName);
      part = 'key';
      message = `invalid name "${e.propertyName}"`;
    } else if (e.keyword === 'required') {
      const missing = String(e.params.missingProperty);
      part = 'key';
      message = `missing required property "${missing}"`;
      const properties = (e.parentSchema as { properties?: Record<string, { description?: string }> }).properties;
      const about = properties?.[missing]?.description;
      hint = about ? `add \`${missing}:\` (${about})` : `add \`${missing}:\``;
    } else if (e.keyword === 'additionalProperties') {
      const unknown = String(e.params.additionalProperty);
      path.push(unknown);
      part = 'key';
      message = `unknown property "${unknown}"`;
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const guess = didYouMean(unknown, allowed);
      hint = guess ? `did you mean "${guess}"?` : allowed.length ? `allowed here: ${allowed.join(', ')}` : 'this entry takes no properties';
    } else if (e.keyword === 'type' && path.length === 0 && e.data === null) {
      message = 'the lab file is empty';
      hint = 'a lab needs at least `name:` and `vms:`; start from labs/two-hosts.yaml';
    } else if (e.keyword === 'type') {
      message = `must be ${[e.params.type].flat().join(' or ')}, not ${describe(e.data)}`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'pattern') {
      message = `${JSON.stringify(e.data)} is not valid here`;
    } else if (e.keyword === 'minProperties' && path.length === 1 && path[0] === 'vms') {
      message = 'a lab needs at least one VM';
      hint = 'add a VM under `vms:`, e.g. `h1: { interfaces: { eth0: { connect: sw0, ip: 10.0.0.1/24 } } }`';
    } else {
      message = `${JSON.stringify(e.data)} ${e.message ?? 'is not valid'}`;
    }
    const where = sources.position(path, part);
    const key = `${where.line}:${where.col}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, ...where, path: formatPath(path), message, hint });
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

function describe(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** "/vms/h1/routes/0" -> ["vms", "h1", "routes", 0] (JSON pointer unescaping; numeric parts are indexes). */
function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** Real labs are a few KiB; parsing stays near a second up to this size. */
export const MAX_LAB_FILE_BYTES = 1024 * 1024;

/** A lab file's text: a regular file of at most MAX_LAB_FILE_BYTES (a FIFO or device never blocks or streams forever). */
async function readLabText(path: string): Promise<string> {
  const refuse = (message: string, cause?: unknown, hint?: string): never => {
    throw new LabFileError([{ file: path, line: 1, col: 1, path: '', message, ...(hint && { hint }) }], { cause });
  };
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`no such lab file: ${path}`, { cause: error, hint: 'give the path of a .yaml lab file, e.g. labs/two-hosts.yaml' });
    if (code === 'ENXIO') refuse('the lab file is a socket, not a regular file', error, 'give the path of a .yaml lab file');
    return refuse(`cannot read the lab file: ${(error as Error).message}`, error);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) refuse('the lab file is a directory', undefined, 'give the path of a .yaml lab file inside it');
    if (!st.isFile()) refuse(`the lab file is a ${st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : 'device'}, not a regular file`, undefined, 'save the lab to a file and give its path');
    const tooBig = (size: number) =>
      refuse(`the lab file is ${size} bytes, more than the ${MAX_LAB_FILE_BYTES} bytes (1 MiB) a lab file may have`, undefined, 'a lab of a few hundred VMs takes a few dozen KiB: check that this is the right file');
    if (st.size > MAX_LAB_FILE_BYTES) tooBig(st.size);
    // Read one byte past the limit: the file may have grown since stat.
    const buf = Buffer.alloc(MAX_LAB_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > MAX_LAB_FILE_BYTES) tooBig(n);
    return buf.subarray(0, n).toString('utf8');
  } catch (error) {
    if (error instanceof LabFileError) throw error;
    return refuse(`cannot read the lab file: ${(error as Error).message}`, error);
  } finally {
    await handle.close();
  }
}

/** Reads, parses and validates a lab file; throws LabFileError with every diagnostic. */
export async function loadLabFile(path: string): Promise<Lab> {
  const text = await readLabText(path);
  const result = parseLab(text, path);
  if ('errors' in result) throw new LabFileError(result.errors);
  return result.lab;
}

// ---- Schema-valid data -> model ------------------------------------------------

/** The lab file's shape as the schema guarantees it (snake_case, optional values, nulls for empty entries). */
interface RawLab {
  name: string;
  description?: string;
  capture?: boolean;
  defaults?: { memory?: string; console?: Vm['console'] };
  kernel?: RawKernel;
  switches?: Record<string, { ageing?: number } | null>;
  hubs?: Record<string, object | null>;
  mcast?: Record<string, { group?: string; port?: number; ttl?: number } | null>;
  taps?: Record<string, { host_ip?: string; proxy_arp?: boolean; ip_forward?: boolean } | null>;
  gateways?: Record<string, { type?: 'slirp'; network?: string; dhcp?: boolean; forward?: string[] } | null>;
  vms: Record<string, RawVm | null>;
  tests?: RawTest[];
}

/** A check as written; the schema allows each kind key, rules.ts insists on exactly one. */
export interface RawTest {
  name: string;
  after?: string[];
  reach?: { from: string; to: string; expect?: 'success' | 'failure'; ttl?: number; path?: string[] };
  tcp?: RawPortTest;
  udp?: RawPortTest;
  command?: { vm: string; run: string; exit?: number; stdout?: string };
  capture?: { link: string; do?: { vm: string; run: string }[]; match: Record<string, string | number>; expect?: 'present' | 'absent' };
  state?: { vm: string; routes?: string[]; addresses?: string[]; sysctl?: Record<string, string | number | boolean>; listening?: string[] };
}

interface RawPortTest {
  from: string;
  to: string;
  port: number;
  expect: 'open' | 'closed' | 'filtered';
  timeout?: number;
}

interface RawKernel {
  binary?: string;
  args?: string[];
  skip_initcalls?: string[];
}

interface RawVm {
  kernel?: RawKernel;
  memory?: string;
  console?: Vm['console'];
  console_port?: number;
  image?: string;
  disks?: { size: string }[];
  shares?: Record<string, string | { path: string; rw?: boolean }>;
  interfaces?: Record<string, RawInterface | null>;
  serial?: Record<string, string>;
  routes?: string[];
  sysctl?: Record<string, string | number | boolean>;
  startup?: string[];
  files?: Record<string, string>;
}

interface RawInterface {
  connect?: string;
  ip?: string | string[];
  dhcp?: boolean;
  mac?: string;
  proxy_arp?: boolean;
  capture?: boolean;
}

export const DEFAULT_MEMORY = '128M';
export const DEFAULT_AGEING = 300;
export const DEFAULT_SLIRP_NETWORK = '10.0.2.0/24';

function kernelSettings(lab: RawKernel = {}, vm: RawKernel = {}): KernelSettings {
  const binary = vm.binary ?? lab.binary;
  return {
    ...(binary !== undefined && { binary }),
    args: [...(lab.args ?? []), ...(vm.args ?? [])],
    skipInitcalls: vm.skip_initcalls ?? lab.skip_initcalls ?? DEFAULT_SKIP_INITCALLS,
  };
}

/** Fills in defaults; segments keep file order (top-level keys in document order, then entries). */
function toModel(raw: RawLab, file: string): Lab {
  const capture = raw.capture ?? true;
  const segments: Segment[] = [];
  let mcastIndex = 0;
  for (const section of Object.keys(raw)) {
    if (section === 'switches') for (const [name, s] of Object.entries(raw.switches ?? {})) segments.push({ kind: 'switch', name, ageing: s?.ageing ?? DEFAULT_AGEING });
    if (section === 'hubs') for (const name of Object.keys(raw.hubs ?? {})) segments.push({ kind: 'hub', name });
    if (section === 'mcast')
      for (const [name, m] of Object.entries(raw.mcast ?? {})) {
        // Default group/port differ per segment so two groups never merge (n < 256 by any sane lab).
        const n = mcastIndex++;
        segments.push({ kind: 'mcast', name, group: m?.group ?? `239.192.${n % 256}.1`, port: m?.port ?? 1102 + n, ttl: m?.ttl ?? 1 });
      }
    if (section === 'taps')
      for (const [name, t] of Object.entries(raw.taps ?? {}))
        segments.push({ kind: 'tap', name, ...(t?.host_ip !== undefined && { hostIp: t.host_ip }), proxyArp: t?.proxy_arp ?? false, ipForward: t?.ip_forward ?? false });
    if (section === 'gateways')
      for (const [name, g] of Object.entries(raw.gateways ?? {}))
        segments.push({ kind: 'slirp', name, network: g?.network ?? DEFAULT_SLIRP_NETWORK, dhcp: g?.dhcp ?? true, forward: (g?.forward ?? []).map(parseForward) });
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
      sysctl: Object.fromEntries(Object.entries(vm.sysctl ?? {}).map(([k, value]) => [k, typeof value === 'boolean' ? (value ? '1' : '0') : String(value)])),
      startup: vm.startup ?? [],
      files: vm.files ?? {},
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
    tests: (raw.tests ?? []).map(toTest),
  };
}

export const DEFAULT_PORT_TIMEOUT = 2;

const sysctlValue = (value: string | number | boolean) => (typeof value === 'boolean' ? (value ? '1' : '0') : String(value));

/** The check's kind is its first kind key; a check with none or several is reported by rules.ts and modelled as its first. */
export function testKind(raw: object): LabTest['kind'] | undefined {
  return TEST_KINDS.find((k) => k in raw);
}

function toTest(raw: RawTest): LabTest {
  const base = { name: raw.name, after: raw.after ?? [] };
  const kind = testKind(raw);
  if (kind === 'reach') {
    const r = raw.reach!;
    return { ...base, kind, from: r.from, to: r.to, expect: r.expect ?? 'success', ...(r.ttl !== undefined && { ttl: r.ttl }), ...(r.path !== undefined && { path: r.path }) };
  }
  if (kind === 'tcp' || kind === 'udp') {
    const p = raw[kind]!;
    return { ...base, kind, from: p.from, to: p.to, port: p.port, expect: p.expect, timeout: p.timeout ?? DEFAULT_PORT_TIMEOUT };
  }
  if (kind === 'capture') {
    const c = raw.capture!;
    const m = c.match;
    const match: FrameMatch = {};
    const copy: [keyof FrameMatch, string][] = [['src', 'src'], ['dst', 'dst'], ['proto', 'proto'], ['arp', 'arp'], ['arpSenderIp', 'arp_sender_ip'], ['arpTargetIp', 'arp_target_ip'], ['arpSenderMac', 'arp_sender_mac'], ['ipSrc', 'ip_src'], ['ipDst', 'ip_dst'], ['port', 'port']];
    for (const [to, from] of copy) if (m[from] !== undefined) (match as Record<string, unknown>)[to] = m[from];
    return { ...base, kind, link: c.link, do: c.do ?? [], match, expect: c.expect ?? 'present' };
  }
  if (kind === 'state') {
    const st = raw.state!;
    return { ...base, kind, vm: st.vm, routes: st.routes ?? [], addresses: st.addresses ?? [], sysctl: Object.fromEntries(Object.entries(st.sysctl ?? {}).map(([k, v]) => [k, sysctlValue(v)])), listening: st.listening ?? [] };
  }
  // command, and the placeholder for a check without a kind (a rule reports it; the lab is never returned).
  const c = raw.command ?? { vm: '', run: '' };
  return { ...base, kind: 'command', vm: c.vm, run: c.run, ...(c.exit !== undefined && { exit: c.exit }), ...(c.stdout !== undefined && { stdout: c.stdout }) };
}

/** "tcp:8080:80" or "tcp:8080:h1:80" (the schema guarantees the shape). */
function parseForward(spec: string): PortForward {
  const parts = spec.split(':');
  const [proto, hostPort] = parts;
  const guestPort = parts[parts.length - 1];
  return {
    proto: proto as PortForward['proto'],
    hostPort: Number(hostPort),
    guestPort: Number(guestPort),
    ...(parts.length === 4 && { vm: parts[2] }),
    spec,
  };
}
