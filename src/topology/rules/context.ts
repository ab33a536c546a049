// What every rule is given and returns, and the lab-file paths rules point at: its own
// module so the rule files and the loader share it without importing each other.
import type { Diagnostic } from '../../errors.ts';
import type { NodePart, PathSegment } from '../lab-path.ts';
import type { Lab, Segment } from '../model.ts';

export interface RuleContext {
  lab: Lab;
  /** A diagnostic located at the key or value node of `path` in the lab file. */
  diag(path: PathSegment[], part: NodePart, message: string, hint: string): Diagnostic;
  /** Line of a node, for messages that point at a second place ("... by h1.eth0 (line 12)"). */
  lineOf(path: PathSegment[], part?: NodePart): number;
  /** Whether the lab file itself has a node at `path` (as opposed to a filled-in default). */
  has(path: PathSegment[]): boolean;
  /** Path of a declared segment in the lab file: [its kind's section, name, ...rest]. */
  segmentPath(segment: Segment, ...rest: PathSegment[]): PathSegment[];
  /** What the rules ask of the segment kinds; the loader hands in the registry (src/kinds/index.ts), so no rule imports a kind. */
  kinds: RuleKinds;
}

/** One kind as the shared rules see it. */
export interface RuleKind {
  /** What messages call one, e.g. "tap bridge". */
  word: string;
  /** Addresses the segment holds itself. */
  addresses?(segment: Segment, lab: Lab): SegmentAddress[];
  linkConditions?: true;
  vlans?: true;
}

/** The kind registry as the rules see it. */
export interface RuleKinds {
  /** The kind of a declared segment's `kind`. */
  kindOf(name: string): RuleKind;
  /** The kind of a point-to-point link (`connect: vm.ethN`). */
  pointToPoint: RuleKind;
  /** The lab-file sections segments are declared under, in registry order. */
  sections(): string[];
  /** "switches, hubs and point-to-point links": the kinds with a capability, for messages. */
  kindsThat(flag: 'linkConditions' | 'vlans'): string;
}

/** An extra address or CIDR a segment itself holds on the lab's network (tap host side, gateway). */
export interface SegmentAddress {
  /** Under the segment's entry in the lab file. */
  path: PathSegment[];
  label: string;
  /** The CIDR text as written when the lab file gave it (checked by validCidrs). */
  cidr?: string;
  /** The address alone, when valid (checked for uniqueness on the segment). */
  address?: string;
}

export type Rule = (ctx: RuleContext) => Diagnostic[];

export const ifacePath = (vm: string, iface: string, ...rest: PathSegment[]): PathSegment[] => ['vms', vm, 'interfaces', iface, ...rest];
/** Path of the i-th address: `ip: x` is one scalar, `ip: [x, y]` a list. */
export const addressPath = (ctx: RuleContext, vm: string, iface: string, i: number): PathSegment[] =>
  ctx.has(ifacePath(vm, iface, 'ip', i)) ? ifacePath(vm, iface, 'ip', i) : ifacePath(vm, iface, 'ip');
export const testPath = (i: number, ...rest: PathSegment[]): PathSegment[] => ['tests', i, ...rest];
