// The registry of `umlab` commands, one file each in this folder, in the order `umlab --help` lists them.
import type { CommandSpec } from '../args.ts';
import { validateCommand } from './validate.ts';
import { compileCommand } from './compile.ts';
import { upCommand } from './up.ts';
import { downCommand } from './down.ts';
import { statusCommand } from './status.ts';
import { execCommand } from './exec.ts';
import { consoleCommand } from './console.ts';
import { captureCommand } from './capture.ts';
import { linkCommand, vmCommand } from './vm.ts';
import { webCommand } from './web.ts';
import { testCmd } from './test.ts';
import { cleanCommand, diskCommand, imageCommand } from './disk.ts';
import { doctorCommand } from './doctor.ts';
import { importCommand } from './import.ts';
import { gradeCommand } from './grade.ts';
import { classCommand } from './class.ts';

export const COMMANDS: CommandSpec[] = [
  validateCommand,
  compileCommand,
  upCommand,
  downCommand,
  statusCommand,
  execCommand,
  consoleCommand,
  captureCommand,
  vmCommand,
  linkCommand,
  webCommand,
  testCmd,
  gradeCommand,
  classCommand,
  importCommand,
  cleanCommand,
  diskCommand,
  imageCommand,
  doctorCommand,
];
