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
}

export type Rule = (ctx: RuleContext) => Diagnostic[];

export const ifacePath = (vm: string, iface: string, ...rest: PathSegment[]): PathSegment[] => ['vms', vm, 'interfaces', iface, ...rest];
/** Path of the i-th address: `ip: x` is one scalar, `ip: [x, y]` a list. */
export const addressPath = (ctx: RuleContext, vm: string, iface: string, i: number): PathSegment[] =>
  ctx.has(ifacePath(vm, iface, 'ip', i)) ? ifacePath(vm, iface, 'ip', i) : ifacePath(vm, iface, 'ip');
export const testPath = (i: number, ...rest: PathSegment[]): PathSegment[] => ['tests', i, ...rest];
