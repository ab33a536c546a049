// The few error classes umlab throws. The CLI's one top-level handler maps
// them to messages and exit codes; the original error travels as `cause`.

/** Exit codes that scripts can rely on. */
export const ExitCode = {
  ok: 0,
  failure: 1, // a check or a command inside a VM failed
  usage: 2, // bad command line
  labFile: 3, // the lab file is invalid
  notFound: 4, // no such lab / VM / link
  missingDependency: 5, // a package or permission is missing on this machine
  runtime: 6, // something went wrong while running a lab
} as const;

export class UmlabError extends Error {
  readonly exitCode: number = ExitCode.runtime;
  /** What the user can do about it, printed after the message. */
  readonly hint?: string;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

export class UsageError extends UmlabError {
  override readonly exitCode = ExitCode.usage;
}

/** One problem in a lab file, located as file:line:col. */
export interface Diagnostic {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
  /** Path inside the lab, e.g. "vms.h1.interfaces.eth0.connect". */
  path: string;
  message: string;
  hint?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const path = d.path ? ` (${d.path})` : '';
  return `${where}: ${d.message}${path}${d.hint ? `\n    hint: ${d.hint}` : ''}`;
}

export class LabFileError extends UmlabError {
  override readonly exitCode = ExitCode.labFile;
  constructor(
    readonly diagnostics: Diagnostic[],
    options?: { cause?: unknown },
  ) {
    super(
      `${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} in lab file:\n` + diagnostics.map((d) => '  ' + formatDiagnostic(d)).join('\n'),
      options,
    );
  }
}

/** Problems in a class file (`umlab class`), located as file:line:col like a lab file's. */
export class ClassFileError extends UmlabError {
  override readonly exitCode = ExitCode.labFile;
  constructor(
    readonly diagnostics: Diagnostic[],
    options?: { cause?: unknown },
  ) {
    super(
      `${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} in class file:\n` + diagnostics.map((d) => '  ' + formatDiagnostic(d)).join('\n'),
      options,
    );
  }
}

export class NotFoundError extends UmlabError {
  override readonly exitCode = ExitCode.notFound;
}

export class MissingDependencyError extends UmlabError {
  override readonly exitCode = ExitCode.missingDependency;
}

/** Failure while starting, running or stopping a lab. */
export class LabRuntimeError extends UmlabError {
  override readonly exitCode = ExitCode.runtime;
}

/** A command in a VM did not answer within its timeout (the caller's exit code is 124, as timeout(1)'s). */
export class ExecTimeoutError extends LabRuntimeError {
  constructor(
    readonly timeoutMs: number,
    /** What the agent was doing: answering (the command ran on) or silent. */
    readonly agentState: string,
  ) {
    super(`command timed out after ${timeoutMs / 1000} s (${agentState})`);
  }
}
