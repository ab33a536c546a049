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
// Pure: the plan in, a shell script out; the supervisor runs it as root of its namespace.
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

/** The built native helpers the script runs or copies (buildNative), needed when the view has VMs:
 *  views.c makes the VMs' views, boot.c is their stage 1 (BOOT_IN_VIEW), agent.c their agent
 *  (AGENT_IN_VIEW). */
export interface ViewHelpers {
  views: string;
  boot: string;
  agent: string;
}

export function hostViewScript(view: HostView, helpers?: ViewHelpers): string {
  if (view.vms.length && !helpers) throw new LabRuntimeError('the VMs of a host view need its native helpers');
  const t = shellQuote(view.target);
  const q = shellQuote;
  const ro = view.binds.filter((b) => !b.rw);
  const rw = view.binds.filter((b) => b.rw);
  return `set -e
T=${t}
mkdir -p "$T"
mount -t tmpfs -o mode=0755,size=4m umlab-hostview "$T"
${helpers ? `# Stage 1 and the agent of every VM (native/boot.c, agent.c), where each VM's hostfs root shows them.\ncp ${q(helpers.boot)} "$T${BOOT_IN_VIEW}"\ncp ${q(helpers.agent)} "$T${AGENT_IN_VIEW}"` : ''}
# The top level: system directories bound read-only, symlinks (/bin -> usr/bin) as they are,
# everything else an empty directory.
for e in /* /.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=\${e#/}
  if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$T/$n"; continue; fi
  [ -d "$e" ] || continue
  case " ${VISIBLE_SYSTEM_DIRS.join(' ')} " in
    *" $n "*) mkdir "$T/$n"; mount --rbind "$e" "$T/$n" ;;
    *) case " ${STICKY_DIRS.join(' ')} " in *" $n "*) mkdir -m 1777 "$T/$n" ;; *) mkdir -m 0755 "$T/$n" ;; esac ;;
  esac
done
mkdir -p "$T/.umlab-masked/dir"
: > "$T/.umlab-masked/file"
chmod 0444 "$T/.umlab-masked/file"
# Mount points of the shares and of each VM's own directory, made while the view's top is still writable.
${view.binds.map((b) => `mkdir -p ${q(view.target + b.path)}`).join('\n')}
${view.vms.length ? `mkdir -p ${view.vms.map((v) => `${q(v.ownDir)} ${q(view.target + v.ownDir)}`).join(' ')}` : ''}
${ro.map((b) => `mount --bind ${q(b.path)} ${q(view.target + b.path)}`).join('\n')}
# Everything in the view read-only, keeping the flags the kernel locks. nosymfollow: the host
# must never follow a symlink in the view (/var/run -> /run, /proc/self/root lead out of it);
# VMs still read links, and hostfs resolves them in the VM.
awk -v d="$T" '$5==d || index($5, d"/")==1 {print $5" "$6}' /proc/self/mountinfo | while read -r mp opts; do
  o=ro,nosymfollow
  for f in nosuid nodev noexec relatime noatime nodiratime strictatime; do
    case ",$opts," in *,$f,*) o="$o,$f";; esac
  done
  mount -o remount,bind,$o "$mp" || { echo "umlab: could not make $mp read-only" >&2; exit 1; }
done
# Secrets: whatever other users may not read is replaced by an empty file or directory (read-only). Each
# filesystem under the scanned directories is walked on its own (-xdev), FUSE ones not at all.
{
  for d in ${SCANNED_FOR_SECRETS.map((d) => `"$T/${d}"`).join(' ')}; do [ -d "$d" ] && echo "$d"; done
  awk -v d="$T" '{ for (i = 7; $i != "-"; i++); if ($(i+1) ~ /^fuse/) next
    ${SCANNED_FOR_SECRETS.map((d) => `if (index($5, d"/${d}/") == 1) print $5`).join('; ')} }' /proc/self/mountinfo
} | sort -u | while IFS= read -r root; do
  find "$root" -xdev \\( -type d \\( ! -perm -o=r -o ! -perm -o=x \\) -print -prune \\) -o \\( -type f ! -perm -o=r -print \\) 2>/dev/null || true
done | while IFS= read -r p; do
  if [ -d "$p" ]; then m=dir; else m=file; fi
  mount --bind -o ro,nosymfollow,nosuid,nodev "$T/.umlab-masked/$m" "$p"
done
# Read-write shares: no device nodes, no set-id files on the host, whatever the VM's root does.
${rw.map((b) => `mount --bind ${q(b.path)} ${q(view.target + b.path)}\nmount -o remount,bind,rw,nosymfollow,nosuid,nodev ${q(view.target + b.path)}`).join('\n')}
mount --make-rprivate "$T"
# Each VM's view: a copy of the lab's, with that VM's own directory bound in read-only. One
# process for them all (native/views.c): with 150 VMs a mount(8) per step took 15 s.
${helpers && view.vms.length ? vmViewsInput(view, helpers.views) : ''}
# Prove it: writes through the views must fail.
for p in "$T" "$T/usr" "$T/etc"${view.vms.map((v) => ` ${q(v.view)} ${q(v.view + v.ownDir)}`).join('')}; do
  if touch "$p/.umlab-rw-probe" 2>/dev/null; then rm -f "$p/.umlab-rw-probe"; echo "umlab: the host view is writable at $p" >&2; exit 1; fi
done
`;
}

function vmViewsInput(view: HostView, helper: string): string {
  const lines = view.vms.map((v) => [view.target, v.view, v.ownDir]);
  // The helper reads tab-separated lines: a path holding a tab or a newline would be misread.
  for (const path of lines.flat()) if (/[\t\n]/.test(path)) throw new LabRuntimeError(`a run directory path holds a tab or a newline: ${JSON.stringify(path)}`);
  return `${shellQuote(helper)} <<'UMLAB_VIEWS'\n${lines.map((l) => l.join('\t')).join('\n')}\nUMLAB_VIEWS`;
}
