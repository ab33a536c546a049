// Generates the init script a VM boots with (init=<path>). Pure: VmPlan in, text out.
//
// Stage 1 runs as PID 1 on the read-only hostfs root: native/boot.c (umlab-boot, one process)
// builds a writable overlay in RAM, chroots into it, mounts /etc/fstab's filesystems, sets the
// agent line raw, makes the interfaces and routes it can over netlink (nativeNetwork) and runs
// this script for stage 2. Stage 2 applies the lab (hostname, hosts, addresses,
// routes, sysctls, files, startup commands), reports READY or FAIL on the agent
// serial line (/dev/ttyS63, AGENT_DEVICE) and then serves agent requests forever.
//
// A VM that boots from an image (`image:`) has no host root: the image's bootstrap
// init (imageBootstrapInit, installed by `umlab image build`) mounts the host's
// read-only view with hostfs and runs initScriptForImage, which copies the VM's file
// layer onto its copy-on-write root and then runs the same stage 2.
//
// Pure (no I/O), so compile() puts each VM's init into the plan (VmPlan.init) and
// `umlab compile --init` shows exactly what will boot; the runtime writes that text.
import { AGENT_DEVICE } from './agent-protocol.ts';
import { GUEST_AGENT_PATH, GUEST_AGENT_PERL, guestAgentStage } from './guest-agent.ts';
import type { InterfacePlan, LabPlan, SharePlan, VmPlan } from './plan.ts';

/** The init inside images that `umlab image build` makes: it mounts the host's read-only
 *  view with hostfs and runs the VM's generated init, whose host path is the kernel
 *  parameter IMAGE_INIT_PARAM (unknown `name=value` parameters reach init as environment). */
export const IMAGE_BOOTSTRAP_INIT = '/sbin/umlab-init';
export const IMAGE_INIT_PARAM = 'umlab_init';

export interface InitOptions {
  kernelVersion: string;
  modulesDir: string;
  /** Rootless labs: host root's files show up owned by the overflow uid, so a setuid
   *  binary (mount!) would drop root inside the VM. Mount the overlay nosuid then. */
  nosuidRoot?: boolean;
}

/** Quote a string for POSIX sh. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export function hostsFile(plan: LabPlan): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const host of plan.hosts) for (const addr of host.addresses) lines.push(`${addr}\t${host.name}`);
  return lines.join('\n') + '\n';
}

/** Files the VM sees over the host's root: a per-VM overlay layer the supervisor writes
 *  on the host before boot (path inside the VM -> content or symlink target). Putting
 *  them there costs the VM no process starts, which are slow in UML. */
export type LayerEntry = { content: string; mode?: number } | { symlink: string };

