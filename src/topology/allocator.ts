// The one place that hands out a lab's veth devices and UDP port pairs (first free first) and a
// live link's MAC: compile() starts it empty, a live `link add` seeds it with what the running
// plan already uses, so both number alike and nothing parses a number back out of a name.
import { freeMac, type MacRequest } from './mac.ts';
import { FIRST_UDP_PORT, type LabPlan } from './plan.ts';

/** The veth device of the k-th VM port of a switch, hub or wire (in the lab's namespace). */
const vmPortDevice = (k: number) => `vp${k}`;
/** The k-th ucast port pair: the engine listens on the even port, the VM on the next. */
const ucastPair = (k: number) => ({ vmPort: FIRST_UDP_PORT + 1 + 2 * k, enginePort: FIRST_UDP_PORT + 2 * k });

export class LabAllocator {
  private readonly devices: Set<string>;
  private readonly udpPorts: Set<number>;
  private readonly macs: Set<string>;

  constructor(used: { devices?: Iterable<string>; udpPorts?: Iterable<number>; macs?: Iterable<string> } = {}) {
    this.devices = new Set(used.devices);
    this.udpPorts = new Set(used.udpPorts);
    this.macs = new Set(used.macs);
  }

  /** Seeded with every device and UDP port the plan's segments use, and every VM's MACs. */
  static fromPlan(plan: LabPlan): LabAllocator {
    const ports = plan.segments.flatMap((s) => s.ports);
    return new LabAllocator({
      devices: ports.flatMap((p) => (p.device === undefined ? [] : [p.device])),
      udpPorts: ports.flatMap((p) => [p.enginePort, p.vmPort].filter((n): n is number => n !== undefined)),
      macs: plan.vms.flatMap((v) => v.interfaces.map((i) => i.mac)),
    });
  }

  /** A MAC derived as compile derives one (mac.ts), none the lab has. */
  nextMac(lab: string, request: MacRequest): string {
    return freeMac(lab, request, this.macs);
  }

  nextVmPortDevice(): string {
    let k = 0;
    while (this.devices.has(vmPortDevice(k))) k++;
    this.devices.add(vmPortDevice(k));
    return vmPortDevice(k);
  }

  nextUcastPorts(): { vmPort: number; enginePort: number } {
    let k = 0;
    while (this.udpPorts.has(ucastPair(k).enginePort) || this.udpPorts.has(ucastPair(k).vmPort)) k++;
    const pair = ucastPair(k);
    this.udpPorts.add(pair.enginePort).add(pair.vmPort);
    return pair;
  }
}
