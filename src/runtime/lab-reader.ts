// A lab file read from disk (size-capped, never blocking on a FIFO) and handed to the pure loader, planner/load.ts.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LabFileError, NotFoundError } from '../errors.ts';
import { parseLab } from '../planner/load.ts';
import type { Lab } from '../topology/model.ts';

/** Real labs are a few KiB; parsing stays near a second up to this size. */
export const MAX_LAB_FILE_BYTES = 1024 * 1024;

/** A lab file's text: a regular file of at most MAX_LAB_FILE_BYTES (a FIFO or device never blocks or streams forever). */
async function readLabText(path: string): Promise<string> {
  const refuse = (message: string, cause?: unknown, hint?: string): never => {
    throw new LabFileError([{ file: path, line: 1, col: 1, path: '', message, ...(hint && { hint }) }], { cause });
  };
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new NotFoundError(`no such lab file: ${path}`, { cause: error, hint: 'give the path of a .yaml lab file, e.g. labs/two-hosts.yaml' });
    if (code === 'ENXIO') refuse('the lab file is a socket, not a regular file', error, 'give the path of a .yaml lab file');
    return refuse(`cannot read the lab file: ${(error as Error).message}`, error);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) refuse('the lab file is a directory', undefined, 'give the path of a .yaml lab file inside it');
    if (!st.isFile())
      refuse(
        `the lab file is a ${st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : 'device'}, not a regular file`,
        undefined,
        'save the lab to a file and give its path',
      );
    const tooBig = (size: number) =>
      refuse(
        `the lab file is ${size} bytes, more than the ${MAX_LAB_FILE_BYTES} bytes (1 MiB) a lab file may have`,
        undefined,
        'a lab of a few hundred VMs takes a few dozen KiB: check that this is the right file',
      );
    if (st.size > MAX_LAB_FILE_BYTES) tooBig(st.size);
    // Read one byte past the limit: the file may have grown since stat.
    const buf = Buffer.alloc(MAX_LAB_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > MAX_LAB_FILE_BYTES) tooBig(n);
    return buf.subarray(0, n).toString('utf8');
  } catch (error) {
    if (error instanceof LabFileError) throw error;
    return refuse(`cannot read the lab file: ${(error as Error).message}`, error);
  } finally {
    await handle.close();
  }
}

/** Reads, parses and validates a lab file; throws LabFileError with every diagnostic. */
export async function loadLabFile(path: string): Promise<Lab> {
  const text = await readLabText(path);
  const result = parseLab(text, path);
  if ('errors' in result) throw new LabFileError(result.errors);
  return result.lab;
}