export function vmLayer(vm: VmPlan, plan: LabPlan, opts: InitOptions): Record<string, LayerEntry> {
  // An image sees the host's files only under the bootstrap's hostfs mount.
  const hostPath = (path: string) => (vm.image === undefined ? path : IMAGE_HOST_MOUNT + path);
  const layer: Record<string, LayerEntry> = {
    '/etc/hostname': { content: vm.name + '\n' },
    '/etc/hosts': { content: hostsFile(plan) },
    '/etc/fstab': { content: FSTAB + sharesFstab(vm.shares) },
    // The host has no /lib/modules/<uml version>: point modprobe at the UML modules.
    [`/usr/lib/modules/${opts.kernelVersion}`]: { symlink: hostPath(opts.modulesDir) },
  };
  // The nft backend fails under UML ("Operation not supported"); legacy works.
  for (const tool of ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'])
    layer[`/usr/local/sbin/${tool}`] = { symlink: `/usr/sbin/${tool.replace(/(-save|-restore)?$/, '-legacy$1')}` };
  // Debian's reboot, poweroff, halt and shutdown ask systemd, which a VM on the host's root does not run.
  if (vm.image === undefined) Object.assign(layer, POWER_COMMANDS);
  layer[GUEST_AGENT_PATH] = { content: GUEST_AGENT_PERL };
  for (const [path, content] of Object.entries(vm.files)) layer[path] = { content };
  return layer;
}

/** A sync and the system call, as `reboot -f` does: the VM's init has no services to stop.
 *  UML restarts itself on reboot and exits on halt and poweroff (the VM is then stopped). */
const powerCommand = (applet: string) => ({
  [`/usr/local/sbin/${applet}`]: { content: `#!/bin/sh\n# umlab: no systemd in this VM\nexec busybox ${applet} -f\n`, mode: 0o755 },
});
const POWER_COMMANDS: Record<string, LayerEntry> = {
  ...powerCommand('reboot'),
  ...powerCommand('poweroff'),
  ...powerCommand('halt'),
  '/usr/local/sbin/shutdown': {
    content:
      '#!/bin/sh\n# umlab: no systemd in this VM; shutdown -r reboots, any other shutdown powers off, at once\nfor arg; do case $arg in -r | --reboot) exec busybox reboot -f ;; esac; done\nexec busybox poweroff -f\n',
    mode: 0o755,
  },
};

/** Stage 2 mounts everything with one `mount -a`. */
const FSTAB =
  [
    'proc /proc proc defaults 0 0',
    'sysfs /sys sysfs defaults 0 0',
    'devtmpfs /dev devtmpfs defaults 0 0',
    'devpts /dev/pts devpts X-mount.mkdir 0 0',
    'tmpfs /dev/shm tmpfs X-mount.mkdir 0 0',
    'tmpfs /tmp tmpfs mode=1777 0 0',
    'tmpfs /run tmpfs mode=755 0 0',
    'tmpfs /run/umlab tmpfs X-mount.mkdir,mode=700 0 0',
  ].join('\n') + '\n';

/** fstab lines mounting the VM's shares with hostfs: the option is the host directory, as
 *  seen under `hostfs=` (the read-only view of /, where the supervisor bound rw shares
 *  writable). Parents before children, so nested mount points work. */
export function sharesFstab(shares: SharePlan[]): string {
  const depth = (p: string) => p.split('/').length;
  return [...shares]
    .sort((a, b) => depth(a.mountPoint) - depth(b.mountPoint))
    .map((s) => `umlab-share ${fstabEscape(s.mountPoint)} hostfs X-mount.mkdir,${s.rw ? 'rw' : 'ro'},${fstabEscape(s.hostPath)} 0 0\n`)
    .join('');
}

/** fstab fields are separated by whitespace: escape it the way fstab(5) reads it. */
const fstabEscape = (s: string) => s.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);

/** A configuration step: what it does, its shell command, and whether it runs in a subshell of
 *  its own (a command that may `exit`, `cd` or be malformed: DHCP's and the lab's startup). */
export type ConfigStep = [what: string, command: string, isolated?: 'isolated'];

/** The stage-2 configuration steps. Shell builtins where possible; the network made by umlab-boot
 *  (IPv4) or one `ip -batch`. */
export function configSteps(vm: VmPlan): ConfigStep[] {
  const steps: ConfigStep[] = [];
  const q = shellQuote;
  steps.push(['set hostname', `echo ${q(vm.name)} > /proc/sys/kernel/hostname`]);
  // An IPv6 sysctl needs the module too: /proc/sys/net/ipv6 exists only once it is loaded.
  const needsIpv6 =
    vm.interfaces.some((i) => i.addresses.some((a) => a.includes(':'))) ||
    vm.routes.some(isIpv6Route) ||
    Object.keys(vm.sysctl).some((k) => k.startsWith('net.ipv6.'));
  if (needsIpv6) steps.push(['load ipv6', 'modprobe ipv6']);
  const native = nativeNetwork(vm);
  steps.push(['configure interfaces', native ? nativeResult(INTERFACE_ERRORS) : ipBatchCommand(ipBatch(vm))]);
  for (const iface of vm.interfaces) {
    if (iface.proxyArp) steps.push([`proxy_arp on ${iface.name}`, `echo 1 > /proc/sys/net/ipv4/conf/${iface.name}/proxy_arp`]);
    if (iface.dhcp) steps.push([`dhcp on ${iface.name}`, dhcpCommand(iface.name), 'isolated']);
  }
  // After DHCP: a route may go through a gateway that only a DHCP address makes reachable.
  const routes = routeBatch(vm);
  if (routes.length) steps.push(['add routes', native?.routes ? nativeResult(ROUTE_ERRORS) : ipBatchCommand(routes)]);
  for (const [name, value] of Object.entries(vm.sysctl)) {
    steps.push([`sysctl ${name}=${value}`, `echo ${q(value)} > /proc/sys/${name.replace(/\./g, '/')}`]);
  }
  vm.startup.forEach((cmd, i) => steps.push([`startup[${i}]: ${cmd}`, cmd, 'isolated']));
  return steps;
}

