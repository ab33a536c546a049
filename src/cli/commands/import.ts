// `umlab import`: a Kathará/Netkit lab directory -> the equivalent umlab YAML lab file, for
// teachers who move their labs over (the directory itself is never changed).
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { LabFileError, UsageError, formatDiagnostic } from '../../errors.ts';
import { loadKatharaContents } from '../../kathara/load.ts';
import { readLabDir } from '../../kathara/read-dir.ts';
import { imageCacheDir } from '../../runtime/image-cache.ts';
import { parseLab } from '../../planner/load.ts';
import { plural } from '../../util/text.ts';
import { requirePositional, type CommandSpec } from '../args.ts';
import { err, out } from '../format.ts';

const importCmd: CommandSpec = {
  name: 'import',
  summary: 'turn a Kathará or Netkit lab directory into a umlab YAML lab file',
  usage: 'umlab import LABDIR [-o lab.yaml] [--force] [--strict]',
  options: [
    '  -o, --output F write the lab to F (default: print it); paths in it are relative to F',
    '  --force        replace F if it exists',
    '  --strict       unsupported devices and unknown options are errors',
  ],
  notes: [
    'LABDIR holds lab.conf, lab.dep, a directory and/or .startup file per device, shared/ and',
    'optionally umlab.yaml (tests: and umlab settings). The YAML lab runs the same: collision',
    'domains become switches, device trees become files:, startup files run from files: at boot.',
    'umlab up/test/web also take LABDIR directly. See docs/kathara.md.',
  ],
  examples: ['umlab import labs/kathara/rip-frr -o rip.yaml', 'umlab import ~/kathara-labs/ospf > ospf.yaml'],
  parse: { output: { type: 'string', short: 'o' }, force: { type: 'boolean' }, strict: { type: 'boolean' } },
  async run(args) {
    const dir = requirePositional(args, 0, 'lab directory', importCmd);
    const output = args.values.output === undefined ? undefined : String(args.values.output);
    if (output && existsSync(output) && !args.values.force)
      throw new UsageError(`${output} already exists`, { hint: 'pick another name, or add --force to replace it' });
    const contents = readLabDir(dir);
    const outDir = resolve(output ? dirname(output) : '.');
    // Shares name the lab directory relative to where the YAML file will be.
    const labPath = (rel: string) => relative(outDir, join(contents.dir, rel)) || '.';
    const result = loadKatharaContents(contents, { imageCache: imageCacheDir(), strict: Boolean(args.values.strict), labPath });
    for (const w of result.warnings) err(`warning: ${formatDiagnostic(w)}\n`);
    if (!result.lab) throw new LabFileError(result.errors);
    // What is written must load as it is, from where it is written.
    const target = output ?? join(outDir, 'lab.yaml');
    const check = parseLab(result.yaml, target);
    if ('errors' in check) throw new LabFileError(check.errors);
    if (!output) {
      out(result.yaml);
      return 0;
    }
    const tmp = `${output}.partial-${process.pid}`;
    writeFileSync(tmp, result.yaml);
    renameSync(tmp, output);
    err(
      `wrote ${output}: lab ${check.lab.name} (${plural(check.lab.vms.length, 'VM')}, ${plural(check.lab.segments.length, 'segment')}, ${plural(check.lab.tests.length, 'check')})\n`,
    );
    return 0;
  },
};

export { importCmd as importCommand };
