// `umlab clean`, `umlab disk ...` and `umlab image build`: the disks a lab keeps across
// `down`/`up` (COW files over images, data disks) and the images VMs boot from.
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { LabRuntimeError, MissingDependencyError, NotFoundError, UsageError } from '../../errors.ts';
import { checkCow, labDisks, labsWithDisks, readCowHeader, removeLabDisks } from '../../runtime/disks.ts';
import { cowFile } from '../../planner/compile.ts';
import { findCommand } from '../../runtime/host.ts';
import { buildImage } from '../../runtime/image.ts';
import { ALL_PROFILES } from '../../runtime/image-profiles.ts';
import { listLabs } from '../../runtime/lab.ts';
import { disksDirFor, umlabHome } from '../../runtime/paths.ts';
import { checkLabName, table, requirePositional, type CommandSpec } from '../args.ts';

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);
const json = (v: unknown) => out(JSON.stringify(v, null, 2) + '\n');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)}M`;

/** Disks are only touched while their lab is down: a running VM writes to them. */
function refuseIfRunning(home: string, lab: string, what: string): void {
  const record = listLabs(home).find((l) => l.lab === lab);
  if (!record) return;
  throw new UsageError(`lab ${lab} is ${record.alive ? 'running' : 'not cleaned up (its supervisor is gone)'}; ${what} needs it down`, {
    hint: `first: umlab down ${lab}`,
  });
}

export const cleanCommand: CommandSpec = {
  name: 'clean',
  summary: "remove a lab's kept disks: the VMs' copy-on-write files and data disks",
  usage: 'umlab clean NAME | --all [--json]',
  options: ["  --all          every lab's disks", '  --json         print the labs cleaned as JSON'],
  notes: [
    '`umlab down` keeps the disks of a lab in $UMLAB_HOME/disks/<lab>/, so what its VMs',
    'wrote survives until the next `up`. `clean` drops them: the next `up` starts from the',
    'images and from empty data disks. The lab must be down. Images are never touched.',
  ],
  examples: ['umlab clean two-hosts', 'umlab clean --all'],
  parse: { all: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args) {
    const home = umlabHome();
    if (!args.values.all && !args.positionals[0]) throw new UsageError('say which lab, or --all', { hint: `usage: ${cleanCommand.usage}` });
    const labs = args.values.all ? labsWithDisks(home) : [checkLabName(args.positionals[0])];
    for (const lab of labs) refuseIfRunning(home, lab, 'cleaning its disks');
    const results = labs.map((lab) => {
      const files = labDisks(home, lab);
      const removed = removeLabDisks(home, lab);
      if (!args.values.json)
        out(
          removed
            ? `lab ${lab}: removed ${files.length} disk file(s) (${mib(files.reduce((n, f) => n + f.allocated, 0))} on disk)\n`
            : `lab ${lab}: no disks kept\n`,
        );
      return { lab, removed, files: files.map((f) => f.name) };
    });
    if (args.values.json) json(args.values.all ? results : results[0]);
    else if (labs.length === 0) out('no lab has disks kept\n');
    return 0;
  },
};

/** The lab holding `<vm>.cow`: the given one, or the only one that has it. */
function labOfCow(home: string, vm: string, lab: string | undefined): string {
  if (lab !== undefined) {
    checkLabName(lab);
    if (!existsSync(cowFile(disksDirFor(home, lab), vm)))
      throw new NotFoundError(`lab ${lab} has no copy-on-write file for VM ${vm}`, {
        hint: `VMs with an \`image:\` get one at their first boot; see: umlab disk list ${lab}`,
      });
    return lab;
  }
  const labs = labsWithDisks(home).filter((l) => existsSync(cowFile(disksDirFor(home, l), vm)));
  if (labs.length === 1) return labs[0];
  if (labs.length === 0) throw new NotFoundError(`no lab has a copy-on-write file for VM ${vm}`, { hint: 'umlab disk list shows the disks that are kept' });
  throw new UsageError(`labs ${labs.join(', ')} each have a VM ${vm}; say which with --lab NAME`);
}

