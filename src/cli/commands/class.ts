// `umlab class invite|serve`: a class on one server. The class itself is in src/class/; this
// is its command line: invitations printed from the class's store, and the server run until Ctrl-C.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Principal } from '../../class/access.ts';
import { TEACHER_ID } from '../../class/class-file.ts';
import { loadClassFile, type LoadedClass } from '../../class/load-class.ts';
import { ClassGrading } from '../../class/grading.ts';
import { Handins } from '../../class/handins.ts';
import { LocalPlacement } from '../../class/local-placement.ts';
import { classPaths, ensureClassDir } from '../../class/paths.ts';
import { readServerRecord, serverRunning, writeServerRecord } from '../../class/server-file.ts';
import { startClassServer } from '../../class/server.ts';
import { ClassService } from '../../class/service.ts';
import { ClassStore } from '../../class/store.ts';
import { NotFoundError, UsageError } from '../../errors.ts';
import { freeMemoryMiB } from '../../runtime/memory-budget.ts';
import { plural } from '../../util/text.ts';
import { requirePositional, type CommandSpec } from '../args.ts';
import { err, json, out } from '../format.ts';

/** The memory budget when the class file gives none and /proc/meminfo does not say. */
const FALLBACK_BUDGET_MIB = 4096;

const classCommand: CommandSpec = {
  name: 'class',
  summary: 'a class on one server: invitation links, and the server students and the teacher use',
  usage: 'umlab class serve CLASS.yaml [--listen ADDR:PORT] | umlab class invite CLASS.yaml [--student ID | --teacher | --revoke ID] [--url BASE] [--json]',
  options: [
    '  --listen ADDR:PORT  serve: listen there (default 127.0.0.1, on the last port or a free one);',
    '                      invite: the address for the links when the server is not running',
    '  --student ID        invite: a new link for this student only',
    '  --teacher           invite: a new link for the teacher only',
    '  --revoke ID         invite: end the link and sessions of student ID (or "teacher"), issue none',
    "  --url BASE          invite: the links' base as students reach it, e.g. https://class.example.org",
    "                      (a TLS proxy in front), instead of the server's own address",
    '  --json              invite: [{"id", "role", "url"}] instead of lines',
  ],
  notes: [
    'The class keeps its state in <name>.class/ next to CLASS.yaml (owner-only): a SQLite',
    'database with the roster, the hashes of invitation tokens and sessions, the labs and an',
    'audit log, and the UMLAB_HOME of its labs. `invite` prints "<id> <link>" per student and one',
    'for the teacher; a token is shown once (only its hash is kept), so inviting again replaces',
    'the earlier links and ends their sessions. Stopping the server leaves running labs running:',
    'the next `serve` re-attaches to them. See docs/class.md.',
    'Exit codes: 2 usage, 3 invalid class file, 4 not found, 6 runtime error.',
  ],
  examples: [
    'umlab class serve net101.yaml',
    'umlab class serve net101.yaml --listen 0.0.0.0:8024',
    'umlab class invite net101.yaml',
    'umlab class invite net101.yaml --student s7',
    'umlab class invite net101.yaml --url https://class.example.org',
    'umlab class invite net101.yaml --revoke s7',
  ],
  parse: {
    listen: { type: 'string' },
    student: { type: 'string' },
    teacher: { type: 'boolean' },
    revoke: { type: 'string' },
    url: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const sub = requirePositional(args, 0, 'serve or invite', classCommand);
    const file = requirePositional(args, 1, 'class file', classCommand);
    const listen = args.values.listen === undefined ? null : parseListen(args.values.listen as string);
    if (sub === 'invite') return invite(loadClassFile(file), args.values, listen);
    if (sub === 'serve') return serve(loadClassFile(file), listen);
    throw new UsageError(`unknown class subcommand ${sub}`, { hint: `usage: ${classCommand.usage}` });
  },
};

/** "ADDR:PORT", "ADDR" or ":PORT" (then 127.0.0.1), as web's --listen takes an address. */
function parseListen(text: string): { address: string; port: number | null } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text);
  const address = (m?.[1] ?? m?.[2]) || '127.0.0.1';
  const port = m?.[3] === undefined ? null : Number(m[3]);
  if (!m || (!isIP(address) && address !== 'localhost') || (port !== null && (port < 1 || port > 65535)))
    throw new UsageError(`bad --listen "${text}"`, { hint: 'ADDR:PORT, e.g. 127.0.0.1:8024 or 0.0.0.0:8024 (every interface)' });
  return { address, port };
}

function openStore(loaded: LoadedClass): { store: ClassStore; paths: ReturnType<typeof classPaths> } {
  const paths = classPaths(loaded.file, loaded.spec.name);
  ensureClassDir(paths);
  const store = new ClassStore(paths.db);
  store.syncRoster(loaded.spec.roster);
  return { store, paths };
}

