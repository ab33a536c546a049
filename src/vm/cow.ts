// UML copy-on-write files (ubdN=<cow>,<backing>): reading the header, pure. The kernel
// refuses to boot from a COW whose backing file's mtime or size differs from what the
// header recorded; umlab checks the same before booting and says what to do instead.
//
// Layout (arch/um/drivers/cow_user.c); v2 and v3 fields are big-endian, v1 (and the
// magic and version of files written by v1 tools) in host order, little-endian on x86:
//   v1: magic u32, version u32, backing_file[256], mtime u32, size u64, sectorsize u32
//   v2: magic u32, version u32, backing_file[4096], mtime u32, size u64, sectorsize u32
//   v3: magic u32, version u32, mtime u32, size u64, sectorsize u32, alignment u32,
//       cow_format u32, backing_file[4096]
//   v3 "broken" (64-bit builds before 2005): mtime is 8 bytes, so everything after it
//       moves by 4; recognised because cow_format (always 0) then lands on the first
//       4 bytes of backing_file, which a real path never has as zeros.

export const COW_MAGIC = 0x4f4f4f4d; // "OOOM"
/** Enough bytes for any version's header. */
export const COW_HEADER_BYTES = 4 + 4 + 8 + 8 + 4 + 4 + 4 + 4096;

export interface CowHeader {
  version: 1 | 2 | 3;
  /** The backing file's absolute path as recorded when the COW was made. */
  backingFile: string;
  /** Backing file's mtime in whole seconds (32 bits, as UML stores it). */
  mtime: number;
  /** Backing file's size in bytes. */
  size: bigint;
  sectorSize: number;
}

const cString = (bytes: Buffer) => {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
};

/** Parses a COW header; null when the bytes are not a COW file (or too short to be one). */
export function parseCowHeader(buf: Buffer): CowHeader | null {
  if (buf.length < 8) return null;
  let littleEndian: boolean;
  if (buf.readUInt32BE(0) === COW_MAGIC) littleEndian = false;
  else if (buf.readUInt32LE(0) === COW_MAGIC) littleEndian = true;
  else return null;
  const version = littleEndian ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const u32 = (offset: number) => buf.readUInt32BE(offset);
  const u64 = (offset: number) => buf.readBigUInt64BE(offset);
  const has = (bytes: number) => buf.length >= bytes;
  if (version === 1) {
    if (!has(8 + 256 + 4 + 8 + 4)) return null;
    const le = (o: number) => buf.readUInt32LE(o);
    return { version: 1, backingFile: cString(buf.subarray(8, 264)), mtime: le(264), size: buf.readBigUInt64LE(268), sectorSize: le(276) };
  }
  if (version === 2) {
    if (!has(8 + 4096 + 4 + 8 + 4)) return null;
    return { version: 2, backingFile: cString(buf.subarray(8, 4104)), mtime: u32(4104), size: u64(4108), sectorSize: u32(4116) };
  }
  if (version !== 3) return null;
  const broken = has(36 + 4) && buf.readUInt32BE(32) === 0;
  if (!broken) {
    if (!has(32 + 1)) return null;
    return { version: 3, backingFile: cString(buf.subarray(32, 32 + 4096)), mtime: u32(8), size: u64(12), sectorSize: u32(20) };
  }
  if (!has(36 + 1)) return null;
  // The 8-byte mtime is big-endian; UML keeps its low 32 bits.
  return { version: 3, backingFile: cString(buf.subarray(36, 36 + 4096)), mtime: Number(u64(8) & 0xffffffffn), size: u64(16), sectorSize: u32(24) };
}

/** What is wrong between a COW header and its backing file as it is now; null when they match. */
export function cowMismatch(header: CowHeader, backing: { mtimeMs: number; size: bigint | number }): string | null {
  const problems: string[] = [];
  // UML records whole seconds in 32 bits.
  const mtime = Math.floor(backing.mtimeMs / 1000) % 2 ** 32;
  if (mtime !== header.mtime)
    problems.push(`its modification time is ${isoSeconds(mtime)}, the copy-on-write file was made over one from ${isoSeconds(header.mtime)}`);
  if (BigInt(backing.size) !== header.size) problems.push(`its size is ${backing.size} bytes, the copy-on-write file was made over ${header.size} bytes`);
  return problems.length ? problems.join('; ') : null;
}

const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
