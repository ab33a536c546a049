// How many submissions run at once: bounded by the cores (booting kernels is CPU work)
// and by free memory against each lab's memory (the same sum `up` checks). Pure.

/** Labs per core: after their boot the VMs mostly wait for convergence and probes. */
export const LABS_PER_CORE = 2;
/** Share of the free memory the class may take; the rest stays for the host and its page cache. */
export const MEMORY_SHARE = 0.8;

/** --jobs auto: what the cores allow. Memory is admitted per lab at start (MemoryGate). */
export const autoJobs = (cores: number) => Math.max(1, cores * LABS_PER_CORE);

/** Admits labs while their memory fits the budget; one lab always runs, so nothing waits forever. */
export class MemoryGate {
  private used = 0;
  private running = 0;
  constructor(readonly budgetMiB: number) {}

  tryTake(labMiB: number): boolean {
    if (this.running > 0 && this.used + labMiB > this.budgetMiB) return false;
    this.used += labMiB;
    this.running++;
    return true;
  }

  release(labMiB: number): void {
    this.used -= labMiB;
    this.running--;
  }

  get usedMiB(): number {
    return this.used;
  }
}
