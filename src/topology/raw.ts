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
  // Segment sections (switches, hubs, mcast, taps, gateways): read by their kinds (src/kinds/<kind>/ fromRaw).
  vms: Record<string, RawVm | null>;
  tests?: RawTest[];
}

/** A check as written; the schema allows each kind key, rules/checks.ts insists on exactly one. */
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
  files?: Record<string, string>;
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