/** A shell command that runs `ip` commands (batch lines) in one process: process starts are slow in UML. */
export const ipBatchCommand = (lines: string[]) => `ip -batch - <<'UMLAB_IP'\n${lines.join('\n')}\nUMLAB_IP`;

/** Interfaces up and their addresses: one `ip -batch` input, in order. */
export function ipBatch(vm: VmPlan): string[] {
  return ['link set lo up', ...vm.interfaces.flatMap(interfaceIpCommands)];
}

/** One interface named as the lab says, up, with its addresses: `ip` commands (batch lines). */
export function interfaceIpCommands(iface: InterfacePlan): string[] {
  // Vector devices come up as vecN; the lab calls them ethN (no clash: an eth device keeps its own N).
  const rename = iface.device === undefined ? [] : [`link set dev ${iface.device} name ${iface.name}`];
  // ip picks the family from the address; `-6` is not accepted inside a batch.
  const addresses = iface.addresses.map((addr) => `addr add ${addr} dev ${iface.name}${addr.includes(':') ? ' nodad' : ''}`);
  return [...rename, `link set ${iface.name} up`, ...addresses];
}

/** The `ip -batch` lines umlab-boot makes itself (native/boot.c net_change): IPv4, in the forms umlab writes. */
const IPV4 = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
const DEVICE = String.raw`\S{1,15}`; // IFNAMSIZ - 1
const NATIVE_IP_LINES = [
  new RegExp(`^link set dev ${DEVICE} name ${DEVICE}$`),
  new RegExp(`^link set ${DEVICE} up$`),
  new RegExp(`^addr add ${IPV4}(?:/\\d{1,2})? dev ${DEVICE}$`),
  new RegExp(`^route add (?:default|${IPV4}(?:/\\d{1,2})?)(?: via ${IPV4}(?: dev ${DEVICE})?| dev ${DEVICE})$`),
];
const nativeIp = (lines: string[]) => lines.every((line) => NATIVE_IP_LINES.some((form) => form.test(line)));

/** Where umlab-boot writes the interface change, or the route, that failed, if one did. */
const INTERFACE_ERRORS = '/run/umlab/interfaces.err';
const ROUTE_ERRORS = '/run/umlab/routes.err';
/** Stage 2's step for changes umlab-boot made: it fails with umlab-boot's message. */
const nativeResult = (errors: string) => `[ ! -e ${errors} ] || { read -r error < ${errors}; echo "$error"; false; }`;

/** The lines of ipBatch(vm) and routeBatch(vm) that umlab-boot makes itself over netlink instead
 *  of an `ip` process in stage 2 (~150 ms of CPU a VM): the interfaces when every line is of a form it
 *  knows (IPv4: IPv6 needs `modprobe ipv6` in stage 2 first), the routes too when they are and no
 *  interface waits for DHCP (routes come after it). Only for VMs that umlab-boot boots (no image). */
export function nativeNetwork(vm: VmPlan): { interfaces: string[]; routes?: string[] } | undefined {
  const interfaces = ipBatch(vm);
  if (vm.image !== undefined || !nativeIp(interfaces)) return undefined;
  const routes = routeBatch(vm);
  const routesToo = routes.length > 0 && !vm.interfaces.some((i) => i.dhcp) && nativeIp(routes);
  return routesToo ? { interfaces, routes } : { interfaces };
}

