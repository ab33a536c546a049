// `umlab image build`: a Debian root filesystem image that umlab can boot a VM from.
// debootstrap into a directory, umlab's bootstrap init in /sbin/umlab-init, then
// `mkfs.ext4 -d`, which fills the filesystem from the directory: no loop mount needed.
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  ftruncateSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { LabRuntimeError, MissingDependencyError, UsageError } from '../errors.ts';
import { IMAGE_BOOTSTRAP_INIT } from '../topology/init-script.ts';
import { sizeBytes } from '../topology/vm-plan.ts';
import { IMAGE_HOST_MOUNT, imageBootstrapInit } from '../vm/init.ts';
import { findCommand } from './host.ts';
import { expandPackages } from './image-profiles.ts';
import { readTextOrEmpty } from '../util/files.ts';

/** What umlab's generated init runs inside an image VM, beyond the Essential packages of
 *  minbase (sh, mount, flock, setsid, stty, base64, cp...): ip, modprobe, and ping for labs. */
export const IMAGE_BASE_PACKAGES = ['iproute2', 'kmod', 'iputils-ping'];

export interface ImageBuildOptions {
  out: string;
  suite: string;
  packages: string[];
  /** e.g. "1G"; default: what the files need plus room to work. */
  size?: string;
  mirror?: string;
  force?: boolean;
  log: (line: string) => void;
}

/** The Debian mirror apt on this machine uses (sources.list or deb822 .sources files). */
export function aptMirror(files = aptSourceFiles()): string | null {
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.sources')) {
      // deb822: stanzas separated by blank lines, "URIs: ..." and "Suites: ..."
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim();
        if (/^enabled:\s*no/im.test(stanza) || !/\bdeb\b/.test(field('Types') ?? '')) continue;
        const uri = field('URIs')?.split(/\s+/)[0];
        if (uri && isDebianMain(uri, field('Suites') ?? '')) return uri;
      }
    } else {
      for (const line of text.split('\n')) {
        const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m && isDebianMain(m[1], m[2])) return m[1];
      }
    }
  }
  return null;
}

const isDebianMain = (uri: string, suites: string) => /debian\/?$/.test(uri) && !/security|updates|backports/.test(suites.split(/\s+/)[0] ?? '');

function aptSourceFiles(): string[] {
  const dir = '/etc/apt/sources.list.d';
  const extra = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.list') || f.endsWith('.sources'))
        .sort()
        .map((f) => join(dir, f))
    : [];
  return ['/etc/apt/sources.list', ...extra];
}

export async function buildImage(opts: ImageBuildOptions): Promise<{ out: string; bytes: number; allocated: number }> {
  const out = resolve(opts.out);
  refuseUnbuildable(opts, out);
  const mirror = opts.mirror ?? aptMirror() ?? 'http://deb.debian.org/debian';
  mkdirSync(dirname(out), { recursive: true });
  // Next to the output: same filesystem, and never in a tmpfs too small for a root tree.
  const tree = mkdtempSync(join(dirname(out), `.${basename(out)}.tree-`));
  const tmpImage = join(dirname(out), `.${basename(out)}.partial`);
  const interruption = removeOnInterrupt(tree, tmpImage);
  try {
    await debootstrap(opts, tree, mirror, interruption.watchGroup);
    prepareTree(tree);
    await makeFilesystem(opts, tree, tmpImage);
    renameSync(tmpImage, out);
    const st = statSync(out);
    return { out, bytes: st.size, allocated: st.blocks * 512 };
  } finally {
    interruption.off();
    rmSync(tree, { recursive: true, force: true });
    rmSync(tmpImage, { force: true });
  }
}

/** Refuses, before anything is written, a build that cannot succeed or would overwrite. */
function refuseUnbuildable(opts: ImageBuildOptions, out: string): void {
  if (process.getuid?.() !== 0)
    throw new UsageError('umlab image build needs root (debootstrap installs packages as root into the new tree)', {
      hint: `run: sudo umlab image build ${opts.out}`,
    });
  for (const [cmd, pkg] of [
    ['debootstrap', 'debootstrap'],
    ['mkfs.ext4', 'e2fsprogs'],
  ] as const)
    if (!findCommand(cmd))
      throw new MissingDependencyError(`${cmd} is missing on this host`, {
        hint: `install it with: sudo apt-get install -y ${pkg}   (or run: bash scripts/setup.sh)`,
      });
  if (existsSync(out) && !opts.force) throw new UsageError(`${out} already exists`, { hint: 'pick another name, or add --force to replace it' });
  if (opts.size !== undefined && !/^[1-9][0-9]*[MGT]$/.test(opts.size))
    throw new UsageError(`bad size "${opts.size}"`, { hint: 'e.g. --size 1G or --size 800M' });
}

