// Live rewiring of a running lab (`umlab link add|rm`): the I/O around the pure plan change
// of src/planner/rewire.ts. Adding: the segment's new port first (so its capture starts with
// the first frame), then the VM's interface through the management console, then its name
// and addresses through the agent. Removing goes the other way round. Also cutting and
// restoring a cable (`umlab link down|up`), and one change at a time (LinkActions).
import { LabRuntimeError, UsageError } from '../errors.ts';
import { applyLinkChange, linkOfInterface, planLinkAdd, planLinkConditions, planLinkRemove, type LinkAddRequest } from '../planner/rewire.ts';
import type { LabPlan } from '../topology/plan.ts';
import type { RunningSegment } from '../kinds/running.ts';
import type { AgentClient } from '../vm/agent.ts';
import { interfaceIpCommands, ipBatchCommand, shellQuote } from '../vm/init.ts';
import type { ControlReply, ControlRequest, LinkAction, VmState } from '../client/control.ts';

/** What rewiring needs of the running lab (the supervisor). */
export interface RewiringTarget {
  readonly plan: LabPlan;
  segment(name: string): RunningSegment;
  vm(name: string): { state: VmState; agent: AgentClient | null; running: boolean };
  mconsole(vm: string, command: string): Promise<string>;
  /** Makes the changed plan the lab's plan (and writes it out). */
  adoptPlan(plan: LabPlan): void;
  /** A link went up or down: the state file says so. */
  linksChanged(): void;
}

/** `umlab link down|up|add|rm` on a running lab. */
export class LinkActions {
  /** Links being added, removed or conditioned: one change at a time keeps device names, UDP ports and the plan consistent. */
  private rewiring: Promise<unknown> = Promise.resolve();

  constructor(private readonly lab: RewiringTarget) {}

  async run(req: Extract<ControlRequest, { op: 'link' }>): Promise<ControlReply> {
    const { action, vm, iface } = req;
    if (action === 'down' || action === 'up') {
      const link = linkOfInterface(this.lab.plan, vm, iface);
      await this.lab.segment(link.segment).setLinkUp(link.name, action === 'up');
      this.lab.linksChanged();
      return { ok: true, link: link.name, up: action === 'up' };
    }
    if (action === 'set') return this.serially(() => setConditions(this.lab, req));
    const link = await this.serially(() =>
      action === 'add' ? addLink(this.lab, { vm, iface, segment: req.segment ?? '', addresses: req.addresses ?? [] }) : removeLink(this.lab, vm, iface),
    );
    return { ok: true, link, action: action satisfies LinkAction };
  }

  /** One plan change at a time: each reads the plan the previous one left. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.rewiring.then(fn);
    this.rewiring = run.catch(() => {});
    return run;
  }
}

/** `umlab link set`: new conditions for one VM end of a link, in its engine and in the plan. */
async function setConditions(lab: RewiringTarget, req: Extract<ControlRequest, { op: 'link' }>): Promise<ControlReply> {
  const change = planLinkConditions(
    lab.plan,
    req.vm,
    req.iface,
    req.conditions ? { raw: req.conditions, ...(req.direction && { direction: req.direction }) } : 'clear',
  );
  const segment = lab.segment(change.link.segment);
  if (!segment.setConditions)
    throw new UsageError(`${change.link.segment} runs on a Linux bridge, which cannot impair links on this host`, {
      hint: `give ${req.vm}.${req.iface} a \`link: {}\` in the lab file: its segment then runs on umlab's engine, and link set works live`,
    });
  segment.setConditions(change.link.name, { vm: req.vm, iface: req.iface }, change.conditions);
  lab.adoptPlan(change.plan);
  lab.linksChanged();
  return { ok: true, link: change.link.name, conditions: change.conditions };
}

/** Plugs a new interface of a ready VM into a switch or hub; returns the new link's name. */
export async function addLink(lab: RewiringTarget, req: LinkAddRequest): Promise<string> {
  const change = planLinkAdd(lab.plan, req);
  const vm = lab.vm(req.vm);
  if (vm.state !== 'ready' || !vm.agent) throw new LabRuntimeError(`VM ${req.vm} is ${vm.state}: links can be added only to a ready VM`);
  const segment = lab.segment(change.segment);
  if (!segment.addLink || !segment.removeLink) throw new LabRuntimeError(`segment ${change.segment} cannot take new links while running`);
  await segment.addLink(change.port, change.link);
  try {
    await lab.mconsole(req.vm, change.mconsole);
  } catch (err) {
    await segment.removeLink(change.port.link);
    throw err;
  }
  // Plugged in: from here on the plan must say so, even if configuring it fails.
  lab.adoptPlan(applyLinkChange(lab.plan, change, 'add'));
  // The same commands as at boot (names and addresses were checked by planLinkAdd).
  const r = await vm.agent.exec(ipBatchCommand(interfaceIpCommands(change.interface)));
  if (r.exitCode !== 0)
    throw new LabRuntimeError(`VM ${req.vm}: ${req.iface} is plugged into ${change.segment} but configuring it failed: ${r.stderr.toString().trim()}`);
  return change.link.name;
}

/** Takes an interface of a VM off its switch or hub; returns the removed link's name. */
export async function removeLink(lab: RewiringTarget, vmName: string, iface: string): Promise<string> {
  const change = planLinkRemove(lab.plan, vmName, iface);
  const vm = lab.vm(vmName);
  const segment = lab.segment(change.segment);
  if (!segment.removeLink) throw new LabRuntimeError(`segment ${change.segment} cannot lose links while running`);
  // UML refuses to remove an interface that is up.
  if (vm.state === 'ready' && vm.agent) await vm.agent.exec(`ip link set ${shellQuote(iface)} down`);
  if (vm.running) await lab.mconsole(vmName, change.mconsole);
  await segment.removeLink(change.link.name);
  lab.adoptPlan(applyLinkChange(lab.plan, change, 'remove'));
  return change.link.name;
}
