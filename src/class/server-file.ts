// The running server's address, written into the class directory by `serve` (0600) and read by
// `invite`, so the links it prints point at the server as it listens.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pidAlive } from '../runtime/lab.ts';

export interface ServerRecord {
  /** http://ADDR:PORT */
  url: string;
  listen: string;
  port: number;
  pid: number;
}

export function readServerRecord(path: string): ServerRecord | null {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as ServerRecord;
    return typeof record.url === 'string' && typeof record.port === 'number' ? record : null;
  } catch {
    return null;
  }
}

export const serverRunning = (record: ServerRecord | null): boolean => record !== null && record.pid !== process.pid && pidAlive(record.pid);

export function writeServerRecord(path: string, record: ServerRecord): void {
  // Whole or not at all: `invite` may read it at any time.
  writeFileSync(`${path}.tmp`, JSON.stringify(record) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
