import { readFileSync } from 'node:fs';

/** A file's text, or '' when it cannot be read (gone, not yet written, not ours). */
export function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
