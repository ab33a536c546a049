// Consoles and serial lines (UML HOWTO section 5) on real VMs: a console on a TCP port of the
// host's 127.0.0.1 (telnet) and on a pty, `umlab console` for both, two VMs joined by a serial
// line, serial lines on a port and a pty; a port in use; rootless; nothing left afterwards.
import assert from 'node:assert/strict';
import { chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { pidAlive } from '../../src/runtime/lab.ts';
import { assertNothingLeft, cleanHome, CLI_ARGS, eventually, makeHome, NOBODY, ROOT, umlab, umlabAsUser, umlabOk, vmExec } from './helpers.ts';
import { freePort } from './net-helpers.ts';

const TEMPLATE = readFileSync(join(ROOT, 'test/vm/labs/serial-pair.yaml'), 'utf8');
const ANSWER = 'answer-42';
const QUESTION = 'echo answer-$((6*7))';

/** The lab file with its two ports replaced by free ones. */
async function labFile(home: string, name = 'serial-pair.yaml'): Promise<{ file: string; consolePort: number; serialPort: number }> {
  const consolePort = await freePort({ from: 47401 });
  const serialPort = await freePort({ from: consolePort + 1, except: [consolePort] });
  const file = join(home, name);
  writeFileSync(file, TEMPLATE.replace('47401', String(consolePort)).replace('47402', String(serialPort)));
  return { file, consolePort, serialPort };
}

/** Sends `question` (every 500 ms) until `answer` comes back; returns everything received. */
async function askUntil(write: (s: string) => void, received: () => string, question: string, answer: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (!received().includes(answer) && Date.now() < deadline) {
    write(question);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(received().includes(answer), `no ${answer} in ${JSON.stringify(received())}`);
  return received();
}

/** A TCP client of 127.0.0.1:port that collects what it receives (as latin1, telnet bytes
 *  included); with `key`, it answers the line-key prompt first and waits until it is let in. */
async function tcpClient(port: number, key?: string) {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => (sock.once('connect', resolve), sock.once('error', reject)));
  let seen = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => (seen = Buffer.concat([seen, d])));
  const client = { sock, write: (s: string) => sock.write(s), seen: () => seen.toString('latin1'), raw: () => seen };
  if (key !== undefined) {
    await eventually(() => assert.match(client.seen(), /type the line key/));
    sock.write(key + '\r\n');
    await eventually(() => assert.match(client.seen(), /\r\nconnected\r\n/));
  }
  return client;
}

