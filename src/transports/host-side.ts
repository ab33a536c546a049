// What some segment kinds need on the host side, in the network namespace where `umlab up`
// runs (the "caller's namespace"), as opposed to the lab's own namespace:
//
//   slirp gateways: one passt process per segment, started before the supervisor under a
//     keeper (a shell loop) that restarts it when it dies, with the same arguments (port
//     forwards included); both are recorded in <runDir>/pids, so `down` kills them.
//   tap bridges: UML creates each tap device in the lab's namespace; once the VMs are up,
//     the taps move to the caller's namespace and get the host side of the UML HOWTO
//     (6.7, 6.13): a Linux bridge when several VMs share the segment, the host address,
//     proxy_arp, a route to each VM address, ip_forward when asked; plus a tcpdump per tap
//     for the capture (no umlab engine sits in a tap's data path).
//
// Everything done to the caller's namespace that does not vanish with the taps (bridges,
// ip_forward) is written to <runDir>/host-side.json BEFORE it is done, so undoHostSide() can
// revert it even after a crash, and from any namespace: a holder process left in the
// caller's namespace (`tail -f` of that record, so its command line names the run directory)
// is the handle to reach it. (`ip netns attach` would not do: under `ip netns exec`, the
// name's bind mount stays in the CLI's private mount namespace.)
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabRuntimeError, MissingDependencyError } from '../errors.ts';
import { isBridged, type LabPlan, type SegmentPlan } from '../topology/plan.ts';
import { startTcpdump } from '../capture/tcpdump.ts';
import { trackProcess } from '../runtime/processes.ts';
import { passtStateFile } from './engines/passt.ts';

const HOST_SIDE_RECORD = 'host-side.json';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

interface HostSideRecord {
  /** pid of the holder process living in the caller's network namespace. */
  holderPid: number | null;
  bridges: string[];
  /** Value of ip_forward before umlab set it, to restore on down. */
  ipForwardBefore: string | null;
}

const segmentsOf = (plan: LabPlan, engine: SegmentPlan['engine']) => plan.segments.filter((s) => s.engine === engine && s.ports.length > 0);

