// Rules on consoles and serial lines: ports given and used once, joined lines point back.
import type { Diagnostic } from '../../errors.ts';
import { didYouMean } from '../../util/text.ts';
import type { PathSegment } from '../lab-path.ts';
import { parseSerialTarget, SERIAL_LINE_NAME } from '../model.ts';
import type { Rule } from './context.ts';

/** `console: port` needs its own `console_port`; `console_port` alone does nothing. */
export const consolePorts: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<number, string>();
  for (const vm of ctx.lab.vms) {
    const portPath = ['vms', vm.name, 'console_port'];
    if (vm.console === 'port' && vm.consolePort === undefined) {
      const own = ctx.has(['vms', vm.name, 'console']);
      out.push(
        ctx.diag(
          own ? ['vms', vm.name, 'console'] : ['vms', vm.name],
          own ? 'value' : 'key',
          `${vm.name} has console: port but no console_port`,
          `add \`console_port: 4001\` (a free TCP port) to ${vm.name}`,
        ),
      );
    }
    if (vm.console !== 'port' && vm.consolePort !== undefined) {
      out.push(ctx.diag(portPath, 'key', `console_port is set but ${vm.name}'s console is "${vm.console}"`, 'add `console: port`, or remove console_port'));
    }
    if (vm.consolePort !== undefined) {
      const earlier = used.get(vm.consolePort);
      if (earlier) out.push(ctx.diag(portPath, 'value', `console port ${vm.consolePort} is already used by ${earlier}`, 'give each VM its own console port'));
      else used.set(vm.consolePort, vm.name);
    }
  }
  return out;
};

/** Serial lines (`serial:`): a joined line names an existing VM and a usable line, not itself,
 *  whose far end points back or is free and is joined once; a port is 1-65535 and used once
 *  (console ports included). */
export const serialLines: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const vmNames = ctx.lab.vms.map((v) => v.name);
  const declared = (vm: string, line: string) => ctx.lab.vms.find((v) => v.name === vm)?.serial.find((l) => l.name === line);
  /** "vm.sslN" of a free far end -> the first line joined to it. */
  const joined = new Map<string, { from: string; path: PathSegment[] }>();
  const ports = new Map<number, string>();
  for (const vm of ctx.lab.vms) if (vm.consolePort !== undefined) ports.set(vm.consolePort, `${vm.name}'s console`);
  for (const vm of ctx.lab.vms)
    for (const line of vm.serial) {
      const path: PathSegment[] = ['vms', vm.name, 'serial', line.name];
      const from = `${vm.name}.${line.name}`;
      const target = parseSerialTarget(line.to);
      if (target.kind === 'port') {
        if (target.port < 1 || target.port > 65535) {
          out.push(ctx.diag(path, 'value', `port ${target.port} of ${from} is not a TCP port`, 'use a port from 1024 to 65535, e.g. port:4002'));
          continue;
        }
        const earlier = ports.get(target.port);
        if (earlier) out.push(ctx.diag(path, 'value', `port ${target.port} is already used by ${earlier}`, 'give each console and serial line its own port'));
        else ports.set(target.port, from);
        continue;
      }
      if (target.kind !== 'vm') continue;
      const to = `${target.vm}.${target.line}`;
      if (!vmNames.includes(target.vm)) {
        const guess = didYouMean(target.vm, vmNames);
        out.push(
          ctx.diag(path, 'value', `no VM named "${target.vm}" for ${from}`, guess ? `did you mean "${guess}.${target.line}"?` : `VMs: ${vmNames.join(', ')}`),
        );
        continue;
      }
      if (!SERIAL_LINE_NAME.test(target.line)) {
        out.push(ctx.diag(path, 'value', `"${target.line}" is not a serial line a lab can use`, "use ssl0 ... ssl62 (ssl63 is umlab's agent line)"));
        continue;
      }
      if (target.vm === vm.name && target.line === line.name) {
        out.push(ctx.diag(path, 'value', `${from} is joined to itself`, 'join it to a line of another VM, e.g. r2.ssl1'));
        continue;
      }
      const far = declared(target.vm, target.line);
      if (far) {
        if (far.to !== from)
          out.push(
            ctx.diag(
              path,
              'value',
              `${to} goes to "${far.to}", not back to ${from}`,
              `write \`${target.line}: ${from}\` in ${target.vm}, or leave ${target.line} out there (this join creates it)`,
            ),
          );
        continue;
      }
      const earlier = joined.get(to);
      if (earlier)
        out.push(
          ctx.diag(
            path,
            'value',
            `${to} is already joined with ${earlier.from} (line ${ctx.lineOf(earlier.path, 'value')})`,
            `a serial line joins one other line: use another line of ${target.vm}`,
          ),
        );
      else joined.set(to, { from, path });
    }
  return out;
};