/** nativeNetwork(vm) as umlab-boot's settings read it: each part after its error file. */
function nativeNetworkSettings(vm: VmPlan): string[] {
  const network = nativeNetwork(vm);
  if (!network) return [];
  return [INTERFACE_ERRORS, ...network.interfaces, ...(network.routes ? [ROUTE_ERRORS, ...network.routes] : [])];
}

/** The lab's routes. A DHCP client may already have set the same default route: replace, not add, then. */
export function routeBatch(vm: VmPlan): string[] {
  const verb = vm.interfaces.some((i) => i.dhcp) ? 'replace' : 'add';
  return vm.routes.map((route) => `route ${verb} ${route}`);
}

function isIpv6Route(route: string): boolean {
  return /(^|\s)-6(\s|$)/.test(route) || /[0-9a-f]*:[0-9a-f:]*\//i.test(route) || /via\s+[0-9a-f]*:[0-9a-f:]*/i.test(route);
}

function dhcpCommand(iface: string): string {
  const q = shellQuote(iface);
  return (
    `if command -v dhclient >/dev/null; then dhclient -1 ${q}; ` +
    `elif command -v udhcpc >/dev/null; then udhcpc -n -q -i ${q}; ` +
    `elif command -v busybox >/dev/null; then busybox udhcpc -n -q -i ${q}; ` +
    `else echo 'no DHCP client (dhclient or busybox udhcpc) on this host' >&2; exit 1; fi`
  );
}

/** Where stage 1 (native/boot.c) is in the lab's view of the host (host-view.ts copies it there). */
export const BOOT_IN_VIEW = '/.umlab-boot';
/** Where the native agent (native/agent.c) is in the lab's view of the host, copied there too. */
export const AGENT_IN_VIEW = '/.umlab-agent';
/** The kernel parameter naming stage 1's settings file (it reaches init as an environment variable). */
export const BOOT_SETTINGS_PARAM = 'umlab_boot';

/** Stage 1's settings file (native/boot.c reads it): one value per line. */
export function bootSettings(vm: VmPlan, opts: InitOptions): string {
  const overlayKo = `${opts.modulesDir}/kernel/fs/overlayfs/overlay.ko`;
  // Rootless: the host root's files belong to the overflow uid, so setuid would drop root (see InitOptions).
  const lines = [overlayKo, vm.layerDir, vm.initPath, opts.nosuidRoot ? 'nosuid' : 'suid', AGENT_DEVICE];
  return [...lines, ...nativeNetworkSettings(vm)].join('\n') + '\n';
}

export function initScript(vm: VmPlan, plan: LabPlan): string {
  if (vm.image !== undefined) return initScriptForImage(vm, plan);
  return `${scriptHeader(vm, plan)}
# Stage 1 was umlab-boot (native/boot.c, settings in ${vm.bootSettings}): the overlay root,
# /etc/fstab mounted, the agent line raw.
${stage2(vm, AGENT_IN_VIEW, true)}`;
}

/** Where an image's bootstrap init mounts the host's read-only view (hostfs=<run dir>/rootfs). */
export const IMAGE_HOST_MOUNT = '/var/lib/umlab/host';

/** The init of a VM that boots from an image: run by the image's /sbin/umlab-init, from the host
 *  through IMAGE_HOST_MOUNT. No overlay: the root is the VM's own copy-on-write disk. */
export function initScriptForImage(vm: VmPlan, plan: LabPlan): string {
  return `${scriptHeader(vm, plan)}
# Image stage: the root is this VM's copy-on-write disk (kept until \`umlab clean\`).
# Make it writable and lay the VM's files (hosts, fstab, modules link, lab files) over it.
mount -o remount,rw /
cp -R --remove-destination ${shellQuote(IMAGE_HOST_MOUNT + vm.layerDir)}/. / || echo "umlab: could not copy the VM's files onto its disk" > /dev/console

${stage2(vm, IMAGE_HOST_MOUNT + AGENT_IN_VIEW)}`;
}

