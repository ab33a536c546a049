// Fuzzing the loader: mutated example labs, garbage and random lab-shaped documents.
// parseLab must never throw: it returns a lab or located errors. Labs it accepts must
// compile, with a distinct MAC per interface. Seeded, so a failure reproduces.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compile } from '../../src/planner/compile.ts';
import { interfaceKernelArg } from '../../src/topology/plan.ts';
import { parseLab } from '../../src/planner/load.ts';

const SEED = 0x5eed;
const TIME_BUDGET_MS = 20_000;

/** mulberry32: small, fast, good enough to pick mutations. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const corpus = [
  ...readdirSync(new URL('../../labs/', import.meta.url))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(new URL(`../../labs/${f}`, import.meta.url), 'utf8')),
  ...readdirSync(new URL('../fixtures/labs/', import.meta.url))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(new URL(`../fixtures/labs/${f}`, import.meta.url), 'utf8')),
];
const YAML_CHARS = [
  ':',
  '{',
  '}',
  '[',
  ']',
  ',',
  '-',
  '&',
  '*',
  '!',
  '|',
  '>',
  "'",
  '"',
  '#',
  '%',
  '@',
  '`',
  '\n',
  '\t',
  ' ',
  '?',
  '.',
  '/',
  '0',
  'a',
  'é',
  '\u0000',
  '\ufeff',
];
const TOKENS = [
  'null',
  '~',
  '[]',
  '{}',
  '-1',
  '0',
  '1e9',
  'true',
  '"x"',
  '*a',
  '&a',
  '!!binary',
  '<<',
  'eth0',
  'sw0',
  'h1.eth0',
  '10.0.0.1/24',
  '96M',
  '{ a: [ b, { c: d } ] }',
];

const NESTINGS = ['flow-seq', 'flow-map', 'dashes', 'indent'] as const;
function deeplyNested(form: (typeof NESTINGS)[number], depth: number): string {
  if (form === 'flow-seq') return '['.repeat(depth);
  if (form === 'flow-map') return '{a: '.repeat(depth);
  if (form === 'dashes') return '- '.repeat(depth) + 'x\n';
  return Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + '\n';
}

function mutate(text: string, rng: Rng): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(7)) {
    case 0: // truncation
      return text.slice(0, at);
    case 1: // delete a span
      return text.slice(0, at) + text.slice(at + 1 + rng.int(40));
    case 2: // insert YAML-significant characters
      return text.slice(0, at) + Array.from({ length: 1 + rng.int(4) }, () => rng.pick(YAML_CHARS)).join('') + text.slice(at);
    case 3: {
      // replace a word by a token of another type
      const words = [...text.matchAll(/[A-Za-z0-9_./:-]+/g)];
      if (words.length === 0) return text;
      const w = rng.pick(words);
      return text.slice(0, w.index) + rng.pick(TOKENS) + text.slice(w.index! + w[0].length);
    }
    case 4: {
      // duplicate, drop or re-indent a line
      const lines = text.split('\n');
      const i = rng.int(lines.length);
      const choice = rng.int(3);
      if (choice === 0) lines.splice(i, 0, lines[rng.int(lines.length)]!);
      else if (choice === 1) lines.splice(i, 1);
      else lines[i] = ' '.repeat(rng.int(6)) + lines[i]!.trimStart();
      return lines.join('\n');
    }
    case 5: // pure garbage
      return Array.from({ length: rng.int(200) }, () => String.fromCharCode(rng.int(0x3000))).join('');
    default: // deep nesting, in each form YAML has
      return deeplyNested(rng.pick(NESTINGS), rng.int(3000)) + text.slice(0, at);
  }
}

/** A lab-shaped document from a small pool of names, addresses and MACs, often valid, often subtly not. */
function randomLab(rng: Rng): string {
  const segmentNames = ['sw0', 'sw1', 'hub0', 'm0', 'up0', 'nat0'];
  const vmNames = ['h1', 'h2', 'h3', 'r1'];
  const maybe = <T>(value: T, p = 0.5): T | undefined => (rng.next() < p ? value : undefined);
  const address = () => rng.pick(['10.0.0.1/24', '10.0.0.2/24', '10.0.2.2/24', 'fd00::1/64', 'fd00:0::1/64', '10.0.0.1', '300.0.0.1/8', '192.168.0.1/24']);
  const lab: Record<string, unknown> = {
    name: rng.pick(['fuzz', 'fuzz-2', 'Fuzz', 'a'.repeat(30)]),
    capture: maybe(rng.next() < 0.5),
    defaults: maybe({ memory: rng.pick(['64M', '128M', '1G', '96M']) }),
    switches: maybe({ sw0: maybe({ ageing: rng.int(600) }, 0.3) ?? null, sw1: {} }),
    hubs: maybe({ hub0: null }),
    mcast: maybe({ m0: maybe({ group: rng.pick(['239.192.0.1', '10.0.0.1']), port: rng.int(70000), ttl: rng.int(3) }) ?? {} }),
    taps: maybe({ up0: { host_ip: maybe(rng.pick(['192.168.0.254/24', '192.168.0.1/24', 'x'])), proxy_arp: maybe(true) } }),
    gateways: maybe({
      nat0: {
        network: maybe(rng.pick(['10.0.2.0/24', '10.0.2.0/28', '10.0.3.0/24'])),
        forward: maybe([rng.pick(['tcp:8080:80', 'tcp:8080:h1:80', 'udp:1:h9:2', 'tcp:99999:1'])]),
      },
    }),
    vms: Object.fromEntries(
      vmNames
        .filter(() => rng.next() < 0.8)
        .map((vm) => [
          vm,
          {
            memory: maybe(rng.pick(['48M', '96M', '128M']), 0.3),
            console: maybe(rng.pick(['log', 'pty', 'port']), 0.2),
            console_port: maybe(4000 + rng.int(3), 0.2),
            image: maybe('img/root.img', 0.1),
            interfaces: Object.fromEntries(
              Array.from({ length: rng.int(4) }, () => [
                rng.pick(['eth0', 'eth1', 'eth2', 'eth10', 'lan0']),
                maybe(
                  {
                    connect: maybe(rng.next() < 0.6 ? rng.pick(segmentNames) : `${rng.pick(vmNames)}.${rng.pick(['eth0', 'eth1', 'eth3'])}`, 0.85),
                    ip: maybe(rng.next() < 0.5 ? address() : [address(), address()]),
                    dhcp: maybe(true, 0.2),
                    mac: maybe(rng.pick(['fe:fd:00:00:00:01', '01:00:00:00:00:01', 'FE:FD:0A:00:00:01']), 0.2),
                    capture: maybe(false, 0.2),
                  },
                  0.9,
                ) ?? null,
              ]),
            ),
            routes: maybe(['default via 10.0.0.254']),
            sysctl: maybe({ 'net.ipv4.ip_forward': 1 }),
          },
        ]),
    ),
  };
  return stringify(lab);
}

