// The registry of `umlab` commands, one file each in this folder, in the order `umlab --help`
// lists them. Each is loaded when it runs: `umlab exec` does not load the web server or SQLite
// (with the bundle split by scripts/bundle.sh, a command starts only the code it needs).
import type { CommandSpec } from '../args.ts';

export const COMMANDS: { name: string; load: () => Promise<CommandSpec> }[] = [
  { name: 'validate', load: async () => (await import('./validate.ts')).validateCommand },
  { name: 'compile', load: async () => (await import('./compile.ts')).compileCommand },
  { name: 'up', load: async () => (await import('./up.ts')).upCommand },
  { name: 'down', load: async () => (await import('./down.ts')).downCommand },
  { name: 'status', load: async () => (await import('./status.ts')).statusCommand },
  { name: 'exec', load: async () => (await import('./exec.ts')).execCommand },
  { name: 'console', load: async () => (await import('./console.ts')).consoleCommand },
  { name: 'capture', load: async () => (await import('./capture.ts')).captureCommand },
  { name: 'vm', load: async () => (await import('./vm.ts')).vmCommand },
  { name: 'link', load: async () => (await import('./vm.ts')).linkCommand },
  { name: 'web', load: async () => (await import('./web.ts')).webCommand },
  { name: 'test', load: async () => (await import('./test.ts')).testCmd },
  { name: 'grade', load: async () => (await import('./grade.ts')).gradeCommand },
  { name: 'class', load: async () => (await import('./class.ts')).classCommand },
  { name: 'import', load: async () => (await import('./import.ts')).importCommand },
  { name: 'clean', load: async () => (await import('./disk.ts')).cleanCommand },
  { name: 'disk', load: async () => (await import('./disk.ts')).diskCommand },
  { name: 'image', load: async () => (await import('./disk.ts')).imageCommand },
  { name: 'doctor', load: async () => (await import('./doctor.ts')).doctorCommand },
];
