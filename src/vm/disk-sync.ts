// A VM's disks flushed through its agent before a halt: the VM side of keeping its disk files whole.
import type { VmPlan } from '../topology/plan.ts';
import { settlesWithin } from '../util/time.ts';
import type { AgentClient } from './agent.ts';

/** Before a VM is halted: flush its page cache to its disk files. UML's mconsole `halt`
 *  stops the kernel at once, without a sync, and what a VM wrote to a disk of its own
 *  would be lost at `down`. Bounded, so a hung VM does not hold `down` up. */
export async function syncDisks(vm: VmPlan, agent: AgentClient | null, timeoutMs = 15_000): Promise<void> {
  if (!agent || (vm.disks.length === 0 && vm.image === undefined)) return;
  await settlesWithin(agent.exec('sync'), timeoutMs);
}
