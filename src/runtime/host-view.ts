// What a VM sees of the host: hostfs is confined (`hostfs=<view>`) to a curated, read-only
// tree built in the lab's private mount namespace, never to the host's whole `/`.
//   - the system directories programs need (/usr, /etc, /opt, /var, /bin, /sbin, /lib*),
//     read-only, with every file or directory under /etc, /opt, /var and /usr/local that
//     other users may not read masked by an empty one (shadow, SSH host keys, TLS keys,
//     other users' mail and crontabs, databases, root-only logs): the VM sees what any
//     local user without a home could read, even when root started it;
//   - empty directories for everything else at the top (/root, /home, /srv, /tmp, /mnt,
//     /boot, /work, ...);
//   - the lab's shares (read-only, or read-write without device nodes or set-id bits).
// Each VM gets its own copy of that view (`hostfs=<its view>`) with only its own directory
// (init script, layer, console log) bound in, read-only: no VM reads another's files.
// Pure: the plan in, a shell script out (steps for native/views.c); the supervisor runs it as
// root of its namespace.
import { LabRuntimeError } from '../errors.ts';
import { AGENT_IN_VIEW, BOOT_IN_VIEW, shellQuote } from '../vm/init.ts';
import { vmLayout } from '../topology/layout.ts';
import type { LabPlan } from '../topology/plan.ts';

/** Top-level host directories a VM gets (read-only); anything else is an empty directory. */
export const VISIBLE_SYSTEM_DIRS = ['usr', 'etc', 'opt', 'var', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
/** Where secrets of the host's admin and users live among those: masked unless world-readable. */
export const SCANNED_FOR_SECRETS = ['etc', 'opt', 'var', 'usr/local'];
/** Top-level directories that are writable by all in a normal root, so the VM's overlay keeps them so. */
const STICKY_DIRS = ['tmp'];

export interface HostView {
  /** Where the view is built (the plan's `rootfs`, given to UML as `hostfs=`). */
  target: string;
  /** Host directories bound into the view at their own path: the lab's shares. */
  binds: { path: string; rw: boolean }[];
  /** Per VM: its own view (a copy of the lab's) and the one directory of the lab it may read. */
  vms: { view: string; ownDir: string }[];
}

export function hostViewOf(plan: LabPlan): HostView {
  const shares = plan.vms.flatMap((vm) => vm.shares.map((s) => ({ path: s.hostPath, rw: s.rw })));
  const byPath = new Map<string, boolean>();
  for (const s of shares) byPath.set(s.path, (byPath.get(s.path) ?? false) || s.rw);
  // Parents first, so a share inside another share stays visible.
  const binds = [...byPath].map(([path, rw]) => ({ path, rw })).sort((a, b) => a.path.split('/').length - b.path.split('/').length);
  // Each VM's init script and layer, read by its kernel through hostfs: its own directory only.
  const vms = plan.vms.map((vm) => ({ view: vm.hostView, ownDir: vmLayout(plan.runDir, vm.name).dir }));
  return { target: plan.rootfs, binds, vms };
}

/** The built native helpers the script runs or copies (buildNative): views.c builds the views,
 *  boot.c is the VMs' stage 1 (BOOT_IN_VIEW), agent.c their agent (AGENT_IN_VIEW). */
export interface ViewHelpers {
  views: string;
  boot: string;
  agent: string;
}

/** The script that builds `view`: a list of steps for umlab-views (native/views.c, one process;
 *  the format is described there), the host's top-level entries listed by the shell. */
export function hostViewScript(view: HostView, helpers: ViewHelpers): string {
  const t = view.target;
  const masks = `${t}/.umlab-masked`;
  const ro = view.binds.filter((b) => !b.rw);
  const rw = view.binds.filter((b) => b.rw);
  const steps: string[][] = [
    ['masks', masks],
    // Mount points of the shares and of each VM's own directory, made while the view's top is still writable.
    ...view.binds.map((b) => ['dir', t + b.path]),
    ...view.vms.flatMap((v) => [
      ['dir', v.ownDir],
      ['dir', t + v.ownDir],
    ]),
    ...ro.map((b) => ['bind', b.path, t + b.path]),
    // Everything in the view read-only, keeping the flags the kernel locks. nosymfollow: the host
    // must never follow a symlink in the view (/var/run -> /run, /proc/self/root lead out of it);
    // VMs still read links, and hostfs resolves them in the VM.
    ['readonly', t],
    // Secrets: whatever other users may not read is replaced by an empty file or directory (read-only).
    ...SCANNED_FOR_SECRETS.map((d) => ['scan', `${t}/${d}`, masks]),
    // Read-write shares: no device nodes, no set-id files on the host, whatever the VM's root does.
    ...rw.map((b) => ['share', b.path, t + b.path]),
    ['private', t],
    // Each VM's view: a copy of the lab's, with that VM's own directory bound in read-only.
    ...view.vms.map((v) => ['view', t, v.view, v.ownDir]),
    // Prove it: writes through the views must fail.
    ...[t, `${t}/usr`, `${t}/etc`, ...view.vms.flatMap((v) => [v.view, v.view + v.ownDir])].map((p) => ['probe', p]),
  ];
  // The helper reads tab-separated lines: a path holding a tab or a newline would be misread.
  for (const path of steps.flat())
    if (/[\t\n]/.test(path)) throw new LabRuntimeError(`a path of the host view holds a tab or a newline: ${JSON.stringify(path)}`);
  const line = (fields: string[]) => fields.join('\t');
  return `set -e
T=${shellQuote(t)}
mkdir -p "$T"
{
printf '%s\n' ${shellQuote(line(['tmpfs', t]))} ${shellQuote(line(['copy', helpers.boot, t + BOOT_IN_VIEW]))} ${shellQuote(line(['copy', helpers.agent, t + AGENT_IN_VIEW]))}
# The top level: system directories bound read-only, symlinks (/bin -> usr/bin) as they are,
# everything else an empty directory.
for e in /* /.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=\${e#/}
  if [ -L "$e" ]; then printf 'symlink\t%s\t%s\n' "$e" "$T/$n"; continue; fi
  [ -d "$e" ] || continue
  case " ${VISIBLE_SYSTEM_DIRS.join(' ')} " in
    *" $n "*) printf 'rbind\t%s\t%s\n' "$e" "$T/$n" ;;
    *) case " ${STICKY_DIRS.join(' ')} " in *" $n "*) printf 'dir\t%s\t1777\n' "$T/$n" ;; *) printf 'dir\t%s\t0755\n' "$T/$n" ;; esac ;;
  esac
done
cat <<'UMLAB_VIEW_STEPS'
${steps.map(line).join('\n')}
UMLAB_VIEW_STEPS
} | ${shellQuote(helpers.views)}
`;
}