const diskUsage = 'umlab disk list [NAME] [--json] | umlab disk merge VM [--lab NAME] [--into NEW.img | --in-place] [--json]';

export const diskCommand: CommandSpec = {
  name: 'disk',
  summary: "list a lab's kept disks, or merge a VM's copy-on-write file into a new image",
  usage: diskUsage,
  options: [
    '  --lab NAME     the lab (may be left out when only one lab has that VM)',
    '  --into NEW     merge into this new image (default: <image>-<VM>.img next to the image)',
    '  --in-place     merge into the image itself: every other COW file over it becomes unusable',
    '  --json         machine-readable output',
  ],
  notes: [
    'list   every kept disk with its size and the space it really takes (COW files and data',
    '       disks are sparse), and whether each COW file still matches its image',
    "merge  fold a VM's copy-on-write file and its image into a new image with uml_moo; the",
    "       old image and the COW file stay as they are. Point the lab's `image:` at the new",
    '       one and `umlab clean` the lab to boot from it. The lab must be down.',
  ],
  examples: ['umlab disk list', 'umlab disk merge web --into images/web-configured.img', 'umlab disk merge web --lab shop --in-place'],
  parse: { lab: { type: 'string' }, into: { type: 'string' }, 'in-place': { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args) {
    const sub = requirePositional(args, 0, 'list or merge', diskCommand);
    const home = umlabHome();
    if (sub === 'list') {
      const labs = args.positionals[1] ? [checkLabName(args.positionals[1])] : labsWithDisks(home);
      const rows = labs.flatMap((lab) =>
        labDisks(home, lab).map((f) => {
          const cow = f.name.endsWith('.cow') ? readCowHeader(f.path) : null;
          const state = cow ? (existsSync(cow.backingFile) ? (checkCow(f.path, cow.backingFile) ? 'image changed' : 'ok') : 'image missing') : '';
          return { lab, file: f.name, path: f.path, bytes: f.bytes, allocated: f.allocated, ...(cow && { image: cow.backingFile, state }) };
        }),
      );
      if (args.values.json) json(rows);
      else if (rows.length === 0) out('no disks are kept\n');
      else
        out(
          table(
            ['LAB', 'FILE', 'SIZE', 'ON DISK', 'IMAGE'],
            rows.map((r) => [r.lab, r.file, mib(r.bytes), mib(r.allocated), r.image ? `${r.image} (${r.state})` : '-']),
          ),
        );
      return 0;
    }
    if (sub !== 'merge') throw new UsageError(`unknown disk subcommand ${sub}`, { hint: `usage: ${diskUsage}` });
    const vm = requirePositional(args, 1, 'VM name', diskCommand);
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(vm)) throw new UsageError(`bad VM name "${vm}"`, { hint: 'a VM name of the lab: lowercase letters, digits and dashes' });
    const lab = labOfCow(home, vm, args.values.lab as string | undefined);
    refuseIfRunning(home, lab, 'merging a disk');
    if (!findCommand('uml_moo'))
      throw new MissingDependencyError('uml_moo is missing on this host', { hint: 'install it with: sudo apt-get install -y uml-utilities' });
    const cow = cowFile(disksDirFor(home, lab), vm);
    const header = readCowHeader(cow);
    if (!header) throw new LabRuntimeError(`${cow} is not a UML copy-on-write file`);
    if (!existsSync(header.backingFile)) throw new NotFoundError(`the image ${header.backingFile} that ${vm}'s COW file was made over is gone`);
    const problem = checkCow(cow, header.backingFile);
    if (problem) throw new LabRuntimeError(`cannot merge: ${problem}`, { hint: 'the COW file only makes sense over the image as it was; restore it first' });

    if (args.values['in-place']) {
      if (args.values.into) throw new UsageError('--into and --in-place exclude each other');
      err(`umlab: merging ${vm}'s changes INTO ${header.backingFile} itself; copy-on-write files of other VMs over it become unusable\n`);
      const r = await execa('uml_moo', ['-d', cow], { all: true, reject: false });
      if (r.exitCode !== 0) throw new LabRuntimeError(`uml_moo -d failed (exit code ${r.exitCode})`, { hint: String(r.all ?? '') });
      // The COW file is now stale (its image changed): drop it, as a clean of this VM would.
      rmSync(cow, { force: true });
      if (args.values.json) json({ lab, vm, image: header.backingFile, inPlace: true });
      else out(`merged ${vm}'s changes into ${header.backingFile}; its COW file was removed (the next up starts a new one)\n`);
      return 0;
    }
    const image = header.backingFile;
    const into = resolve(String(args.values.into ?? join(dirname(image), `${basename(image, extname(image))}-${vm}${extname(image) || '.img'}`)));
    if (existsSync(into)) throw new UsageError(`${into} already exists`, { hint: 'merge never overwrites: pick another name with --into' });
    const r = await execa('uml_moo', [cow, into], { all: true, reject: false });
    if (r.exitCode !== 0) throw new LabRuntimeError(`uml_moo failed (exit code ${r.exitCode})`, { hint: String(r.all ?? '') });
    const st = statSync(into);
    if (args.values.json) json({ lab, vm, image, into, bytes: st.size, allocated: st.blocks * 512 });
    else
      out(
        `merged ${vm}'s changes and ${image} into ${into} (${mib(st.size)}, ${mib(st.blocks * 512)} on disk); ${image} is unchanged\n` +
          `to boot from it: set \`image: ${into}\` in the lab file, then: umlab clean ${lab}\n`,
      );
    return 0;
  },
};

