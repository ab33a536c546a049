// Who may use `umlab web`: whoever shows the user's token (like Jupyter's). The token is a
// random secret kept 0600 in the user's state directory; the page gets it once in the URL
// and keeps it in a same-site cookie, scripts may send it as a Bearer header.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { LabRuntimeError } from '../errors.ts';

export const TOKEN_FILE = 'web.token';
const TOKEN_RE = /^[0-9a-f]{48}$/;

/** The user's web token from `<home>/web.token`, made on first use (0600, in a 0700 directory). */
export function loadToken(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, TOKEN_FILE);
  try {
    const fd = openSync(path, 'wx', 0o600);
    const token = randomBytes(24).toString('hex');
    try {
      writeSync(fd, token + '\n');
    } finally {
      closeSync(fd);
    }
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw tokenError(path, `cannot create it: ${(err as Error).message}`, err);
  }
  const st = lstatSync(path);
  if (!st.isFile()) throw tokenError(path, 'it is not a regular file');
  if (process.getuid && st.uid !== process.getuid()) throw tokenError(path, `it belongs to another user (uid ${st.uid})`);
  if ((st.mode & 0o077) !== 0) throw tokenError(path, `other users may read it (mode ${(st.mode & 0o777).toString(8)})`);
  const token = readFileSync(path, 'utf8').trim();
  if (!TOKEN_RE.test(token)) throw tokenError(path, 'it does not hold a token');
  return token;
}

function tokenError(path: string, why: string, cause?: unknown): LabRuntimeError {
  return new LabRuntimeError(`umlab web will not start without a private token: ${path}: ${why}`, {
    cause,
    hint: `remove ${path}; umlab web makes a new one, readable by you only`,
  });
}

/** The cookie's name: one per port, so two servers on one host do not overwrite each other's. */
export const cookieName = (port: number) => `umlab-token-${port}`;

export function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** How a request showed the token, or null when it did not. */
export function authorize(req: IncomingMessage, url: URL, token: string, port: number): 'query' | 'cookie' | 'header' | null {
  if (sameToken(url.searchParams.get('token'), token)) return 'query';
  if (sameToken(cookieValue(req.headers.cookie, cookieName(port)), token)) return 'cookie';
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (sameToken(bearer?.[1], token)) return 'header';
  return null;
}

/** The cookie the page keeps the token in: not readable by scripts, never sent by other sites. */
export function tokenCookie(token: string, port: number): string {
  return `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}
