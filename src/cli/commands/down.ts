// `umlab down`: stop a lab (or all), keep its captures and console logs in an archive.
import { basename } from 'node:path';
import { labDisks } from '../../runtime/disks.ts';
import { describeFrameCounts, type IncompleteCapture } from '../../runtime/capture-report.ts';
import { downLab, findLab, listLabs, type LabRecord } from '../../runtime/lab.ts';
import { disksDirFor, umlabHome } from '../../runtime/paths.ts';
import type { CommandSpec } from '../args.ts';
import { json, out } from '../format.ts';

const down: CommandSpec = {
  name: 'down',
  summary: 'stop a lab and remove everything of it (captures are kept)',
  usage: 'umlab down [NAME] [--all] [--json]',
  options: ['  --all          stop every lab', '  --json         print {lab, archive} as JSON'],
  notes: [
    'Halts the VMs, stops the engines, flushes the captures and moves them (with the',
    'console logs) to $UMLAB_HOME/captures/<lab>-<time>/. Also cleans up after a',
    'supervisor that was killed. NAME may be left out when exactly one lab runs.',
    'Disks (data disks, COW files of image VMs) stay in $UMLAB_HOME/disks/<lab>/ for the',
    'next `up`; `umlab clean NAME` removes them.',
  ],
  examples: ['umlab down two-hosts', 'umlab down', 'umlab down --all'],
  parse: { all: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args) {
    const home = umlabHome();
    const records: LabRecord[] = args.values.all ? listLabs(home) : [findLab(home, args.positionals[0])];
    const results = [];
    for (const record of records) {
      const result = await downLab(home, record);
      results.push(result);
      if (!args.values.json) out(`lab ${result.lab} stopped${result.archive ? `; captures and console logs kept in ${result.archive}` : ''}\n`);
      for (const c of args.values.json ? [] : result.incompleteCaptures) out(`  ${basename(c.capture)} is incomplete: ${c.reason}${howMuch(c)}\n`);
      if (!args.values.json && labDisks(home, result.lab).length)
        out(`its disks are kept for the next up in ${disksDirFor(home, result.lab)} (umlab clean ${result.lab} drops them)\n`);
    }
    if (args.values.json) json(args.values.all ? results : results[0]);
    return 0;
  },
};

/** " (738 of ~1805 frames the link carried are in the file)", else the frames known missing. */
function howMuch(c: IncompleteCapture): string {
  const counts = describeFrameCounts(c);
  if (counts) return ` (${counts}${c.missingFrames ? `; ${c.missingFrames} known missing` : ''})`;
  return c.missingFrames ? ` (${c.missingFrames} frames missing)` : '';
}

export { down as downCommand };
