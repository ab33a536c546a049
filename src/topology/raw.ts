// The lab file's shape as the JSON schema guarantees it (snake_case keys, optional values,
// nulls for empty entries): the input of toModel, kept apart so the model stays clean.
import type { RawImpairment } from './link-conditions.ts';
import type { Vm } from './model.ts';

/** The lab file's shape as the schema guarantees it (snake_case, optional values, nulls for empty entries). */
export interface RawLab {
  name: string;
  description?: string;
  capture?: boolean;
  defaults?: { memory?: string; console?: Vm['console'] };
  kernel?: RawKernel;
  /** A hint for `umlab web`: tiers top to bottom, each a name, a pattern or a list. */
  layout?: { tiers?: (string | string[])[] };
  // Segment sections (switches, hubs, mcast, taps, gateways): read by their kinds (src/kinds/<kind>/ fromRaw).
  vms: Record<string, RawVm | null>;
  tests?: RawTest[];
}

/** A check as written; the schema allows each kind key, rules/checks.ts insists on exactly one. */
export interface RawTest {
  name: string;
  after?: string[];
  within?: string | number;
  reach?: { from: string; to: string; expect?: 'success' | 'failure'; ttl?: number; path?: string[] };
  tcp?: RawPortTest;
  udp?: RawPortTest;
  command?: { vm: string; run: string; exit?: number; stdout?: string };
  capture?: { link: string; do?: { vm: string; run: string }[]; match: Record<string, string | number>; expect?: 'present' | 'absent' };
  state?: { vm: string; routes?: string[]; addresses?: string[]; sysctl?: Record<string, string | number | boolean>; listening?: string[] };
  throughput?: { from: string; to: string; seconds?: number; reverse?: boolean; min?: string | number; max?: string | number };
  latency?: { from: string; to: string; count?: number; min?: string | number; avg_min?: string | number; avg_max?: string | number; max?: string | number };
}

/** A `ready:` entry: "tcp:80", or the same as a one-key map (`- cmd: ...` in YAML is one). */
export type RawReadyCondition = string | { tcp?: number; udp?: number; file?: string; cmd?: string };

export interface RawPortTest {
  from: string;
  to: string;
  port: number;
  expect: 'open' | 'closed' | 'filtered';
  timeout?: number;
}

export interface RawKernel {
  binary?: string;
  args?: string[];
  skip_initcalls?: string[];
}

export interface RawVm {
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
  shutdown?: string[];
  start_after?: string[];
  files?: Record<string, string>;
  ready?: RawReadyCondition[];
  ready_timeout?: string | number;
}

export interface RawInterface {
  connect?: string;
  ip?: string | string[];
  dhcp?: boolean;
  mac?: string;
  proxy_arp?: boolean;
  capture?: boolean;
  link?: RawImpairment;
  vlan?: number;
  vlans?: number[];
  native?: number;
}
