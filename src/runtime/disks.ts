// A lab's disks and shares on the host: data disks as sparse files, the copy-on-write
// files of VMs that boot from an image, and host directories shared into VMs.
//
// Disks live in the plan's disksDir ($UMLAB_HOME/disks/<lab>), outside the run
// directory, so `umlab down` keeps them and the next `up` finds the VMs' changes;
// `umlab clean` removes them.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LabRuntimeError, NotFoundError, UsageError } from '../errors.ts';
import type { LabPlan, SharePlan } from '../topology/plan.ts';
import { COW_HEADER_BYTES, cowMismatch, parseCowHeader, type CowHeader } from '../vm/cow.ts';
import { shellQuote } from '../vm/init.ts';
import { disksDirFor } from './paths.ts';

/** Reads a COW file's header; null when the file is not a COW file. */
export function readCowHeader(path: string): CowHeader | null {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(COW_HEADER_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return parseCowHeader(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** What is wrong with a VM's COW file over `image`, or null when UML will accept it. */
export function checkCow(cow: string, image: string): string | null {
  const header = readCowHeader(cow);
  if (!header) return `${cow} is not a UML copy-on-write file`;
  const st = statSync(image, { bigint: true });
  const problem = cowMismatch(header, { mtimeMs: Number(st.mtimeMs), size: st.size });
  return problem && `the image ${image} changed since ${cow} was made over it: ${problem}`;
}

/**
 * Host side of a lab's disks and shares, before anything of the lab starts (run by `up`
 * as the calling user, so the files belong to that user, also in rootless labs):
 * shared directories must exist; images must exist and match their VM's COW file (UML
 * would refuse to boot otherwise, with a message only in the console log); data disks
 * are created as sparse files, or grown to a larger size. Share paths become real paths,
 * since the host follows no symlink inside the read-only view that hostfs is confined to.
 */
export function prepareDisks(plan: LabPlan): void {
  checkNoSymlinkInRunDir(plan);
  for (const vm of plan.vms) {
    for (const share of vm.shares) share.hostPath = realShareDir(vm.name, share);
    if (vm.image !== undefined) {
      if (!existsSync(vm.image))
        throw new NotFoundError(`image ${vm.image} of VM ${vm.name} does not exist`, {
          hint: `build one with: umlab image build ${shellQuote(vm.image)}   (or fix \`image:\` in ${plan.source})`,
        });
      checkImageFile(vm.name, vm.image);
      const cow = vm.rootCow;
      if (cow !== undefined && existsSync(cow)) {
        const problem = checkCow(cow, vm.image);
        if (problem)
          throw new LabRuntimeError(`VM ${vm.name} cannot boot: ${problem}`, {
            hint:
              `UML refuses a copy-on-write file whose image changed (size or modification time). Either:\n` +
              `  - put the image back as it was (same content and mtime, e.g. touch -d @${readCowHeader(cow)?.mtime ?? 0} ${shellQuote(vm.image)}), or\n` +
              `  - drop the VMs' changes and start over from the image: umlab clean ${plan.lab}\n` +
              `To keep a VM's changes, merge them into a new image before changing the old one: umlab disk merge ${vm.name} --lab ${plan.lab} --into NEW.img`,
          });
      }
    }
    if (vm.disks.length === 0 && vm.image === undefined) continue;
    mkdirSync(plan.disksDir, { recursive: true });
    for (const disk of vm.disks) {
      const created = !existsSync(disk.file);
      const fd = openSync(disk.file, created ? 'w+' : 'r+');
      try {
        const size = statSync(disk.file).size;
        if (size > disk.bytes)
          throw new LabRuntimeError(`data disk ${disk.file} of VM ${vm.name} is ${size} bytes, larger than the ${disk.size} the lab asks for`, {
            hint: `shrinking would cut off data: set the size back, or start over with: umlab clean ${plan.lab}`,
          });
        // Sparse: truncate allocates nothing; a larger size grows the disk, the data stays.
        if (size < disk.bytes) growDisk(fd, disk.file, disk.size, disk.bytes, vm.name);
      } catch (error) {
        // No empty file left behind by a disk that could not be made.
        if (created) rmSync(disk.file, { force: true });
        throw error;
      } finally {
        closeSync(fd);
      }
    }
  }
}

/** ftruncate with the filesystem's refusals (EFBIG, ENOSPC, a size past any file offset) as clear errors. */
function growDisk(fd: number, file: string, size: string, bytes: number, vm: string): void {
  try {
    if (!Number.isSafeInteger(bytes)) throw Object.assign(new Error('size out of range'), { code: 'EFBIG' });
    ftruncateSync(fd, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EFBIG' || code === 'EINVAL' || code === 'ENOSPC' || error instanceof RangeError)
      throw new LabRuntimeError(
        `data disk ${file} of VM ${vm} cannot be ${size}: the filesystem of ${dirname(file)} refuses a file that large (${code ?? 'out of range'})`,
        {
          cause: error,
          hint: 'give the disk a smaller `size:` (at most 2T, and what this filesystem allows), or set UMLAB_HOME to a filesystem that takes larger files',
        },
      );
    throw error;
  }
}

/** A root image must be a regular file the user can read: never a device, FIFO or directory. */
function checkImageFile(vm: string, image: string): void {
  const st = statSync(image);
  if (!st.isFile())
    throw new UsageError(`image ${image} of VM ${vm} is not a regular file`, { hint: 'give the path of an image built with `umlab image build OUT.img`' });
  try {
    closeSync(openSync(image, 'r'));
  } catch (error) {
    throw new UsageError(`image ${image} of VM ${vm} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
      hint: 'the user running umlab must be able to read the image',
    });
  }
}

/** VMs mount their file layer (in the run directory) through the read-only view, where the
 *  host follows no symlink: a symlink in the run directory's path would fail every boot. */
function checkNoSymlinkInRunDir(plan: LabPlan): void {
  let dir = plan.runDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const real = realpathSync(dir);
  if (real !== dir)
    throw new UsageError(`the lab's run directory ${plan.runDir} goes through a symlink (${dir} is ${real})`, {
      hint: `VMs reach it through a view of the host that follows no symlinks; set UMLAB_HOME to a real path: UMLAB_HOME=${dirname(dirname(real + plan.runDir.slice(dir.length)))}`,
    });
}

function realShareDir(vm: string, share: SharePlan): string {
  let real: string;
  try {
    real = realpathSync(share.hostPath);
  } catch {
    throw new NotFoundError(`shared directory ${share.hostPath} of VM ${vm} (${share.mountPoint}) does not exist`, {
      hint: `create it first: mkdir -p ${shellQuote(share.hostPath)}`,
    });
  }
  if (!statSync(real).isDirectory()) throw new UsageError(`shared path ${share.hostPath} of VM ${vm} (${share.mountPoint}) is not a directory`);
  if (/[,\n]/.test(real))
    throw new UsageError(`shared directory ${real} of VM ${vm} has a comma or newline in its real path`, {
      hint: 'hostfs takes the directory as its mount option; rename it',
    });
  return real;
}

/** The disk files of a lab that is not running; [] when it has none. */
export function labDisks(home: string, lab: string): { name: string; path: string; bytes: number; allocated: number }[] {
  const dir = disksDirFor(home, lab);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const st = statSync(join(dir, name));
      return { name, path: join(dir, name), bytes: st.size, allocated: st.blocks * 512 };
    });
}

/** Labs that have disks kept in this home. */
export function labsWithDisks(home: string): string[] {
  const dir = join(home, 'disks');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Removes a lab's disks (COW files and data disks). The caller checks the lab is not running. */
export function removeLabDisks(home: string, lab: string): boolean {
  const dir = disksDirFor(home, lab);
  if (!existsSync(dir)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}