/** /sbin/umlab-init inside images made by `umlab image build`: PID 1 mounts the host's
 *  read-only view and runs the init umlab generated for this VM (the ${IMAGE_INIT_PARAM}=
 *  kernel parameter, which the kernel passes to init as an environment variable). */
export function imageBootstrapInit(): string {
  const host = shellQuote(IMAGE_HOST_MOUNT);
  return `#!/bin/sh
# umlab bootstrap init, installed by \`umlab image build\`. Booted by umlab with
# init=/sbin/umlab-init ${IMAGE_INIT_PARAM}=<host path of the VM's generated init>.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ -z "$${IMAGE_INIT_PARAM}" ]; then
  echo "umlab-init: no ${IMAGE_INIT_PARAM}= on the kernel command line; starting /sbin/init" > /dev/console
  exec /sbin/init "$@"
fi
[ -d ${host} ] || { mount -o remount,rw / && mkdir -p ${host}; }
# hostfs is confined by the kernel's hostfs= to a read-only view of the host.
mount -t hostfs -o ro,/ umlab-host ${host} || { echo "umlab-init: cannot mount hostfs" > /dev/console; mount -t proc proc /proc; echo o > /proc/sysrq-trigger; }
exec /bin/sh ${host}"$${IMAGE_INIT_PARAM}"
`;
}

function scriptHeader(vm: VmPlan, plan: LabPlan): string {
  return `#!/bin/sh
# Generated by umlab for VM ${vm.name} of lab ${plan.lab}. Do not edit: \`umlab up\` rewrites it.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
AGENT=${AGENT_DEVICE}
`;
}

/** Stage 2: the lab's configuration, then the agent loop. */
/** `agent`: the VM's path of the native agent. `mounted`: stage 1 (umlab-boot) already mounted
 *  /etc/fstab and set the agent line raw. */
function stage2(vm: VmPlan, agent: string, mounted = false): string {
  const steps = configSteps(vm)
    // The lab's own commands: eval in a subshell, so a syntax error or an `exit` fails only that
    // step. umlab's commands in a group: a fork costs ~15 ms in UML.
    .map(([what, cmd, isolated]) => {
      const run = isolated ? `( eval ${shellQuote(cmd)} )` : `{ ${cmd}\n}`;
      return `${run} > /run/umlab/step.out 2>&1 < /dev/null || step_failed $? ${b64(what)}`;
    })
    .join('\n');
  return `# Stage 2: inside the overlay (or on the image's disk); /etc/fstab comes from the VM's layer.
${mounted ? '# umlab-boot handed this script over as fd 9 (its path may be under a mount now).\nexec 9<&-\n' : 'mount -a\nstty -F $AGENT raw -echo\n'}exec 3<>$AGENT

# Send one line to the host, never interleaved with another writer.
send() { flock /run/umlab/agent.lock cat "$1" >&3; }

# Report a failed configuration step to the host and to the console, then stay up
# (the supervisor collects the console tail and rolls the lab back).
step_failed() {
  { echo "umlab: step failed: $(printf %s "$2" | base64 -d)"; cat /run/umlab/step.out; } > /dev/console
  { printf 'FAIL %s %s ' "$1" "$2"; base64 -w0 < /run/umlab/step.out; echo; } > /run/umlab/fail.msg
  send /run/umlab/fail.msg
  while :; do sleep 3600; done
}

# Ctrl-Alt-Del reboots at once, as on a PC whose init has no handler (\`umlab vm cad\` does the same in a fresh process); a lab's sysctl may undo it.
echo 1 > /proc/sys/kernel/ctrl-alt-del
${steps}

${guestAgentStage(shellQuote(agent))}
`;
}

/** The init options of a plan: its kernel facts (see PlanContext). */
export function initOptions(plan: LabPlan): InitOptions {
  return { kernelVersion: plan.kernelVersion, modulesDir: plan.modulesDir, nosuidRoot: plan.rootless };
}

/** The plan with every VM's init script generated from it (compile, and again after a live link change). */
export function withInits(plan: LabPlan): LabPlan {
  return { ...plan, vms: plan.vms.map((vm) => ({ ...vm, init: initScript(vm, plan) })) };
}
