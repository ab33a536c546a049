// `umlab web`: serves the web view of a running lab (or of a lab file, offline)
// until Ctrl-C. The page itself lives in web/; the server in src/web/.
import { NotFoundError, UsageError } from '../../errors.ts';
import { findLab } from '../../runtime/lab.ts';
import { readPlan, umlabHome } from '../../runtime/paths.ts';
import type { LabPlan } from '../../topology/plan.ts';
import { startWebServer } from '../../web/server.ts';
import type { CommandSpec } from '../args.ts';
import { compileLabFile } from '../lab-file.ts';

const isLabFile = (arg: string) => /\.ya?ml$/i.test(arg);

export const webCommand: CommandSpec = {
  name: 'web',
  summary: 'serve a page with the lab drawn live: VM states, link counters, packets on every link',
  usage: 'umlab web [NAME | lab.yaml] [--port N] [--json] | umlab web lab.yaml --offline',
  options: [
    '  --port N       listen on 127.0.0.1:N (default: a free port)',
    '  --offline      draw a lab file that is not running (no live state, no packets)',
    '  --json         print {"url", "lab", "offline"} as one JSON line instead of a sentence',
  ],
  notes: [
    'Listens on 127.0.0.1 only and prints the address; open it in a browser (none is',
    'started for you). Click a link for its latest frames, live, with a filter box and',
    'a pcap download; click a VM for its addresses, routes and console. Runs until',
    'Ctrl-C. NAME may be left out when exactly one lab runs; a lab file names its lab.',
  ],
  examples: ['umlab web', 'umlab web two-hosts --port 8080', 'umlab web labs/router.yaml --offline'],
  parse: { port: { type: 'string' }, offline: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args) {
    const target = args.positionals[0];
    const port = parsePort(args.values.port as string | undefined);
    let plan: LabPlan;
    let runDir: string | null = null;
    if (args.values.offline) {
      if (!target || !isLabFile(target)) throw new UsageError('--offline draws a lab file', { hint: 'usage: umlab web lab.yaml --offline' });
      plan = await compileLabFile(target);
    } else {
      const name = target && isLabFile(target) ? (await compileLabFile(target)).lab : target;
      const record = findLab(umlabHome(), name);
      if (!record.alive)
        throw new NotFoundError(`lab ${record.lab} is not running (its supervisor is gone)`, {
          hint: `clean up with: umlab down ${record.lab}; or draw its file with --offline`,
        });
      runDir = record.runDir;
      plan = readPlan(runDir);
    }

    const server = await startWebServer({ plan, runDir, port });
    if (args.values.json) process.stdout.write(JSON.stringify({ url: server.url, lab: plan.lab, offline: runDir === null }) + '\n');
    else process.stdout.write(`umlab web: lab ${plan.lab}${runDir ? '' : ' (offline)'} at ${server.url}  (Ctrl-C stops)\n`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    if (!args.values.json) process.stderr.write(`umlab web: stopped (${signal})\n`);
    return 0;
  },
};

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port "${text}"`, { hint: 'a number from 1 to 65535' });
  return port;
}