/** A program on a pty: socat between the pty and pipes. */
function ptyClient(path: string) {
  const child = execa('socat', ['-', `${path},raw,echo=0`], { reject: false, timeout: 60_000 });
  let seen = '';
  child.stdout!.on('data', (d: Buffer) => (seen += d.toString('latin1')));
  return { child, write: (s: string) => child.stdin!.write(s), seen: () => seen };
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

describe('consoles and serial lines', () => {
  const home = makeHome();
  after(() => cleanHome(home));
  const vmDir = (vm: string) => join(home, 'labs', 'serial-pair', 'vms', vm);

  it('console on a TCP port and a pty, VMs joined by a serial line, serial lines on a port and a pty', async () => {
    const { file, consolePort, serialPort } = await labFile(home);
    const up = await umlabOk(home, ['up', file]);
    assert.match(up.stdout, new RegExp(`r1 +con0 +/dev/tty0 +telnet 127\\.0\\.0\\.1 ${consolePort}`));
    assert.match(up.stdout, new RegExp(`r2 +con0 +/dev/tty0 +pty ${vmDir('r2')}/console\\.pty`));
    assert.match(up.stdout, /r1 +ssl1 +\/dev\/ttyS1 +r2\.ssl1/);

    // The console on a port: a telnet server asking for character mode and the lab's line key, then the VM's console shell.
    const keyFile = join(home, 'labs', 'serial-pair', 'line.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, "the line key is the owner's only");
    const key = readFileSync(keyFile, 'utf8').trim();
    assert.match(up.stdout, /telnet clients type the lab's line key first/);
    const tcp = await tcpClient(consolePort, key);
    await askUntil((s) => tcp.write(s + '\r\n'), tcp.seen, QUESTION, ANSWER);
    assert.deepEqual([...tcp.raw().subarray(0, 6)], [255, 251, 1, 255, 251, 3], 'IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD');
    // What a telnet client sends besides the keys (IAC DO ECHO) does not reach the shell.
    tcp.sock.write(Buffer.concat([Buffer.from([255, 253, 1]), Buffer.from('echo telnet-$((40+2))\r\0')]));
    await askUntil(() => {}, tcp.seen, '', 'telnet-42', 10_000);
    tcp.sock.destroy();

    // Without the key (any local user can connect to 127.0.0.1): nothing reaches the VM, nothing comes back.
    const intruder = await tcpClient(consolePort);
    await eventually(() => assert.match(intruder.seen(), /type the line key/));
    intruder.write('echo intruder-$((40+2))\r\n');
    await eventually(() => assert.match(intruder.seen(), /wrong key/));
    await eventually(() => assert.ok(intruder.sock.closed, 'the relay closed the connection'));
    assert.doesNotMatch(intruder.seen(), /intruder-42/);
    assert.doesNotMatch(readFileSync(join(vmDir('r1'), 'console.log'), 'utf8'), /intruder/, 'nothing of it reached the console');

    // `umlab console` works for it too, and sees the same console.
    const attached = execa(process.execPath, [...CLI_ARGS, 'console', 'r1'], { env: { UMLAB_HOME: home }, reject: false, timeout: 60_000 });
    let consoleSeen = '';
    attached.stdout!.on('data', (d: Buffer) => (consoleSeen += d.toString()));
    await askUntil(
      (s) => attached.stdin!.write(s + '\n'),
      () => consoleSeen,
      'echo via-cli-$((6*7))',
      'via-cli-42',
    );
    attached.stdin!.write(Buffer.from([0x1d]));
    assert.equal((await attached).exitCode, 0);

    // The console on a pty.
    const pty = ptyClient(join(vmDir('r2'), 'console.pty'));
    await askUntil((s) => pty.write(s + '\n'), pty.seen, QUESTION, ANSWER);
    pty.child.kill();
    await pty.child;
    // Closing the pty leaves it usable: a second program gets the console again.
    const pty2 = ptyClient(join(vmDir('r2'), 'console.pty'));
    await askUntil((s) => pty2.write(s + '\n'), pty2.seen, 'echo again-$((6*7))', 'again-42');
    pty2.child.kill();
    await pty2.child;

    // r1.ssl1 <-> r2.ssl1, both ways: text written to /dev/ttyS1 in one VM is read from /dev/ttyS1 in the other.
    for (const [from, to] of [
      ['r1', 'r2'],
      ['r2', 'r1'],
    ] as const) {
      const text = `from-${from}-to-${to}`;
      await vmExec(
        home,
        'serial-pair',
        to,
        `stty -F /dev/ttyS1 raw -echo; rm -f /tmp/got; (head -c ${text.length + 1} /dev/ttyS1 > /tmp/got.part; mv /tmp/got.part /tmp/got) > /dev/null 2>&1 & echo`,
      );
      await vmExec(home, 'serial-pair', from, `stty -F /dev/ttyS1 raw -echo; printf '%s\\n' ${text} > /dev/ttyS1`);
      const got = await vmExec(home, 'serial-pair', to, 'for i in $(seq 50); do [ -f /tmp/got ] && break; sleep 0.2; done; cat /tmp/got');
      assert.equal(got, text + '\n');
    }
    assert.match(readFileSync(join(vmDir('r1'), 'ssl1.log'), 'utf8'), /from-r1-to-r2/, 'a joined line is logged too');

    // r1.ssl2 on a TCP port: both ways.
    const line = await tcpClient(serialPort, key);
    // The reader holds the line open before the host is told to write: input to a closed line is lost.
    await vmExec(
      home,
      'serial-pair',
      'r1',
      `stty -F /dev/ttyS2 raw -echo; rm -f /tmp/in2 /tmp/in2.open; (exec 5</dev/ttyS2; : > /tmp/in2.open; head -c 10 <&5 > /tmp/in2.part; mv /tmp/in2.part /tmp/in2) > /dev/null 2>&1 & while [ ! -f /tmp/in2.open ]; do sleep 0.05; done; printf 'to-host-7\\n' > /dev/ttyS2`,
    );
    await askUntil(() => {}, line.seen, '', 'to-host-7', 10_000);
    line.write('from-host\n');
    assert.equal(await vmExec(home, 'serial-pair', 'r1', 'for i in $(seq 50); do [ -f /tmp/in2 ] && break; sleep 0.2; done; cat /tmp/in2'), 'from-host\n');
    line.sock.destroy();

    // r2.ssl2 on a pty.
    const sslPty = ptyClient(join(vmDir('r2'), 'ssl2.pty'));
    // Written again until the pty's reader, which opens it meanwhile, has seen it.
    await eventually(async () => {
      await vmExec(home, 'serial-pair', 'r2', `stty -F /dev/ttyS2 raw -echo; printf 'via-pty-9\\n' > /dev/ttyS2`);
      assert.ok(sslPty.seen().includes('via-pty-9'), JSON.stringify(sslPty.seen()));
    }, 10_000);
    sslPty.child.kill();
    await sslPty.child;

    // r1.ssl3: log.
    await vmExec(home, 'serial-pair', 'r1', `stty -F /dev/ttyS3 raw -echo; printf 'logged-3\\n' > /dev/ttyS3`);
    await eventually(() => assert.match(readFileSync(join(vmDir('r1'), 'ssl3.log'), 'utf8'), /logged-3/));

    const status = await umlabOk(home, ['status']);
    assert.match(status.stdout, new RegExp(`r1 +con0 +/dev/tty0 +telnet 127\\.0\\.0\\.1 ${consolePort}`));
    assert.match(status.stdout, /r2 +ssl2 +\/dev\/ttyS2 +pty /);

    const down = await umlabOk(home, ['down']);
    await assertNothingLeft(home, 'serial-pair');
    // Serial line logs are kept with the console logs.
    const archive = /kept in (\S+)/.exec(down.stdout)![1]!.replace(/;$/, '');
    assert.match(readFileSync(join(archive, 'r1.ssl3.log'), 'utf8'), /logged-3/);
    assert.match(readFileSync(join(archive, 'r2.ssl1.log'), 'utf8'), /from-r2-to-r1/);
    assert.ok(await refused(consolePort), 'the console port is closed after down');
    assert.ok(await refused(serialPort), 'the serial port is closed after down');
  });

  it('a port in use fails up before anything starts, and leaves nothing', async () => {
    await umlab(home, ['down', '--all']); // after a failed test above
    const { file, consolePort } = await labFile(home);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen({ host: '127.0.0.1', port: consolePort }, () => r()));
    try {
      const r = await umlab(home, ['up', file]);
      assert.equal(r.exitCode, 6, r.stderr);
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${consolePort} for the console of r1: the port is in use`));
    } finally {
      squatter.close();
    }
    await assertNothingLeft(home, 'serial-pair');
  });

  it('a supervisor killed with SIGKILL: down still removes the socat ptys and frees the ports', async () => {
    await umlab(home, ['down', '--all']);
    const { file, consolePort, serialPort } = await labFile(home);
    await umlabOk(home, ['up', file]);
    const state = JSON.parse(readFileSync(join(home, 'labs', 'serial-pair', 'state.json'), 'utf8'));
    process.kill(state.supervisorPid, 'SIGKILL');
    await eventually(() => assert.ok(!pidAlive(state.supervisorPid), 'the supervisor is gone'));
    await umlabOk(home, ['down', 'serial-pair']);
    await assertNothingLeft(home, 'serial-pair');
    assert.ok(await refused(consolePort));
    assert.ok(await refused(serialPort));
  });
});

describe('consoles without root', { skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user' }, () => {
  const home = makeHome();
  after(() => cleanHome(home));

  it('the console port and the pty work for an ordinary user', async () => {
    chownSync(home, NOBODY, NOBODY);
    const { file, consolePort } = await labFile(home);
    chownSync(file, NOBODY, NOBODY);
    const up = await umlabAsUser(NOBODY, home, ['up', file]);
    assert.equal(up.exitCode, 0, up.stderr);
    const key = readFileSync(join(home, 'labs', 'serial-pair', 'line.key'), 'utf8').trim();
    const tcp = await tcpClient(consolePort, key);
    await askUntil((s) => tcp.write(s + '\r\n'), tcp.seen, QUESTION, ANSWER);
    tcp.sock.destroy();
    const pty = ptyClient(join(home, 'labs', 'serial-pair', 'vms', 'r2', 'console.pty'));
    await askUntil((s) => pty.write(s + '\n'), pty.seen, QUESTION, ANSWER);
    pty.child.kill();
    await pty.child;
    const down = await umlabAsUser(NOBODY, home, ['down']);
    assert.equal(down.exitCode, 0, down.stderr);
    await assertNothingLeft(home, 'serial-pair');
    assert.ok(await refused(consolePort));
  });
});
