// Boots a lab's VMs as their `start_after:` says: every VM as soon as the VMs it names are
// ready, the rest at once, but at most `parallel` booting at a time. The first failure fails
// the whole start (and a VM whose predecessor failed never boots).
import { availableParallelism } from 'node:os';

/** VMs booting at once per core. Booting is CPU work: with all of 150 VMs at once on 2 cores
 *  each boot stretched past its 120 s timeout, as every kernel got the same small share. */
export const BOOTS_PER_CORE = 4;

/** How many VMs of a lab boot at once on this machine. */
export const bootsAtOnce = (cores = availableParallelism()) => Math.max(2, cores * BOOTS_PER_CORE);

/** Boots every named VM once, after its predecessors; `waiting` hears of each VM that has to wait. */
export function bootInOrder(
  names: string[],
  startAfter: (name: string) => string[],
  boot: (name: string) => Promise<void>,
  waiting: (name: string, on: string[]) => void = () => {},
  parallel = Infinity,
): Promise<void> {
  const slot = semaphore(parallel);
  const booting = new Map<string, Promise<void>>();
  const bootOne = (name: string): Promise<void> => {
    let done = booting.get(name);
    if (done === undefined) {
      const before = startAfter(name);
      if (before.length) waiting(name, before);
      // The rules refuse cycles, so this recursion ends.
      done = Promise.all(before.map(bootOne)).then(() => slot(() => boot(name)));
      booting.set(name, done);
    }
    return done;
  };
  return Promise.all(names.map(bootOne)).then(() => {});
}

/** Runs at most `limit` of the functions it is given at once, the others in order as slots free up. */
export function semaphore(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    // A freed slot passes straight to the next in line, so a newcomer cannot take it meanwhile.
    if (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}
