// Nobody else's eyes on `umlab web`: without the token every request gets 403 (page, API,
// pcap, live channels, terminals), another user on the machine cannot read the token, and
// a server on every interface (--listen) needs the token all the same.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { assertNothingLeft, cleanHome, lab, makeHome, NOBODY, umlab, umlabOk } from './helpers.ts';
import { startWeb, stopWeb, type WebChild } from './web-helpers.ts';

const PATHS = ['/', '/index.html', '/app.js', '/api/lab', '/api/state', '/api/vms/h1', '/api/links/h1.eth0/pcap', '/vendor/xterm.mjs'];
const SOCKETS = ['/api/live', '/api/vms/h1/console', '/api/links/h1.eth0/frames'];

/** curl as `uid` (every privilege dropped), or as ourselves when uid is null: the HTTP status. */
async function status(uid: number | null, url: string, headers: string[] = [], upgrade = false): Promise<string> {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...headers.flatMap((h) => ['-H', h])];
  if (upgrade)
    args.push('-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
  const argv =
    uid === null ? ['curl', ...args, url] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--', 'curl', ...args, url];
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, extendEnv: false, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return String(r.stdout);
}

async function asNobody(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--', ...argv], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('umlab web: the token, and another user on the machine', () => {
  const home = makeHome();
  let web: WebChild | null = null;

  before(async () => {
    await umlabOk(home, ['up', lab('two-hosts.yaml'), '--quiet']);
    web = await startWeb(home, ['two-hosts']);
  });

  after(async () => {
    await stopWeb(web).catch(() => {});
    await cleanHome(home);
  });

  it('keeps the token 0600 in the state directory, the one in the printed address', () => {
    const file = join(home, 'web.token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), web!.token);
  });

  it('with the token (address, cookie or Bearer header) the page, the API and the live channels answer', async () => {
    assert.equal(await status(null, web!.url), '200');
    assert.equal(await status(null, `${web!.base}api/vms/h1`, [`Authorization: Bearer ${web!.token}`]), '200');
    const port = new URL(web!.base).port;
    assert.equal(await status(null, `${web!.base}api/links/h1.eth0/pcap`, [`Cookie: umlab-token-${port}=${web!.token}`]), '200');
    for (const path of SOCKETS) assert.equal(await status(null, `${web!.base.slice(0, -1)}${path}?token=${web!.token}`, [], true), '101', path);
  });

  it('without it, or with a wrong one, everything is 403: page, API, pcap, event stream, terminal', async () => {
    for (const path of PATHS) {
      const url = `${web!.base.slice(0, -1)}${path}`;
      assert.equal(await status(null, url), '403', path);
      assert.equal(await status(null, `${url}?token=${'0'.repeat(48)}`), '403', `${path} with a wrong token`);
      assert.equal(await status(null, url, [`Authorization: Bearer ${web!.token.slice(0, 47)}x`]), '403', `${path} with a wrong Bearer`);
    }
    for (const path of SOCKETS) assert.equal(await status(null, `${web!.base.slice(0, -1)}${path}`, [], true), '403', path);
    // A page of another site cannot open the live channels even with the cookie (Origin is checked).
    assert.equal(await status(null, `${web!.base.slice(0, -1)}/api/live?token=${web!.token}`, ['Origin: http://evil.example'], true), '403');
  });

  it('another user cannot read the token, nor reach anything of the server', async () => {
    const cat = await asNobody(['cat', join(home, 'web.token')]);
    assert.notEqual(cat.exitCode, 0);
    assert.doesNotMatch(cat.stdout, /[0-9a-f]{48}/);
    const pid = web!.child.pid!;
    assert.doesNotMatch(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), new RegExp(web!.token), 'the token is not on the command line');
    assert.notEqual((await asNobody(['cat', `/proc/${pid}/environ`])).exitCode, 0);
    for (const path of PATHS) assert.equal(await status(NOBODY, `${web!.base.slice(0, -1)}${path}`), '403', `${path} as uid ${NOBODY}`);
    for (const path of SOCKETS) assert.equal(await status(NOBODY, `${web!.base.slice(0, -1)}${path}`, [], true), '403', `${path} as uid ${NOBODY}`);
    // What it could guess instead: the word "token", an empty one, the cookie of another port.
    assert.equal(await status(NOBODY, `${web!.base}api/lab?token=`), '403');
    assert.equal(await status(NOBODY, `${web!.base}api/lab`, ['Cookie: umlab-token-1=x']), '403');
  });

  it('refuses to start when the token file is readable by others, and says how to fix it', async () => {
    const file = join(home, 'web.token');
    chmodSync(file, 0o644);
    try {
      const r = await umlab(home, ['web', 'two-hosts']);
      assert.notEqual(r.exitCode, 0);
      assert.match(r.stderr, /will not start without a private token/);
      assert.match(r.stderr, /remove .*web\.token/);
      assert.doesNotMatch(r.stdout, /http:/);
    } finally {
      chmodSync(file, 0o600);
    }
  });

  it('--listen 0.0.0.0 for a classroom: the token is required all the same, any Host name', async () => {
    const bad = await umlab(home, ['web', 'two-hosts', '--listen', 'not-an-address']);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /bad --listen address/);
    const open = await startWeb(home, ['two-hosts', '--listen', '0.0.0.0']);
    try {
      const port = new URL(open.base).port;
      assert.equal(new URL(open.url).searchParams.get('token'), web!.token);
      const local = `http://127.0.0.1:${port}`;
      assert.equal(await status(null, `${local}/api/lab`, ['Host: classroom.example:80']), '403');
      assert.equal(await status(null, `${local}/api/lab?token=${open.token}`, ['Host: classroom.example:80']), '200');
      assert.equal(await status(NOBODY, `${local}/api/vms/h1`), '403');
      assert.equal(await status(NOBODY, `${local}/api/vms/h1/console`, [], true), '403');
    } finally {
      await stopWeb(open);
    }
  });

  it('the lab goes down cleanly', async () => {
    await stopWeb(web);
    web = null;
    await umlabOk(home, ['down', 'two-hosts']);
    await assertNothingLeft(home, 'two-hosts');
  });
});
