// Benchmark: TCP throughput (iperf3) between two UML VMs over five paths, all in one
// run, printed as ratios against (a):
//   (a) direct   a point-to-point ucast link VM to VM, no switch (UML's classic transports)
//   (b) switch   a umlab switch, capture on (as root: a Linux bridge, vector transport, tcpdump;
//                rootless: umlab's userspace engine)
//   (c) switch   the same, capture off (a Linux bridge, rootless too)
//   (d) daemon   uml_switch (uml-utilities, C) through UML's `daemon` transport
//   (e) vector   a direct link on UML's vector transport (raw, over one veth pair), no
//                switch: the limit of UML networking here, for scale
// Not a test: figures depend on the machine and its load (shown with them).
//
// Fairness: one lab, the same two VMs (same kernel, memory, MTU 1500) for all four paths,
// each VM with one interface per path; iperf3 with the same options on each; the paths
// are measured in turns (a b c d, a b c d, ...) so that load changes hit all of them, and
// the best run of each is kept. The VMs get (b) and (c) from the lab file (two switches,
// the second with capture off on its ports: the same engine code as a lab with
// `capture: false`); (a), (d) and (e) are plugged in live through the management console
// (`config eth2=ucast,...`, `config eth3=daemon,...`, `config vec4:transport=raw,...`),
// inside the lab's namespace.
//
//   bash bench/throughput.sh                 # 3 rounds of 10 s
//   bash bench/throughput.sh --rounds 2 --seconds 5
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { netnsName } from '../src/runtime/namespace.ts';
import { vectorUmlArg } from '../src/kinds/forwarding/plan.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'src/cli/main.ts');
const TSX = import.meta.resolve('tsx');
const MEMORY = '256M';
const IPERF_PORT = 5201;

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROUNDS = option('--rounds', 3);
const SECONDS = option('--seconds', 10);

const LAB = `tput-${process.pid}`;
const home = mkdtempSync(join(tmpdir(), 'umlab-bench-tput-'));
const runDir = join(home, 'labs', LAB);
const env = { UMLAB_HOME: home };

interface Path {
  key: string;
  what: string;
  /** h2's address on this path; h1 has .1 of the same /24. */
  server: string;
  /** Which host processes forward the frames (for the CPU column). */
  forwarder: 'none' | 'switch' | 'uml_switch';
}
const PATHS: Path[] = [
  { key: 'a', what: 'direct ucast link (no switch)', server: '10.0.2.2', forwarder: 'none' },
  { key: 'b', what: 'umlab switch, capture on', server: '10.0.0.2', forwarder: 'switch' },
  { key: 'c', what: 'umlab switch, capture off', server: '10.0.1.2', forwarder: 'switch' },
  { key: 'd', what: 'uml_switch (C), daemon transport', server: '10.0.3.2', forwarder: 'uml_switch' },
  { key: 'e', what: 'direct vector link (veth, no switch)', server: '10.0.4.2', forwarder: 'none' },
];

const LAB_YAML = `name: ${LAB}
description: throughput benchmark (bench/throughput.ts)
defaults: { memory: ${MEMORY} }
switches: { sw0: {}, sw1: {} }
vms:
  h1:
    interfaces:
      eth0: { connect: sw0, ip: 10.0.0.1/24 }
      eth1: { connect: sw1, ip: 10.0.1.1/24, capture: false }
  h2:
    interfaces:
      eth0: { connect: sw0, ip: 10.0.0.2/24 }
      eth1: { connect: sw1, ip: 10.0.1.2/24, capture: false }
`;

