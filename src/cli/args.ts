// Small helpers shared by the commands: option parsing with node:util, help text.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Lines shown under "Options:". */
  options?: string[];
  examples: string[];
  notes?: string[];
  parse: ParseArgsConfig['options'];
  allowPositionals?: boolean;
  run: (args: ParsedArgs) => Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Everything after a bare `--`. */
  rest: string[];
}

export const GLOBAL_OPTIONS = ['  -h, --help     show this help'];

export function helpText(spec: CommandSpec): string {
  const lines = [`umlab ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage}`];
  const options = [...(spec.options ?? []), ...GLOBAL_OPTIONS];
  lines.push('', 'Options:', ...options);
  if (spec.notes?.length) lines.push('', ...spec.notes);
  lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs | 'help' {
  const dashDash = argv.indexOf('--');
  const own = dashDash >= 0 ? argv.slice(0, dashDash) : argv;
  const rest = dashDash >= 0 ? argv.slice(dashDash + 1) : [];
  try {
    const { values, positionals } = parseArgs({
      args: own,
      options: { help: { type: 'boolean', short: 'h' }, ...spec.parse },
      allowPositionals: spec.allowPositionals ?? true,
      strict: true,
    });
    if (values.help) return 'help';
    return { values: values, positionals, rest };
  } catch (cause) {
    throw new UsageError(`${(cause as Error).message}`, { cause, hint: `see: umlab ${spec.name} --help` });
  }
}

/** A lab name given on the command line: never a path (`clean ../..` must not reach outside UMLAB_HOME). */
export function checkLabName(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(name)) throw new UsageError(`bad lab name "${name}"`, { hint: 'use up to 24 lowercase letters, digits and dashes' });
  return name;
}

export function requirePositional(args: ParsedArgs, index: number, what: string, spec: CommandSpec): string {
  const value = args.positionals[index];
  if (!value) throw new UsageError(`missing ${what}`, { hint: `usage: ${spec.usage}` });
  return value;
}

/** A plain text table, columns padded to the widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}
