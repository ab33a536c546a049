// The web view's token: kept private in the state directory, shown by every request
// (query, cookie or Bearer header), and the page's initial state embedded safely.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LabRuntimeError } from '../../src/errors.ts';
import { renderPage } from '../../src/web/assets.ts';
import { authorize, cookieName, loadToken, TOKEN_FILE, tokenCookie } from '../../src/web/auth.ts';
import { resizeCommand } from '../../src/web/console-bridge.ts';

const dirs: string[] = [];
const tempHome = () => {
  const d = mkdtempSync(join(tmpdir(), 'umlab-web-auth-'));
  dirs.push(d);
  return join(d, 'state');
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const url = (query = '') => new URL(`http://127.0.0.1:8080/api/lab${query}`);

describe('loadToken', () => {
  it('makes a random token on first use, 0600 in a 0700 directory, and keeps it', () => {
    const home = tempHome();
    const token = loadToken(home);
    assert.match(token, /^[0-9a-f]{48}$/);
    assert.equal(statSync(join(home, TOKEN_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(readFileSync(join(home, TOKEN_FILE), 'utf8').trim(), token);
    assert.equal(loadToken(home), token, 'the same token the next time');
    assert.notEqual(loadToken(tempHome()), token, 'another home, another token');
  });

  it('refuses a token file others may read, a symlink, or one without a token', () => {
    const home = tempHome();
    loadToken(home);
    chmodSync(join(home, TOKEN_FILE), 0o640);
    assert.throws(
      () => loadToken(home),
      (err: unknown) => err instanceof LabRuntimeError && /other users may read it/.test(err.message) && /remove/.test(err.hint ?? ''),
    );
    const linked = tempHome();
    loadToken(linked);
    rmSync(join(linked, TOKEN_FILE));
    symlinkSync(join(home, TOKEN_FILE), join(linked, TOKEN_FILE));
    assert.throws(() => loadToken(linked), /not a regular file/);
    const empty = tempHome();
    loadToken(empty);
    writeFileSync(join(empty, TOKEN_FILE), 'short\n', { mode: 0o600 });
    assert.throws(() => loadToken(empty), /does not hold a token/);
  });
});

describe('authorize', () => {
  const token = 'ab'.repeat(24);
  it('accepts the token in the query, in its cookie for this port, or as a Bearer header', () => {
    assert.equal(authorize(request({}), url(`?token=${token}`), token, 8080), 'query');
    assert.equal(authorize(request({ cookie: `other=1; ${cookieName(8080)}=${token}` }), url(), token, 8080), 'cookie');
    assert.equal(authorize(request({ authorization: `Bearer ${token}` }), url(), token, 8080), 'header');
  });

  it('refuses no token, a wrong one, a prefix of it, or the cookie of another port', () => {
    assert.equal(authorize(request({}), url(), token, 8080), null);
    assert.equal(authorize(request({}), url('?token=wrong'), token, 8080), null);
    assert.equal(authorize(request({}), url(`?token=${token.slice(0, 20)}`), token, 8080), null);
    assert.equal(authorize(request({ cookie: `${cookieName(9090)}=${token}` }), url(), token, 8080), null);
    assert.equal(authorize(request({ authorization: `Basic ${token}` }), url(), token, 8080), null);
  });

  it("the cookie is HttpOnly and SameSite=Strict: no script reads it, no other site's page sends it", () => {
    assert.match(tokenCookie(token, 8080), new RegExp(`^${cookieName(8080)}=${token}; Path=/; HttpOnly; SameSite=Strict$`));
  });
});

describe('renderPage', () => {
  it('embeds the initial state as JSON that cannot close its script element', () => {
    const html = renderPage('<head><!--umlab:initial--></head>', { lab: 'x</script><script>alert(1)</script>', offline: false, state: null });
    assert.ok(!html.includes('</script><script>'), html);
    const json = /<script id="initial" type="application\/json">(.*)<\/script>/.exec(html)![1]!;
    assert.equal(JSON.parse(json).lab, 'x</script><script>alert(1)</script>');
  });
});

describe('resizeCommand', () => {
  it('sets the size of the console tty, and only for sane numbers', () => {
    assert.equal(resizeCommand({ type: 'resize', cols: 120, rows: 40 }), 'stty -F /dev/tty0 rows 40 cols 120');
    assert.equal(resizeCommand({ type: 'resize', cols: 0, rows: 40 }), null);
    assert.equal(resizeCommand({ type: 'resize', cols: 1.5, rows: 40 }), null);
    assert.equal(resizeCommand({ type: 'resize', cols: '80; reboot' as unknown as number, rows: 40 }), null);
  });
});
