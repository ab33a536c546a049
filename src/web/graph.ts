// The topology as the page draws it: nodes and edges in cytoscape's element format,
// computed from a LabPlan alone (pure), so the offline view and the live one agree.
import { KINDS, kindOf } from '../kinds/index.ts';
import type { WebLook } from '../kinds/types.ts';
import type { InterfacePlan, LabPlan, VmPlan } from '../topology/plan.ts';

/** What a node stands for: 'vm', or the web node of a segment kind (src/kinds/<kind>: switch, hub, mcast, tap, gateway). */
export type NodeKind = string;

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
  /** Shape, colour and legend of each segment node kind, from the kinds (web/app.js draws with them). */
  styles: Record<NodeKind, WebLook['style']>;
}

/** Every kind drawn as a node: node kind -> style. */
const STYLES = Object.fromEntries(KINDS.flatMap((k) => (k.web === 'edge' ? [] : [[k.web.node, k.web.style]])));

/** Segment node ids are prefixed so a segment and a VM may share a name. */
export const segmentNodeId = (segment: string) => `segment:${segment}`;

export function graphFromPlan(plan: LabPlan): Graph {
  const nodes: GraphNode[] = plan.vms.map((vm) => ({
    data: { id: vm.name, label: vm.name, kind: 'vm', detail: vmDetail(vm) },
  }));
  /** Segments drawn as an edge between their two VMs (point-to-point wires). */
  const edgeSegments = new Set<string>();
  for (const seg of plan.segments) {
    const look = kindOf(seg.kind).web;
    if (look === 'edge') edgeSegments.add(seg.name);
    else nodes.push({ data: { id: segmentNodeId(seg.name), label: seg.name, kind: look.node, detail: look.detail(seg) } });
  }
  const vmByName = new Map(plan.vms.map((vm) => [vm.name, vm]));
  const edges: GraphEdge[] = [];
  for (const link of plan.links) {
    const [a, b] = link.endpoints;
    if (!a) continue;
    const endLabel = (end: { vm: string; iface: string }) => interfaceLabel(end.iface, findInterface(vmByName.get(end.vm), end.iface));
    const p2p = edgeSegments.has(link.segment) && b !== undefined;
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
  return { nodes, edges, styles: STYLES };
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
