// Secrets of a class: invitation tokens and session ids are 32 random bytes; the database keeps
// only their SHA-256, so a copy of it (a backup) signs nobody in.
import { createHash, randomBytes } from 'node:crypto';

/** A new secret for a link or a cookie: 43 URL-safe characters. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** What the database stores of a secret. */
export const secretHash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Whether a string could be one of our secrets at all: anything else is refused before a lookup. */
export const looksLikeSecret = (text: string | undefined | null): text is string => typeof text === 'string' && /^[A-Za-z0-9_-]{43}$/.test(text);

/** The one lab name a student's copy of an assignment runs under, made once and stored (never
 *  parsed back): readable parts for `umlab status`, a hash so that different pairs never meet.
 *  Fits `checkLabName` (24 characters of [a-z0-9-]). */
export function labNameFor(student: string, assignment: string): string {
  const part = (text: string) =>
    text
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 8)
      .replace(/-+$/, '') || 'x';
  const hash = createHash('sha256').update(`${student}\0${assignment}`).digest('hex').slice(0, 6);
  return `${part(student)}-${part(assignment)}-${hash}`;
}