const ctx = { runDir: '/run/umlab/fuzz', kernel: 'linux.uml', kernelVersion: '6.1', modulesDir: '/m' };

function check(text: string, counts: { labs: number; errors: number }) {
  let result: ReturnType<typeof parseLab>;
  try {
    result = parseLab(text, 'fuzz.yaml');
  } catch (error) {
    assert.fail(`parseLab threw on ${JSON.stringify(text.slice(0, 300))}: ${String(error)}`);
  }
  if ('lab' in result) {
    counts.labs++;
    const plan = compile(result.lab, ctx);
    const macs = plan.vms.flatMap((v) => v.interfaces.map((i) => i.mac));
    assert.equal(new Set(macs).size, macs.length, `duplicate MAC in ${text}`);
    for (const vm of plan.vms) for (const i of vm.interfaces) assert.ok(vm.argv.includes(interfaceKernelArg(i)));
    return;
  }
  counts.errors++;
  assert.ok(result.errors.length > 0, 'errors, if any, are not empty');
  for (const e of result.errors) {
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && Number.isInteger(e.col) && e.col >= 1, JSON.stringify(e));
    assert.ok(e.message.length > 0);
    // Reaching parseLab's catch-all is a bug even though it saved the caller.
    if (e.message.startsWith('internal error')) assert.fail(`${e.message} on ${JSON.stringify(text.slice(0, 300))}`);
  }
}

describe('loader fuzzing', () => {
  it('mutated example labs and garbage give a lab or errors, never an exception', () => {
    const rng = prng(SEED);
    const started = Date.now();
    const counts = { labs: 0, errors: 0 };
    for (let i = 0; i < 3000 && Date.now() - started < TIME_BUDGET_MS; i++) {
      let text = rng.pick(corpus);
      for (let n = 1 + rng.int(3); n > 0; n--) text = mutate(text, rng);
      check(text, counts);
    }
    assert.ok(counts.errors > 100 && counts.labs > 10, JSON.stringify(counts));
  });

  it('refuses deep nesting before the YAML parser runs out of stack (V8 may then abort the process)', () => {
    for (let round = 0; round < 3; round++) {
      for (const form of NESTINGS) {
        const result = parseLab(deeplyNested(form, 100_000 / (form === 'indent' ? 50 : 1)), 'deep.yaml');
        assert.ok('errors' in result && /nests deeper than 200 levels/.test(result.errors[0]!.message), form);
      }
    }
    // Ordinary labs are far from the limit.
    assert.ok('lab' in parseLab(readFileSync(new URL('../../labs/all-kinds.yaml', import.meta.url), 'utf8'), 'all-kinds.yaml'));
  });

  it('random lab-shaped documents pass the rules only when they compile', () => {
    const rng = prng(SEED + 1);
    const started = Date.now();
    const counts = { labs: 0, errors: 0 };
    for (let i = 0; i < 2000 && Date.now() - started < TIME_BUDGET_MS; i++) check(randomLab(rng), counts);
    assert.ok(counts.errors > 100 && counts.labs > 10, JSON.stringify(counts));
  });
});
