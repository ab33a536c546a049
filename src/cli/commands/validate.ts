// `umlab validate`: check lab files and report every problem with file:line:col.
import { UsageError } from '../../errors.ts';
import { loadLab } from '../lab-file.ts';
import { plural } from '../../util/text.ts';
import type { CommandSpec } from '../args.ts';
import { json, out } from '../format.ts';

const validate: CommandSpec = {
  name: 'validate',
  summary: 'check a lab file and report every problem with file:line:col',
  usage: 'umlab validate <lab.yaml> [--json]',
  options: [
    '  --json         print {"ok": true} or {"ok": false, "errors": [...]}',
    '  --strict       Kathará/Netkit lab directories: unsupported devices and unknown options are errors',
  ],
  examples: ['umlab validate labs/two-hosts.yaml', 'umlab validate labs/*.yaml'],
  notes: ['Exit code 0 when every file is valid, 3 when one is not.'],
  parse: { json: { type: 'boolean' }, strict: { type: 'boolean' } },
  async run(args) {
    if (args.positionals.length === 0) throw new UsageError('missing lab file', { hint: 'usage: umlab validate <lab.yaml>' });
    let failed = 0;
    const results: unknown[] = [];
    for (const file of args.positionals) {
      try {
        const lab = await loadLab(file, { strict: Boolean(args.values.strict) });
        results.push({ file, ok: true, lab: lab.name });
        if (!args.values.json) out(`${file}: ok (lab ${lab.name}: ${plural(lab.vms.length, 'VM')}, ${plural(lab.segments.length, 'segment')})\n`);
      } catch (e) {
        if (!(e instanceof Error && 'diagnostics' in e) || !args.values.json) throw e;
        failed++;
        results.push({ file, ok: false, errors: (e as { diagnostics: unknown }).diagnostics });
      }
    }
    if (args.values.json) json(args.positionals.length === 1 ? results[0] : results);
    return failed ? 3 : 0;
  },
};

export { validate as validateCommand };