/** Refuses, before anything starts, a lab whose host side this machine or user cannot provide. */
export function checkHostSide(plan: LabPlan, findCommand: (name: string) => string | null): void {
  if (segmentsOf(plan, 'passt').length > 0 && !findCommand('passt'))
    throw new MissingDependencyError('slirp gateways need passt, which is not installed', { hint: 'install it with: sudo apt-get install -y passt' });
  const bridged = plan.segments.filter((s) => isBridged(s) && s.ports.some((p) => p.capture !== null));
  if (bridged.length > 0 && !findCommand('tcpdump'))
    throw new MissingDependencyError(`capturing the links of ${bridged.map((s) => s.name).join(', ')} needs tcpdump, which is not installed`, {
      hint: 'install it with: sudo apt-get install -y tcpdump   (or set `capture: false` in the lab)',
    });
  const taps = segmentsOf(plan, 'tap');
  if (taps.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new MissingDependencyError(`tap segments (${taps.map((s) => s.name).join(', ')}) need root: they create devices and a bridge in your network namespace`, {
      hint: 'run umlab as root, or use a switch or a slirp gateway instead of a tap',
    });
  if (!existsSync('/dev/net/tun')) throw new MissingDependencyError('tap segments need /dev/net/tun, which this machine lacks', { hint: 'sudo modprobe tun' });
  if (plan.capture && !findCommand('tcpdump'))
    throw new MissingDependencyError('capturing tap links needs tcpdump', { hint: 'install it with: sudo apt-get install -y tcpdump   (or turn capture off for the tap links)' });
}

// ---- slirp gateways: passt ---------------------------------------------------------

export const passtLog = (socket: string) => socket.replace(/\.sock$/, '') + '.log';

/** Starts one passt per slirp segment, detached, and waits until each listens on its socket. */
export async function startGateways(plan: LabPlan): Promise<void> {
  for (const segment of segmentsOf(plan, 'passt')) {
    const { socket, passtArgs } = segment.options as { socket: string; passtArgs: string[] };
    const log = passtLog(socket);
    const state = passtStateFile(socket);
    const logFd = openSync(log, 'a');
    // As root passt would switch to "nobody", who cannot create the socket in the run directory.
    const runAs = process.getuid?.() === 0 ? ['--runas', '0:0'] : [];
    const argv = ['sh', '-c', PASST_KEEPER, 'umlab-passt-keeper', state, socket, 'passt', '--foreground', '--stderr', ...runAs, ...passtArgs];
    // Its own process group (detached), recorded: `down` kills the keeper and passt together.
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    trackProcess(plan.runDir, child.pid, 'group');
    let failed: string | null = null;
    child.once('exit', (code, signal) => (failed = `its keeper exited: ${signal ?? `code ${code}`}`));
    child.once('error', (err) => (failed = err.message));
    child.unref();
    const passtExited = () => /^exited (\d+)/.exec(readOr(state))?.[1];
    for (let i = 0; i < 100 && !existsSync(socket) && failed === null && !passtExited(); i++) await sleep(50);
    if (!existsSync(socket) || passtExited()) {
      const why = failed ?? (passtExited() ? `it exited: status ${passtExited()}` : null);
      if (child.pid) process.kill(-child.pid, 'SIGKILL'); // no restart loop for a passt that cannot start
      throw new LabRuntimeError(`segment ${segment.name}: passt did not open ${socket}${why ? ` (${why})` : ''}`, {
        hint: `passt said:\n${tailOf(log)}`,
      });
    }
  }
}

/** Runs passt ("$@") and starts it again a second after it dies, writing "running <pid>" or
 *  "exited <status>" to the state file ($1) for the gateway engine; the stale socket ($2) goes first. */
const PASST_KEEPER = `state=$1; sock=$2; shift 2
while :; do
  rm -f "$sock"
  "$@" & child=$!
  echo "running $child" > "$state"
  wait $child; rc=$?
  echo "exited $rc" > "$state"
  sleep 1
done`;

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// ---- tap bridges ------------------------------------------------------------------

/** Moves the lab's taps into this process's network namespace and sets up their host side.
 *  Call once every VM is up (UML creates the taps when their interfaces come up). */
export async function setUpTaps(plan: LabPlan, labNetns: string): Promise<void> {
  const taps = segmentsOf(plan, 'tap');
  if (taps.length === 0) return;
  const recordPath = join(plan.runDir, HOST_SIDE_RECORD);
  const record: HostSideRecord = { holderPid: null, bridges: [], ipForwardBefore: null };
  const save = () => writeFileSync(recordPath, JSON.stringify(record, null, 2));
  save();
  const holder = spawn('tail', ['-f', recordPath], { detached: true, stdio: 'ignore' });
  holder.unref();
  trackProcess(plan.runDir, holder.pid);
  record.holderPid = holder.pid ?? null;
  save();

  for (const segment of taps) {
    const { devices, bridgeDevice, hostIp, proxyArp, ipForward } = segment.options as {
      devices: Record<string, string>;
      bridgeDevice: string | null;
      hostIp: string | null;
      proxyArp: boolean;
      ipForward: boolean;
    };
    if (bridgeDevice) {
      record.bridges.push(bridgeDevice);
      save();
      await run('ip', ['link', 'add', bridgeDevice, 'type', 'bridge']);
    }
    for (const port of segment.ports) {
      const device = devices[port.link]!;
      await run('ip', ['-n', labNetns, 'link', 'set', device, 'netns', String(process.pid)]);
      if (bridgeDevice) await run('ip', ['link', 'set', device, 'master', bridgeDevice]);
      await run('ip', ['link', 'set', device, 'up']);
    }
    const hostDevice = bridgeDevice ?? Object.values(devices)[0]!;
    if (bridgeDevice) await run('ip', ['link', 'set', bridgeDevice, 'up']);
    if (hostIp) await run('ip', ['addr', 'add', hostIp, 'dev', hostDevice]);
    if (proxyArp) writeFileSync(`/proc/sys/net/ipv4/conf/${hostDevice}/proxy_arp`, '1\n');
    // The HOWTO's host route to each VM, needed when the host address is in another subnet (or absent).
    for (const address of vmAddressesOn(plan, segment)) await run('ip', ['route', 'replace', address, 'dev', hostDevice]);
    if (ipForward && record.ipForwardBefore === null) {
      record.ipForwardBefore = readFileSync(IP_FORWARD, 'utf8').trim();
      save();
      writeFileSync(IP_FORWARD, '1\n');
    }
    for (const port of segment.ports) if (port.capture) trackProcess(plan.runDir, (await startTcpdump(devices[port.link]!, port.capture, { detached: true })).pid);
  }
}

/** The VMs' IPv4 addresses on a segment, as host routes. */
function vmAddressesOn(plan: LabPlan, segment: SegmentPlan): string[] {
  return plan.vms.flatMap((vm) =>
    vm.interfaces.filter((i) => i.segment === segment.name).flatMap((i) => i.addresses.filter((a) => !a.includes(':')).map((a) => `${a.split('/')[0]}/32`)),
  );
}

/** Reverts what setUpTaps recorded: deletes bridges, restores ip_forward. Call before killing
 *  the lab's processes (the holder among them). Tap devices, their addresses and routes
 *  vanish by themselves when UML exits. */
export async function undoHostSide(runDir: string): Promise<void> {
  const path = join(runDir, HOST_SIDE_RECORD);
  if (!existsSync(path)) return;
  const record = JSON.parse(readFileSync(path, 'utf8')) as HostSideRecord;
  const holder = record.holderPid;
  // Only a holder that is still ours: a recycled pid could sit in any namespace.
  if (holder === null || !cmdlineOf(holder).includes(path)) return;
  const inCaller = ['nsenter', `--net=/proc/${holder}/ns/net`, '--'];
  for (const bridge of record.bridges) await execa(inCaller[0]!, [...inCaller.slice(1), 'ip', 'link', 'delete', bridge, 'type', 'bridge'], { reject: false });
  if (record.ipForwardBefore !== null)
    await execa(inCaller[0]!, [...inCaller.slice(1), 'sh', '-c', `echo ${Number(record.ipForwardBefore)} > ${IP_FORWARD}`], { reject: false });
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) throw new LabRuntimeError(`host side: \`${cmd} ${args.join(' ')}\` failed: ${String(r.stderr).trim()}`);
}

function tailOf(path: string, lines = 10): string {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('Failed to send')).slice(-lines).map((l) => '    ' + l).join('\n');
  } catch {
    return '    (no log)';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