async function umlab(cliArgs: string[]): Promise<string> {
  const r = await execa(process.execPath, ['--import', TSX, CLI, ...cliArgs], { env, reject: false, timeout: 180_000 });
  if (r.exitCode !== 0) throw new Error(`umlab ${cliArgs.join(' ')} exited ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  return String(r.stdout);
}

const vmExec = (vm: string, command: string) => umlab(['exec', '--lab', LAB, vm, '--', command]);

let mode: 'netns' | 'userns' = 'netns';
let supervisorPid = 0;
let vmPid = 0;
let umlSwitch: ChildProcess | null = null;

/** argv prefix that runs a command in the lab's network namespace (uml_switch and UML's
 *  daemon transport meet on abstract unix sockets, which belong to a network namespace). */
function inLab(argv: string[]): string[] {
  return mode === 'netns'
    ? ['ip', 'netns', 'exec', netnsName(home, LAB), ...argv]
    : ['nsenter', '--target', String(vmPid), '--user', '--net', '--preserve-credentials', ...argv];
}

async function mconsole(vm: string, command: string): Promise<void> {
  const [cmd, ...rest] = inLab(['uml_mconsole', join(runDir, 'uml', vm, 'mconsole'), ...command.split(' ')]);
  const r = await execa(cmd!, rest, { reject: false, stdin: 'ignore' });
  if (!/^OK/m.test(String(r.stdout))) throw new Error(`mconsole ${vm} ${command}: ${r.stdout} ${r.stderr}`);
}

async function setUp(): Promise<void> {
  const file = join(home, 'lab.yaml');
  writeFileSync(file, LAB_YAML);
  await umlab(['up', '-q', file, '--name', LAB]);
  const status = JSON.parse(await umlab(['status', LAB, '--json'])) as {
    status: { supervisorPid: number; mode: 'netns' | 'userns'; vms: { name: string; pid: number }[] };
  };
  mode = status.status.mode;
  supervisorPid = status.status.supervisorPid;
  vmPid = status.status.vms[0]!.pid;

  // (a): a ucast link straight from VM to VM, ports outside umlab's 20000+ range.
  await mconsole('h1', 'config eth2=ucast,fe:fd:0a:00:02:01,127.0.0.1,29001,29002');
  await mconsole('h2', 'config eth2=ucast,fe:fd:0a:00:02:02,127.0.0.1,29002,29001');
  // (d): uml_switch, its control socket in the run directory (so `umlab down` also ends it).
  const ctl = join(runDir, 'uml_switch.ctl');
  const [cmd, ...rest] = inLab(['uml_switch', '-unix', ctl]);
  umlSwitch = spawn(cmd!, rest, { stdio: ['pipe', 'ignore', 'ignore'] }); // stdin kept open: uml_switch quits on EOF
  for (let i = 0; i < 50 && !existsSync(ctl); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(ctl)) throw new Error('uml_switch did not create its control socket');
  await mconsole('h1', `config eth3=daemon,fe:fd:0a:00:03:01,unix,${ctl}`);
  await mconsole('h2', `config eth3=daemon,fe:fd:0a:00:03:02,unix,${ctl}`);
  // (e): one veth pair, one end per VM, in the lab's namespace (outside umlab's vp<n> names).
  const [ipCmd, ...ipArgs] = inLab(['ip', '-batch', '-']);
  await execa(ipCmd!, ipArgs, { input: 'link add bench0 type veth peer name bench1\nlink set bench0 up\nlink set bench1 up\n' });
  // The same vector driver settings as a umlab switch port.
  await mconsole('h1', `config vec4:${vectorUmlArg('bench0', 'fe:fd:0a:00:04:01')}`);
  await mconsole('h2', `config vec4:${vectorUmlArg('bench1', 'fe:fd:0a:00:04:02')}`);
  for (const [vm, host] of [
    ['h1', 1],
    ['h2', 2],
  ] as const) {
    await vmExec(
      vm,
      `ip addr add 10.0.2.${host}/24 dev eth2 && ip link set eth2 up && ip addr add 10.0.3.${host}/24 dev eth3 && ip link set eth3 up && ` +
        `ip addr add 10.0.4.${host}/24 dev vec4 && ip link set vec4 up`,
    );
  }
  await vmExec('h2', `iperf3 -s -D -p ${IPERF_PORT}`);
  for (const path of PATHS) await vmExec('h1', `ping -c1 -W5 ${path.server} >/dev/null`);
}

/** Per-interface MTU and memory, printed so the comparison can be checked. */
async function describeVms(): Promise<string> {
  const out = await vmExec('h1', 'for i in eth0 eth1 eth2 eth3 vec4; do printf "%s=%s " $i $(cat /sys/class/net/$i/mtu); done; grep MemTotal /proc/meminfo');
  return out.trim().replace(/\s+/g, ' ');
}

/** CPU seconds (user+system) used so far by host processes matching `pick`; with
 *  `reaped`, also that of their children already waited for (a VM's user-space processes,
 *  iperf3 among them, are host processes of their own that UML reaps when they exit). */
function cpuSeconds(pick: (pid: number, cmdline: string) => boolean, reaped = false): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!pick(Number(entry), cmdline)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
      if (reaped) ticks += Number(fields[13]) + Number(fields[14]); // cutime, cstime
    } catch {
      // exited
    }
  }
  return ticks / 100; // USER_HZ
}
const vmCpu = () => cpuSeconds((_, c) => c.includes('linux.uml') && c.includes(runDir), true);
// A bridged switch forwards in the kernel (charged to the VMs); its host processes are the
// tcpdumps writing the captures. The userspace engine is the supervisor itself.
const forwarderCpu = (path: Path) =>
  path.forwarder === 'switch'
    ? cpuSeconds((pid, c) => pid === supervisorPid || (c.includes('tcpdump\0') && c.includes(runDir)))
    : path.forwarder === 'uml_switch'
      ? cpuSeconds((_, c) => c.startsWith('uml_switch\0') && c.includes(runDir))
      : 0;

interface Run {
  gbps: number;
  retransmits: number;
  /** Host CPU seconds per GB carried: the VMs (both, iperf3 included) and the forwarder. */
  vmCpuPerGB: number;
  forwarderCpuPerGB: number;
  load: number;
}

async function measure(path: Path): Promise<Run> {
  const vm0 = vmCpu();
  const fw0 = forwarderCpu(path);
  const json = await vmExec('h1', `iperf3 -c ${path.server} -p ${IPERF_PORT} -t ${SECONDS} -J`);
  const result = JSON.parse(json) as {
    end: { sum_received: { bits_per_second: number; bytes: number }; sum_sent: { retransmits?: number } };
  };
  const gb = result.end.sum_received.bytes / 1e9;
  return {
    gbps: result.end.sum_received.bits_per_second / 1e9, // the receiver's figure
    retransmits: result.end.sum_sent.retransmits ?? 0,
    // Measured over the whole `umlab exec` (a little more than the transfer itself).
    vmCpuPerGB: (vmCpu() - vm0) / gb,
    forwarderCpuPerGB: (forwarderCpu(path) - fw0) / gb,
    load: loadavg()[0]!,
  };
}

let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    if (umlSwitch && umlSwitch.exitCode === null) umlSwitch.kill('SIGTERM');
    if (existsSync(runDir)) await umlab(['down', LAB]).catch((err: Error) => console.error(`umlab down: ${err.message}`));
    rmSync(home, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const fmt = (n: number, width: number, digits = 2) => n.toFixed(digits).padStart(width);

try {
  console.log(
    `throughput benchmark: iperf3 -t ${SECONDS}, ${ROUNDS} rounds, VMs of ${MEMORY}, ${cpus().length} CPUs, ${process.getuid?.() === 0 ? 'as root (ip netns): switches on Linux bridges' : 'rootless: (b) on the userspace engine, (c) on a bridge'}`,
  );
  console.log(
    `load before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  await setUp();
  console.log(`h1: ${await describeVms()}`);
  const runs = new Map<string, Run[]>(PATHS.map((p) => [p.key, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const path of PATHS) {
      const run = await measure(path);
      runs.get(path.key)!.push(run);
      console.log(
        `  round ${round} (${path.key}) ${fmt(run.gbps, 5)} Gbit/s  retransmits ${String(run.retransmits).padStart(5)}  CPU s/GB: VMs ${fmt(run.vmCpuPerGB, 5)} forwarder ${fmt(run.forwarderCpuPerGB, 5)}  load ${run.load.toFixed(2)}`,
      );
    }
  }
  const best = new Map(PATHS.map((p) => [p.key, runs.get(p.key)!.reduce((x, y) => (y.gbps > x.gbps ? y : x))]));
  const a = best.get('a')!.gbps;
  console.log('\n(best run of each)                         Gbit/s  ratio to (a)  CPU s/GB: VMs  forwarder');
  for (const path of PATHS) {
    const r = best.get(path.key)!;
    const fw = path.forwarder === 'none' ? '-'.padStart(9) : fmt(r.forwarderCpuPerGB, 9);
    console.log(`(${path.key}) ${path.what.padEnd(38)} ${fmt(r.gbps, 6)}  ${fmt(r.gbps / a, 12)}  ${fmt(r.vmCpuPerGB, 13)}  ${fw}`);
  }
  const b = best.get('b')!.gbps;
  const d = best.get('d')!.gbps;
  console.log(`(b)/(d) = ${(b / d).toFixed(2)}; (b)/(e) = ${(b / best.get('e')!.gbps).toFixed(2)}`);
  console.log(
    `targets: (b) >= 0.7 x (a): ${b / a >= 0.7 ? 'met' : 'NOT met'} (${(b / a).toFixed(2)}); (b) >= 1.5 x (d): ${b / d >= 1.5 ? 'met' : 'NOT met'} (${(b / d).toFixed(2)})`,
  );
  console.log(
    `load after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await cleanUp();
}
