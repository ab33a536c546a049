// A content hash of a submission (its files, names and bytes), so --rerun grades again
// only what changed, like kathara-lab-checker's cache.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 over every file's relative path and bytes (links by their target), in sorted order. */
export function contentHash(path: string, extra = ''): string {
  const hash = createHash('sha256').update(extra).update('\0');
  const walk = (abs: string, rel: string) => {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) hash.update(`L ${rel} ${readlinkSync(abs)}\0`);
    else if (st.isDirectory()) for (const e of readdirSync(abs).sort()) walk(join(abs, e), rel ? `${rel}/${e}` : e);
    else if (st.isFile()) hash.update(`F ${rel} ${st.size}\0`).update(readFileSync(abs)).update('\0');
  };
  walk(path, '');
  return hash.digest('hex').slice(0, 16);
}
