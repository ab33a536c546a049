// What the page shows for one VM: its planned interfaces and routes, what the VM itself
// reports (`ip -br addr`, `ip route` through the agent), and the tail of its console log.
import { open } from 'node:fs/promises';
import { LabClient } from '../client/lab-client.ts';
import { runFiles } from '../runtime/paths.ts';
import { linkOf, type LinkPlan, type VmPlan } from '../topology/plan.ts';

const CONSOLE_TAIL_BYTES = 32 * 1024;
const CONSOLE_TAIL_LINES = 60;
const EXEC_TIMEOUT_MS = 5000;

export interface VmDetails {
  name: string;
  memory: string;
  interfaces: { name: string; mac: string; addresses: string[]; dhcp: boolean; segment: string; link: string }[];
  routes: string[];
  /** Null offline; otherwise the VM's own view, or why it could not be asked. */
  live: { addresses: string; routes: string } | { error: string } | null;
  console: string;
}

export function plannedDetails(vm: VmPlan, links: ReadonlyMap<string, LinkPlan>): Omit<VmDetails, 'live' | 'console'> {
  return {
    name: vm.name,
    memory: vm.memory,
    interfaces: vm.interfaces.map((i) => ({
      name: i.name,
      mac: i.mac,
      addresses: i.addresses,
      dhcp: i.dhcp,
      segment: linkOf(links, i.link).segment,
      link: i.link,
    })),
    routes: vm.routes,
  };
}

/** `runDir` null means offline: the plan only. */
export async function vmDetails(vm: VmPlan, links: ReadonlyMap<string, LinkPlan>, runDir: string | null): Promise<VmDetails> {
  if (runDir === null) return { ...plannedDetails(vm, links), live: null, console: '' };
  const control = runFiles(runDir).control;
  const [live, consoleText] = await Promise.all([
    Promise.all([execText(control, vm.name, 'ip -br addr'), execText(control, vm.name, 'ip route; ip -6 route show type unicast')]).then(
      ([addresses, routes]) => ({ addresses, routes }),
      (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
    ),
    readTail(vm.consoleLog, CONSOLE_TAIL_BYTES),
  ]);
  return { ...plannedDetails(vm, links), live, console: cleanConsoleText(consoleText, CONSOLE_TAIL_LINES) };
}

async function execText(control: string, vm: string, command: string): Promise<string> {
  const { stdout, stderr } = await new LabClient(control).execText(vm, command, EXEC_TIMEOUT_MS);
  return stdout + stderr;
}

async function readTail(path: string, bytes: number): Promise<string> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await file.stat();
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    await file.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    await file.close();
  }
}

/** The last `lines` lines of console output, without terminal escapes and carriage returns. */
export function cleanConsoleText(text: string, lines: number): string {
  const plain = text
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78cDEHM]/g, '')
    .replace(/\r+\n/g, '\n')
    .replace(/^.*\r(?!\n)/gm, '') // a line redrawn after \r shows only its last state
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  return plain.replace(/\n+$/, '').split('\n').slice(-lines).join('\n');
}
