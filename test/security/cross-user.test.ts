// Attacks on a lab from outside it: another local account (nobody, every privilege dropped)
// at a root lab's console port, and a hostile lab author's files: escape and rw share of "/".
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { assertNothingLeft, cleanHome, makeHome, NOBODY, umlab, umlabOk } from '../vm/helpers.ts';
import { freePort } from '../vm/net-helpers.ts';

/** As nobody: connect to the port, wait for the key prompt, send `typed`, print what came back. */
const CLIENT = `
const s = require('node:net').connect(Number(process.argv[1]), '127.0.0.1');
let got = '';
s.on('data', (d) => { got += d.toString('latin1'); if (/type the line key/.test(got) && !s.sent) { s.sent = true; s.write(process.argv[2] + '\\r\\n'); } });
s.on('close', () => { process.stdout.write(got); process.exit(0); });
s.on('error', (e) => { process.stdout.write('ERROR ' + e.message); process.exit(1); });
setTimeout(() => { process.stdout.write(got + '\\nSTILL-OPEN'); process.exit(0); }, 15000);
`;

const asNobody = (argv: string[]) =>
  execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--', ...argv], { reject: false, timeout: 30_000 });

describe('from another account and from a hostile lab file', { skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user' }, () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it("another user cannot read a root lab's line key, and its guesses at the console port reach nothing", async () => {
    const port = await freePort({ from: 47100 }); // a quiet range: the port is written into the lab file
    const file = join(home, 'lab.yaml');
    writeFileSync(file, `name: xuser\ncapture: false\nvms:\n  h1: { console: port, console_port: ${port} }\n`);
    await umlabOk(home, ['up', '-q', file]);
    const keyFile = join(home, 'labs', 'xuser', 'line.key');
    const read = await asNobody(['cat', keyFile]);
    assert.notEqual(read.exitCode, 0, 'nobody read the line key');
    const guess = await asNobody([process.execPath, '-e', CLIENT, String(port), 'echo pwned-$((40+2))']);
    assert.match(guess.stdout, /wrong key/, guess.stdout + guess.stderr);
    assert.doesNotMatch(guess.stdout, /pwned-42|STILL-OPEN/);
    assert.doesNotMatch(readFileSync(join(home, 'labs', 'xuser', 'vms', 'h1', 'console.log'), 'utf8'), /pwned/);
    await umlabOk(home, ['down', 'xuser']);
    await assertNothingLeft(home, 'xuser');
  });

  it('a lab whose files: climb out of the VM, or that shares "/" read-write, is refused and writes nothing', async () => {
    const target = join('/tmp', `umlab-pwned-${process.pid}`);
    const file = join(home, 'evil.yaml');
    writeFileSync(file, `name: evil\nvms:\n  h1:\n    files: { "/../../../../..${target}": "x" }\n    shares: { /mnt/all: { path: /, rw: true } }\n`);
    for (const command of ['validate', 'up']) {
      const r = await umlab(home, [command, file]);
      assert.equal(r.exitCode, 3, `${command}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /evil\.yaml:4:\d+: .*"\.\." component/);
      assert.match(r.stderr, /evil\.yaml:5:\d+: a read-write share of the host's whole filesystem/);
    }
    assert.equal(existsSync(target), false, `${target} was written`);
    await assertNothingLeft(home, 'evil');
  });
});
