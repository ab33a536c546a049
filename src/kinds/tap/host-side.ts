// Host side of tap bridges, in the caller's network namespace (where `umlab up` runs). UML
// creates each tap device in the lab's namespace; once the VMs are up, the taps move to the
// caller's namespace and get the host side of the UML HOWTO (6.7, 6.13): a Linux bridge when
// several VMs share the segment, the host address, proxy_arp, a route to each VM address,
// ip_forward when asked; plus a tcpdump per tap for the capture (no umlab engine sits in a
// tap's data path).
//
// Everything done to the caller's namespace that does not vanish with the taps (bridges,
// ip_forward) is written to <runDir>/host-side.json BEFORE it is done, so undo() can revert it
// even after a crash, and from any namespace: a holder process left in the caller's namespace
// (`tail -f` of that record, so its command line names the run directory) is the handle to
// reach it. (`ip netns attach` would not do: under `ip netns exec`, the name's bind mount
// stays in the CLI's private mount namespace.)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { LabRuntimeError } from '../../errors.ts';
import { linkOf, linkTable, type LabPlan, type SegmentPlan } from '../../topology/plan.ts';
import { startTcpdump } from '../../capture/tcpdump.ts';
import { trackProcess } from '../../vm/processes.ts';
import { tapHostSideRecord, type TapPlan } from './index.ts';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

interface HostSideRecord {
  /** pid of the holder process living in the caller's network namespace. */
  holderPid: number | null;
  bridges: string[];
  /** Value of ip_forward before umlab set it, to restore on down. */
  ipForwardBefore: string | null;
}

/** Moves the lab's taps into this process's network namespace and sets up their host side.
 *  Called once every VM is up (UML creates the taps when their interfaces come up). */
export async function afterReady(taps: TapPlan[], plan: LabPlan, { labNetns }: { labNetns: string }): Promise<void> {
  if (taps.length === 0) return;
  const links = linkTable(plan.links);
  const recordPath = tapHostSideRecord(plan.runDir);
  const record: HostSideRecord = { holderPid: null, bridges: [], ipForwardBefore: null };
  const save = () => writeFileSync(recordPath, JSON.stringify(record, null, 2));
  save();
  const holder = spawn('tail', ['-f', recordPath], { detached: true, stdio: 'ignore' });
  holder.unref();
  trackProcess(plan.runDir, holder.pid);
  record.holderPid = holder.pid ?? null;
  save();

  for (const segment of taps) {
    const { devices, bridgeDevice, hostIp, proxyArp, ipForward } = segment.options;
    if (bridgeDevice) {
      record.bridges.push(bridgeDevice);
      save();
      await run('ip', ['link', 'add', bridgeDevice, 'type', 'bridge']);
    }
    for (const port of segment.ports) {
      const device = devices[port.link];
      await run('ip', ['-n', labNetns, 'link', 'set', device, 'netns', String(process.pid)]);
      if (bridgeDevice) await run('ip', ['link', 'set', device, 'master', bridgeDevice]);
      await run('ip', ['link', 'set', device, 'up']);
    }
    const hostDevice = bridgeDevice ?? Object.values(devices)[0];
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
    for (const port of segment.ports) {
      const capture = linkOf(links, port.link).capture;
      if (capture) trackProcess(plan.runDir, (await startTcpdump(devices[port.link], capture, { detached: true })).pid);
    }
  }
}

/** The VMs' IPv4 addresses on a segment, as host routes. */
function vmAddressesOn(plan: LabPlan, segment: SegmentPlan): string[] {
  const links = linkTable(plan.links);
  return plan.vms.flatMap((vm) =>
    vm.interfaces
      .filter((i) => linkOf(links, i.link).segment === segment.name)
      .flatMap((i) => i.addresses.filter((a) => !a.includes(':')).map((a) => `${a.split('/')[0]}/32`)),
  );
}

/** Reverts what afterReady recorded: deletes bridges, restores ip_forward. Called before the
 *  lab's processes are killed (the holder among them). Tap devices, their addresses and routes
 *  vanish by themselves when UML exits. */
export async function undo(runDir: string): Promise<void> {
  const path = tapHostSideRecord(runDir);
  if (!existsSync(path)) return;
  const record = JSON.parse(readFileSync(path, 'utf8')) as HostSideRecord;
  const holder = record.holderPid;
  // Only a holder that is still ours: a recycled pid could sit in any namespace.
  if (holder === null || !cmdlineOf(holder).includes(path)) return;
  const inCaller = ['nsenter', `--net=/proc/${holder}/ns/net`, '--'];
  for (const bridge of record.bridges) await execa(inCaller[0], [...inCaller.slice(1), 'ip', 'link', 'delete', bridge, 'type', 'bridge'], { reject: false });
  if (record.ipForwardBefore !== null)
    await execa(inCaller[0], [...inCaller.slice(1), 'sh', '-c', `echo ${Number(record.ipForwardBefore)} > ${IP_FORWARD}`], { reject: false });
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
