// `umlab capture list|show`: a lab's captured links, and the decoded frames of one.
import { existsSync } from 'node:fs';
import { readCapture } from '../../capture/decode.ts';
import { NotFoundError, UsageError } from '../../errors.ts';
import { findLab } from '../../runtime/lab.ts';
import { readPlan, umlabHome } from '../../runtime/paths.ts';
import { requirePositional, table, type CommandSpec } from '../args.ts';
import { json, out } from '../format.ts';
import { liveStatus } from '../lab-request.ts';

const capture: CommandSpec = {
  name: 'capture',
  summary: 'list the captured links of a lab, or show the frames of one',
  usage: 'umlab capture list [--lab NAME] [--json] | umlab capture show [--lab NAME] [--json] LINK',
  options: ['  --lab NAME     the lab (may be left out when exactly one lab runs)', '  --json         machine-readable output'],
  notes: ['LINK is a link name from `capture list` (e.g. h1.eth0), or a pcap file path.'],
  examples: ['umlab capture list', 'umlab capture show h1.eth0', 'umlab capture show --json r1.eth1--r2.eth0 | jq ".[].summary"'],
  parse: { lab: { type: 'string' }, json: { type: 'boolean' } },
  async run(args) {
    const sub = requirePositional(args, 0, 'list or show', capture);
    if (sub === 'show' && args.positionals[1] && existsSync(args.positionals[1]) && args.positionals[1].endsWith('.pcap'))
      return showFrames(args.positionals[1], Boolean(args.values.json));
    const record = findLab(umlabHome(), args.values.lab as string | undefined);
    const status = await liveStatus(record);
    const links = status?.links ?? [];
    if (sub === 'list') {
      if (args.values.json) json(links);
      else
        out(
          table(
            ['LINK', 'SEGMENT', 'FRAMES IN', 'FRAMES OUT', 'CAPTURE'],
            links.map((l) => [l.link, l.segment, String(l.rxFrames), String(l.txFrames), l.capture ?? 'off']),
          ),
        );
      return 0;
    }
    if (sub !== 'show') throw new UsageError(`unknown capture subcommand ${sub}`, { hint: `usage: ${capture.usage}` });
    const name = requirePositional(args, 1, 'link name', capture);
    // A point-to-point link also answers to either of its ends (VM.ethN), as its plan lists them.
    const byEnd = () => readPlan(record.runDir).links.find((l) => l.endpoints.some((e) => `${e.vm}.${e.iface}` === name))?.name;
    const exact = links.find((l) => l.link === name);
    const endName = exact ? undefined : byEnd();
    const link = exact ?? links.find((l) => l.link === endName);
    if (!link) throw new NotFoundError(`no link ${name} in lab ${record.lab}`, { hint: `links: ${links.map((l) => l.link).join(', ')}` });
    if (!link.capture) throw new NotFoundError(`capture is off for link ${link.link}`);
    return showFrames(link.capture, Boolean(args.values.json));
  },
};

async function showFrames(path: string, asJson: boolean): Promise<number> {
  const frames = await readCapture(path);
  if (asJson) json(frames);
  else for (const f of frames) out(f.summary + '\n');
  return 0;
}

export { capture as captureCommand };
