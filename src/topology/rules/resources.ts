// Rules that bound what a VM asks of the host, so that `up` never starts on a value it
// cannot honour: memory UML can boot with and no host lacks, disks the filesystem takes,
// a root image that is not a host secret or a device.
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../../errors.ts';
import { sizeBytes } from '../vm-plan.ts';
import { memoryMiB } from '../model.ts';
import type { Rule } from './context.ts';

/** Below this UML deadlocked at boot (see memoryMinimum). */
export const MIN_MEMORY_MIB = 96;

/** A data disk larger than this is a typo (100T) or an attack; ext4 files stop at 16T. */
export const MAX_DISK_BYTES = 2 * 1024 ** 4;
export const MAX_DISK = '2T';
/** Per VM; a whole lab's memory is checked against the host at `up` (src/runtime/memory-budget.ts). */
export const MAX_MEMORY_MIB = 64 * 1024;
export const MAX_MEMORY = '64G';

/** Host directories whose files are secrets, kernel interfaces or devices, never a disk image. */
export const FORBIDDEN_IMAGE_DIRS = ['/etc', '/proc', '/sys', '/dev'];

export const diskSizes: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms)
    vm.disks.forEach((disk, i) => {
      // sizeBytes is a float: 99999999999999T is a large number here, not a RangeError.
      if (!(sizeBytes(disk.size) <= MAX_DISK_BYTES))
        out.push(
          ctx.diag(
            ['vms', vm.name, 'disks', i, 'size'],
            'value',
            `disk size ${disk.size} is larger than ${MAX_DISK}`,
            `a data disk may be at most ${MAX_DISK} (it is sparse: 2T costs only what the VM writes)`,
          ),
        );
    });
  return out;
};

export const memoryMaximum: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const hint = `a VM may have at most ${MAX_MEMORY}; \`up\` also checks that the whole lab fits the host's free memory`;
  const tooLarge = (memory: string) => !(memoryMiB(memory) <= MAX_MEMORY_MIB);
  if (ctx.has(['defaults', 'memory'])) {
    const memory = ctx.lab.vms.find((v) => !ctx.has(['vms', v.name, 'memory']))?.memory;
    if (memory !== undefined && tooLarge(memory))
      out.push(ctx.diag(['defaults', 'memory'], 'value', `default memory ${memory} is larger than ${MAX_MEMORY}`, hint));
  }
  for (const vm of ctx.lab.vms)
    if (ctx.has(['vms', vm.name, 'memory']) && tooLarge(vm.memory))
      out.push(ctx.diag(['vms', vm.name, 'memory'], 'value', `memory ${vm.memory} is larger than ${MAX_MEMORY}`, hint));
  return out;
};

/** Where `image:` points, as compile resolves it (relative to the lab file). */
export const imagePath = (labSource: string, image: string) => resolve(dirname(labSource), image);

export const imagePaths: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms) {
    if (vm.image === undefined) continue;
    const at = ['vms', vm.name, 'image'];
    const path = imagePath(ctx.lab.source, vm.image);
    const dir = FORBIDDEN_IMAGE_DIRS.find((d) => path === d || path.startsWith(d + '/'));
    if (dir)
      out.push(
        ctx.diag(at, 'value', `image ${path} is under ${dir}, which holds no disk images`, 'give the path of an image built with `umlab image build OUT.img`'),
      );
    // ubd0=<cow>,<image>: a comma would end the image's name.
    else if (path.includes(','))
      out.push(ctx.diag(at, 'value', `image path ${JSON.stringify(path)} has a comma`, 'UML reads the image path from its command line: rename the file'));
  }
  return out;
};

/** UML deadlocked at boot with less memory (DESIGN.md: mem=48M, "System is deadlocked on memory"). */
export const memoryMinimum: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const hint = `give it at least ${MIN_MEMORY_MIB}M; UML can deadlock at boot below that (memory a VM does not touch costs nothing)`;
  const tooSmall = (memory: string) => memoryMiB(memory) < MIN_MEMORY_MIB;
  if (ctx.has(['defaults', 'memory'])) {
    const memory = ctx.lab.vms.find((v) => !ctx.has(['vms', v.name, 'memory']))?.memory;
    if (memory !== undefined && tooSmall(memory))
      out.push(ctx.diag(['defaults', 'memory'], 'value', `default memory ${memory} is below ${MIN_MEMORY_MIB}M`, hint));
  }
  for (const vm of ctx.lab.vms) {
    if (ctx.has(['vms', vm.name, 'memory']) && tooSmall(vm.memory))
      out.push(ctx.diag(['vms', vm.name, 'memory'], 'value', `memory ${vm.memory} is below ${MIN_MEMORY_MIB}M`, hint));
  }
  return out;
};
