// A class of two students (s1, s2) with labs/two-hosts.yaml, served by `umlab class serve` as a
// child process on 127.0.0.1, and its invitation links: the set-up of the class's browser tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanHome, CLI_ARGS, lab, umlabOk } from './helpers.ts';
import { freePort } from './net-helpers.ts';

export interface ServedClass {
  dir: string;
  /** The class's UMLAB_HOME, where its labs run. */
  home: string;
  base: string;
  port: number;
  /** Each id's (s1, s2, teacher) invitation link, from `umlab class invite --json`. */
  links: Map<string, string>;
  /** Stops the server with SIGTERM (the labs keep running) and waits for it to exit. */
  stopServer(): Promise<void>;
  /** For `after()` hooks: kills the server, takes every lab of the class down, removes the directory. */
  remove(): Promise<void>;
}

/** Starts `umlab class serve CLASS_FILE --listen ADDR` (the CLI's UMLAB_HOME is `userHome`) and
 *  resolves once it says it listens at `base`; rejects with its output if it exits first. */
export async function startClassServe(classFile: string, listen: string, base: string, userHome: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'class', 'serve', classFile, '--listen', listen], {
    env: { ...process.env, UMLAB_HOME: userHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes(`at ${base} `)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`class serve exited ${code}:\n${output}`)));
  });
  return child;
}

export async function serveClass(name: string, fromPort: number): Promise<ServedClass> {
  const dir = mkdtempSync(join(tmpdir(), `umlab-${name}-`));
  const classFile = join(dir, 'CLASS.yaml');
  mkdirSync(join(dir, 'labs'));
  copyFileSync(lab('two-hosts.yaml'), join(dir, 'labs', 'two-hosts.yaml'));
  writeFileSync(
    classFile,
    `name: ${name}\nroster:\n  - { id: s1, name: Student One }\n  - { id: s2, name: Student Two }\nassignments:\n  - { id: two-hosts, lab: labs/two-hosts.yaml }\n`,
  );
  const port = await freePort({ from: fromPort });
  const base = `http://127.0.0.1:${port}`;
  // The CLI's own UMLAB_HOME: the class must not use it.
  const userHome = join(dir, 'user-home');
  let server: ChildProcess | null = null;
  const home = join(dir, `${name}.class`, 'home');
  const stopServer = async () => {
    if (!server) return;
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    server = null;
  };
  const remove = async () => {
    server?.kill('SIGKILL');
    server = null;
    await cleanHome(home);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    server = await startClassServe(classFile, `127.0.0.1:${port}`, base, userHome);
    const invite = await umlabOk(userHome, ['class', 'invite', classFile, '--json']);
    const links = new Map((JSON.parse(invite.stdout) as { id: string; url: string }[]).map((l) => [l.id, l.url]));
    return { dir, home, base, port, links, stopServer, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