async function invite(loaded: LoadedClass, values: Record<string, unknown>, listen: { address: string; port: number | null } | null): Promise<number> {
  const { store, paths } = openStore(loaded);
  try {
    const ids = new Set(loaded.spec.roster.map((s) => s.id));
    const principal = (id: string): Principal => {
      if (id === TEACHER_ID) return { role: 'teacher' };
      if (!ids.has(id)) throw new NotFoundError(`no student ${id} in class ${loaded.spec.name}`, { hint: `students: ${[...ids].join(', ')}` });
      return { role: 'student', id };
    };
    if (typeof values.revoke === 'string') {
      const revoked = store.revoke(principal(values.revoke));
      store.event({ actor: 'teacher (cli)', action: 'revoke', target: values.revoke, outcome: 'ok', detail: revoked ? '' : 'nothing to revoke' });
      if (values.json) json({ revoked: values.revoke, changed: revoked });
      else out(`${values.revoke}: ${revoked ? 'link revoked, sessions ended' : 'had no link'}\n`);
      return 0;
    }
    const base = typeof values.url === 'string' ? parseBaseUrl(values.url) : inviteBase(paths.server, listen);
    const who: Principal[] =
      typeof values.student === 'string'
        ? [principal(values.student)]
        : values.teacher
          ? [{ role: 'teacher' }]
          : [...loaded.spec.roster.map((s): Principal => ({ role: 'student', id: s.id })), { role: 'teacher' }];
    const links = who.map((p) => ({
      id: p.role === 'teacher' ? TEACHER_ID : p.id,
      role: p.role,
      url: `${base}/join/${store.issueToken(p)}`,
    }));
    store.event({ actor: 'teacher (cli)', action: 'invite', target: links.map((l) => l.id).join(' '), outcome: 'ok', detail: '' });
    if (values.json) json(links);
    else for (const l of links) out(`${l.id} ${l.url}\n`);
    return 0;
  } finally {
    store.close();
  }
}

/** --url: an http(s) origin (a path prefix of the proxy is kept), without a trailing slash. */
function parseBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new UsageError(`bad --url "${text}"`, { cause, hint: 'e.g. https://class.example.org' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`bad --url "${text}": http or https`, { hint: 'e.g. https://class.example.org' });
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The server's address as it wrote it, or --listen's. */
function inviteBase(serverFile: string, listen: { address: string; port: number | null } | null): string {
  if (listen) {
    if (listen.port === null) throw new UsageError('--listen needs a port for invitation links', { hint: 'e.g. --listen 127.0.0.1:8024' });
    return `http://${listen.address.includes(':') ? `[${listen.address}]` : listen.address}:${listen.port}`;
  }
  const record = readServerRecord(serverFile);
  if (!record)
    throw new UsageError('the class server has not run yet: its address is not known', {
      hint: 'start it first (umlab class serve CLASS.yaml), or give the address: --listen ADDR:PORT',
    });
  if (!serverRunning(record)) err(`note: the class server is not running now; the links use its last address, ${record.url}\n`);
  return record.url;
}

async function serve(loaded: LoadedClass, listen: { address: string; port: number | null } | null): Promise<number> {
  const { store, paths } = openStore(loaded);
  const last = readServerRecord(paths.server);
  if (serverRunning(last)) {
    store.close();
    throw new UsageError(`class ${loaded.spec.name} is already served, at ${last!.url} (pid ${last!.pid})`, { hint: 'one server per class directory' });
  }
  let meminfo = '';
  try {
    meminfo = readFileSync('/proc/meminfo', 'utf8');
  } catch {
    // no /proc: the fallback budget
  }
  const budgetMiB = loaded.spec.limits.memoryBudgetMiB ?? freeMemoryMiB(meminfo) ?? FALLBACK_BUDGET_MIB;
  const log = (line: string) => err(`umlab class: ${line}\n`);
  const placement = new LocalPlacement(paths.home, log);
  const service = new ClassService({ loaded, store, placement, budgetMiB, log });
  await service.init();
  const handins = new Handins({ loaded, store, placement, submissionsDir: paths.submissions });
  const grading = new ClassGrading({
    loaded,
    store,
    gradesDir: paths.grades,
    // Apart from the students' labs: the class's placement never sees a grading lab.
    home: paths.gradeHome,
    budgetMiB: () => Math.max(0, service.budgetMiB - service.classView().usedMiB),
    log,
  });
  const address = listen?.address ?? '127.0.0.1';
  // The last port by default: invitation links stay valid across restarts.
  const port = listen?.port ?? (last && last.listen === address ? last.port : 0);
  const server = await startClassServer({ name: loaded.spec.name, service, store, handins, grading, listen: address, port });
  writeServerRecord(paths.server, { url: server.url, listen: address, port: server.port, pid: process.pid });
  store.event({ actor: 'server', action: 'serve', target: server.url, outcome: 'ok', detail: `budget ${budgetMiB} MiB` });
  out(
    `umlab class: ${loaded.spec.name} at ${server.url} (${plural(loaded.spec.roster.length, 'student')}, ${plural(loaded.spec.assignments.length, 'assignment')}, memory budget ${budgetMiB} MiB)  (Ctrl-C stops)\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  service.close();
  await grading.stop();
  await service.settled();
  store.close();
  err(`umlab class: stopped (${signal}); running labs keep running\n`);
  return 0;
}

export { classCommand };
