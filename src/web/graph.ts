// The topology as the page draws it: nodes and edges in cytoscape's element format,
// computed from a LabPlan alone (pure), so the offline view and the live one agree.
import { KINDS, kindOf } from '../kinds/index.ts';
import type { WebLook } from '../kinds/types.ts';
import type { InterfacePlan, LabPlan, VmPlan } from '../topology/plan.ts';
import { describeImpairment } from '../topology/link-conditions.ts';
import { describeVlans } from '../kinds/forwarding/vlan.ts';

/** "h1.eth0: delay 50ms; h2.eth0: loss 1%": each VM end's conditions, for the page. */
export const conditionsText = (ends: { vm: string; iface: string; text: string }[] | undefined) => (ends ?? []).map((c) => `${c.vm}.${c.iface}: ${c.text}`).join('; ');

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
    /** Link conditions at its VM ends as planned ('' when none). */
    conditions: string;
    /** A VLAN-aware switch port's VLANs, e.g. "trunk 10,20" ('' elsewhere). */
    vlans: string;
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
  const portsByLink = new Map(plan.segments.flatMap((s) => s.ports.map((p) => [p.link, p] as const)));
  /** "access 10", "trunk 10,20": a VLAN-aware switch port's VLANs ('' elsewhere). */
  const vlansOf = (link: string) => {
    const vlans = portsByLink.get(link)?.vlans;
    return vlans ? describeVlans(vlans) : '';
  };
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
        // What the plan says; live changes (`umlab link set`) come with the live state.
        conditions: conditionsText(link.endpoints.flatMap((e) => (e.conditions ? [{ ...e, text: describeImpairment(e.conditions) }] : []))),
        vlans: vlansOf(link.name),
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
