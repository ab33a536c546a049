// Boots a lab's VMs as their `start_after:` says: every VM as soon as the VMs it names are
// ready, the rest at once. The first failure fails the whole start (and a VM whose
// predecessor failed never boots).

/** Boots every named VM once, after its predecessors; `waiting` hears of each VM that has to wait. */
export function bootInOrder(
  names: string[],
  startAfter: (name: string) => string[],
  boot: (name: string) => Promise<void>,
  waiting: (name: string, on: string[]) => void = () => {},
): Promise<void> {
  const booting = new Map<string, Promise<void>>();
  const bootOne = (name: string): Promise<void> => {
    let done = booting.get(name);
    if (done === undefined) {
      const before = startAfter(name);
      if (before.length) waiting(name, before);
      // The rules refuse cycles, so this recursion ends.
      done = Promise.all(before.map(bootOne)).then(() => boot(name));
      booting.set(name, done);
    }
    return done;
  };
  return Promise.all(names.map(bootOne)).then(() => {});
}
