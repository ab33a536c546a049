// Tap segments (`ethN=tuntap,<device>,<mac>`): each VM's frames go through a host tap device
// that UML opens itself, so no umlab engine sits in the data path. The host side (moving
// the taps to the caller's namespace, bridge, addresses, routes, tcpdump for the capture)
// is done by the CLI once the VMs are up: see host-side.ts. This engine only gives the
// supervisor the segment's links, with zero counters (the taps live in another namespace).

import { LabRuntimeError } from '../../errors.ts';
import type { SegmentPlan } from '../../topology/plan.ts';
import type { RunningSegment } from '../running.ts';

export async function startTapSegment(plan: SegmentPlan): Promise<RunningSegment> {
  const links = plan.ports.map((p) => p.link);
  const check = (link: string) => {
    if (!links.includes(link)) throw new LabRuntimeError(`segment ${plan.name} has no link ${link} (links: ${links.join(', ')})`);
  };
  return {
    name: plan.name,
    counters: () => links.map((link) => ({ link, rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0 })),
    setLinkUp(link) {
      check(link);
      throw new LabRuntimeError(`segment ${plan.name} is a tap bridge: its links cannot be cut by umlab (use \`ip link set <tap> down\` on the host)`);
    },
    stop: async () => {},
  };
}

export { startTapSegment as start };
