// The topology as the page draws it: nodes and edges in cytoscape's element format,
// computed from a LabPlan alone (pure), so the offline view and the live one agree.
import type { InterfacePlan, LabPlan, SegmentKind, VmPlan } from '../topology/plan.ts';

/** What a node stands for; the page gives each kind its own shape and colour. */
export type NodeKind = 'vm' | 'switch' | 'hub' | 'mcast' | 'tap' | 'gateway';

export interface GraphNode {
  data: {
    id: string;
    label: string;
    kind: NodeKind;
    /** One line for the tooltip/side panel, e.g. "switch" or "slirp gateway 10.0.2.0/24". */
    detail: string;
  };
}

export interface GraphEdge {
  data: {
    /** The link name, also the key of its counters and capture. */
    id: string;
    source: string;
    target: string;
    link: string;
    segment: string;
    /** Interface and addresses at the source and target ends ("" at a segment). */
    sourceLabel: string;
    targetLabel: string;
    hasCapture: boolean;
  };
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const KIND_OF_SEGMENT: Record<Exclude<SegmentKind, 'p2p'>, NodeKind> = {
  switch: 'switch',
  hub: 'hub',
  mcast: 'mcast',
  tap: 'tap',
  slirp: 'gateway',
};

/** Segment node ids are prefixed so a segment and a VM may share a name. */
export const segmentNodeId = (segment: string) => `segment:${segment}`;

export function graphFromPlan(plan: LabPlan): Graph {
  const nodes: GraphNode[] = plan.vms.map((vm) => ({
    data: { id: vm.name, label: vm.name, kind: 'vm', detail: vmDetail(vm) },
  }));
  for (const seg of plan.segments) {
    if (seg.kind === 'p2p') continue; // drawn as an edge between its two VMs
    nodes.push({
      data: { id: segmentNodeId(seg.name), label: seg.name, kind: KIND_OF_SEGMENT[seg.kind], detail: segmentDetail(seg.kind, seg.options) },
    });
  }
  const vmByName = new Map(plan.vms.map((vm) => [vm.name, vm]));
  const segmentKind = new Map(plan.segments.map((s) => [s.name, s.kind]));
  const edges: GraphEdge[] = [];
  for (const link of plan.links) {
    const [a, b] = link.endpoints;
    if (!a) continue;
    const endLabel = (end: { vm: string; iface: string }) => interfaceLabel(end.iface, findInterface(vmByName.get(end.vm), end.iface));
    const p2p = segmentKind.get(link.segment) === 'p2p' && b !== undefined;
    edges.push({
      data: {
        id: link.name,
        source: a.vm,
        target: p2p ? b.vm : segmentNodeId(link.segment),
        link: link.name,
        segment: link.segment,
        sourceLabel: endLabel(a),
        targetLabel: p2p ? endLabel(b) : '',
        hasCapture: link.capture !== null,
      },
    });
  }
  return { nodes, edges };
}

function findInterface(vm: VmPlan | undefined, iface: string): InterfacePlan | undefined {
  return vm?.interfaces.find((i) => i.name === iface);
}

/** "eth0\n10.0.0.1/24" — one line per address; "dhcp" when the address comes from a gateway. */
export function interfaceLabel(iface: string, plan: InterfacePlan | undefined): string {
  const addresses = plan?.addresses.length ? plan.addresses : plan?.dhcp ? ['dhcp'] : [];
  return [iface, ...addresses].join('\n');
}

function vmDetail(vm: VmPlan): string {
  return `VM, ${vm.memory}, ${vm.interfaces.length} interface${vm.interfaces.length === 1 ? '' : 's'}`;
}

function segmentDetail(kind: SegmentKind, options: Record<string, unknown>): string {
  switch (kind) {
    case 'switch':
      return 'learning switch';
    case 'hub':
      return 'hub (every frame to every port)';
    case 'mcast':
      return `multicast group ${String(options.group ?? '')}:${String(options.port ?? '')}`.trim();
    case 'tap':
      return `tap to the host${options.hostIp ? `, host side ${String(options.hostIp)}` : ''}`;
    case 'slirp':
      return `slirp gateway${options.network ? ` ${String(options.network)}` : ''}`;
    default:
      return kind;
  }
}