/** Ctrl-C or SIGTERM: debootstrap's process group stops too, and no half-built tree or image is left. */
function removeOnInterrupt(tree: string, tmpImage: string): { watchGroup(pid: number | undefined): void; off(): void } {
  let group: number | undefined;
  const interrupted = (signal: NodeJS.Signals) => {
    // debootstrap runs dpkg and tar: kill its whole process group and wait for it, then clean up.
    if (group !== undefined) {
      try {
        process.kill(-group, 'SIGKILL');
        for (let i = 0; i < 100; i++) {
          process.kill(-group, 0);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
      } catch {
        // the group is gone
      }
    }
    rmSync(tree, { recursive: true, force: true, maxRetries: 5 });
    rmSync(tmpImage, { force: true });
    process.stderr.write(`umlab: image build interrupted (${signal}); nothing was kept\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  return {
    watchGroup: (pid) => void (group = pid),
    off() {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
    },
  };
}

/** debootstrap (minbase plus the packages asked for) into `tree`; its errors and warnings logged. */
async function debootstrap(opts: ImageBuildOptions, tree: string, mirror: string, watchGroup: (pid: number | undefined) => void): Promise<void> {
  // Profile names (frr, bind9, kathara, ...: image-profiles.ts) stand for their packages.
  const include = [...new Set([...IMAGE_BASE_PACKAGES, ...expandPackages(opts.packages)])];
  opts.log(`debootstrap ${opts.suite} from ${mirror} (minbase + ${include.join(', ')})`);
  // In a private mount namespace: the /proc and /sys debootstrap mounts in the tree go away with it, even when it fails.
  const run = execa(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'debootstrap', '--variant=minbase', `--include=${include.join(',')}`, opts.suite, tree, mirror],
    {
      all: true,
      reject: false,
      // Its own process group, so an interrupted build can stop all of it (see removeOnInterrupt).
      detached: true,
    },
  );
  watchGroup(run.pid);
  run.all?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (/^[EW]:/.test(line) || (/^I:/.test(line) && !/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) /.test(line))) opts.log(`  ${line}`);
  });
  const r = await run;
  if (r.exitCode === 0) return;
  const log = readTextOrEmpty(join(tree, 'debootstrap/debootstrap.log'));
  throw new LabRuntimeError(`debootstrap failed (exit code ${r.exitCode})`, {
    hint: [
      String(r.all ?? '')
        .trim()
        .split('\n')
        .slice(-10)
        .join('\n'),
      log.trim().split('\n').slice(-10).join('\n'),
    ]
      .filter(Boolean)
      .join('\n'),
  });
}

/** umlab's bootstrap init and host mount point in the tree; apt's downloads out of it. */
function prepareTree(tree: string): void {
  // umlab's bootstrap init, and its mount point for the host's read-only view (so it never
  // has to remount the root to create it).
  const init = join(tree, IMAGE_BOOTSTRAP_INIT);
  writeFileSync(init, imageBootstrapInit());
  chmodSync(init, 0o755);
  mkdirSync(join(tree, IMAGE_HOST_MOUNT), { recursive: true });
  writeFileSync(join(tree, 'etc/hostname'), 'umlab\n');
  // Downloaded packages and indexes are of no use inside a lab VM.
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists'])
    for (const f of readdirSync(join(tree, dir)))
      if (f.endsWith('.deb') || (dir.endsWith('lists') && f !== 'partial' && f !== 'lock')) rmSync(join(tree, dir, f), { force: true });
}

/** The ext4 image at `tmpImage`, filled from `tree` by `mkfs.ext4 -d`, sized for it unless --size. */
async function makeFilesystem(opts: ImageBuildOptions, tree: string, tmpImage: string): Promise<void> {
  const used = Number((await execa('du', ['-sb', tree])).stdout.split(/\s/)[0]);
  // Room for the filesystem's own metadata and for what the VMs write (they write to their COW files, but a
  // merged image keeps it): a quarter more plus 256M, in whole megabytes.
  const bytes = opts.size !== undefined ? sizeBytes(opts.size) : Math.ceil((used * 1.25 + 256 * 2 ** 20) / 2 ** 20) * 2 ** 20;
  opts.log(`mkfs.ext4 -d: ${(used / 2 ** 20).toFixed(0)} MiB of files into a ${(bytes / 2 ** 20).toFixed(0)} MiB image`);
  rmSync(tmpImage, { force: true });
  const fd = openSync(tmpImage, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  const mkfs = await execa('mkfs.ext4', ['-q', '-F', '-L', 'umlab-root', '-d', tree, tmpImage], { all: true, reject: false });
  if (mkfs.exitCode !== 0)
    throw new LabRuntimeError(`mkfs.ext4 -d failed (exit code ${mkfs.exitCode})`, {
      hint: `${String(mkfs.all ?? '').trim()}${opts.size ? '\nis --size large enough?' : ''}`,
    });
}
