// umlab's command line: dispatch to a command, and the one place errors become
// messages and exit codes.
import { ExitCode, LabFileError, UmlabError } from '../errors.ts';
import { helpText, parseCommandArgs } from './args.ts';
import { COMMANDS } from './commands/index.ts';
import { permissionError } from '../client/control.ts';
import { printable } from './env.ts';

/** The overview: it names every command with its summary, so it loads them all. */
const usage = async () => `umlab — network labs of real User-Mode Linux VMs

Usage: umlab <command> [options]     (umlab <command> --help for details)

Commands:
${(await Promise.all(COMMANDS.map((c) => c.load()))).map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Examples:
  umlab up labs/two-hosts.yaml
  umlab exec h1 -- ping -c1 h2
  umlab capture show h1.eth0
  umlab down two-hosts

Exit codes: 0 ok, 1 failure, 2 usage, 3 invalid lab file, 4 not found,
5 missing dependency, 6 runtime error; \`exec\` exits with the command's own code.
`;

export async function main(argv: string[]): Promise<number> {
  // State under UMLAB_HOME (run dirs, captures, logs, disks, archives) is the owner's alone,
  // also where UMLAB_HOME is on a shared disk or under /tmp.
  process.umask(0o077);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await usage());
    return name ? ExitCode.ok : ExitCode.usage;
  }
  if (name === '--version') {
    process.stdout.write('umlab 0.1.0\n');
    return ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`umlab: unknown command "${name}"\n\n${await usage()}`);
    return ExitCode.usage;
  }
  try {
    const spec = await command.load();
    const args = parseCommandArgs(spec, rest);
    if (args === 'help') {
      process.stdout.write(helpText(spec));
      return ExitCode.ok;
    }
    return await spec.run(args);
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  // Messages quote lab files, VM output and names: control characters (NUL too) are shown escaped.
  const write = (text: string) => process.stderr.write(printable(text));
  if (err instanceof LabFileError) {
    write(`umlab: ${err.message}\n`);
    return err.exitCode;
  }
  // Another user's lab or home: a clear refusal instead of a stack trace.
  const denied = permissionError(err);
  if (denied) err = denied;
  if (err instanceof UmlabError) {
    write(`umlab: ${err.message}\n${err.hint ? `${err.hint.replace(/^/gm, '  ')}\n` : ''}`);
    if (process.env.UMLAB_DEBUG && err.cause) write(`cause: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  write(`umlab: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.failure;
}

// `umlab status | head`: a reader that went away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = report(err);
  },
);
