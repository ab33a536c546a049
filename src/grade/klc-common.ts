// What the readers and judges of kathara-lab-checker's families share: located errors, the
// family's reading context (lists, maps, known keys; how it adds a check), and the output of
// a command with the verdict on it. Pure, and imports nothing of the grader (no cycles).
import type { Diagnostic } from '../errors.ts';
import type { NodePart, PathSegment } from '../topology/lab-path.ts';
import { didYouMean } from '../util/text.ts';

/** Omit on each member of a union. */
export type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type Located = (path: PathSegment[], part: NodePart, message: string, hint?: string) => Diagnostic;
export const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function unknownKey(diag: Located, path: PathSegment[], key: string, known: readonly string[]): Diagnostic {
  const guess = didYouMean(key, [...known]);
  return diag(path, 'key', `unknown key "${key}"`, guess ? `did you mean "${guess}"?` : `known here: ${known.join(', ')}`);
}

/** How a family reader adds checks and reports errors; J is what its checks judge. */
export interface FamilyContext<J> {
  /** A check that runs `run` in `device`; umlab judges its output by `judge`. */
  judged(name: string, device: string, run: string, judge: J): void;
  /** A check umlab cannot run: reported "not supported", never passed. */
  unsupported(name: string, reason: string): void;
  diag: Located;
  errors: Diagnostic[];
}

/** The value as a list (an error at `path` when it is not). */
export function listOf(ctx: FamilyContext<unknown>, path: PathSegment[], v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  ctx.errors.push(ctx.diag(path, 'value', 'must be a list'));
  return [];
}

/** The value as a map (an error at `path` when it is given and not a map); with `known`, other keys are errors. */
export function mapOf(ctx: FamilyContext<unknown>, path: PathSegment[], v: unknown, known?: readonly string[]): Record<string, unknown> {
  if (!isMap(v)) {
    if (v !== undefined && v !== null) ctx.errors.push(ctx.diag(path, 'value', 'must be a map'));
    return {};
  }
  if (known) for (const key of Object.keys(v)) if (!known.includes(key)) ctx.errors.push(unknownKey(ctx.diag, [...path, key], key, known));
  return v;
}

/** What a command run in a device printed. */
export interface Output {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Verdict {
  pass: boolean;
  reason: string;
}

const tail = (s: string) => (s.trim() ? `: ${s.trim().split('\n').slice(0, 3).join(' / ').slice(0, 200)}` : '');

/** The JSON a command printed, or why there is none (the command failed, or printed something else). */
export function jsonOf(out: Output, label: string): { json: unknown } | { fail: Verdict } {
  if (out.exitCode !== 0) return { fail: { pass: false, reason: `${label}: the command failed (exit ${out.exitCode})${tail(out.stderr || out.stdout)}` } };
  try {
    return { json: JSON.parse(out.stdout) };
  } catch {
    return { fail: { pass: false, reason: `${label}: the command printed no JSON${tail(out.stdout || out.stderr)}` } };
  }
}
