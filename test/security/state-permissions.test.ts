// A lab's state is its owner's alone, even with UMLAB_HOME in a world-traversable place:
// from a second account (nobody, every privilege dropped), try to list the labs, read the
// plan, console log, a capture and the supervisor log, connect to the control socket, and
// run `umlab status|exec|down` against that home; all refused, with a clear message. The
// owner's archive after `down` is as private.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { assertNothingLeft, cleanHome, lab, makeHome, NOBODY, umlabAsUser, umlabOk } from '../vm/helpers.ts';

const notRoot = process.getuid?.() !== 0;

/** Runs a command as nobody, every privilege dropped. */
async function asNobody(argv: string[]): Promise<{ exitCode: number; output: string }> {
  const r = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--', ...argv], {
    reject: false,
    all: true,
    timeout: 30_000,
  });
  return { exitCode: r.exitCode ?? -1, output: String(r.all) };
}

const CONNECT = `const s = require('net').connect(process.argv[1]); s.on('connect', () => { s.write('{"op":"status"}\\n'); s.on('data', (d) => { process.stdout.write(d); process.exit(0); }); }); s.on('error', (e) => { console.error(e.code); process.exit(1); });`;

/** Every path under `dir` with its type and permission bits. */
function walk(dir: string): { path: string; mode: number; kind: string }[] {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isSocket() ? 'socket' : st.isFIFO() ? 'fifo' : 'file';
    out.push({ path, mode: st.mode & 0o777, kind });
    if (kind === 'dir') out.push(...walk(path));
  }
  return out;
}

describe('state files are private to the lab owner', { skip: notRoot && 'needs root to switch to a second account' }, () => {
  const home = makeHome('umlab-perm-');
  after(() => cleanHome(home));

  it('another user can neither list, read nor control a lab; the owner can', { timeout: 300_000 }, async () => {
    chmodSync(home, 0o755); // like /tmp or a shared disk: anyone may traverse it
    await umlabOk(home, ['up', lab('two-hosts.yaml')]);
    await umlabOk(home, ['exec', 'h1', '--', 'ping -c2 -W5 10.0.0.2']);
    const runDir = join(home, 'labs', 'two-hosts');
    const files = {
      plan: join(runDir, 'plan.json'),
      console: join(runDir, 'vms', 'h1', 'console.log'),
      capture: join(runDir, 'captures', 'h1.eth0.pcap'),
      supervisorLog: join(runDir, 'supervisor.log'),
    };
    for (const f of Object.values(files)) assert.ok(existsSync(f), `${f} exists`);

    // What the owner's umask and umlab's explicit modes give: directories 0700, files and the socket 0600.
    assert.equal(lstatSync(join(home, 'labs')).mode & 0o777, 0o700);
    assert.equal(lstatSync(runDir).mode & 0o777, 0o700);
    for (const f of Object.values(files)) assert.equal(lstatSync(f).mode & 0o777, 0o600, `mode of ${f}`);
    // A socket's x bit means nothing; connecting needs w: owner-only is what counts.
    assert.equal(lstatSync(join(runDir, 'control.sock')).mode & 0o077, 0, 'control.sock is owner-only');
    // Nothing in the home is reachable by others: every entry sits in a 0700 directory of the owner.
    for (const e of walk(home).filter((e) => e.path.split('/').length === home.split('/').length + 1))
      assert.equal(e.mode & 0o077, 0, `${e.path} (${e.kind}) is ${e.mode.toString(8)}`);

    const denied = async (argv: string[]) => {
      const r = await asNobody(argv);
      assert.notEqual(r.exitCode, 0, `nobody ran ${argv.join(' ')}:\n${r.output}`);
    };
    await denied(['ls', join(home, 'labs')]);
    for (const f of Object.values(files)) await denied(['cat', f]);
    await denied([process.execPath, '-e', CONNECT, join(runDir, 'control.sock')]);

    for (const args of [['status'], ['exec', 'h1', '--', 'id'], ['down', 'two-hosts'], ['down', '--all']]) {
      const r = await umlabAsUser(NOBODY, home, args);
      assert.equal(r.exitCode, 6, `umlab ${args.join(' ')} as nobody:\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^umlab: permission denied: ${join(home, 'labs')} belongs to another user \\(uid 0\\)\\n`), `umlab ${args.join(' ')}`);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
    }

    // UMLAB_HOME set to another user's private state directory: refused as such, not "no lab".
    chmodSync(home, 0o700);
    for (const args of [['status'], ['exec', '--lab', 'two-hosts', 'h1', '--', 'id'], ['down', 'two-hosts']]) {
      const r = await umlabAsUser(NOBODY, home, args);
      assert.equal(r.exitCode, 6, `umlab ${args.join(' ')} as nobody:\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^umlab: permission denied: ${home} belongs to another user \\(uid 0\\)\\n`), `umlab ${args.join(' ')}`);
    }
    chmodSync(home, 0o755);

    // Even with the directories opened up by hand, the socket and files keep others out.
    chmodSync(join(home, 'labs'), 0o755);
    chmodSync(runDir, 0o755);
    const exec = await umlabAsUser(NOBODY, home, ['exec', 'h1', '--', 'id']);
    assert.equal(exec.exitCode, 6, exec.stderr);
    assert.match(exec.stderr, new RegExp(`^umlab: permission denied: ${runDir}/[a-z.]+ belongs to another user \\(uid 0\\)\\n`));
    await denied([process.execPath, '-e', CONNECT, join(runDir, 'control.sock')]);
    chmodSync(join(home, 'labs'), 0o700);
    chmodSync(runDir, 0o700);

    // The lab survived all that, and the owner still reads and controls it.
    await umlabOk(home, ['exec', 'h1', '--', 'true']);
    const frames = await umlabOk(home, ['capture', 'show', 'h1.eth0']);
    assert.match(frames.stdout, /ICMP echo request/);
    const down = JSON.parse((await umlabOk(home, ['down', 'two-hosts', '--json'])).stdout);
    await assertNothingLeft(home, 'two-hosts');

    // The archive `down` keeps is as private: 0700 directories, 0600 files.
    assert.ok(down.archive, 'down kept an archive');
    assert.equal(lstatSync(join(home, 'captures')).mode & 0o777, 0o700);
    for (const e of walk(down.archive))
      assert.equal(e.mode & (e.kind === 'dir' ? 0o777 : 0o077), e.kind === 'dir' ? 0o700 : 0, `${e.path} is ${e.mode.toString(8)}`);
    await denied(['ls', down.archive]);
  });
});
