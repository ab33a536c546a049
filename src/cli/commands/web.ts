// `umlab web`: serves the web view of a running lab (or of a lab file, offline)
// until Ctrl-C. The page itself lives in web/; the server in src/web/.
import { isIP } from 'node:net';
import { NotFoundError, UsageError } from '../../errors.ts';
import { findLab } from '../../runtime/lab.ts';
import { readPlan, umlabHome } from '../../runtime/paths.ts';
import type { LabPlan } from '../../topology/plan.ts';
import { loadToken } from '../../web/auth.ts';
import { startWebServer } from '../../web/server.ts';
import type { CommandSpec } from '../args.ts';
import { compileLabFile, isKatharaLab } from '../lab-file.ts';

const isLabFile = (arg: string) => /\.ya?ml$/i.test(arg) || isKatharaLab(arg);

export const webCommand: CommandSpec = {
  name: 'web',
  summary: 'serve a page with the lab drawn live: VM states, link counters, packets on every link',
  usage: 'umlab web [NAME | lab.yaml] [--port N] [--listen ADDR] [--json] | umlab web lab.yaml --offline',
  options: [
    '  --port N       listen on port N (default: a free port)',
    '  --listen ADDR  listen on ADDR instead of 127.0.0.1 (a classroom server: 0.0.0.0);',
    '                 every request must still show the token',
    '  --offline      draw a lab file that is not running (no live state, no packets)',
    '  --json         print {"url", "lab", "offline"} as one JSON line instead of a sentence',
  ],
  notes: [
    'Listens on 127.0.0.1 and prints the address with a token (kept 0600 in',
    '$UMLAB_HOME/web.token); a request without it gets 403. Open it in a browser (none is',
    'started for you). Click a link for its latest frames, live, with a filter box and',
    'a pcap download; click a VM for its addresses, routes and a terminal on its console.',
    'Runs until Ctrl-C. NAME may be left out when exactly one lab runs; a lab file names its lab.',
  ],
  examples: ['umlab web', 'umlab web two-hosts --port 8080', 'umlab web --listen 0.0.0.0 --port 8080', 'umlab web labs/router.yaml --offline'],
  parse: { port: { type: 'string' }, listen: { type: 'string' }, offline: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args) {
    const target = args.positionals[0];
    const port = parsePort(args.values.port as string | undefined);
    const listen = parseListen(args.values.listen as string | undefined);
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

    // Before anything listens: no token, no server.
    const token = loadToken(umlabHome());
    const server = await startWebServer({ plan, runDir, port, listen, token });
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

function parseListen(text: string | undefined): string {
  if (text === undefined) return '127.0.0.1';
  if (!isIP(text) && text !== 'localhost')
    throw new UsageError(`bad --listen address "${text}"`, { hint: 'an IP address: 0.0.0.0 for every interface, or one of this host' });
  return text;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port "${text}"`, { hint: 'a number from 1 to 65535' });
  return port;
}
