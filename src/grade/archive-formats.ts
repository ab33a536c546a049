// Reading .tar.gz and .zip archives into entries, without writing anything: what the safe
// unpacker (archive.ts) checks before a single file is created. Pure (bytes in, entries out).
import { gunzipSync, inflateRawSync } from 'node:zlib';

export interface ArchiveEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** File contents; the link target of a symlink. */
  data?: Buffer;
  target?: string;
  executable: boolean;
}

export class ArchiveProblem extends Error {}

const cstr = (b: Buffer, from: number, len: number) => {
  const s = b.subarray(from, from + len);
  const nul = s.indexOf(0);
  return (nul < 0 ? s : s.subarray(0, nul)).toString('utf8');
};
const octal = (b: Buffer, from: number, len: number) => parseInt(cstr(b, from, len).trim() || '0', 8);

/** Entries of a gzip-compressed tar; the uncompressed size is capped at `maxBytes`. */
export function readTarGz(bytes: Buffer, maxBytes: number): ArchiveEntry[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    throw new ArchiveProblem(error instanceof RangeError ? `it unpacks to more than ${maxBytes} bytes` : `it is not a gzip file (${(error as Error).message})`);
  }
  const out: ArchiveEntry[] = [];
  let longName: string | undefined;
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156]);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x' || type === 'L') {
      // pax extended header (path=...) or GNU long name: the next entry's name.
      longName = type === 'L' ? cstr(data, 0, data.length) : (/(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1] ?? longName);
      continue;
    }
    if (type === 'g') continue;
    const prefix = cstr(h, 345, 155);
    const path = longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    longName = undefined;
    const mode = octal(h, 100, 8);
    const kind = type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'dir' : type === '2' ? 'symlink' : 'other';
    out.push({
      path,
      type: kind,
      executable: (mode & 0o111) !== 0,
      ...(kind === 'file' && { data: Buffer.from(data) }),
      ...(kind === 'symlink' && { target: cstr(h, 157, 100) }),
      ...(kind === 'other' && { target: `tar entry type ${JSON.stringify(type)}` }),
    });
  }
  return out;
}

/** Entries of a zip file (stored or deflated); the total uncompressed size is capped at `maxBytes`. */
export function readZip(bytes: Buffer, maxBytes: number): ArchiveEntry[] {
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new ArchiveProblem('it is not a zip file (no end of central directory)');
  const count = bytes.readUInt16LE(eocd + 10);
  let off = bytes.readUInt32LE(eocd + 16);
  let total = 0;
  const out: ArchiveEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (off + 46 > bytes.length || bytes.readUInt32LE(off) !== 0x02014b50) throw new ArchiveProblem('its central directory is damaged');
    const flags = bytes.readUInt16LE(off + 8);
    const method = bytes.readUInt16LE(off + 10);
    const compressed = bytes.readUInt32LE(off + 20);
    const size = bytes.readUInt32LE(off + 24);
    const nameLen = bytes.readUInt16LE(off + 28);
    const extraLen = bytes.readUInt16LE(off + 30);
    const commentLen = bytes.readUInt16LE(off + 32);
    const unixMode = bytes.readUInt32LE(off + 38) >>> 16;
    const local = bytes.readUInt32LE(off + 42);
    const path = bytes.subarray(off + 46, off + 46 + nameLen).toString('utf8');
    off += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new ArchiveProblem(`${path} is encrypted`);
    total += size;
    if (total > maxBytes) throw new ArchiveProblem(`it unpacks to more than ${maxBytes} bytes`);
    if (local + 30 > bytes.length || bytes.readUInt32LE(local) !== 0x04034b50) throw new ArchiveProblem(`the entry ${path} is damaged`);
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const raw = bytes.subarray(start, start + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflate(raw, size, path) : undefined;
    if (data === undefined) throw new ArchiveProblem(`${path} uses compression method ${method} (only stored and deflate are read)`);
    const fileType = unixMode & 0o170000;
    const type = path.endsWith('/') ? 'dir' : fileType === 0o120000 ? 'symlink' : fileType === 0 || fileType === 0o100000 ? 'file' : 'other';
    out.push({
      path: path.replace(/\/$/, ''),
      type,
      executable: (unixMode & 0o111) !== 0,
      ...(type === 'file' && { data }),
      ...(type === 'symlink' && { target: data.toString('utf8') }),
    });
  }
  return out;
}

function inflate(raw: Buffer, size: number, path: string): Buffer {
  try {
    return inflateRawSync(raw, { maxOutputLength: Math.max(1, size) });
  } catch (error) {
    throw new ArchiveProblem(error instanceof RangeError ? `${path} unpacks to more than it declares` : `${path} is damaged (${(error as Error).message})`);
  }
}
