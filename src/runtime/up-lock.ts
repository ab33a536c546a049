// The lock that keeps two `up`s of one lab apart.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import { procStat, sameProcess } from '../vm/processes.ts';
import { labsDir } from './paths.ts';
import { readTextOrEmpty } from '../util/files.ts';

/** Takes labs/.<lab>.lock (O_EXCL, holding "<pid> <start time>") for the time of one `up`; a lock
 *  whose holder is gone is taken over. Returns the release function. */
export function takeUpLock(home: string, lab: string): () => void {
  const path = join(labsDir(home), `.${lab}.lock`);
  mkdirSync(labsDir(home), { recursive: true });
  const me = `${process.pid} ${procStat(process.pid)?.startTime ?? ''}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, me);
      closeSync(fd);
      return () => {
        if (readTextOrEmpty(path) === me) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pid, startTime] = readTextOrEmpty(path).split(' ');
    // Empty: the holder is between create and write; give it a moment.
    if (pid === undefined || pid === '') {
      sleepSync(50);
      continue;
    }
    if (sameProcess(Number(pid), startTime))
      throw new UsageError(`lab ${lab} is already running (being started by pid ${pid})`, { hint: `stop it first: umlab down ${lab}` });
    rmSync(path, { force: true }); // its `up` died without releasing it
  }
  throw new UsageError(`lab ${lab} is already running (another umlab is starting it)`, { hint: `stop it first: umlab down ${lab}` });
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