export const imageCommand: CommandSpec = {
  name: 'image',
  summary: 'build a Debian root filesystem image that lab VMs can boot from (`image:`)',
  usage: 'umlab image build OUT.img [--suite bookworm] [--packages a,b] [--size 1G] [--mirror URL] [--force] [--json]',
  options: [
    '  --suite S      Debian suite (default bookworm)',
    '  --packages L   more packages or profiles, comma-separated (always: iproute2, kmod, iputils-ping);',
    `                 profiles: ${Object.keys(ALL_PROFILES).join(', ')}`,
    '  --size N       image size, e.g. 1G (default: what the files need plus a quarter and 256M)',
    '  --mirror URL   Debian mirror (default: the one apt on this machine uses)',
    '  --force        replace OUT.img if it exists',
    '  --json         print {image, bytes, allocated} as JSON',
  ],
  notes: [
    'Needs root and the debootstrap and e2fsprogs packages. debootstrap (minbase) fills a',
    "directory next to OUT.img, umlab's bootstrap init goes to /sbin/umlab-init, and",
    '`mkfs.ext4 -d` turns the directory into the image: no loop device, no mount. A few',
    'minutes, mostly downloading. The image is sparse; VMs never write to it.',
  ],
  examples: [
    'sudo umlab image build images/debian.img',
    'sudo umlab image build images/web.img --packages nginx-light,curl --size 2G',
    'sudo umlab image build images/routers.img --packages frr,tcpdump',
  ],
  parse: {
    suite: { type: 'string' },
    packages: { type: 'string' },
    size: { type: 'string' },
    mirror: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const sub = requirePositional(args, 0, 'build', imageCommand);
    if (sub !== 'build') throw new UsageError(`unknown image subcommand ${sub}`, { hint: `usage: ${imageCommand.usage}` });
    const target = requirePositional(args, 1, 'image file', imageCommand);
    const started = Date.now();
    const result = await buildImage({
      out: target,
      suite: String(args.values.suite ?? 'bookworm'),
      packages: String(args.values.packages ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      ...(args.values.size !== undefined && { size: String(args.values.size) }),
      ...(args.values.mirror !== undefined && { mirror: String(args.values.mirror) }),
      force: Boolean(args.values.force),
      log: (line) => err(`${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s  ${line}\n`),
    });
    if (args.values.json) json({ image: result.out, bytes: result.bytes, allocated: result.allocated });
    else out(`image ${result.out}: ${mib(result.bytes)} (${mib(result.allocated)} on disk); boot a VM from it with \`image: ${result.out}\`\n`);
    return 0;
  },
};
